package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Pins Levenshtein to python-Levenshtein 0.27's distance. */
class LevenshteinTest {

  @Test
  void unitCostEditsOverCodePoints() {
    assertEquals(0, Levenshtein.distance("", ""));
    assertEquals(3, Levenshtein.distance("", "abc"));
    assertEquals(3, Levenshtein.distance("kitten", "sitting"));
    assertEquals(2, Levenshtein.distance("flaw", "lawn"));
    assertEquals(1, Levenshtein.distance("a\uD83D\uDE00b", "ab")); // one code point, two chars
    assertEquals(4, Levenshtein.distance("grape", "pear"));
    assertEquals(Levenshtein.distance("pear", "grape"), Levenshtein.distance("grape", "pear"));
  }
}
