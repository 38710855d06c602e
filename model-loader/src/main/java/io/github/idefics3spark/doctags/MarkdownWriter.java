package io.github.idefics3spark.doctags;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes elements as Markdown following docling-core's {@code MarkdownDocSerializer} with its
 * default {@code MarkdownParams} ({@code docling_core/transforms/serializer/markdown.py}):
 *
 * <ul>
 *   <li>blocks joined by a blank line; empty blocks left out; the page break placeholder, if set,
 *       between blocks of different pages;
 *   <li>title {@code # }, section header level N with N+1 {@code #};
 *   <li>text escaped: {@code _} as {@code \_} (outside image links), then {@code &}, {@code <},
 *       {@code >} as HTML entities; code and formulas are not escaped;
 *   <li>unordered list items {@code - }, ordered {@code 1. }, {@code 2. }, one per line;
 *   <li>checkboxes {@code - [x] } and {@code - [ ] };
 *   <li>code in a {@code ```} fence without a language; formulas {@code $$...$$};
 *   <li>tables: caption, blank line, {@link MarkdownTable};
 *   <li>pictures: caption, {@code <!-- image -->}, the humanised class ({@code Bar chart}), a
 *       chart's table;
 *   <li>key-value regions {@code <!-- missing-key-value-item -->};
 *   <li>inline groups: children on one line joined by a space, code in backticks, formulas in
 *       {@code $...$}.
 * </ul>
 */
final class MarkdownWriter {
  static final String IMAGE_PLACEHOLDER = "<!-- image -->";
  private static final Pattern IMAGE_LINK = Pattern.compile("!\\[.*?\\]\\((.*?)\\)");
  private static final Pattern UNESCAPED_UNDERSCORE = Pattern.compile("(?<!\\\\)_");

  private MarkdownWriter() {}

  static String write(List<DocTagsItem> items, ExportOptions options) {
    List<String> blocks = new ArrayList<>();
    int lastPage = 0;
    for (DocTagsItem item : items) {
      if (options.includes(item)) {
        String block = block(item);
        if (!block.isEmpty()) {
          if (options.pageBreakPlaceholder() != null && lastPage != 0 && item.page() != lastPage) {
            blocks.add(options.pageBreakPlaceholder());
          }
          blocks.add(block);
          lastPage = item.page();
        }
      }
    }
    return String.join("\n\n", blocks);
  }

  private static String block(DocTagsItem item) {
    if (item instanceof DocTagsItem.Text text) {
      return text(text);
    } else if (item instanceof DocTagsItem.Code code) {
      return "```\n" + code.text() + "\n```";
    } else if (item instanceof DocTagsItem.Formula formula) {
      return formula.text().isEmpty() ? "" : "$$" + formula.text() + "$$";
    } else if (item instanceof DocTagsItem.ListBlock list) {
      return list(list);
    } else if (item instanceof DocTagsItem.Table table) {
      return joinBlocks(caption(table.caption()), MarkdownTable.write(table.data()));
    } else if (item instanceof DocTagsItem.Picture picture) {
      return joinBlocks(
          caption(picture.caption()),
          IMAGE_PLACEHOLDER,
          picture.classification() == null ? "" : humanize(picture.classification()),
          picture.chart() == null ? "" : MarkdownTable.write(picture.chart()));
    } else if (item instanceof DocTagsItem.KeyValueRegion) {
      return "<!-- missing-key-value-item -->";
    } else {
      return inline((DocTagsItem.Inline) item);
    }
  }

  private static String text(DocTagsItem.Text text) {
    return switch (text.kind()) {
      case TITLE -> "# " + escape(text.text());
      case SECTION_HEADER -> "#".repeat(text.level() + 1) + " " + escape(text.text());
      case CHECKBOX_SELECTED -> escape("- [x] " + text.text());
      case CHECKBOX_UNSELECTED -> escape("- [ ] " + text.text());
      default -> escape(text.text());
    };
  }

  private static String list(DocTagsItem.ListBlock list) {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < list.entries().size(); i++) {
      String marker = list.ordered() ? (i + 1) + "." : "-";
      lines.add(marker + " " + escape(list.entries().get(i).text()));
    }
    return String.join("\n", lines);
  }

  private static String caption(DocTagsItem.Text caption) {
    return caption == null ? "" : escape(caption.text());
  }

  private static String inline(DocTagsItem.Inline inline) {
    List<String> parts = new ArrayList<>();
    for (DocTagsItem child : inline.children()) {
      String part;
      if (child instanceof DocTagsItem.Code code) {
        part = "`" + code.text() + "`";
      } else if (child instanceof DocTagsItem.Formula formula) {
        part = formula.text().isEmpty() ? "" : "$" + formula.text() + "$";
      } else {
        part = block(child);
      }
      if (!part.isEmpty()) {
        parts.add(part);
      }
    }
    return String.join(" ", parts);
  }

  private static String joinBlocks(String... blocks) {
    List<String> present = new ArrayList<>();
    for (String block : blocks) {
      if (!block.isEmpty()) {
        present.add(block);
      }
    }
    return String.join("\n\n", present);
  }

  /**
   * docling-core's {@code post_process}: underscores escaped, then {@code
   * html.escape(quote=False)}.
   */
  static String escape(String text) {
    StringBuilder out = new StringBuilder();
    Matcher link = IMAGE_LINK.matcher(text);
    int end = 0;
    while (link.find()) {
      out.append(escapeUnderscores(text.substring(end, link.start()))).append(link.group());
      end = link.end();
    }
    out.append(escapeUnderscores(text.substring(end)));
    return out.toString().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private static String escapeUnderscores(String text) {
    return UNESCAPED_UNDERSCORE.matcher(text).replaceAll(Matcher.quoteReplacement("\\_"));
  }

  /** docling-core's {@code _humanize_text}: underscores as spaces, Python's capitalize(). */
  static String humanize(String name) {
    String spaced = name.replace("__", "_").replace("_", " ");
    if (spaced.isEmpty()) {
      return spaced;
    }
    return spaced.substring(0, 1).toUpperCase(Locale.ROOT)
        + spaced.substring(1).toLowerCase(Locale.ROOT);
  }
}
