package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Pins RelaxedAccuracy to lmms-eval's chartqa {@code relaxed_correctness} and {@code
 * chartqa_process_results} (lmms_eval/tasks/chartqa/utils.py) run on eval/chartqa_cases.json.
 */
class RelaxedAccuracyTest {

  private static final JsonNode CASES = Fixtures.read("eval/chartqa_cases.json");

  @Test
  void everyCaseIsJudgedAsRelaxedCorrectness() {
    assertEquals(73, CASES.get("cases").size());
    for (JsonNode c : CASES.get("cases")) {
      assertEquals(
          c.get(2).asBoolean(),
          RelaxedAccuracy.isCorrect(c.get(0).asText(), c.get(1).asText()),
          "prediction " + c.get(0) + " target " + c.get(1));
    }
  }

  @Test
  void splitMeansAreLmmsEvalsRelaxedOverallHumanAndAugmented() {
    RelaxedAccuracy accuracy = new RelaxedAccuracy();
    JsonNode dataset = CASES.get("dataset");
    for (int i = 0; i < dataset.size(); i++) {
      JsonNode r = dataset.get(i);
      double score = accuracy.add(r.get(0).asText(), r.get(1).asText(), r.get(2).asText());
      assertEquals(
          CASES.get("scores").get(i).get("relaxed_overall").asDouble(), score, 0.0, r.toString());
    }
    JsonNode means = CASES.get("means");
    assertEquals(means.get("relaxed_overall").asDouble(), accuracy.overall(), 0.0);
    Map<String, Double> byType = accuracy.byType();
    assertEquals(means.get("relaxed_human_split").asDouble(), byType.get("human_test"), 0.0);
    assertEquals(
        means.get("relaxed_augmented_split").asDouble(), byType.get("augmented_test"), 0.0);
    assertEquals(dataset.size(), accuracy.count());
  }

  @Test
  void percentTargetsAreFractionsAndZeroTargetsNeedTheSameText() {
    assertEquals(true, RelaxedAccuracy.isCorrect("0.5", "50%"));
    assertEquals(false, RelaxedAccuracy.isCorrect("0.0", "0"));
    assertEquals(true, RelaxedAccuracy.isCorrect("12.6", "12"));
    assertEquals(false, RelaxedAccuracy.isCorrect("1,000", "1000"));
  }
}
