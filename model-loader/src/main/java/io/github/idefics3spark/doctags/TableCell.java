package io.github.idefics3spark.doctags;

/**
 * One cell of an OTSL table: its text, its top-left grid position and its spans.
 *
 * @param text the cell text, stripped
 * @param row first row (0-based)
 * @param column first column (0-based)
 * @param rowSpan rows covered, at least 1
 * @param columnSpan columns covered, at least 1
 * @param kind the OTSL token that opened the cell
 */
public record TableCell(String text, int row, int column, int rowSpan, int columnSpan, Kind kind) {

  /** The OTSL token that opened a cell. */
  public enum Kind {
    /** {@code <fcel>}: a data cell with content. */
    DATA,
    /** {@code <ecel>}: an empty cell. */
    EMPTY,
    /** {@code <ched>}: a column header. */
    COLUMN_HEADER,
    /** {@code <rhed>}: a row header. */
    ROW_HEADER,
    /** {@code <srow>}: a section row. */
    SECTION_ROW
  }
}
