package io.github.idefics3spark.image;

/**
 * Pillow's LANCZOS resize of 8-bit images, bit for bit: {@code Image.resize((w, h), LANCZOS)}.
 *
 * <p>This is the Java twin of Pillow's {@code src/libImaging/Resample.c} (Pillow 12.3, the version
 * the reference fixtures record) together with the Python side of {@code Image.resize}. Hugging
 * Face's image processor resizes uint8 RGB three times in a row, each time rounding to uint8, so
 * every detail matters:
 *
 * <ul>
 *   <li>Separable: a horizontal pass, rounded and clamped to uint8, then a vertical pass over its
 *       output. A pass whose dimension does not change is skipped, and an unchanged size returns
 *       the input ({@code ImagingResampleInner}: {@code need_horizontal}, {@code need_vertical}).
 *   <li>An image more than 100 times taller than wide that shrinks vertically is resized the other
 *       way round, vertical pass first ({@code Image.resize}, Pillow 7.1 onwards).
 *   <li>Per output index {@code i} of a pass from {@code in} to {@code out} samples: {@code scale =
 *       in / out}, {@code filterScale = max(scale, 1)}, {@code support = 3 * filterScale}, {@code
 *       center = (i + 0.5) * scale}; the taps run from {@code (int) (center - support + 0.5)} to
 *       {@code (int) (center + support + 0.5)}, clipped to the image; each weight is {@code
 *       lanczos((j - center + 0.5) / filterScale)} divided by the sum of the weights, then turned
 *       into a 22-bit fixed-point integer rounded half away from zero ({@code precompute_coeffs},
 *       {@code normalize_coeffs_8bpc}).
 *   <li>Each output sample is {@code clamp((2^21 + sum(p_j * k_j)) >> 22, 0, 255)} in 32-bit int
 *       arithmetic with an arithmetic shift ({@code clip8}).
 * </ul>
 *
 * <p>The sine is {@link StrictMath#sin}, which gives the same bits on every JVM; tests compare the
 * resulting integer coefficients and pixels with Pillow's over many sizes.
 */
public final class PillowResample {
  /** Fixed-point precision of the coefficients: 32 bits minus 8 for the value, 2 for overflow. */
  private static final int PRECISION_BITS = 32 - 8 - 2;

  /** Half of one unit of the result, added before the shift so that it rounds. */
  private static final int HALF = 1 << (PRECISION_BITS - 1);

  /** Support of the LANCZOS filter (a = 3) at scale 1. */
  private static final double LANCZOS_SUPPORT = 3.0;

  private PillowResample() {}

