package io.github.idefics3spark.doctags;

/** What a text element is, named after its DocTags tag (docling-core's {@code DocItemLabel}). */
public enum TextKind {
  TITLE("title"),
  SECTION_HEADER("section_header"),
  TEXT("text"),
  FOOTNOTE("footnote"),
  CAPTION("caption"),
  PAGE_HEADER("page_header"),
  PAGE_FOOTER("page_footer"),
  CHECKBOX_SELECTED("checkbox_selected"),
  CHECKBOX_UNSELECTED("checkbox_unselected");

  private final String label;

  TextKind(String label) {
    this.label = label;
  }

  /** The label as docling-core spells it, used as the JSON {@code type}. */
  public String label() {
    return label;
  }

  /** Whether docling-core puts the element in the furniture layer (dropped by default). */
  public boolean isFurniture() {
    return this == PAGE_HEADER || this == PAGE_FOOTER;
  }
}
