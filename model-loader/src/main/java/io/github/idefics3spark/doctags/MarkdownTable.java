package io.github.idefics3spark.doctags;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A table grid written as a GitHub Markdown table the way docling-core writes one: {@code
 * tabulate(rows[1:], headers=rows[0], tablefmt="github", disable_numparse=True, colalign=...)}
 * (tabulate 0.9). The first row is the header; a spanning cell's text is repeated over every
 * position it covers; {@code |} becomes {@code &#124;} and line breaks spaces. Each column is as
 * wide as its widest cell and at least its header plus 2; columns whose body cells are all numbers
 * (or empty) are right-aligned, header included; others left-aligned. The separator row is dashes
 * only.
 */
final class MarkdownTable {
  private static final Pattern INT = Pattern.compile("\\s*[+-]?\\d+(_\\d+)*\\s*");
  private static final Pattern FLOAT =
      Pattern.compile(
          "\\s*[+-]?(\\d+(_\\d+)*\\.?(\\d+(_\\d+)*)?|\\.\\d+(_\\d+)*)([eE][+-]?\\d+(_\\d+)*)?\\s*");

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
   * tabulate's {@code _column_type} over the body rows: the most generic of each cell's type
   * (empty, bool, int, float, string); a column is numeric when that is int or float.
   */
  private static boolean isNumericColumn(String[][] rows, int column) {
    int generic = 1; // tabulate starts the reduction at bool
    for (int r = 1; r < rows.length; r++) {
      generic = Math.max(generic, typeRank(rows[r][column]));
    }
    return generic == 2 || generic == 3;
  }

  /** 0 empty, 1 bool, 2 int, 3 float, 5 string: Python's int() and float() acceptance. */
  private static int typeRank(String cell) {
    if (cell.isEmpty()) {
      return 0;
    }
    if (cell.equals("True") || cell.equals("False")) {
      return 1;
    }
    if (INT.matcher(cell).matches()) {
      return 2;
    }
    String lower = cell.toLowerCase(Locale.ROOT);
    if (FLOAT.matcher(cell).matches()
        || lower.equals("inf")
        || lower.equals("-inf")
        || lower.equals("nan")) {
      return 3;
    }
    return 5;
  }

  private static int width(String text) {
    return text.codePointCount(0, text.length());
  }
}
