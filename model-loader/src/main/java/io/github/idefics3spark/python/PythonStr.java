package io.github.idefics3spark.python;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Python 3's {@code str} methods with Python's semantics, for the code that must treat a string as
 * a Python original does: the chat templates ({@code message['role'].capitalize()}, {@code
 * text.strip()}, printed values) and the Java twins of the official benchmark scorers ({@code
 * strip}, {@code split}, {@code lower}, {@code upper}, {@code len}).
 *
 * <p>Whitespace is Python's: the code points for which {@code str.isspace()} is true (Unicode
 * categories Zs and the bidirectional classes WS, B and S), which is wider than Java's {@code
 * Character.isWhitespace} (it includes U+00A0, U+0085, U+2007, U+202F). Case mapping is the full
 * Unicode mapping on both sides ({@code "ß".upper()} is {@code "SS"}, {@code "İ".lower()} is two
 * code points); Java 17 implements Unicode 13 and Python 3.11 Unicode 14, which differ only on code
 * points assigned in 14. Lengths are counted in code points, as Python's {@code len}. Jinjava's own
 * {@code capitalize} and {@code trim} filters differ from jinja2's, which call these.
 */
public final class PythonStr {
  private PythonStr() {}

  /** Python's {@code str.isspace()} for one code point. */
  public static boolean isSpace(int cp) {
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

  /** Python's {@code s.strip()}: leading and trailing white space removed. */
  public static String strip(String s) {
    return strip(s, null);
  }

  /** {@code s.strip(chars)}; {@code chars == null} strips white space. */
  public static String strip(String s, String chars) {
    return rstrip(lstrip(s, chars), chars);
  }

  public static String lstrip(String s, String chars) {
    int i = 0;
    while (i < s.length()) {
      int cp = s.codePointAt(i);
      if (!stripped(cp, chars)) {
        break;
      }
      i += Character.charCount(cp);
    }
    return s.substring(i);
  }

  public static String rstrip(String s, String chars) {
    int end = s.length();
    while (end > 0) {
      int cp = s.codePointBefore(end);
      if (!stripped(cp, chars)) {
        break;
      }
      end -= Character.charCount(cp);
    }
    return s.substring(0, end);
  }

  private static boolean stripped(int cp, String chars) {
    return chars == null ? isSpace(cp) : chars.indexOf(cp) >= 0;
  }

  /** {@code s.capitalize()}: the first character in title case, the rest in lower case. */
  public static String capitalize(String s) {
    if (s.isEmpty()) {
      return s;
    }
    int first = s.codePointAt(0);
    int n = Character.charCount(first);
    return new StringBuilder()
        .appendCodePoint(Character.toTitleCase(first))
        .append(s.substring(n).toLowerCase(Locale.ROOT))
        .toString();
  }

  /** {@code s.title()}: each run of cased letters starts in title case, the rest lower case. */
  public static String title(String s) {
    StringBuilder out = new StringBuilder(s.length());
    boolean previousCased = false;
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      i += Character.charCount(cp);
      boolean cased =
          Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp);
      if (cased) {
        out.appendCodePoint(previousCased ? Character.toLowerCase(cp) : Character.toTitleCase(cp));
      } else {
        out.appendCodePoint(cp);
      }
      previousCased = cased;
    }
    return out.toString();
  }

  /** Python's {@code s.split()}: the runs of non-white space, never an empty string. */
  public static List<String> split(String s) {
    return split(s, null, -1);
  }

  /** Python's {@code s.split(sep)[-1]}: what follows the last separator found left to right. */
  public static String lastPieceAfter(String s, String sep) {
    int last = -1;
    for (int at = s.indexOf(sep); at >= 0; at = s.indexOf(sep, at + sep.length())) {
      last = at;
    }
    return last < 0 ? s : s.substring(last + sep.length());
  }

  /** Python's {@code s.lower()} (full Unicode case mapping, final sigma included). */
  public static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  /** Python's {@code s.upper()} (full Unicode case mapping). */
  public static String upper(String s) {
    return s.toUpperCase(Locale.ROOT);
  }

  /** Python's {@code len(s)}: the number of code points. */
  public static int len(String s) {
    return s.codePointCount(0, s.length());
  }

  /** {@code s.split(sep, maxsplit)}; {@code sep == null} splits on runs of white space. */
  public static List<String> split(String s, String sep, int maxsplit) {
    List<String> parts = new ArrayList<>();
    if (sep == null) {
      int i = 0;
      int n = s.length();
      while (true) {
        while (i < n && isSpace(s.codePointAt(i))) {
          i += Character.charCount(s.codePointAt(i));
        }
        if (i >= n) {
          return parts;
        }
        if (maxsplit >= 0 && parts.size() == maxsplit) {
          parts.add(rstrip(s.substring(i), null));
          return parts;
        }
        int start = i;
        while (i < n && !isSpace(s.codePointAt(i))) {
          i += Character.charCount(s.codePointAt(i));
        }
        parts.add(s.substring(start, i));
      }
    }
    if (sep.isEmpty()) {
      throw new IllegalArgumentException("empty separator");
    }
    int start = 0;
    while (maxsplit < 0 || parts.size() < maxsplit) {
      int at = s.indexOf(sep, start);
      if (at < 0) {
        break;
      }
      parts.add(s.substring(start, at));
      start = at + sep.length();
    }
    parts.add(s.substring(start));
    return parts;
  }

  /** {@code s.replace(old, new, count)}; a negative count replaces every occurrence. */
  public static String replace(String s, String old, String replacement, int count) {
    if (count < 0) {
      return s.replace(old, replacement);
    }
    StringBuilder out = new StringBuilder();
    int start = 0;
    int done = 0;
    if (old.isEmpty()) {
      // Python inserts the replacement before every code point and at the end
      while (done < count && start <= s.length()) {
        out.append(replacement);
        done++;
        if (start == s.length()) {
          return out.toString();
        }
        int cp = s.codePointAt(start);
        out.appendCodePoint(cp);
        start += Character.charCount(cp);
      }
      return out.append(s.substring(start)).toString();
    }
    while (done < count) {
      int at = s.indexOf(old, start);
      if (at < 0) {
        break;
      }
      out.append(s, start, at).append(replacement);
      start = at + old.length();
      done++;
    }
    return out.append(s.substring(start)).toString();
  }

  /**
   * Python's {@code str(value)}, as jinja2 prints {@code {{ value }}}: strings as they are, True
   * and False, lists and dicts in their repr. A null prints nothing (Jinjava does not tell None
   * from an undefined variable, which jinja2 prints as nothing).
   */
  public static String str(Object value) {
    if (value == null) {
      return "";
    }
    if (value instanceof CharSequence) {
      return value.toString();
    }
    return repr(value);
  }

  /** Python's {@code repr(value)} for the values a template holds. */
  public static String repr(Object value) {
    if (value == null) {
      return "None";
    }
    if (value instanceof Boolean b) {
      return b ? "True" : "False";
    }
    if (value instanceof Double || value instanceof Float) {
      return PythonJson.floatRepr(((Number) value).doubleValue());
    }
    if (value instanceof Number) {
      return value.toString();
    }
    if (value instanceof CharSequence) {
      return quoted(value.toString());
    }
    if (value instanceof java.util.Map<?, ?> map) {
      StringBuilder out = new StringBuilder("{");
      for (java.util.Map.Entry<?, ?> entry : map.entrySet()) {
        if (out.length() > 1) {
          out.append(", ");
        }
        out.append(repr(entry.getKey())).append(": ").append(repr(entry.getValue()));
      }
      return out.append('}').toString();
    }
    if (value instanceof Iterable<?> items) {
      StringBuilder out = new StringBuilder("[");
      for (Object item : items) {
        if (out.length() > 1) {
          out.append(", ");
        }
        out.append(repr(item));
      }
      return out.append(']').toString();
    }
    return value.toString();
  }

  /** A string's repr: single quotes unless it holds ' and no ", escapes as Python writes them. */
  private static String quoted(String s) {
    char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
    StringBuilder out = new StringBuilder().append(quote);
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      i += Character.charCount(cp);
      if (cp == quote || cp == '\\') {
        out.append('\\').appendCodePoint(cp);
      } else if (cp == '\n') {
        out.append("\\n");
      } else if (cp == '\r') {
        out.append("\\r");
      } else if (cp == '\t') {
        out.append("\\t");
      } else if (cp < 0x20 || cp == 0x7F) {
        out.append(String.format("\\x%02x", cp));
      } else {
        out.appendCodePoint(cp);
      }
    }
    return out.append(quote).toString();
  }
}
