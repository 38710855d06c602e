package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Pins OcrBenchScore to lmms-eval's {@code ocrbench_process_results} and {@code
 * ocrbench_aggregate_accuracy} (lmms_eval/tasks/ocrbench/utils.py) run on eval/ocrbench_cases.json.
 */
class OcrBenchScoreTest {

  private static final JsonNode CASES = Fixtures.read("eval/ocrbench_cases.json");

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(a -> out.add(a.asText()));
    return out;
  }

  @Test
  void everyQuestionScoresAsProcessResultsAndCategoriesSumAsTheAggregate() {
    JsonNode dataset = CASES.get("dataset");
    assertEquals(40, dataset.size());
    OcrBenchScore score = new OcrBenchScore();
    for (int i = 0; i < dataset.size(); i++) {
      JsonNode c = dataset.get(i);
      int s = score.add(c.get(0).asText(), strings(c.get(1)), c.get(2).asText(), c.get(3).asText());
      assertEquals(CASES.get("scores").get(i).asInt(), s, c.toString());
    }
    Map<String, Integer> byCategory = score.byCategory();
    assertEquals(OcrBenchScore.CATEGORIES, List.copyOf(byCategory.keySet()));
    CASES
        .get("by_category")
        .fields()
        .forEachRemaining(e -> assertEquals(e.getValue().asInt(), byCategory.get(e.getKey())));
    assertEquals(CASES.get("accuracy").asDouble(), score.accuracy(), 0.0);
    String report = CASES.get("report").asText();
    assertTrue(report.contains("Text Recognition(Total 300): " + score.textRecognition() + "\n"));
    assertTrue(report.contains("Final Score(Total 1000): " + score.finalScore() + "\n"));
    assertEquals(dataset.size(), score.count());
  }

  @Test
  void handwrittenMathKeepsCaseAndDropsSpacesOnly() {
    assertTrue(OcrBenchScore.isCorrect("x ^ { 2 }", List.of("x^{2}"), "HME100k"));
    assertFalse(OcrBenchScore.isCorrect("X^{2}", List.of("x^{2}"), "HME100k"));
    assertTrue(OcrBenchScore.isCorrect("X^{2}", List.of("x^{2}"), "IIIT5K"));
    assertFalse(OcrBenchScore.isCorrect("12 345", List.of("12345"), "IIIT5K"));
  }

  @Test
  void unknownQuestionTypesAreRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new OcrBenchScore().add("a", List.of("a"), "IIIT5K", "Text Recognition"));
    assertTrue(e.getMessage().contains("'Text Recognition'"), e.getMessage());
  }
}
