package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Expected values are what Python 3.11's ast.literal_eval returns for the same text. */
class PythonLiteralTest {

  @Test
  void readsMmmuOptionsAsPythonWroteThem() {
    assertEquals(List.of("$6", "$7", "$8"), PythonLiteral.stringList("['$6', '$7', '$8']"));
    assertEquals(
        List.of("It's 8", "say \"hi\"", "a\\b", "\n\tx"),
        PythonLiteral.stringList("[\"It's 8\", 'say \"hi\"', 'a\\\\b', '\\n\\tx']"));
    assertEquals(List.of(), PythonLiteral.stringList(" [ ] "));
    assertEquals(List.of("a", "bc"), PythonLiteral.stringList("['a', 'b' \"c\",]"));
    assertEquals(
        List.of("é€\u0001A", "\\d", "😀"),
        PythonLiteral.stringList("['\\xe9\\u20ac\\1\\101', '\\d', '\\U0001F600']"));
  }

  @Test
  void refusesWhatIsNotAListOfStringsSayingWhere() {
    for (String bad : List.of("'a'", "['a'", "['a' 'b", "[1, 2]", "['a'] x", "['\\x4']", "")) {
      assertFalse(PythonLiteral.isStringList(bad), bad);
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> PythonLiteral.stringList("['a', 2]"));
    assertTrue(e.getMessage().contains("expected a quoted string at character 6"), e.getMessage());
  }
}
