package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ManifestLinesTest {
  @Test
  void aJsonLineIsARowOnlyWhenItIsOneObject() {
    assertNull(ManifestLines.jsonProblem("{\"id\": \"a\", \"image\": \"x.png\"}", "m.jsonl", 3));
    String open = ManifestLines.jsonProblem("{\"id\": \"secret-value\"", "m.jsonl", 7);
    assertTrue(open.startsWith("line 7 of m.jsonl is not JSON ("), open);
    assertTrue(open.endsWith("); fix or remove that line"), open);
    assertFalse(open.contains("secret-value"), open);
    assertEquals(
        "line 2 of m.jsonl is not a JSON object but array; a JSON Lines manifest holds one object"
            + " per line",
        ManifestLines.jsonProblem("[1, 2]", "m.jsonl", 2));
    assertTrue(ManifestLines.jsonProblem("\"just text\"", "m.jsonl", 1).contains("but string"));
  }

  @Test
  void aCsvLineIsARowWhenItHasTheHeadersFieldsAndClosesItsQuotes() {
    assertNull(ManifestLines.csvProblem("a,b,c", "m.csv", 2, 3));
    assertNull(ManifestLines.csvProblem("a,\"b, with comma\",c", "m.csv", 2, 3));
    assertNull(ManifestLines.csvProblem("a,\"say \"\"hi\"\", then\",c", "m.csv", 2, 3));
    assertNull(ManifestLines.csvProblem("a,5\" screen,c", "m.csv", 2, 3)); // a quote mid-value
    assertNull(ManifestLines.csvProblem("a,,", "m.csv", 2, 3));
    assertEquals(
        "line 4 of m.csv has 4 fields, the header 3; quote values that hold commas",
        ManifestLines.csvProblem("a,b,c,d", "m.csv", 4, 3));
    assertEquals(
        "line 5 of m.csv has 2 fields, the header 3; quote values that hold commas",
        ManifestLines.csvProblem("a,b", "m.csv", 5, 3));
    assertTrue(
        ManifestLines.csvProblem("a,b,\"never closed, at all", "m.csv", 6, 3)
            .startsWith("line 6 of m.csv has a quote that is never closed"));
  }
}
