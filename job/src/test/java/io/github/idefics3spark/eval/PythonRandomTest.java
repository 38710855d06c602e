package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Pins PythonRandom to CPython 3.11's random module (values in eval/python_random.json). */
class PythonRandomTest {

  private static final JsonNode PY = Fixtures.read("eval/python_random.json");

  @Test
  void seed42DrawsTheSameWordsAsCPythonAcrossStateRegenerations() {
    PythonRandom r = new PythonRandom(42);
    JsonNode expected = PY.get("seed42_getrandbits32");
    assertEquals(1300, expected.size());
    for (int i = 0; i < expected.size(); i++) {
      assertEquals(expected.get(i).asLong(), r.getrandbits(32), "draw " + i);
    }
  }

  @Test
  void firstWordAfterSeed42() {
    assertEquals(2746317213L, new PythonRandom(42).getrandbits(32));
  }

  @Test
  void choiceFollowsRandbelowWithRejection() {
    PythonRandom r = new PythonRandom(42);
    for (JsonNode draw : PY.get("seed42_choices")) {
      int n = draw.get(0).asInt();
      List<Integer> seq = new ArrayList<>(IntStream.range(0, n).boxed().toList());
      assertEquals(draw.get(1).asInt(), r.choice(seq), "choice among " + n);
    }
  }

  @Test
  void seedsOfOneAndTwoWordsAndNegativeSeeds() {
    for (long seed : new long[] {0, 1, 12345, (1L << 32) - 1, 1L << 32, (1L << 40) + 7, -42}) {
      PythonRandom r = new PythonRandom(seed);
      JsonNode expected = PY.get("seed" + seed + "_first");
      for (int i = 0; i < expected.size(); i++) {
        assertEquals(expected.get(i).asLong(), r.getrandbits(32), "seed " + seed + " draw " + i);
      }
    }
  }

  @Test
  void choiceFromNothingIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new PythonRandom(42).choice(List.of()));
  }
}
