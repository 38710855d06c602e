package io.github.idefics3spark.doctags;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A table grid written as a GitHub Markdown table the way docling-core writes one: {@code
 * tabulate(rows[1:], headers=rows[0], tablefmt="github", disable_numparse=True, colalign=...)}
 * (tabulate 0.10, which docling-core allows from 0.9). The first row is the header; a spanning
 * cell's text is repeated over every position it covers; {@code |} becomes {@code &#124;} and line
 * breaks spaces. Each column is as wide as its widest cell (in code points) and at least its header
 * plus 2; columns whose body cells are all numbers as tabulate 0.10 reads them (or empty) are
 * right-aligned, header included; others left-aligned. The separator row is dashes only.
 */
final class MarkdownTable {
  /** Python's {@code int()} literal, digits already made ASCII. */
  private static final Pattern INT = Pattern.compile("[+-]?[0-9]+(_[0-9]+)*");

  /** Python's {@code float()} decimal literal, digits already made ASCII. */
  private static final Pattern FLOAT =
      Pattern.compile(
          "[+-]?([0-9]+(_[0-9]+)*\\.?([0-9]+(_[0-9]+)*)?|\\.[0-9]+(_[0-9]+)*)"
              + "([eE][+-]?[0-9]+(_[0-9]+)*)?");

  /** Python's {@code float()} words ({@code inf}, {@code infinity}, {@code nan}, any case). */
  private static final Pattern FLOAT_WORD =
      Pattern.compile("[+-]?(inf|infinity|nan)", Pattern.CASE_INSENSITIVE);

  /**
   * tabulate's {@code _float_with_thousands_separators}: {@code 1,000}, {@code -1,000.5}, {@code
   * 1.}, {@code .5} (a Python conditional pattern, split in two here).
   */
  private static final Pattern THOUSANDS =
      Pattern.compile("[+-]?[0-9]{1,3}(,[0-9]{3})*(\\.[0-9]*)?|(\\.[0-9]+)?");

  private MarkdownTable() {}

  /** The Markdown table, or {@code ""} for a table without rows or columns. */
  static String write(TableData data) {
    String[][] rows = data.textGrid();
    if (rows.length == 0 || data.columns() == 0) {
      return "";
    }
    int columns = data.columns();
    for (String[] row : rows) {
      for (int c = 0; c < columns; c++) {
        row[c] = row[c].replace("\n", " ").replace("|", "&#124;").strip();
      }
    }
    boolean[] right = new boolean[columns];
    int[] widths = new int[columns];
    for (int c = 0; c < columns; c++) {
      right[c] = rows.length > 1 && isNumericColumn(rows, c);
      widths[c] = width(rows[0][c]) + 2;
      for (int r = 1; r < rows.length; r++) {
        widths[c] = Math.max(widths[c], width(rows[r][c]));
      }
    }
    StringBuilder out = new StringBuilder();
    appendRow(out, rows[0], widths, right);
    out.append('\n').append('|');
    for (int c = 0; c < columns; c++) {
      out.append("-".repeat(widths[c] + 2)).append('|');
    }
    for (int r = 1; r < rows.length; r++) {
      out.append('\n');
      appendRow(out, rows[r], widths, right);
    }
    return out.toString();
  }

  private static void appendRow(StringBuilder out, String[] row, int[] widths, boolean[] right) {
    out.append('|');
    for (int c = 0; c < row.length; c++) {
      String pad = " ".repeat(widths[c] - width(row[c]));
      out.append(' ').append(right[c] ? pad + row[c] : row[c] + pad).append(' ').append('|');
    }
  }

  /**
   * tabulate 0.10's {@code _column_type} over the body rows: the most generic of each cell's type
   * (empty, bool, int, float, string), starting from bool; a column is numeric when that is int or
   * float.
   */
  private static boolean isNumericColumn(String[][] rows, int column) {
    int generic = 1;
    for (int r = 1; r < rows.length; r++) {
      generic = Math.max(generic, typeRank(rows[r][column]));
    }
    return generic == 2 || generic == 3;
  }

  /**
   * tabulate's {@code _type} of a cell: 0 empty, 1 {@code True}/{@code False}, 2 int (Python's
   * {@code int()} takes it, or thousands separators without a point), 3 float (Python's {@code
   * float()} takes it without overflowing, or thousands separators), 5 string.
   */
  private static int typeRank(String cell) {
    if (cell.isEmpty()) {
      return 0;
    }
    if (cell.equals("True") || cell.equals("False")) {
      return 1;
    }
    boolean thousands = THOUSANDS.matcher(cell).matches();
    String literal = asciiDigits(cell.strip());
    if (INT.matcher(literal).matches() || (thousands && !cell.contains("."))) {
      return 2;
    }
    if (isPythonFloat(cell, literal) || thousands) {
      return 3;
    }
    return 5;
  }

  /** tabulate's {@code _isnumber}: float() takes it, and it is not an overflow to inf or nan. */
  private static boolean isPythonFloat(String cell, String literal) {
    if (FLOAT.matcher(literal).matches()) {
      return Double.isFinite(Double.parseDouble(literal.replace("_", "")));
    }
    if (FLOAT_WORD.matcher(literal).matches()) {
      String lower = cell.toLowerCase(Locale.ROOT);
      return lower.equals("inf") || lower.equals("-inf") || lower.equals("nan");
    }
    return false;
  }

  /** Python's int() and float() read any Unicode decimal digit: {@code １２} is 12. */
  private static String asciiDigits(String text) {
    StringBuilder out = new StringBuilder(text.length());
    text.codePoints()
        .forEach(
            c -> {
              if (Character.isDigit(c)) {
                out.append((char) ('0' + Character.digit(c, 10)));
              } else {
                out.appendCodePoint(c);
              }
            });
    return out.toString();
  }

  private static int width(String text) {
    return text.codePointCount(0, text.length());
  }
}
