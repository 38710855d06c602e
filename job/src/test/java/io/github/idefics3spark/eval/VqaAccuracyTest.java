package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Pins VqaAccuracy to GT-Vision-Lab/VQA's vqaEval.py (a013f00) run on eval/vqa_cases.json's
 * questions: the unrounded per-question accuracies and 100 * mean it computes before rounding.
 */
class VqaAccuracyTest {

  private static final JsonNode CASES = Fixtures.read("eval/vqa_cases.json");

  @Test
  void everyQuestionScoresAsTheOfficialEvaluation() {
    for (JsonNode q : CASES.get("questions")) {
      double got =
          VqaAccuracy.score(q.get("prediction").asText(), Fixtures.strings(q.get("answers")));
      assertEquals(
          q.get("accuracy").asDouble(),
          got,
          0.0,
          "prediction " + q.get("prediction") + " gold " + q.get("answers"));
    }
  }

  @Test
  void overallAndPerTypeAccuraciesAreTheOfficialOnesBeforeRounding() {
    VqaAccuracy vqa = new VqaAccuracy();
    for (JsonNode q : CASES.get("questions")) {
      vqa.add(
          q.get("prediction").asText(),
          Fixtures.strings(q.get("answers")),
          List.of(q.get("question_type").asText()));
    }
    assertEquals(CASES.get("overall").asDouble(), vqa.overall(), 0.0);
    Map<String, Double> byGroup = vqa.byGroup();
    CASES
        .get("by_question_type")
        .properties()
        .forEach(
            e -> assertEquals(e.getValue().asDouble(), byGroup.get(e.getKey()), 0.0, e.getKey()));
  }

  @Test
  void punctuationAndDigitArticleRules() {
    for (JsonNode c : CASES.get("process_punctuation")) {
      assertEquals(
          c.get(1).asText(),
          VqaAccuracy.processPunctuation(c.get(0).asText()),
          "processPunctuation(" + c.get(0) + ")");
    }
    for (JsonNode c : CASES.get("process_digit_article")) {
      assertEquals(
          c.get(1).asText(),
          VqaAccuracy.processDigitArticle(c.get(0).asText()),
          "processDigitArticle(" + c.get(0) + ")");
    }
  }

  @Test
  void tenChooseNineAveraging() {
    List<String> threeYes = new ArrayList<>(Collections.nCopies(7, "no"));
    threeYes.addAll(List.of("yes", "yes", "yes"));
    // 7 answers see 3 matches (1.0), 3 see 2 (2/3): (7 + 2) / 10
    assertEquals(0.9, VqaAccuracy.score("yes", threeYes), 1e-15);
    // the ten gold answers agree: nothing is processed, so "Yes." does not match "yes"
    assertEquals(0.0, VqaAccuracy.score("Yes.", Collections.nCopies(10, "yes")));
  }

  @Test
  void answersAreProcessedOnlyWhenTheGoldAnswersDisagree() {
    List<String> mixed = new ArrayList<>(Collections.nCopies(5, "two"));
    mixed.addAll(Collections.nCopies(5, "2"));
    assertEquals(1.0, VqaAccuracy.score("Two", mixed)); // "two" -> "2" on both sides
    assertEquals(0.0, VqaAccuracy.score("Two", Collections.nCopies(10, "2")));
  }

  @Test
  void noGoldAnswersIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> VqaAccuracy.score("x", List.of()));
  }
}
