package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.idefics3spark.eval.MathVistaScore.Group;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Pins MathVistaScore to MathVista's calculate_score.py: normalisation edge cases
 * (eval/mathvista_cases.json) and two published model outputs re-scored by the official script
 * (eval/mathvista_*.json: GPT-4's extractions, the official predictions, true/false and scores).
 */
class MathVistaScoreTest {

  private static final JsonNode CASES = Fixtures.read("eval/mathvista_cases.json");

  @Test
  void normalisationEdgeCasesAreTheOfficialOnes() {
    for (JsonNode c : CASES.get("normalize")) {
      String got =
          MathVistaScore.normalizeExtractedAnswer(
              c.get(0).asText(),
              c.get(1).isNull() ? null : Fixtures.strings(c.get(1)),
              c.get(2).asText(),
              c.get(3).asText(),
              c.get(4).isNull() ? null : c.get(4).asDouble(),
              c.size() > 6 && c.get(6).asBoolean());
      String label =
          "normalize_extracted_answer("
              + c.get(0)
              + ", "
              + c.get(1)
              + ", "
              + c.get(3)
              + ", "
              + c.get(4)
              + ")";
      assertEquals(c.get(5).isNull() ? null : c.get(5).asText(), got, label);
    }
  }

  @Test
  void lettersNameChoicesAndOtherTextTakesTheClosestChoice() {
    List<String> choices = List.of("3/11", "8/11", "6/11", "3/5");
    assertEquals(
        "8/11",
        MathVistaScore.normalizeExtractedAnswer("B", choices, "multi_choice", "text", null, false));
    assertEquals(
        "8/11",
        MathVistaScore.normalizeExtractedAnswer(
            "(b) 8/11", choices, "multi_choice", "text", null, false));
    assertEquals(
        "3/5",
        MathVistaScore.normalizeExtractedAnswer(
            "3/5.", choices, "multi_choice", "text", null, false));
    assertNull(
        MathVistaScore.normalizeExtractedAnswer("1.5", null, "free_form", "float", null, false));
    assertThrows(
        IllegalArgumentException.class,
        () -> MathVistaScore.normalizeExtractedAnswer("x", null, "free_form", "text", null, false));
  }

  @ParameterizedTest
  @ValueSource(strings = {"idefics_9b_instruct", "llava_llama_2_13b"})
  void publishedOutputsGetTheOfficialPredictionsAndScores(String model) {
    JsonNode file = Fixtures.read("eval/mathvista_" + model + ".json");
    MathVistaScore score = new MathVistaScore();
    int samePrediction = 0;
    for (JsonNode p : file.get("problems")) {
      String prediction =
          MathVistaScore.normalizeExtractedAnswer(
              p.get("gpt4_extraction").asText(),
              p.get("choices").isNull() ? null : Fixtures.strings(p.get("choices")),
              p.get("question_type").asText(),
              p.get("answer_type").asText(),
              p.get("precision").isNull() ? null : p.get("precision").asDouble(),
              false);
      JsonNode expected = p.get("prediction");
      samePrediction +=
          (expected.isNull() ? prediction == null : expected.asText().equals(prediction)) ? 1 : 0;
      boolean correct = MathVistaScore.safeEqual(prediction, p.get("answer").asText());
      assertEquals(p.get("true_false").asBoolean(), correct, "pid " + p.get("pid"));
      score.add(correct, fields(p));
    }
    assertEquals(1000, samePrediction);
    JsonNode scores = file.get("scores");
    assertEquals(scores.get("average").get("correct").asInt(), score.correct());
    assertEquals(scores.get("average").get("total").asInt(), score.total());
    assertEquals(scores.get("average").get("accuracy").asDouble(), score.accuracy(), 0.0);
    for (String key : MathVistaScore.TARGET_KEYS) {
      Map<String, Group> got = new LinkedHashMap<>();
      score.breakdown(key).forEach(g -> got.put(g.value(), g));
      List<String> expectedOrder = new ArrayList<>();
      scores.get(key).fieldNames().forEachRemaining(expectedOrder::add);
      if (!key.equals("skills")) { // the official skills come out of a set, in no fixed order
        assertEquals(expectedOrder, new ArrayList<>(got.keySet()), key);
      }
      assertEquals(expectedOrder.size(), got.size(), key);
      scores
          .get(key)
          .properties()
          .forEach(
              e -> {
                Group g = got.get(e.getKey());
                assertEquals(
                    e.getValue().get("correct").asInt(), g.correct(), key + "=" + e.getKey());
                assertEquals(e.getValue().get("total").asInt(), g.total(), key + "=" + e.getKey());
                assertEquals(
                    e.getValue().get("accuracy").asDouble(),
                    g.accuracy(),
                    0.0,
                    key + "=" + e.getKey());
              });
    }
  }

  @Test
  void unknownBreakdownKeyIsNamed() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> new MathVistaScore().breakdown("img_width"));
    assertTrue(e.getMessage().contains("'img_width'"), e.getMessage());
  }

  /** The question's target fields: question_type, answer_type and its metadata. */
  static Map<String, List<String>> fields(JsonNode p) {
    Map<String, List<String>> f = new HashMap<>();
    f.put("question_type", List.of(p.get("question_type").asText()));
    f.put("answer_type", List.of(p.get("answer_type").asText()));
    p.get("metadata")
        .properties()
        .forEach(
            e ->
                f.put(
                    e.getKey(),
                    e.getValue().isArray()
                        ? Fixtures.strings(e.getValue())
                        : List.of(e.getValue().asText())));
    return f;
  }
}
