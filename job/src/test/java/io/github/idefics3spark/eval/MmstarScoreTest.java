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
 * Pins MmstarScore to MMStar's MMStar_eval (eval/vlmeval/evaluate/mmstar.py) run on
 * eval/mmstar_cases.json: one case per rule, and a 180-question set's whole score table.
 */
class MmstarScoreTest {

  private static final JsonNode CASES = Fixtures.read("eval/mmstar_cases.json");

  @Test
  void everyCaseIsJudgedAsTheOfficialRule() {
    for (JsonNode c : CASES.get("cases")) {
      assertEquals(
          c.get(2).asBoolean(),
          MmstarScore.isCorrect(c.get(0).asText(), c.get(1).asText()),
          "prediction " + c.get(0) + " answer " + c.get(1));
    }
  }

  @Test
  void scoreTableIsTheOfficialOneWithFixedDenominators() {
    MmstarScore score = new MmstarScore();
    for (JsonNode r : CASES.get("dataset")) {
      score.add(r.get(0).asText(), r.get(1).asText(), r.get(2).asText(), r.get(3).asText());
    }
    Map<String, Double> table = score.scores();
    List<String> expectedKeys = new ArrayList<>();
    CASES.get("scores").fieldNames().forEachRemaining(expectedKeys::add);
    assertEquals(expectedKeys, new ArrayList<>(table.keySet()));
    CASES
        .get("scores")
        .properties()
        .forEach(
            e -> assertEquals(e.getValue().asDouble(), table.get(e.getKey()), 0.0, e.getKey()));
    assertEquals(180, score.count());
    assertEquals(
        119 / 1500.0, score.finalScore(), 0.0); // correct / 1500 though only 180 were asked
  }

  @Test
  void prefixesTheRuleAccepts() {
    assertTrue(MmstarScore.isCorrect("(B) a dog", "B"));
    assertTrue(MmstarScore.isCorrect("Option C", "C"));
    assertTrue(MmstarScore.isCorrect("The answer is D.", "D"));
    assertFalse(MmstarScore.isCorrect("Answer: D", "D"));
    assertFalse(MmstarScore.isCorrect("", "A"));
    assertFalse(MmstarScore.isCorrect(null, "A"));
  }

  @Test
  void unknownCategoryIsNamed() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new MmstarScore().add("A", "A", "math", "algebra"));
    assertTrue(e.getMessage().contains("'algebra'"), e.getMessage());
  }
}
