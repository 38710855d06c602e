package io.github.idefics3spark.image;

/**
 * What a JPEG's stored components mean, guessed as libjpeg guesses it, and libjpeg's YCbCr to RGB
 * conversion.
 *
 * <p>A JPEG does not say reliably whether its three components are YCbCr or RGB. libjpeg (and
 * libjpeg-turbo, which Pillow uses) decides in {@code default_decompress_parms}: a JFIF APP0 marker
 * means YCbCr; else an Adobe APP14 marker's transform flag decides (0 RGB, anything else YCbCr);
 * else component ids 'R', 'G', 'B' mean RGB and anything else YCbCr. The JDK's reader guesses
 * differently for some files (no marker and no subsampling: RGB), so the decoder reads the raw
 * components and applies this rule itself.
 *
 * <p>The conversion is the JFIF one in libjpeg's 16-bit fixed point ({@code jdcolor.c}): {@code R =
 * Y + 1.402 (Cr - 128)}, {@code G = Y - 0.34414 (Cb - 128) - 0.71414 (Cr - 128)}, {@code B = Y +
 * 1.772 (Cb - 128)}, each product rounded, then clamped to 0..255.
 */
final class JpegColorSpace {
  private static final int SCALE_BITS = 16;
  private static final int ONE_HALF = 1 << (SCALE_BITS - 1);

  /** Per Cr: the R offset; per Cb: the B offset; the G terms before their shared shift. */
  private static final int[] CR_TO_R = new int[256];

  private static final int[] CB_TO_B = new int[256];
  private static final int[] CR_TO_G = new int[256];
  private static final int[] CB_TO_G = new int[256];

  static {
    int crR = fixed(1.40200);
    int cbB = fixed(1.77200);
    int crG = fixed(0.71414);
    int cbG = fixed(0.34414);
    for (int i = 0; i < 256; i++) {
      int x = i - 128;
      CR_TO_R[i] = (crR * x + ONE_HALF) >> SCALE_BITS;
      CB_TO_B[i] = (cbB * x + ONE_HALF) >> SCALE_BITS;
      CR_TO_G[i] = -crG * x;
      CB_TO_G[i] = -cbG * x + ONE_HALF; // the rounding half of the G sum rides along here
    }
  }

  private JpegColorSpace() {}

  private static int fixed(double value) {
    return (int) (value * (1 << SCALE_BITS) + 0.5);
  }

  /** True when libjpeg would treat the three components of this JPEG as YCbCr (not RGB). */
  static boolean threeComponentsAreYCbCr(byte[] jpeg) {
    Markers markers = Markers.scan(jpeg);
    if (markers.jfif) {
      return true;
    }
    if (markers.adobeTransform >= 0) {
      return markers.adobeTransform != 0;
    }
    int[] ids = markers.componentIds;
    boolean rgbIds = ids.length == 3 && ids[0] == 'R' && ids[1] == 'G' && ids[2] == 'B';
    return !rgbIds;
  }

  /** Converts interleaved Y, Cb, Cr samples to R, G, B in place. */
  static void yCbCrToRgb(byte[] pixels) {
    for (int i = 0; i + 2 < pixels.length; i += 3) {
      int y = pixels[i] & 0xFF;
      int cb = pixels[i + 1] & 0xFF;
      int cr = pixels[i + 2] & 0xFF;
      pixels[i] = clamp(y + CR_TO_R[cr]);
      pixels[i + 1] = clamp(y + ((CB_TO_G[cb] + CR_TO_G[cr]) >> SCALE_BITS));
      pixels[i + 2] = clamp(y + CB_TO_B[cb]);
    }
  }

  private static byte clamp(int v) {
    return (byte) (v < 0 ? 0 : Math.min(v, 255));
  }

  /** The markers before the first scan that decide the colour space. */
  private static final class Markers {
    boolean jfif;
    int adobeTransform = -1;
    int[] componentIds = new int[0];

    /** Walks the marker segments from SOI to the first SOS; malformed data ends the walk. */
    static Markers scan(byte[] jpeg) {
      Markers found = new Markers();
      int p = 2; // after SOI
      while (p + 4 <= jpeg.length) {
        if ((jpeg[p] & 0xFF) != 0xFF) {
          break;
        }
        int marker = jpeg[p + 1] & 0xFF;
        if (marker == 0xFF) {
          p++; // fill byte
          continue;
        }
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
          p += 2; // markers without a length
          continue;
        }
        int length = ((jpeg[p + 2] & 0xFF) << 8) | (jpeg[p + 3] & 0xFF);
        int data = p + 4;
        int dataLength = length - 2;
        if (length < 2 || data + dataLength > jpeg.length || marker == 0xDA) {
          break; // start of scan, or a segment running past the end
        }
        if (marker == 0xE0 && dataLength >= 14 && startsWith(jpeg, data, "JFIF\0")) {
          found.jfif = true;
        } else if (marker == 0xEE && dataLength >= 12 && startsWith(jpeg, data, "Adobe")) {
          found.adobeTransform = jpeg[data + 11] & 0xFF;
        } else if (isStartOfFrame(marker) && dataLength >= 6) {
          int components = jpeg[data + 5] & 0xFF;
          if (dataLength >= 6 + 3 * components) {
            found.componentIds = new int[components];
            for (int c = 0; c < components; c++) {
              found.componentIds[c] = jpeg[data + 6 + 3 * c] & 0xFF;
            }
          }
        }
        p = data + dataLength;
      }
      return found;
    }

    private static boolean isStartOfFrame(int marker) {
      return marker >= 0xC0
          && marker <= 0xCF
          && marker != 0xC4 // DHT
          && marker != 0xC8 // JPG extension
          && marker != 0xCC; // DAC
    }

    private static boolean startsWith(byte[] bytes, int offset, String ascii) {
      for (int i = 0; i < ascii.length(); i++) {
        if (bytes[offset + i] != (byte) ascii.charAt(i)) {
          return false;
        }
      }
      return true;
    }
  }
}
