package io.github.idefics3spark.eval;

import io.github.idefics3spark.python.PythonStr;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.regex.Pattern;

/**
 * Python 3's {@code float(str)}, {@code int(str)}, {@code repr(float)} and {@code round(float, n)},
 * which the official scorers use to decide what a number is and how it prints.
 *
 * <p>{@code float(s)} accepts surrounding Unicode whitespace, any Unicode decimal digits, single
 * underscores between digits, {@code inf}/{@code infinity}/{@code nan} in any case, and rejects
 * everything else (hexadecimal, thousands commas, Java's {@code 1d} suffixes). {@code repr} is the
 * shortest string that reads back to the same double, in Python's layout ({@code 1e+16}, {@code
 * 1e-05}, {@code 100.0}). {@code round} rounds the exact binary value half to even, as CPython's
 * correctly rounded {@code round} does ({@code round(2.675, 2)} is {@code 2.67}).
 */
final class PythonFloat {

  /** CPython 3.11's limit on the digits {@code int(str)} converts (sys.int_info). */
  static final int INT_MAX_STR_DIGITS = 4300;

  private static final String DIGITS = "[0-9]++(?:_[0-9]++)*+";
  private static final Pattern FLOAT_SYNTAX =
      Pattern.compile(
          "[+-]?(?:(?:"
              + DIGITS
              + "(?:\\.(?:"
              + DIGITS
              + ")?)?|\\."
              + DIGITS
              + ")(?:[eE][+-]?"
              + DIGITS
              + ")?|(?i:inf|infinity|nan))");
  private static final Pattern INT_SYNTAX = Pattern.compile("[+-]?" + DIGITS);

  private PythonFloat() {}

  /** Python's {@code float(s)}; empty when Python raises {@code ValueError}. */
  static OptionalDouble parse(String s) {
    String ascii = asciiDigits(PythonStr.strip(s));
    if (ascii == null || !FLOAT_SYNTAX.matcher(ascii).matches()) {
      return OptionalDouble.empty();
    }
    String plain = ascii.replace("_", "");
    String lower = plain.toLowerCase(Locale.ROOT);
    boolean negative = lower.startsWith("-");
    String unsigned = lower.startsWith("+") || negative ? lower.substring(1) : lower;
    if (unsigned.equals("inf") || unsigned.equals("infinity")) {
      return OptionalDouble.of(negative ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY);
    }
    if (unsigned.equals("nan")) {
      return OptionalDouble.of(Double.NaN);
    }
    return OptionalDouble.of(Double.parseDouble(plain));
  }

  /** Python's {@code int(s)} in base 10; empty when Python raises {@code ValueError}. */
  static Optional<BigInteger> parseInt(String s) {
    String ascii = asciiDigits(PythonStr.strip(s));
    if (ascii == null || !INT_SYNTAX.matcher(ascii).matches()) {
      return Optional.empty();
    }
    String plain = ascii.replace("_", "");
    int digits = plain.length() - (plain.startsWith("+") || plain.startsWith("-") ? 1 : 0);
    if (digits > INT_MAX_STR_DIGITS) {
      return Optional.empty();
    }
    return Optional.of(new BigInteger(plain.startsWith("+") ? plain.substring(1) : plain));
  }

  /**
   * Unicode decimal digits replaced by ASCII ones, as CPython does before parsing a number; null
   * when another non-ASCII code point is present (Python then rejects the string).
   */
  private static String asciiDigits(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      i += Character.charCount(cp);
      if (cp < 0x80) {
        out.append((char) cp);
      } else if (Character.getType(cp) == Character.DECIMAL_DIGIT_NUMBER) {
        out.append((char) ('0' + Character.digit(cp, 10)));
      } else {
        return null;
      }
    }
    return out.toString();
  }

  /** Python's {@code repr(x)} (and {@code str(x)}) for a float. */
  static String repr(double x) {
    if (Double.isNaN(x)) {
      return "nan";
    }
    if (Double.isInfinite(x)) {
      return x > 0 ? "inf" : "-inf";
    }
    if (x == 0) {
      return (1 / x < 0) ? "-0.0" : "0.0";
    }
    BigDecimal shortest = shortestDigits(Math.abs(x));
    String digits = shortest.unscaledValue().toString();
    int decpt = digits.length() - shortest.scale(); // x = 0.digits * 10^decpt
    StringBuilder out = new StringBuilder(x < 0 ? "-" : "");
    if (decpt <= -4 || decpt > 16) {
      out.append(digits.charAt(0));
      if (digits.length() > 1) {
        out.append('.').append(digits, 1, digits.length());
      }
      int exp = decpt - 1;
      out.append(exp < 0 ? "e-" : "e+");
      String e = Integer.toString(Math.abs(exp));
      out.append(e.length() < 2 ? "0" + e : e);
    } else if (decpt <= 0) {
      out.append("0.").append("0".repeat(-decpt)).append(digits);
    } else if (decpt >= digits.length()) {
      out.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
    } else {
      out.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
    }
    return out.toString();
  }

  /**
   * The decimal with the fewest significant digits that reads back as x (x positive and finite),
   * the nearer to x of the two candidates when both read back; trailing zeros stripped.
   */
  private static BigDecimal shortestDigits(double x) {
    BigDecimal exact = new BigDecimal(x);
    for (int p = 1; p < 17; p++) {
      BigDecimal down = exact.round(new MathContext(p, RoundingMode.FLOOR));
      BigDecimal up = exact.round(new MathContext(p, RoundingMode.CEILING));
      boolean downOk = Double.parseDouble(down.toString()) == x;
      boolean upOk = Double.parseDouble(up.toString()) == x;
      if (downOk && upOk) {
        int cmp = exact.subtract(down).compareTo(up.subtract(exact));
        BigDecimal pick =
            cmp < 0
                ? down
                : cmp > 0 ? up : (down.unscaledValue().testBit(0) ? up : down); // tie: even digit
        return pick.stripTrailingZeros();
      }
      if (downOk) {
        return down.stripTrailingZeros();
      }
      if (upOk) {
        return up.stripTrailingZeros();
      }
    }
    return exact.round(new MathContext(17, RoundingMode.HALF_EVEN)).stripTrailingZeros();
  }

  /** Python's {@code round(x, ndigits)} for a float. */
  static double round(double x, int ndigits) {
    if (Double.isNaN(x) || Double.isInfinite(x) || x == 0) {
      return x;
    }
    if (ndigits > 323) {
      return x;
    }
    if (ndigits < -308) {
      return Math.copySign(0.0, x);
    }
    // the exact binary value rounded half to even, then read back correctly rounded
    double rounded =
        Double.parseDouble(new BigDecimal(x).setScale(ndigits, RoundingMode.HALF_EVEN).toString());
    if (Double.isInfinite(rounded)) {
      throw new ArithmeticException(
          "round(" + repr(x) + ", " + ndigits + ") overflows, as in Python (OverflowError)");
    }
    return rounded == 0 ? Math.copySign(0.0, x) : rounded;
  }
}