  /**
   * The image resized to width x height with Pillow's LANCZOS filter; the image itself when the
   * size does not change (as Pillow returns a copy).
   */
  public static RgbImage lanczos(RgbImage image, int width, int height) {
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException(
          "cannot resize " + image + " to " + width + " x " + height + ": both sides must be >= 1");
    }
    if (width == image.width() && height == image.height()) {
      return image;
    }
    // Image.resize: a very tall image that shrinks vertically is resized vertically first.
    if (image.height() > (long) image.width() * 100 && height < image.height()) {
      RgbImage tall = resampleVertical(image, height);
      return width == tall.width() ? tall : resampleHorizontal(tall, width);
    }
    RgbImage out = image;
    if (width != out.width()) {
      out = resampleHorizontal(out, width);
    }
    if (height != out.height()) {
      out = resampleVertical(out, height);
    }
    return out;
  }

  /**
   * The LANCZOS taps of a pass from inSize to outSize samples, as Pillow's precompute_coeffs and
   * normalize_coeffs_8bpc compute them.
   *
   * @param first first input index used by each output index, (outSize)
   * @param count number of taps of each output index, (outSize)
   * @param weights fixed-point weights, (outSize, taps); entries past count are 0
   * @param taps the row length of weights, 2 * ceil(support) + 1
   */
  record Coefficients(int[] first, int[] count, int[] weights, int taps) {}

  /** Pillow's coefficients for a resize of one axis from inSize to outSize samples. */
  static Coefficients coefficients(int inSize, int outSize) {
    // (double) (in1 - in0) / outSize, with in0 = 0 and in1 = inSize as C floats (exact here).
    double scale = (double) inSize / outSize;
    double filterScale = Math.max(scale, 1.0);
    double support = LANCZOS_SUPPORT * filterScale;
    int taps = (int) Math.ceil(support) * 2 + 1;
    if ((long) outSize * taps > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "resizing "
              + inSize
              + " samples to "
              + outSize
              + " needs "
              + (long) outSize * taps
              + " coefficients, more than a Java array holds");
    }
    double invFilterScale = 1.0 / filterScale;
    int[] first = new int[outSize];
    int[] count = new int[outSize];
    int[] weights = new int[outSize * taps];
    double[] w = new double[taps];
    for (int i = 0; i < outSize; i++) {
      double center = (i + 0.5) * scale;
      // C casts truncate toward zero, as Java's do.
      int xmin = Math.max((int) (center - support + 0.5), 0);
      int xmax = Math.min((int) (center + support + 0.5), inSize);
      int n = xmax - xmin;
      double sum = 0.0;
      for (int j = 0; j < n; j++) {
        w[j] = lanczosFilter((j + xmin - center + 0.5) * invFilterScale);
        sum += w[j];
      }
      if (sum != 0.0) {
        for (int j = 0; j < n; j++) {
          w[j] /= sum;
        }
      }
      for (int j = 0; j < n; j++) {
        double scaled = w[j] * (1 << PRECISION_BITS);
        weights[i * taps + j] = w[j] < 0 ? (int) (-0.5 + scaled) : (int) (0.5 + scaled);
      }
      first[i] = xmin;
      count[i] = n;
    }
    return new Coefficients(first, count, weights, taps);
  }

  /** Truncated sinc, a = 3: sinc(x) * sinc(x / 3) on [-3, 3), else 0. */
  static double lanczosFilter(double x) {
    if (-3.0 <= x && x < 3.0) {
      return sinc(x) * sinc(x / 3);
    }
    return 0.0;
  }

  private static double sinc(double x) {
    if (x == 0.0) {
      return 1.0;
    }
    double px = x * Math.PI;
    return StrictMath.sin(px) / px;
  }

  /** ImagingResampleHorizontal_8bpc: each row from image.width() to width samples. */
  private static RgbImage resampleHorizontal(RgbImage image, int width) {
    Coefficients c = coefficients(image.width(), width);
    int height = image.height();
    byte[] in = image.rgb();
    byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
    int[] first = c.first();
    int[] count = c.count();
    int[] k = c.weights();
    int taps = c.taps();
    int inStride = image.width() * 3;
    for (int y = 0; y < height; y++) {
      int inRow = y * inStride;
      int o = y * width * 3;
      for (int x = 0; x < width; x++) {
        int r = HALF;
        int g = HALF;
        int b = HALF;
        int p = inRow + first[x] * 3;
        int kk = x * taps;
        int n = count[x];
        for (int j = 0; j < n; j++, p += 3) {
          int weight = k[kk + j];
          r += (in[p] & 0xFF) * weight;
          g += (in[p + 1] & 0xFF) * weight;
          b += (in[p + 2] & 0xFF) * weight;
        }
        out[o++] = clip8(r);
        out[o++] = clip8(g);
        out[o++] = clip8(b);
      }
    }
    return new RgbImage(width, height, out);
  }

  /** ImagingResampleVertical_8bpc: each column from image.height() to height samples. */
  private static RgbImage resampleVertical(RgbImage image, int height) {
    Coefficients c = coefficients(image.height(), height);
    int stride = image.width() * 3;
    byte[] in = image.rgb();
    byte[] out = new byte[Math.multiplyExact(stride, height)];
    int[] first = c.first();
    int[] count = c.count();
    int[] k = c.weights();
    int taps = c.taps();
    // Sums of one output row. Pillow sums tap by tap per sample; int addition is associative,
    // so summing row by row (cache-friendly) gives the same bits.
    int[] acc = new int[stride];
    for (int y = 0; y < height; y++) {
      java.util.Arrays.fill(acc, HALF);
      int n = count[y];
      for (int j = 0; j < n; j++) {
        int weight = k[y * taps + j];
        int row = (first[y] + j) * stride;
        for (int i = 0; i < stride; i++) {
          acc[i] += (in[row + i] & 0xFF) * weight;
        }
      }
      int o = y * stride;
      for (int i = 0; i < stride; i++) {
        out[o + i] = clip8(acc[i]);
      }
    }
    return new RgbImage(image.width(), height, out);
  }

  /** Pillow's clip8: the fixed-point sum shifted down (arithmetically) and clamped to 0..255. */
  private static byte clip8(int sum) {
    int v = sum >> PRECISION_BITS;
    return (byte) (v < 0 ? 0 : Math.min(v, 255));
  }
}
