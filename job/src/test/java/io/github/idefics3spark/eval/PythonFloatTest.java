package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

/**
 * Pins PythonFloat to CPython 3.11's float(), int(), repr() and round() (eval/python_float.json).
 */
class PythonFloatTest {

  private static final JsonNode PY = Fixtures.read("eval/python_float.json");

  @Test
  void reprIsPythonsShortestRoundTrip() {
    for (JsonNode c : PY.get("repr")) {
      double x = Fixtures.fromHex(c.get(0).asText());
      assertEquals(c.get(1).asText(), PythonFloat.repr(x), "repr of " + c.get(0).asText());
    }
    assertEquals("1e+16", PythonFloat.repr(1e16));
    assertEquals("1000000000000000.0", PythonFloat.repr(1e15));
    assertEquals("1e-05", PythonFloat.repr(1e-5));
    assertEquals("0.0001", PythonFloat.repr(1e-4));
    assertEquals("0.30000000000000004", PythonFloat.repr(0.1 + 0.2));
  }

  @Test
  void roundIsCorrectlyRoundedHalfEven() {
    for (JsonNode c : PY.get("round")) {
      double x = Fixtures.fromHex(c.get(0).asText());
      int n = c.get(1).asInt();
      String expected = c.get(2).asText();
      String label = "round(" + PythonFloat.repr(x) + ", " + n + ")";
      if (expected.equals("OverflowError")) {
        assertThrows(ArithmeticException.class, () -> PythonFloat.round(x, n), label);
      } else {
        double got = PythonFloat.round(x, n);
        assertEquals(Fixtures.fromHex(expected), got, label);
        assertEquals(1 / Fixtures.fromHex(expected) < 0, 1 / got < 0, label + " sign of zero");
      }
    }
    assertEquals(2.67, PythonFloat.round(2.675, 2));
    assertEquals(2.0, PythonFloat.round(2.5, 0));
  }

  @Test
  void parseAcceptsExactlyWhatFloatAccepts() {
    for (JsonNode c : PY.get("parse")) {
      OptionalDouble got = PythonFloat.parse(c.get(0).asText());
      String label = "float(" + c.get(0) + ")";
      if (c.get(1).isNull()) {
        assertEquals(OptionalDouble.empty(), got, label);
      } else {
        assertEquals(Fixtures.fromHex(c.get(1).asText()), got.orElseThrow(), label);
      }
    }
  }

  @Test
  void parseIntAcceptsExactlyWhatIntAccepts() {
    for (JsonNode c : PY.get("int")) {
      Optional<BigInteger> got = PythonFloat.parseInt(c.get(0).asText());
      String label =
          "int(" + c.get(0).asText().substring(0, Math.min(20, c.get(0).asText().length())) + ")";
      if (c.get(1).isNull()) {
        assertEquals(Optional.empty(), got, label);
      } else {
        assertEquals(c.get(1).asText(), got.orElseThrow().toString(), label);
      }
    }
  }
}
