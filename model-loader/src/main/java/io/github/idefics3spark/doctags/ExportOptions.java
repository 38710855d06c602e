package io.github.idefics3spark.doctags;

/**
 * How a parsed DocTags document is written.
 *
 * @param keepPageHeadersAndFooters write {@code page_header} and {@code page_footer} elements;
 *     docling-core puts them in the furniture layer, which its Markdown export leaves out
 */
public record ExportOptions(boolean keepPageHeadersAndFooters) {

  /** docling-core's default: page headers and footers dropped. */
  public static final ExportOptions DEFAULT = new ExportOptions(false);

  boolean includes(DocTagsItem item) {
    return keepPageHeadersAndFooters
        || !(item instanceof DocTagsItem.Text text && text.kind().isFurniture());
  }
}
