package io.github.idefics3spark.doctags;

import java.util.List;

/**
 * DocTags parsed into elements, one or more pages, with the warnings the parse raised; written as
 * Markdown ({@link #toMarkdown}), HTML ({@link #toHtml}) or JSON ({@link #toJson}). Immutable.
 */
public final class DocTagsDocument {

  /** A problem met while parsing, on a 1-based page. */
  record Warning(int page, String message) {
    @Override
    public String toString() {
      return "page " + page + ": " + message;
    }
  }

  private final List<PageSize> pages;
  private final List<DocTagsItem> items;
  private final List<Warning> warnings;

  DocTagsDocument(List<PageSize> pages, List<DocTagsItem> items, List<Warning> warnings) {
    this.pages = List.copyOf(pages);
    this.items = List.copyOf(items);
    this.warnings = List.copyOf(warnings);
  }

  /** The size of each page, in page order (page N is at index N-1). */
  public List<PageSize> pages() {
    return pages;
  }

  /** The elements in reading order, page headers and footers included. */
  public List<DocTagsItem> items() {
    return items;
  }

  /**
   * What could not be parsed as DocTags, each as {@code "page N: message"}: unclosed (truncated)
   * elements, unknown tags or stray text, missing or bad locations, non-rectangular tables. Empty
   * for well-formed DocTags.
   */
  public List<String> warnings() {
    return warnings.stream().map(Warning::toString).toList();
  }

  List<Warning> pageWarnings() {
    return warnings;
  }

  /**
   * Markdown as docling-core's default {@code export_to_markdown}: page headers and footers out.
   */
  public String toMarkdown() {
    return toMarkdown(ExportOptions.DEFAULT);
  }

  /**
   * Markdown as docling-core's {@code MarkdownDocSerializer} writes it, without a final newline.
   */
  public String toMarkdown(ExportOptions options) {
    return MarkdownWriter.write(items, options);
  }

  /** An HTML page: headings, paragraphs, lists, tables with spans, figures with captions. */
  public String toHtml(ExportOptions options) {
    return HtmlWriter.write(items, options);
  }

  /** The JSON described in {@link JsonWriter}: pages, items with boxes in page pixels, warnings. */
  public String toJson(ExportOptions options) {
    return JsonWriter.write(this, options);
  }
}
