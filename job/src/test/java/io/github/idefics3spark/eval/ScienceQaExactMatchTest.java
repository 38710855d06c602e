package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/**
 * Pins ScienceQaExactMatch to lmms-eval's scienceqa_img scoring (tasks/scienceqa/utils.py
 * sqa_doc_to_target and sqa_process_results after the harness's strip) run on
 * eval/scienceqa_img_cases.json.
 */
class ScienceQaExactMatchTest {

  private static final JsonNode CASES = Fixtures.read("eval/scienceqa_img_cases.json");

  @Test
  void everyCaseIsMatchedAsLmmsEval() {
    assertEquals(44, CASES.get("cases").size());
    ScienceQaExactMatch match = new ScienceQaExactMatch();
    for (JsonNode c : CASES.get("cases")) {
      String response = c.get(0).asText();
      String gold = ScienceQaExactMatch.target(c.get(1).asLong(), c.get(2).asInt());
      assertEquals(c.get(3).asText(), gold, "target " + c);
      assertEquals(c.get(4).asDouble(), match.add(response, gold), 0.0, "score " + c);
    }
    assertEquals(CASES.get("accuracy").asDouble(), match.accuracy(), 0.0);
  }

  @Test
  void targetIndexesTheLettersAsPythonDoes() {
    assertEquals("A", ScienceQaExactMatch.target(0, 3));
    assertEquals("C", ScienceQaExactMatch.target(-1, 3));
    assertThrows(IllegalArgumentException.class, () -> ScienceQaExactMatch.target(3, 3));
    assertThrows(IllegalArgumentException.class, () -> ScienceQaExactMatch.target(-4, 3));
  }
}
