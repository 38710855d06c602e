package io.github.idefics3spark.doctags;

import java.util.List;

/**
 * The structure of an OTSL table: its size and its cells, as docling-core's {@code TableData}.
 *
 * @param rows number of rows (non-empty OTSL rows)
 * @param columns number of columns (the longest row's tokens)
 * @param cells the cells in reading order
 */
public record TableData(int rows, int columns, List<TableCell> cells) {

  /** Copies the cell list. */
  public TableData {
    cells = List.copyOf(cells);
  }

  /**
   * The rows x columns grid of cells, a spanning cell repeated over every position it covers and
   * {@code null} where no cell lies (docling-core's {@code TableData.grid}, whose empty positions
   * hold an empty cell).
   */
  public TableCell[][] grid() {
    TableCell[][] grid = new TableCell[rows][columns];
    for (TableCell cell : cells) {
      int rowEnd = Math.min(cell.row() + cell.rowSpan(), rows);
      int columnEnd = Math.min(cell.column() + cell.columnSpan(), columns);
      for (int r = Math.min(cell.row(), rows); r < rowEnd; r++) {
        for (int c = Math.min(cell.column(), columns); c < columnEnd; c++) {
          grid[r][c] = cell;
        }
      }
    }
    return grid;
  }

  /** The grid's texts, {@code ""} where no cell lies. */
  public String[][] textGrid() {
    TableCell[][] grid = grid();
    String[][] texts = new String[rows][columns];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < columns; c++) {
        texts[r][c] = grid[r][c] == null ? "" : grid[r][c].text();
      }
    }
    return texts;
  }
}
