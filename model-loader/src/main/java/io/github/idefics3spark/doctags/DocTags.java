package io.github.idefics3spark.doctags;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads DocTags, the markup SmolDocling and granite-docling write for a page ({@code <doctag>
 * <title><loc_10><loc_20><loc_400><loc_40>Title</title> ... </doctag>}), and joins pages into
 * documents. Never throws on DocTags input: whatever does not parse is reported in {@link
 * DocTagsDocument#warnings()}.
 *
 * <pre>{@code
 * DocTagsDocument page = DocTags.parse(generated, new PageSize(1224, 1584));
 * String markdown = page.toMarkdown();
 * List<String> warnings = page.warnings();
 * String book = DocTags.assemble(pages).toMarkdown();
 * }</pre>
 */
public final class DocTags {

  private DocTags() {}

  /**
   * Parses the DocTags of one page ({@code <page_break>} starts another page), locations scaled to
   * {@code pageSize}. {@code null} or blank text gives an empty document with a warning.
   */
  public static DocTagsDocument parse(String doctags, PageSize pageSize) {
    return DocTagsParser.parse(doctags, pageSize);
  }

  /**
   * Joins documents in order into one: the pages of the second follow those of the first, and so
   * on; items and warnings are renumbered to their new pages.
   */
  public static DocTagsDocument assemble(List<DocTagsDocument> documents) {
    List<PageSize> pages = new ArrayList<>();
    List<DocTagsItem> items = new ArrayList<>();
    List<DocTagsDocument.Warning> warnings = new ArrayList<>();
    for (DocTagsDocument document : documents) {
      int offset = pages.size();
      pages.addAll(document.pages());
      for (DocTagsItem item : document.items()) {
        items.add(item.onPage(offset + item.page()));
      }
      for (DocTagsDocument.Warning warning : document.pageWarnings()) {
        warnings.add(new DocTagsDocument.Warning(offset + warning.page(), warning.message()));
      }
    }
    return new DocTagsDocument(pages, items, warnings);
  }
}
