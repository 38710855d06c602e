package io.github.idefics3spark.image;

/**
 * Pillow's {@code Image.alpha_composite} of a pixel over opaque white, in its integer arithmetic
 * ({@code src/libImaging/AlphaComposite.c}).
 *
 * <p>This is what the Idefics image processors' {@code convert_to_rgb} does to an image with alpha:
 * convert to RGBA, composite over an opaque white RGBA background, drop the alpha. With an opaque
 * destination the result depends only on (channel, alpha), so it is a 256 x 256 table.
 */
final class AlphaComposite {
  /** Extra bits of precision of Pillow's blend factors. */
  private static final int PRECISION_BITS = 7;

  /** OVER_WHITE[alpha * 256 + channel]: the composited channel. */
  private static final byte[] OVER_WHITE = new byte[256 * 256];

  static {
    for (int alpha = 0; alpha < 256; alpha++) {
      for (int channel = 0; channel < 256; channel++) {
        OVER_WHITE[alpha * 256 + channel] = (byte) composite(channel, alpha, 255, 255);
      }
    }
  }

  private AlphaComposite() {}

  /** The channel value of a pixel with this alpha after compositing over opaque white. */
  static int overWhite(int channel, int alpha) {
    return OVER_WHITE[alpha * 256 + channel] & 0xFF;
  }

  /**
   * One channel of src (value, alpha) over dst (value, alpha), as ImagingAlphaComposite computes
   * it: unsigned 32-bit products, divisions rounded through the "divide by 255" shift trick.
   */
  static int composite(int src, int srcAlpha, int dst, int dstAlpha) {
    if (srcAlpha == 0) {
      return dst;
    }
    long blend = (long) dstAlpha * (255 - srcAlpha);
    long outAlpha255 = srcAlpha * 255L + blend;
    long coef1 = srcAlpha * 255L * 255L * (1 << PRECISION_BITS) / outAlpha255;
    long coef2 = 255L * (1 << PRECISION_BITS) - coef1;
    long tmp = src * coef1 + dst * coef2 + (0x80L << PRECISION_BITS);
    return (int) ((((tmp >> 8) + tmp) >> 8) >> PRECISION_BITS);
  }
}
