package io.github.idefics3spark.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * Python's {@code ast.literal_eval} for the one literal benchmark files hold as text: a list of
 * strings, as MMMU's {@code options} column ({@code "['$6', '$7', \"It's 8\"]"}) and its list
 * answers ({@code "['24/7', '3.429']"}).
 *
 * <p>Strings are quoted with {@code '} or {@code "} (not triple-quoted, no prefixes), with Python's
 * escapes: {@code \\ \' \" \n \t \r \a \b \f \v \0}-octal, {@code \xhh}, {@code \\uhhhh}, {@code
 * \Uhhhhhhhh}, a backslash before a new line; an unknown escape keeps its backslash, as Python
 * does. Adjacent strings are joined; a trailing comma is allowed.
 */
public final class PythonLiteral {
  private final String text;
  private int at;

  private PythonLiteral(String text) {
    this.text = text;
  }

  /**
   * The strings of a Python list literal of strings.
   *
   * @throws IllegalArgumentException when {@code text} is not such a literal, saying where
   */
  public static List<String> stringList(String text) {
    PythonLiteral p = new PythonLiteral(text);
    p.skipSpace();
    p.expect('[');
    List<String> items = new ArrayList<>();
    p.skipSpace();
    while (!p.peek(']')) {
      items.add(p.string());
      p.skipSpace();
      if (p.peek(',')) {
        p.at++;
        p.skipSpace();
      } else if (!p.peek(']')) {
        throw p.error("',' or ']'");
      }
    }
    p.at++;
    p.skipSpace();
    if (p.at != text.length()) {
      throw p.error("the end after ']'");
    }
    return items;
  }

  /** Whether {@code text} reads as a list of strings. */
  public static boolean isStringList(String text) {
    try {
      stringList(text);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private boolean peek(char c) {
    return at < text.length() && text.charAt(at) == c;
  }

  private void expect(char c) {
    if (!peek(c)) {
      throw error("'" + c + "'");
    }
    at++;
  }

  private void skipSpace() {
    while (at < text.length() && " \t\n\r\f".indexOf(text.charAt(at)) >= 0) {
      at++;
    }
  }

  private IllegalArgumentException error(String expected) {
    String found = at < text.length() ? "'" + text.charAt(at) + "'" : "the end";
    return new IllegalArgumentException(
        "not a Python list of strings: expected "
            + expected
            + " at character "
            + at
            + ", found "
            + found
            + ", in "
            + (text.length() > 200 ? text.substring(0, 200) + "..." : text));
  }

  /** One or more adjacent string literals. */
  private String string() {
    StringBuilder out = new StringBuilder();
    do {
      oneString(out);
      skipSpace();
    } while (peek('\'') || peek('"'));
    return out.toString();
  }

  private void oneString(StringBuilder out) {
    if (!peek('\'') && !peek('"')) {
      throw error("a quoted string");
    }
    char quote = text.charAt(at++);
    while (true) {
      if (at >= text.length()) {
        throw error("the closing " + quote);
      }
      char c = text.charAt(at++);
      if (c == quote) {
        return;
      }
      if (c == '\n') {
        at--;
        throw error("the closing " + quote + " before the end of the line");
      }
      if (c != '\\') {
        out.append(c);
        continue;
      }
      if (at >= text.length()) {
        throw error("an escaped character");
      }
      char e = text.charAt(at++);
      switch (e) {
        case '\n' -> {}
        case '\\', '\'', '"' -> out.append(e);
        case 'n' -> out.append('\n');
        case 't' -> out.append('\t');
        case 'r' -> out.append('\r');
        case 'a' -> out.append('\u0007');
        case 'b' -> out.append('\b');
        case 'f' -> out.append('\f');
        case 'v' -> out.append('\u000b');
        case 'x' -> out.appendCodePoint(hex(2));
        case 'u' -> out.appendCodePoint(hex(4));
        case 'U' -> out.appendCodePoint(hex(8));
        default -> {
          if (e >= '0' && e <= '7') {
            int value = e - '0';
            for (int i = 0; i < 2 && at < text.length(); i++) {
              char d = text.charAt(at);
              if (d < '0' || d > '7') {
                break;
              }
              value = value * 8 + (d - '0');
              at++;
            }
            out.appendCodePoint(value);
          } else {
            out.append('\\').append(e); // Python keeps unknown escapes
          }
        }
      }
    }
  }

  private int hex(int digits) {
    if (at + digits > text.length()) {
      throw error(digits + " hex digits");
    }
    int value;
    try {
      value = Integer.parseUnsignedInt(text.substring(at, at + digits), 16);
    } catch (NumberFormatException e) {
      throw error(digits + " hex digits");
    }
    if (value > Character.MAX_CODE_POINT) {
      throw error("a code point up to 10FFFF");
    }
    at += digits;
    return value;
  }
}
