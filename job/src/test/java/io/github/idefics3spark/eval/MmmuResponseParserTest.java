package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.idefics3spark.eval.MmmuResponseParser.MultiChoiceAnswer;
import io.github.idefics3spark.eval.MmmuResponseParser.OpenAnswer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Pins MmmuResponseParser to MMMU's eval_utils.py on edge cases (eval/mmmu_cases.json, written by
 * running the official functions).
 */
class MmmuResponseParserTest {

  private static final JsonNode CASES = Fixtures.read("eval/mmmu_cases.json");

  @Test
  void multipleChoiceParsingIncludingRandomGuessesInOfficialOrder() {
    MmmuResponseParser parser = new MmmuResponseParser(); // random.seed(42), as at import
    for (JsonNode c : CASES.get("multi_choice")) {
      String response = c.get(0).asText();
      MultiChoiceAnswer got =
          parser.parseMultiChoice(
              response, Fixtures.strings(c.get(1)), Fixtures.stringMap(c.get(2)));
      assertEquals(c.get(3).asText(), got.letter(), "response " + c.get(0));
    }
  }

  @Test
  void bracketedLetterWinsAndTheLastOccurrenceIsTaken() {
    MmmuResponseParser parser = new MmmuResponseParser();
    Map<String, String> options = Map.of("A", "x", "B", "y", "C", "z");
    List<String> letters = List.of("A", "B", "C");
    assertEquals(
        "A", parser.parseMultiChoice("(C) is wrong, (A) is right", letters, options).letter());
    MultiChoiceAnswer plain = parser.parseMultiChoice("B.", letters, options);
    assertEquals("B", plain.letter());
    assertFalse(plain.randomGuess());
    assertTrue(parser.parseMultiChoice("no idea", letters, options).randomGuess());
  }

  @Test
  void openParsingGivesTheOfficialStringsAndNumbers() {
    for (JsonNode c : CASES.get("open")) {
      OpenAnswer got = MmmuResponseParser.parseOpen(c.get(0).asText());
      String label = "response " + c.get(0);
      assertEquals(new HashSet<>(Fixtures.strings(c.get(1))), new HashSet<>(got.strings()), label);
      assertEquals(numbers(c.get(2)), numberKeys(got.numbers()), label);
    }
  }

  @Test
  void extractNumbersFindsCommaScientificThenSimpleNumbers() {
    for (JsonNode c : CASES.get("extract_numbers")) {
      assertEquals(
          Fixtures.strings(c.get(1)),
          MmmuResponseParser.extractNumbers(c.get(0).asText()),
          "extract_numbers(" + c.get(0) + ")");
    }
  }

  @Test
  void normalizeStrRoundsNumbersAndPadsSingleCharacters() {
    for (JsonNode c : CASES.get("normalize_str")) {
      List<Object> got = MmmuResponseParser.normalizeStr(c.get(0).asText());
      List<Object> expected = new ArrayList<>();
      for (JsonNode v : c.get(1)) {
        expected.add(v.isTextual() ? v.asText() : (Object) Fixtures.pyFloat(v));
      }
      assertEquals(expected, got, "normalize_str(" + c.get(0) + ")");
    }
  }

  @Test
  void evalOpenMatchesSubstringsAndEqualNumbers() {
    for (JsonNode c : CASES.get("eval_open")) {
      boolean got =
          MmmuScore.evalOpen(
              Fixtures.strings(c.get(0)), MmmuResponseParser.parseOpen(c.get(1).asText()));
      assertEquals(c.get(2).asBoolean(), got, "eval_open(" + c.get(0) + ", " + c.get(1) + ")");
    }
  }

  @Test
  void openAnswerPrintsLikeAPythonList() {
    assertEquals(
        "['3,000 meters', 3000.0, 0.0]",
        MmmuResponseParser.parseOpen("So the result is 3,000 meters").toString());
  }

  private static Set<String> numbers(JsonNode array) {
    Set<String> out = new HashSet<>();
    array.forEach(n -> out.add(PythonFloat.repr(Fixtures.pyFloat(n))));
    return out;
  }

  private static Set<String> numberKeys(List<Double> numbers) {
    Set<String> out = new HashSet<>();
    numbers.forEach(n -> out.add(PythonFloat.repr(n)));
    return out;
  }
}
