package io.github.idefics3spark.doctags;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Writes elements as an HTML page: title {@code <h1>}, section header level N {@code <hN+1>} (at
 * most {@code <h6>}), text {@code <p>}, footnotes, captions and page headers/footers {@code <p
 * class="...">} (their label), checkboxes as disabled checkbox inputs, lists {@code <ul>}/{@code
 * <ol>}, code {@code <pre><code class="language-X">}, formulas {@code <div class="formula">}
 * holding the LaTeX, tables {@code <table>} with {@code <caption>}, {@code rowspan}/{@code colspan}
 * and {@code <th>} for column and row headers (a document index's with {@code
 * class="document_index"}), pictures {@code <figure data-class="...">} with the image placeholder
 * comment, a chart's table and {@code <figcaption>}, key-value regions {@code <dl>}. Text is
 * HTML-escaped.
 */
final class HtmlWriter {

  private HtmlWriter() {}

  static String write(List<DocTagsItem> items, ExportOptions options) {
    StringBuilder out = new StringBuilder();
    out.append("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"UTF-8\">\n</head>\n<body>\n");
    for (DocTagsItem item : items) {
      if (options.includes(item)) {
        out.append(element(item)).append('\n');
      }
    }
    return out.append("</body>\n</html>\n").toString();
  }

  private static String element(DocTagsItem item) {
    if (item instanceof DocTagsItem.Text text) {
      return text(text);
    } else if (item instanceof DocTagsItem.Code code) {
      String language =
          code.language() == null ? "" : " class=\"language-" + escape(code.language()) + "\"";
      return "<pre><code" + language + ">" + escape(code.text()) + "</code></pre>";
    } else if (item instanceof DocTagsItem.Formula formula) {
      return "<div class=\"formula\">" + escape(formula.text()) + "</div>";
    } else if (item instanceof DocTagsItem.ListBlock list) {
      String tag = list.ordered() ? "ol" : "ul";
      StringBuilder out = new StringBuilder("<" + tag + ">\n");
      for (DocTagsItem.ListEntry entry : list.entries()) {
        out.append("<li>").append(escape(entry.text())).append("</li>\n");
      }
      return out.append("</").append(tag).append(">").toString();
    } else if (item instanceof DocTagsItem.Table table) {
      return table(table.data(), table.caption(), table.documentIndex());
    } else if (item instanceof DocTagsItem.Picture picture) {
      StringBuilder out = new StringBuilder("<figure");
      if (picture.classification() != null) {
        out.append(" data-class=\"").append(escape(picture.classification())).append('"');
      }
      out.append(">").append(MarkdownWriter.IMAGE_PLACEHOLDER);
      if (picture.chart() != null) {
        out.append('\n').append(table(picture.chart(), null, false));
      }
      if (picture.caption() != null) {
        out.append("<figcaption>").append(escape(picture.caption().text())).append("</figcaption>");
      }
      return out.append("</figure>").toString();
    } else if (item instanceof DocTagsItem.KeyValueRegion region) {
      StringBuilder out = new StringBuilder("<dl class=\"key-value\">\n");
      for (DocTagsItem.KeyValueCell cell : region.cells()) {
        String tag = cell.key() ? "dt" : "dd";
        out.append('<').append(tag).append('>').append(escape(cell.text()));
        out.append("</").append(tag).append(">\n");
      }
      return out.append("</dl>").toString();
    } else {
      List<String> parts = new ArrayList<>();
      for (DocTagsItem child : ((DocTagsItem.Inline) item).children()) {
        if (child instanceof DocTagsItem.Code code) {
          parts.add("<code>" + escape(code.text()) + "</code>");
        } else if (child instanceof DocTagsItem.Formula formula) {
          parts.add("<span class=\"formula\">" + escape(formula.text()) + "</span>");
        } else if (child instanceof DocTagsItem.Text text) {
          parts.add(escape(text.text()));
        }
      }
      return "<p>" + String.join(" ", parts) + "</p>";
    }
  }

  private static String text(DocTagsItem.Text text) {
    String body = escape(text.text());
    return switch (text.kind()) {
      case TITLE -> "<h1>" + body + "</h1>";
      case SECTION_HEADER -> {
        int level = Math.min(text.level() + 1, 6);
        yield "<h" + level + ">" + body + "</h" + level + ">";
      }
      case TEXT -> "<p>" + body + "</p>";
      case CHECKBOX_SELECTED -> "<p><input type=\"checkbox\" checked disabled> " + body + "</p>";
      case CHECKBOX_UNSELECTED -> "<p><input type=\"checkbox\" disabled> " + body + "</p>";
      default -> "<p class=\"" + text.kind().label() + "\">" + body + "</p>";
    };
  }

  private static String table(TableData data, DocTagsItem.Text caption, boolean documentIndex) {
    StringBuilder out =
        new StringBuilder(documentIndex ? "<table class=\"document_index\">\n" : "<table>\n");
    if (caption != null) {
      out.append("<caption>").append(escape(caption.text())).append("</caption>\n");
    }
    List<TableCell> cells = new ArrayList<>(data.cells());
    cells.sort(Comparator.comparingInt(TableCell::row).thenComparingInt(TableCell::column));
    int next = 0;
    for (int row = 0; row < data.rows(); row++) {
      out.append("<tr>");
      while (next < cells.size() && cells.get(next).row() == row) {
        TableCell cell = cells.get(next++);
        boolean header =
            cell.kind() == TableCell.Kind.COLUMN_HEADER || cell.kind() == TableCell.Kind.ROW_HEADER;
        String tag = header ? "th" : "td";
        out.append('<').append(tag);
        if (cell.rowSpan() > 1) {
          out.append(" rowspan=\"").append(cell.rowSpan()).append('"');
        }
        if (cell.columnSpan() > 1) {
          out.append(" colspan=\"").append(cell.columnSpan()).append('"');
        }
        out.append('>').append(escape(cell.text())).append("</").append(tag).append('>');
      }
      out.append("</tr>\n");
    }
    return out.append("</table>").toString();
  }

  static String escape(String text) {
    return text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;");
  }
}
