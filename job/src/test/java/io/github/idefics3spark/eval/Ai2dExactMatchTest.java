package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/**
 * Pins Ai2dExactMatch to lmms-eval's ai2d scoring (tasks/ai2d/utils.py MultiChoiceRegexFilter and
 * ai2d_doc_to_target, the harness's strip, api/metrics.py exact_match_hf_evaluate) run on
 * eval/ai2d_cases.json.
 */
class Ai2dExactMatchTest {

  private static final JsonNode CASES = Fixtures.read("eval/ai2d_cases.json");

  @Test
  void everyCaseIsFilteredAndMatchedAsLmmsEval() {
    assertEquals(44, CASES.get("cases").size());
    Ai2dExactMatch match = new Ai2dExactMatch();
    for (JsonNode c : CASES.get("cases")) {
      String response = c.get(0).asText();
      String gold = Ai2dExactMatch.target(c.get(1).asText(), 4);
      assertEquals(c.get(2).asText(), Ai2dExactMatch.filter(response), "filter " + c);
      assertEquals(c.get(3).asText(), gold, "target " + c);
      assertEquals(c.get(4).asDouble(), match.add(response, gold), 0.0, "score " + c);
    }
    assertEquals(CASES.get("accuracy").asDouble(), match.accuracy(), 0.0);
  }

  @Test
  void targetIndexesTheLettersAsPythonDoes() {
    assertEquals("A", Ai2dExactMatch.target("0", 4));
    assertEquals("D", Ai2dExactMatch.target("-1", 4));
    assertEquals("B", Ai2dExactMatch.target(" 1 ", 4));
    assertThrows(IllegalArgumentException.class, () -> Ai2dExactMatch.target("4", 4));
    assertThrows(IllegalArgumentException.class, () -> Ai2dExactMatch.target("B", 4));
  }
}
