package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Pins Anls to the RRC script's evaluate_method (Qwen-VL's infographicsvqa_eval.py copy), run on
 * eval/anls_cases.json's questions with answer types.
 */
class AnlsTest {

  private static final JsonNode CASES = Fixtures.read("eval/anls_cases.json");

  @Test
  void everyQuestionScoresAsTheRrcScript() {
    for (JsonNode q : CASES.get("questions")) {
      double got = Anls.score(q.get("prediction").asText(), Fixtures.strings(q.get("answers")));
      assertEquals(
          q.get("score").asDouble(),
          got,
          0.0,
          "prediction " + q.get("prediction") + " gold " + q.get("answers"));
    }
  }

  @Test
  void overallAndAnswerTypeMeansAreTheScriptsToTheLastBit() {
    Anls anls = new Anls();
    for (JsonNode q : CASES.get("questions")) {
      anls.add(
          q.get("prediction").asText(),
          Fixtures.strings(q.get("answers")),
          Fixtures.strings(q.get("answer_type")));
    }
    assertEquals(CASES.get("overall").asDouble(), anls.overall(), 0.0);
    Map<String, Double> byType = anls.byType();
    CASES
        .get("by_answer_type")
        .properties()
        .forEach(
            e -> assertEquals(e.getValue().asDouble(), byType.get(e.getKey()), 0.0, e.getKey()));
    assertEquals(CASES.get("questions").size(), anls.count());
  }

  @Test
  void halfIsKeptAndJustBelowHalfIsZero() {
    assertEquals(0.5, Anls.score("abcd", List.of("abxy"))); // 2 edits over 4
    assertEquals(0.0, Anls.score("abcdefghij", List.of("abcdxxxxxx"))); // 0.4 -> 0
    assertEquals(0.5, Anls.score("abcdefghij", List.of("abcdexxxxx"))); // 5 edits over 10
  }

  @Test
  void distanceIsOverTheRawLengthsOfTheUpperCasedStrings() {
    // normalised "the big dog" matches exactly; "straße".upper() is 7 long: 1 - 2/7
    assertEquals(1.0, Anls.score("the  big\tdog", List.of("The big dog")));
    assertEquals(1 - 2.0 / 7, Anls.score("straße", List.of("STRASSE")), 0.0);
  }

  @Test
  void bestGoldAnswerCountsAndEmptyGoldIsRefused() {
    assertEquals(1.0, Anls.score("new york city", List.of("NYC", "New York City")));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Anls.score("x", List.of()));
    assertEquals(true, e.getMessage().contains("found none"), e.getMessage());
  }
}
