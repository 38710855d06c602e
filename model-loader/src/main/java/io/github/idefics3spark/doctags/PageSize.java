package io.github.idefics3spark.doctags;

/**
 * The size of a page image in pixels, used to scale DocTags locations ({@code <loc_0>} to {@code
 * <loc_500>}, a 500 by 500 grid over the page) to page coordinates.
 *
 * @param width page width in pixels
 * @param height page height in pixels
 */
public record PageSize(double width, double height) {

  /** The location grid itself: bounding boxes stay in {@code <loc_N>} units (0 to 500). */
  public static final PageSize LOC_GRID =
      new PageSize(DocTagsParser.LOC_GRID, DocTagsParser.LOC_GRID);

  /** Checks that both sides are positive and finite. */
  public PageSize {
    if (!(width > 0 && height > 0 && Double.isFinite(width) && Double.isFinite(height))) {
      throw new IllegalArgumentException(
          "page size must be positive and finite, found " + width + " x " + height);
    }
  }
}
