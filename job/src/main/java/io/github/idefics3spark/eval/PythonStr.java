package io.github.idefics3spark.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Python 3's {@code str} methods that the official scorers call ({@code strip}, {@code split},
 * {@code lower}, {@code upper}, {@code len}), so a Java twin of a scorer treats every string as the
 * Python original does.
 *
 * <p>Whitespace is Python's: the code points for which {@code str.isspace()} is true (Unicode
 * categories Zs and the bidirectional classes WS, B and S), which is wider than Java's {@code
 * Character.isWhitespace} (it includes U+00A0, U+0085, U+2007, U+202F). Case mapping is the full
 * Unicode mapping on both sides ({@code "ß".upper()} is {@code "SS"}, {@code "İ".lower()} is two
 * code points); Java 17 implements Unicode 13 and Python 3.11 Unicode 14, which differ only on code
 * points assigned in 14. Lengths are counted in code points, as Python's {@code len}.
 */
final class PythonStr {

  private PythonStr() {}

  /** Python's {@code str.isspace()} for one code point. */
  static boolean isSpace(int cp) {
    return (cp >= 0x09 && cp <= 0x0D)
        || (cp >= 0x1C && cp <= 0x20)
        || cp == 0x85
        || cp == 0xA0
        || cp == 0x1680
        || (cp >= 0x2000 && cp <= 0x200A)
        || cp == 0x2028
        || cp == 0x2029
        || cp == 0x202F
        || cp == 0x205F
        || cp == 0x3000;
  }

  /** Python's {@code s.strip()}: leading and trailing whitespace removed. */
  static String strip(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && isSpace(s.codePointAt(start))) {
      start += Character.charCount(s.codePointAt(start));
    }
    while (end > start && isSpace(s.codePointBefore(end))) {
      end -= Character.charCount(s.codePointBefore(end));
    }
    return s.substring(start, end);
  }

  /** Python's {@code s.strip(chars)}: leading and trailing code points found in chars removed. */
  static String strip(String s, String chars) {
    int start = 0;
    int end = s.length();
    while (start < end && chars.indexOf(s.codePointAt(start)) >= 0) {
      start += Character.charCount(s.codePointAt(start));
    }
    while (end > start && chars.indexOf(s.codePointBefore(end)) >= 0) {
      end -= Character.charCount(s.codePointBefore(end));
    }
    return s.substring(start, end);
  }

  /** Python's {@code s.split()}: the runs of non-whitespace, never an empty string. */
  static List<String> split(String s) {
    List<String> words = new ArrayList<>();
    int i = 0;
    int n = s.length();
    while (i < n) {
      while (i < n && isSpace(s.codePointAt(i))) {
        i += Character.charCount(s.codePointAt(i));
      }
      int start = i;
      while (i < n && !isSpace(s.codePointAt(i))) {
        i += Character.charCount(s.codePointAt(i));
      }
      if (i > start) {
        words.add(s.substring(start, i));
      }
    }
    return words;
  }

  /** Python's {@code s.split(sep)[-1]}: what follows the last separator found left to right. */
  static String lastPieceAfter(String s, String sep) {
    int from = 0;
    int last = -1;
    while (true) {
      int at = s.indexOf(sep, from);
      if (at < 0) {
        break;
      }
      last = at;
      from = at + sep.length();
    }
    return last < 0 ? s : s.substring(last + sep.length());
  }

  /** Python's {@code s.lower()} (full Unicode case mapping, final sigma included). */
  static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  /** Python's {@code s.upper()} (full Unicode case mapping). */
  static String upper(String s) {
    return s.toUpperCase(Locale.ROOT);
  }

  /** Python's {@code len(s)}: the number of code points. */
  static int len(String s) {
    return s.codePointCount(0, s.length());
  }
}
