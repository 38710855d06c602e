package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pins TextVqaAccuracy to facebookresearch/mmf's {@code m4c_evaluators.py} (b0ffc7f) {@code
 * TextVQAAccuracyEvaluator} and {@code EvalAIAnswerProcessor} run on eval/textvqa_cases.json's
 * questions: each processed answer, each question's accuracy and the overall accuracy.
 */
class TextVqaAccuracyTest {

  private static final JsonNode CASES = Fixtures.read("eval/textvqa_cases.json");

  @Test
  void everyQuestionScoresAsTheTextVqaEvaluator() {
    for (JsonNode q : CASES.get("questions")) {
      String prediction = q.get("prediction").asText();
      List<String> answers = Fixtures.strings(q.get("answers"));
      String what = "prediction " + q.get("prediction") + " gold " + q.get("answers");
      assertEquals(q.get("processed_prediction").asText(), TextVqaAccuracy.process(prediction));
      assertEquals(
          Fixtures.strings(q.get("processed_answers")),
          answers.stream().map(TextVqaAccuracy::process).toList(),
          what);
      assertEquals(
          q.get("accuracy").asDouble(), TextVqaAccuracy.score(prediction, answers), 1e-12, what);
    }
  }

  @Test
  void overallIsTheEvaluatorsMeanInPercent() {
    TextVqaAccuracy accuracy = new TextVqaAccuracy();
    for (JsonNode q : CASES.get("questions")) {
      accuracy.add(q.get("prediction").asText(), Fixtures.strings(q.get("answers")));
    }
    assertEquals(CASES.get("questions").size(), accuracy.count());
    assertEquals(CASES.get("accuracy").asDouble() * 100, accuracy.overall(), 1e-12);
  }

  @Test
  void answerProcessorAsTheEvaluators() {
    for (JsonNode c : CASES.get("answer_processor")) {
      assertEquals(c.get(1).asText(), TextVqaAccuracy.process(c.get(0).asText()), c.toString());
    }
  }

  @Test
  void processesPredictionAndGoldEvenWhenTheGoldAnswersAgree() {
    List<String> tenTwos = Collections.nCopies(10, "2");
    assertEquals(1.0, TextVqaAccuracy.score("two", tenTwos));
    assertEquals(0.0, VqaAccuracy.score("two", tenTwos), "VQA v2's rule compares them raw");
    assertEquals(1.0, TextVqaAccuracy.score("Nokia.", Collections.nCopies(10, "nokia")));
  }

  @Test
  void vqaV2RuleScoresThirtyOfTheCasesOtherwise() {
    int differ = 0;
    for (JsonNode q : CASES.get("questions")) {
      String prediction = q.get("prediction").asText();
      List<String> answers = Fixtures.strings(q.get("answers"));
      if (TextVqaAccuracy.score(prediction, answers) != VqaAccuracy.score(prediction, answers)) {
        differ++;
      }
    }
    assertEquals(DIFFERING_FROM_VQA_V2, differ);
  }

  /** Of textvqa_cases.json's questions, those VQA v2's {@code vqaEval.py} scores otherwise. */
  private static final int DIFFERING_FROM_VQA_V2 = 30;

  @Test
  void refusesOtherThanTenGoldAnswers() {
    assertThrows(IllegalArgumentException.class, () -> TextVqaAccuracy.score("x", List.of()));
    assertThrows(
        IllegalArgumentException.class,
        () -> TextVqaAccuracy.score("x", Collections.nCopies(9, "x")));
  }
}
