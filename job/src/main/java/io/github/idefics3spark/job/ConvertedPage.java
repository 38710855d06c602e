package io.github.idefics3spark.job;

import io.github.idefics3spark.doctags.BoundingBox;
import io.github.idefics3spark.doctags.DocTags;
import io.github.idefics3spark.doctags.DocTagsDocument;
import io.github.idefics3spark.doctags.DocTagsItem;
import io.github.idefics3spark.doctags.PageSize;
import io.github.idefics3spark.image.RgbImage;
import java.util.ArrayList;
import java.util.List;

/**
 * One page's DocTags converted as the {@code document} command writes it: Markdown, HTML and JSON
 * as asked, the warnings of what did not parse (a page cut at the token limit, tags the converter
 * does not know), the page image's size the {@code <loc_N>} boxes were scaled to, and the crops of
 * its pictures. Never fails on the DocTags text: what does not parse is a warning.
 *
 * @param markdown the Markdown
 * @param html the HTML, or null when not asked
 * @param json the JSON ({@code idefics3-spark.doctags/1}), or null when not asked
 * @param warnings each "page N: ..." or about the page image; empty when all parsed
 * @param width the page image's width in pixels, or null when it could not be read (boxes then stay
 *     in {@code <loc_N>} units, 0 to 500)
 * @param height the page image's height in pixels, or null likewise
 * @param pictures the crops of the page's pictures that have a box, in reading order; empty unless
 *     asked
 */
record ConvertedPage(
    String markdown,
    String html,
    String json,
    List<String> warnings,
    Integer width,
    Integer height,
    List<RgbImage> pictures) {

  ConvertedPage {
    warnings = List.copyOf(warnings);
    pictures = List.copyOf(pictures);
  }

  /**
   * Converts a page's DocTags.
   *
   * @param doctags the generated text (end-of-generation tokens are removed by the parser)
   * @param page the page image the model read, or null when it cannot be had
   * @param pageProblem why the page image cannot be had, when {@code page} is null
   * @param settings formats, headers and footers, crops
   */
  static ConvertedPage of(
      String doctags, RgbImage page, String pageProblem, DocumentSettings settings) {
    PageSize size = page == null ? PageSize.LOC_GRID : new PageSize(page.width(), page.height());
    DocTagsDocument document = DocTags.parse(doctags, size);
    List<String> warnings = new ArrayList<>();
    if (page == null) {
      warnings.add(
          "page image not read ("
              + pageProblem
              + "): boxes are in <loc_N> units (0 to 500), not page pixels");
    }
    warnings.addAll(document.warnings());
    List<RgbImage> crops = new ArrayList<>();
    if (settings.cropPictures() && page != null) {
      for (DocTagsItem item : document.items()) {
        if (item instanceof DocTagsItem.Picture picture && picture.bbox() != null) {
          RgbImage crop = crop(page, picture.bbox());
          if (crop == null) {
            warnings.add(
                "page "
                    + picture.page()
                    + ": a picture's box "
                    + picture.bbox()
                    + " covers no pixel of the "
                    + page.width()
                    + "x"
                    + page.height()
                    + " page; no crop written");
          } else {
            crops.add(crop);
          }
        }
      }
    }
    return new ConvertedPage(
        document.toMarkdown(settings.exportOptions()),
        settings.html() ? document.toHtml(settings.exportOptions()) : null,
        settings.json() ? document.toJson(settings.exportOptions()) : null,
        warnings,
        page == null ? null : page.width(),
        page == null ? null : page.height(),
        crops);
  }

  /**
   * The pixels of {@code page} inside {@code box} (page pixels, top-left origin): from the pixel
   * holding the box's left/top edge to the one before its right/bottom edge, at least one pixel
   * wide where the box is thinner; null when the box lies outside the page.
   */
  static RgbImage crop(RgbImage page, BoundingBox box) {
    int left = clamp((int) Math.floor(box.left()), page.width());
    int top = clamp((int) Math.floor(box.top()), page.height());
    int right = clamp((int) Math.ceil(box.right()), page.width());
    int bottom = clamp((int) Math.ceil(box.bottom()), page.height());
    if (left >= page.width() || top >= page.height() || box.right() <= 0 || box.bottom() <= 0) {
      return null;
    }
    right = Math.max(right, left + 1);
    bottom = Math.max(bottom, top + 1);
    int width = right - left;
    int height = bottom - top;
    byte[] rgb = new byte[width * height * 3];
    for (int y = 0; y < height; y++) {
      System.arraycopy(
          page.rgb(), ((top + y) * page.width() + left) * 3, rgb, y * width * 3, width * 3);
    }
    return new RgbImage(width, height, rgb);
  }

  private static int clamp(int value, int size) {
    return Math.max(0, Math.min(value, size));
  }
}
