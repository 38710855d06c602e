package io.github.idefics3spark.doctags;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses OTSL table tokens ({@code <fcel>}, {@code <ecel>}, {@code <lcel>}, {@code <ucel>}, {@code
 * <xcel>}, {@code <ched>}, {@code <rhed>}, {@code <srow>}, {@code <nl>}) into a {@link TableData},
 * as docling-core's {@code parse_otsl_table_content} ({@code otsl_extract_tokens_and_text} and
 * {@code otsl_parse_texts} in {@code docling_core/types/doc/utils.py}).
 *
 * <p>A cell opened by {@code <fcel>}, {@code <ched>}, {@code <rhed>} or {@code <srow>} takes the
 * text that follows it; it spans right over the {@code <lcel>}/{@code <xcel>} tokens after it and
 * down over the {@code <ucel>}/{@code <xcel>} tokens below it. Where docling-core would fail or
 * take a tag as text (a content cell with no text, spans reaching past a short row), this takes an
 * empty text and stops the span at the row's end.
 */
final class OtslTable {
  private static final Pattern TAG = Pattern.compile("<[^>]+>");
  private static final Set<String> CONTENT_CELLS =
      Set.of("<fcel>", "<ecel>", "<ched>", "<rhed>", "<srow>");
  private static final Set<String> STRUCTURE =
      Set.of(
          "<fcel>", "<ecel>", "<lcel>", "<ucel>", "<xcel>", "<nl>", "<ched>", "<rhed>", "<srow>");
  private static final Set<String> SPAN_RIGHT = Set.of("<lcel>", "<xcel>");
  private static final Set<String> SPAN_DOWN = Set.of("<ucel>", "<xcel>");

  private OtslTable() {}

  /** A piece of OTSL text: a tag, or the text between tags. */
  private record Part(String value, boolean tag) {}

  /** Parses the OTSL tokens found anywhere in {@code content} (other tags are skipped). */
  static TableData parse(String content, Consumer<String> warnings) {
    List<Part> parts = parts(content);
    List<List<String>> rows = structureRows(parts);

    List<TableCell> cells = new ArrayList<>();
    int row = 0;
    int column = 0;
    for (int i = 0; i < parts.size(); i++) {
      Part part = parts.get(i);
      if (!part.tag()) {
        continue;
      }
      String token = part.value();
      if (CONTENT_CELLS.contains(token)) {
        String text = "";
        int rightOffset = 1;
        if (!token.equals("<ecel>") && i + 1 < parts.size() && !parts.get(i + 1).tag()) {
          text = parts.get(i + 1).value().strip();
          rightOffset = 2;
        }
        String nextRight = i + rightOffset < parts.size() ? parts.get(i + rightOffset).value() : "";
        String nextBelow =
            row + 1 < rows.size() && column < rows.get(row + 1).size()
                ? rows.get(row + 1).get(column)
                : "";
        int columnSpan = 1;
        int rowSpan = 1;
        if (SPAN_RIGHT.contains(nextRight) && row < rows.size()) {
          columnSpan += countRight(rows.get(row), column + 1);
        }
        if (SPAN_DOWN.contains(nextBelow)) {
          rowSpan += countDown(rows, row + 1, column);
        }
        cells.add(new TableCell(text, row, column, rowSpan, columnSpan, kindOf(token)));
      }
      if (STRUCTURE.contains(token) && !token.equals("<nl>")) {
        column++;
      }
      if (token.equals("<nl>")) {
        row++;
        column = 0;
      }
    }
    int columns = rows.stream().mapToInt(List::size).max().orElse(0);
    if (rows.stream().anyMatch(r -> r.size() != columns)) {
      warnings.accept(
          "OTSL table is not rectangular: row lengths "
              + rows.stream().map(List::size).toList()
              + "; short rows are filled with empty cells");
    }
    return new TableData(rows.size(), columns, cells);
  }

  /** Tags and texts in order, without location tags, {@code <otsl>} tags and blank texts. */
  private static List<Part> parts(String content) {
    List<Part> parts = new ArrayList<>();
    Matcher tag = TAG.matcher(content);
    int end = 0;
    while (tag.find()) {
      addText(parts, content.substring(end, tag.start()));
      String value = tag.group();
      if (!value.startsWith("<loc_") && !value.equals("<otsl>") && !value.equals("</otsl>")) {
        parts.add(new Part(value, true));
      }
      end = tag.end();
    }
    addText(parts, content.substring(end));
    return parts;
  }

  private static void addText(List<Part> parts, String text) {
    if (!text.isBlank()) {
      parts.add(new Part(text, false));
    }
  }

  /** The structural tokens split into rows at {@code <nl>}; empty rows are not rows. */
  private static List<List<String>> structureRows(List<Part> parts) {
    List<List<String>> rows = new ArrayList<>();
    List<String> current = new ArrayList<>();
    for (Part part : parts) {
      if (!part.tag() || !STRUCTURE.contains(part.value())) {
        continue;
      }
      if (part.value().equals("<nl>")) {
        if (!current.isEmpty()) {
          rows.add(current);
          current = new ArrayList<>();
        }
      } else {
        current.add(part.value());
      }
    }
    if (!current.isEmpty()) {
      rows.add(current);
    }
    return rows;
  }

  private static int countRight(List<String> row, int from) {
    int span = 0;
    for (int c = from; c < row.size() && SPAN_RIGHT.contains(row.get(c)); c++) {
      span++;
    }
    return span;
  }

  private static int countDown(List<List<String>> rows, int from, int column) {
    int span = 0;
    for (int r = from;
        r < rows.size()
            && column < rows.get(r).size()
            && SPAN_DOWN.contains(rows.get(r).get(column));
        r++) {
      span++;
    }
    return span;
  }

  private static TableCell.Kind kindOf(String token) {
    return switch (token) {
      case "<ched>" -> TableCell.Kind.COLUMN_HEADER;
      case "<rhed>" -> TableCell.Kind.ROW_HEADER;
      case "<srow>" -> TableCell.Kind.SECTION_ROW;
      case "<ecel>" -> TableCell.Kind.EMPTY;
      default -> TableCell.Kind.DATA;
    };
  }
}
