package io.github.idefics3spark.doctags;

/**
 * How a parsed DocTags document is written.
 *
 * @param keepPageHeadersAndFooters write {@code page_header} and {@code page_footer} elements;
 *     docling-core puts them in the furniture layer, which its Markdown export leaves out
 * @param pageBreakPlaceholder Markdown written between the blocks of two pages (docling-core's
 *     {@code page_break_placeholder}, e.g. {@code "<!-- page break -->"}); {@code null} for none,
 *     docling-core's default
 */
public record ExportOptions(boolean keepPageHeadersAndFooters, String pageBreakPlaceholder) {

  /** docling-core's defaults: page headers and footers dropped, no page break marks. */
  public static final ExportOptions DEFAULT = new ExportOptions(false, null);

  /** Page headers and footers kept or dropped; no page break marks. */
  public ExportOptions(boolean keepPageHeadersAndFooters) {
    this(keepPageHeadersAndFooters, null);
  }

  boolean includes(DocTagsItem item) {
    return keepPageHeadersAndFooters
        || !(item instanceof DocTagsItem.Text text && text.kind().isFurniture());
  }
}
