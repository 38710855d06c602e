package io.github.idefics3spark.idefics3.processor;

/**
 * How the image processor split one image: {@code rows} x {@code cols} tiles plus a global frame,
 * or a single frame when both are 0. It decides the image's string in the prompt (reference section
 * 3, {@code Idefics3Processor.replace_image_token}).
 *
 * @param rows tile rows ("rows" of the image processor's output), 0 when not split
 * @param cols tile columns ("cols"), 0 when not split
 */
public record ImageGrid(int rows, int cols) {
  /** The grid of an image that was not split: one frame. */
  public static final ImageGrid SINGLE_FRAME = new ImageGrid(0, 0);

  public ImageGrid {
    if (rows < 0 || cols < 0 || (rows == 0) != (cols == 0)) {
      throw new IllegalArgumentException(
          "image grid "
              + rows
              + " x "
              + cols
              + " is impossible: expected rows and cols both 0 (one frame) or both positive");
    }
  }

  /** Frames the image processor produced: the tiles plus the global frame, or 1. */
  public int frames() {
    return rows == 0 ? 1 : rows * cols + 1;
  }
}
