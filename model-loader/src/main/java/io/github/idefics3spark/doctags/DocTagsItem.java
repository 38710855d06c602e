package io.github.idefics3spark.doctags;

import java.util.List;

/**
 * One element of a DocTags page in reading order, the twin of a docling-core {@code DocItem} (or
 * list group). Bounding boxes are in page pixels and {@code null} where the element carried no four
 * {@code <loc_N>} tokens; {@code page} is 1-based.
 */
public sealed interface DocTagsItem {

  /** The 1-based page the element is on. */
  int page();

  /** The element's box in page pixels, or {@code null} when DocTags gave none. */
  BoundingBox bbox();

  /** The same element moved to another page (for assembling documents). */
  DocTagsItem onPage(int page);

  /**
   * A text element: title, section header, paragraph, footnote, caption, page header or footer, or
   * checkbox.
   *
   * @param kind what the text is
   * @param level the section header level (1 to 6, from {@code section_header_level_N}); 0 for
   *     other kinds
   * @param text the text with tags removed, stripped
   */
  record Text(TextKind kind, int level, String text, BoundingBox bbox, int page)
      implements DocTagsItem {
    @Override
    public Text onPage(int page) {
      return new Text(kind, level, text, bbox, page);
    }
  }

  /**
   * A code block.
   *
   * @param language the language from a leading {@code <_Python_>}-style token, or {@code null}
   * @param text the code, its inner line breaks kept
   */
  record Code(String language, String text, BoundingBox bbox, int page) implements DocTagsItem {
    @Override
    public Code onPage(int page) {
      return new Code(language, text, bbox, page);
    }
  }

  /**
   * A display formula.
   *
   * @param text the formula source (LaTeX as the model wrote it)
   */
  record Formula(String text, BoundingBox bbox, int page) implements DocTagsItem {
    @Override
    public Formula onPage(int page) {
      return new Formula(text, bbox, page);
    }
  }

  /**
   * An ordered or unordered list. Its own box is {@code null}: DocTags locates the items.
   *
   * @param ordered {@code <ordered_list>} rather than {@code <unordered_list>}
   * @param entries the list items in order
   */
  record ListBlock(boolean ordered, List<ListEntry> entries, int page) implements DocTagsItem {
    /** Copies the entries. */
    public ListBlock {
      entries = List.copyOf(entries);
    }

    @Override
    public BoundingBox bbox() {
      return null;
    }

    @Override
    public ListBlock onPage(int page) {
      return new ListBlock(ordered, entries, page);
    }
  }

  /**
   * One {@code <list_item>}.
   *
   * @param text the item text with tags removed
   * @param bbox its box in page pixels, or {@code null}
   */
  record ListEntry(String text, BoundingBox bbox) {}

  /**
   * An OTSL table, or a document index (a table of contents, docling-core's table labelled {@code
   * document_index}).
   *
   * @param data cells and spans
   * @param caption the {@code <caption>} inside the table, or {@code null}
   * @param documentIndex from {@code <document_index>} rather than {@code <otsl>}
   */
  record Table(TableData data, Text caption, boolean documentIndex, BoundingBox bbox, int page)
      implements DocTagsItem {
    @Override
    public Table onPage(int page) {
      return new Table(
          data, caption == null ? null : caption.onPage(page), documentIndex, bbox, page);
    }
  }

  /**
   * A picture (or a {@code <chart>}).
   *
   * @param classification the class token inside it ({@code bar_chart}, {@code logo}, ...; legacy
   *     SmolDocling names mapped as docling-core maps them), or {@code null}
   * @param caption the {@code <caption>} inside it, or {@code null}
   * @param chart the OTSL data of a {@code <chart>}, or {@code null}
   */
  record Picture(String classification, Text caption, TableData chart, BoundingBox bbox, int page)
      implements DocTagsItem {
    @Override
    public Picture onPage(int page) {
      return new Picture(
          classification, caption == null ? null : caption.onPage(page), chart, bbox, page);
    }
  }

  /**
   * A {@code <key_value_region>}: keys and values linked by {@code <link_N>}.
   *
   * @param cells the {@code <key_N>} and {@code <value_N>} cells
   */
  record KeyValueRegion(List<KeyValueCell> cells, BoundingBox bbox, int page)
      implements DocTagsItem {
    /** Copies the cells. */
    public KeyValueRegion {
      cells = List.copyOf(cells);
    }

    @Override
    public KeyValueRegion onPage(int page) {
      return new KeyValueRegion(cells, bbox, page);
    }
  }

  /**
   * One key or value of a key-value region.
   *
   * @param id the N of {@code <key_N>} / {@code <value_N>}
   * @param key a key rather than a value
   * @param text the text with location and link tokens removed
   * @param links the ids this cell links to (only ids present in the region)
   */
  record KeyValueCell(int id, boolean key, String text, List<Integer> links) {
    /** Copies the links. */
    public KeyValueCell {
      links = List.copyOf(links);
    }
  }

  /**
   * An {@code <inline>} group: text, code and formulas written on one line.
   *
   * @param children the elements in order
   */
  record Inline(List<DocTagsItem> children, BoundingBox bbox, int page) implements DocTagsItem {
    /** Copies the children. */
    public Inline {
      children = List.copyOf(children);
    }

    @Override
    public Inline onPage(int page) {
      return new Inline(children.stream().map(c -> c.onPage(page)).toList(), bbox, page);
    }
  }
}
