package io.github.idefics3spark.image;

import java.util.Arrays;

/**
 * A decoded image as the image processor consumes it: 8-bit RGB, interleaved, row-major.
 *
 * <p>Pixel (x, y) channel c lies at {@code rgb[(y * width + x) * 3 + c]}, the layout of a numpy
 * array {@code np.asarray(pil_image)} of shape (height, width, 3), C order. Bytes are unsigned:
 * read them with {@code & 0xFF}. The array is not copied: whoever holds an RgbImage must not change
 * its pixels.
 *
 * @param width pixels per row, at least 1
 * @param height rows, at least 1
 * @param rgb (height, width, 3) uint8
 */
public record RgbImage(int width, int height, byte[] rgb) {

  public RgbImage {
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException(
          "an image is at least 1 x 1 pixels, got " + width + " x " + height);
    }
    if (rgb == null || rgb.length != (long) width * height * 3) {
      throw new IllegalArgumentException(
          "a "
              + width
              + " x "
              + height
              + " RGB image holds "
              + (long) width * height * 3
              + " bytes, got "
              + (rgb == null ? "null" : rgb.length));
    }
  }

  /** Number of pixels, width * height. */
  public long pixels() {
    return (long) width * height;
  }

  /** Channel c (0 red, 1 green, 2 blue) of pixel (x, y), 0 to 255. */
  public int sample(int x, int y, int c) {
    return rgb[(y * width + x) * 3 + c] & 0xFF;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof RgbImage that
        && width == that.width
        && height == that.height
        && Arrays.equals(rgb, that.rgb);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * width + height) + Arrays.hashCode(rgb);
  }

  @Override
  public String toString() {
    return "RgbImage[" + width + " x " + height + "]";
  }
}
