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

  /**
   * These pixels as an uncompressed 24-bit BMP file: lossless, and cheap to write and to decode;
   * how a rendered document page is handed to a runtime that takes encoded images.
   */
  public byte[] toBmp() {
    int rowBytes = (width * 3 + 3) & ~3;
    long size = 54L + (long) rowBytes * height;
    if (size > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "a " + width + " x " + height + " image is too large for a BMP (" + size + " bytes)");
    }
    java.nio.ByteBuffer bmp =
        java.nio.ByteBuffer.allocate((int) size).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    bmp.put((byte) 'B').put((byte) 'M').putInt((int) size).putInt(0).putInt(54);
    bmp.putInt(40).putInt(width).putInt(height).putShort((short) 1).putShort((short) 24);
    bmp.putInt(0).putInt(rowBytes * height).putInt(2835).putInt(2835).putInt(0).putInt(0);
    byte[] out = bmp.array();
    for (int y = 0; y < height; y++) {
      int from = (height - 1 - y) * width * 3; // BMP rows run bottom-up
      int to = 54 + y * rowBytes;
      for (int x = 0; x < width; x++) {
        out[to + x * 3] = rgb[from + x * 3 + 2];
        out[to + x * 3 + 1] = rgb[from + x * 3 + 1];
        out[to + x * 3 + 2] = rgb[from + x * 3];
      }
    }
    return out;
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
