package io.github.idefics3spark.image;

import io.github.idefics3spark.image.ImageDecodeException.Reason;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.DirectColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.spi.IIORegistry;
import javax.imageio.spi.ImageReaderSpi;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;

/**
 * Turns encoded image bytes into the 8-bit RGB pixels the Hugging Face reference sees after {@code
 * ImageOps.exif_transpose(Image.open(f))} and the Idefics processors' {@code convert_to_rgb}.
 *
 * <p>Formats: JPEG (baseline, progressive, grayscale, CMYK and YCCK), PNG (1 to 16 bits, gray, gray
 * + alpha, palette with or without tRNS, RGB, RGBA), GIF (first frame), BMP, WebP (lossy and
 * lossless) and TIFF, read by the JDK's and TwelveMonkeys' ImageIO plugins. The EXIF orientation
 * (all 8 values) is applied as Pillow's {@code exif_transpose} does.
 *
 * <p>Policy, and where it differs from Pillow (the tests measure each difference):
 *
 * <ul>
 *   <li>Alpha is composited over opaque white in Pillow's {@code alpha_composite} integer
 *       arithmetic, then dropped: what the Idefics processors' {@code convert_to_rgb} does (RGBA,
 *       composite on a white RGBA background, RGB). A PNG tRNS key is alpha on gray, truecolour and
 *       palette images alike, as in transformers 5's version of that function. Exact.
 *   <li>Grayscale is replicated to three channels (Pillow's L to RGB). Exact.
 *   <li>16-bit samples become 8-bit by rounding v / 257. Pillow differs: it keeps the high byte of
 *       16-bit RGB and RGBA PNGs (v >> 8, at most 1 apart from ours) and clips 16-bit grayscale
 *       (mode I;16) at 255, so almost every pixel of a 16-bit gray PNG differs there. A genuine
 *       difference: Pillow's clip throws the image away, rounding keeps it.
 *   <li>JPEG: the raw components are decoded by libjpeg (inside the JDK) and converted from YCbCr
 *       to RGB with libjpeg's own fixed-point arithmetic, deciding YCbCr or RGB by libjpeg's rule
 *       ({@link JpegColorSpace}). Embedded ICC profiles are ignored, as Pillow ignores them. Exact
 *       for baseline and progressive 4:2:0, 4:2:2, 4:4:4 and grayscale JPEGs.
 *   <li>CMYK and YCCK JPEGs go through the TwelveMonkeys plugin's colour conversion. Pillow
 *       converts naively ({@code R = 255 - K - C (255 - K) / 255}, rounded). Without an embedded
 *       ICC profile and on Linux the plugin falls back to the same formula with the division
 *       truncated: at most 1 apart (measured). With an embedded CMYK profile, or where a generic
 *       CMYK profile is configured (macOS, Windows), it converts through ICC and colours differ by
 *       tens of levels: a genuine difference, and one that depends on the machine.
 *   <li>WebP lossy is decoded by the TwelveMonkeys plugin, whose VP8 reconstruction and YUV to RGB
 *       conversion are not libwebp's: up to 5 levels on a photograph, more on synthetic noise
 *       (measured). WebP lossless is exact.
 *   <li>A GIF whose first frame does not cover the logical screen is drawn on it as Pillow does
 *       (the frame's transparent index, else index 0, around it). Exact.
 * </ul>
 *
 * <p>Safety: the dimensions are read from the header before any pixel is decoded, and an image with
 * more pixels than {@link #maxPixels()} is refused (default: Pillow's decompression-bomb error
 * threshold, {@value #DEFAULT_MAX_PIXELS} pixels). Every failure is an {@link ImageDecodeException}
 * whose message says what was found and what to do, never quoting the bytes (a path that names
 * {@code /etc/passwd} gets "plain text", not its lines); readers and streams are always closed and
 * ImageIO's disk cache is off. Instances are immutable and thread-safe.
 */
public final class ImageDecoder {
  /** Pillow's {@code 2 * Image.MAX_IMAGE_PIXELS}: past it Pillow raises DecompressionBombError. */
  public static final long DEFAULT_MAX_PIXELS = 2L * 89_478_485;

  private static final String SUPPORTED = "JPEG, PNG, GIF, BMP, WebP or TIFF";

  static {
    // No temporary files for streams: everything is decoded from memory.
    ImageIO.setUseCache(false);
    registerPlugins();
  }

  private final long maxPixels;
  private final String maxPixelsSetting;

  /** A decoder with Pillow's pixel limit, {@value #DEFAULT_MAX_PIXELS}. */
  public ImageDecoder() {
    this(DEFAULT_MAX_PIXELS, "ImageDecoder(maxPixels, ...)");
  }

  /**
   * A decoder that refuses images of more than maxPixels pixels.
   *
   * @param maxPixels the largest width * height accepted, at least 1
   * @param maxPixelsSetting the name of the setting that raises the limit, quoted in errors (the
   *     job's configuration key, for instance)
   */
  public ImageDecoder(long maxPixels, String maxPixelsSetting) {
    if (maxPixels < 1) {
      throw new IllegalArgumentException(
          maxPixelsSetting + " is " + maxPixels + ": the pixel limit must be at least 1");
    }
    this.maxPixels = maxPixels;
    this.maxPixelsSetting = maxPixelsSetting;
  }

  /** The largest width * height this decoder accepts. */
  public long maxPixels() {
    return maxPixels;
  }

  /**
   * The image's pixels as RGB, EXIF orientation applied.
   *
   * @throws ImageDecodeException when the bytes are empty, of no supported format, truncated,
   *     corrupt, or an image of more than {@link #maxPixels()} pixels
   */
  public RgbImage decode(byte[] encoded) {
    if (encoded == null || encoded.length == 0) {
      throw new ImageDecodeException(
          Reason.EMPTY,
          "the image is 0 bytes long; expected the encoded bytes of a "
              + SUPPORTED
              + " image (is the file empty, or was the column read as the wrong type?)");
    }
    Format format = Format.sniff(encoded);
    if (format == null) {
      throw new ImageDecodeException(
          Reason.UNKNOWN_FORMAT,
          "the "
              + encoded.length
              + " bytes are "
              + FileSignature.describe(encoded)
              + ", not an image; expected "
              + SUPPORTED
              + " (check that the path or column names an image file; convert other image"
              + " formats before the job)");
    }
    // A PNG's ancillary chunks (text, ICC) may inflate to gigabytes: the readers see none of them.
    boolean png = format == Format.PNG;
    try {
      RgbImage stored = decodePixels(png ? PngChunks.forPixels(encoded) : encoded, format);
      byte[] metadata =
          switch (format) {
            case PNG -> PngChunks.forOrientation(encoded);
            case WEBP -> WebpChunks.forOrientation(encoded);
            default -> encoded;
          };
      return ExifOrientation.apply(stored, ExifOrientation.read(metadata));
    } catch (OutOfMemoryError e) {
      throw new ImageDecodeException(
          Reason.TOO_LARGE,
          "decoding this "
              + encoded.length
              + "-byte "
              + format
              + " image needed more memory than the executor had free; give the executors more"
              + " memory, or lower --max-image-pixels to refuse such images before decoding");
    } catch (StackOverflowError e) {
      throw new ImageDecodeException(
          Reason.CORRUPT,
          "the "
              + format
              + " data nests deeper than the decoder can follow: it is damaged or made to"
              + " mislead; re-encode the image");
    }
  }

  /** The stored pixels, before EXIF orientation. */
  private RgbImage decodePixels(byte[] encoded, Format format) {
    ImageReader reader = format.newReader();
    List<String> warnings = new ArrayList<>();
    reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
    try (ImageInputStream stream =
        new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
      // GIF needs its frame metadata (offset on the canvas); the others decode without.
      reader.setInput(stream, true, format != Format.GIF);
      int width = reader.getWidth(0);
      int height = reader.getHeight(0);
      checkSize(format, width, height);
      if (format == Format.WEBP && encoded.length < (u32le(encoded, 4) + 8)) {
        throw truncated(
            format,
            encoded.length,
            "its RIFF header declares " + (u32le(encoded, 4) + 8) + " bytes",
            null);
      }
      RgbImage image =
          switch (format) {
            case JPEG -> decodeJpeg(reader, encoded, width, height);
            case GIF -> decodeGifFirstFrame(reader, encoded);
            default -> toRgb(reader.read(0));
          };
      for (String warning : warnings) {
        if (isTruncationWarning(warning)) {
          throw truncated(format, encoded.length, warning, null);
        }
      }
      return image;
    } catch (ImageDecodeException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      if (isTruncation(e)) {
        throw truncated(format, encoded.length, e.toString(), e);
      }
      throw new ImageDecodeException(
          Reason.CORRUPT,
          "cannot decode the "
              + encoded.length
              + "-byte "
              + format.displayName
              + " image: "
              + e
              + "; the data is corrupt or truncated, or uses a feature the "
              + reader.getClass().getName()
              + " reader does not support (re-encode the image, e.g. as PNG)",
          e);
    } finally {
      reader.dispose();
    }
  }

  private void checkSize(Format format, int width, int height) {
    if (width < 1 || height < 1) {
      throw new ImageDecodeException(
          Reason.CORRUPT,
          "the "
              + format.displayName
              + " header declares "
              + width
              + " x "
              + height
              + " pixels; an image has at least 1 x 1 (the file is corrupt)");
    }
    long pixels = (long) width * height;
    if (pixels > maxPixels) {
      throw new ImageDecodeException(
          Reason.TOO_MANY_PIXELS,
          "the "
              + format.displayName
              + " image is "
              + width
              + " x "
              + height
              + " = "
              + pixels
              + " pixels, over the limit of "
              + maxPixels
              + " (a decompression-bomb guard); if the image is trusted, raise "
              + maxPixelsSetting
              + ", or downscale the image before the job");
    }
  }

  /**
   * JPEG: one or three components are read raw and converted as libjpeg converts them; four (CMYK,
   * YCCK) go through the plugin's colour conversion.
   */
  private static RgbImage decodeJpeg(ImageReader reader, byte[] encoded, int width, int height)
      throws IOException {
    int components = reader.getRawImageType(0).getNumBands();
    if (components == 4) {
      return toRgb(reader.read(0));
    }
    Raster raster = reader.readRaster(0, null);
    byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
    int[] row = new int[width * components];
    for (int y = 0; y < height; y++) {
      raster.getPixels(raster.getMinX(), raster.getMinY() + y, width, 1, row);
      int o = y * width * 3;
      if (components == 1) {
        for (int x = 0; x < width; x++) {
          byte v = (byte) row[x];
          rgb[o++] = v;
          rgb[o++] = v;
          rgb[o++] = v;
        }
      } else if (components == 3) {
        for (int i = 0; i < width * 3; i++) {
          rgb[o + i] = (byte) row[i];
        }
      } else {
        throw new IOException("a JPEG of " + components + " components (expected 1, 3 or 4)");
      }
    }
    if (components == 3 && JpegColorSpace.threeComponentsAreYCbCr(encoded)) {
      JpegColorSpace.yCbCrToRgb(rgb);
    }
    return new RgbImage(width, height, rgb);
  }

  /**
   * GIF: the first frame on the logical screen, as Pillow shows it. Where the frame does not cover
   * the screen, the canvas holds the frame's transparent index if it has one, else index 0
   * (GifImagePlugin's load_prepare); a frame reaching past the screen enlarges it.
   */
  private RgbImage decodeGifFirstFrame(ImageReader reader, byte[] encoded) throws IOException {
    int left = 0;
    int top = 0;
    IIOMetadata metadata = reader.getImageMetadata(0);
    if (metadata != null) {
      Node root = metadata.getAsTree("javax_imageio_gif_image_1.0");
      for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
        if (n.getNodeName().equals("ImageDescriptor")) {
          NamedNodeMap attributes = n.getAttributes();
          left = Integer.parseInt(attributes.getNamedItem("imageLeftPosition").getNodeValue());
          top = Integer.parseInt(attributes.getNamedItem("imageTopPosition").getNodeValue());
        }
      }
    }
    int canvasWidth = Math.max(u16le(encoded, 6), left + reader.getWidth(0));
    int canvasHeight = Math.max(u16le(encoded, 8), top + reader.getHeight(0));
    checkSize(Format.GIF, canvasWidth, canvasHeight); // the logical screen, before any pixel
    BufferedImage frame = reader.read(0);
    if (left == 0
        && top == 0
        && canvasWidth == frame.getWidth()
        && canvasHeight == frame.getHeight()) {
      return toRgb(frame);
    }
    if (!(frame.getColorModel() instanceof IndexColorModel palette)) {
      throw new IOException("a GIF frame without a palette: " + frame.getColorModel());
    }
    int fill = Math.max(palette.getTransparentPixel(), 0);
    WritableRaster canvas = palette.createCompatibleWritableRaster(canvasWidth, canvasHeight);
    int[] row = new int[canvasWidth];
    java.util.Arrays.fill(row, fill);
    for (int y = 0; y < canvasHeight; y++) {
      canvas.setSamples(0, y, canvasWidth, 1, 0, row);
    }
    canvas.setRect(left, top, frame.getRaster());
    return toRgb(new BufferedImage(palette, canvas, false, null));
  }

  private static int u16le(byte[] b, int offset) {
    return b.length < offset + 2 ? 0 : (b[offset] & 0xFF) | (b[offset + 1] & 0xFF) << 8;
  }

  private static long u32le(byte[] b, int offset) {
    return b.length < offset + 4 ? 0 : (u16le(b, offset) | (long) u16le(b, offset + 2) << 16);
  }

  /**
   * A decoded BufferedImage as RGB from its raw samples (no colour management), alpha composited
   * over white.
   */
  static RgbImage toRgb(BufferedImage image) {
    int width = image.getWidth();
    int height = image.getHeight();
    ColorModel cm = image.getColorModel();
    Raster raster = image.getRaster();
    byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
    if (cm instanceof IndexColorModel palette) {
      int size = palette.getMapSize();
      byte[] r = new byte[size];
      byte[] g = new byte[size];
      byte[] b = new byte[size];
      byte[] a = new byte[size];
      palette.getReds(r);
      palette.getGreens(g);
      palette.getBlues(b);
      palette.getAlphas(a);
      boolean alpha = palette.hasAlpha();
      int[] row = new int[width];
      for (int y = 0; y < height; y++) {
        raster.getSamples(raster.getMinX(), raster.getMinY() + y, width, 1, 0, row);
        int o = y * width * 3;
        for (int x = 0; x < width; x++) {
          int i = Math.min(row[x], size - 1);
          int alphaValue = alpha ? a[i] & 0xFF : 255;
          rgb[o++] = over(r[i], alphaValue);
          rgb[o++] = over(g[i], alphaValue);
          rgb[o++] = over(b[i], alphaValue);
        }
      }
      return new RgbImage(width, height, rgb);
    }
    int colourBands = cm.getColorSpace().getNumComponents();
    boolean rawSamples =
        (cm instanceof ComponentColorModel || cm instanceof DirectColorModel)
            && !cm.isAlphaPremultiplied()
            && (raster.getTransferType() == DataBuffer.TYPE_BYTE
                || raster.getTransferType() == DataBuffer.TYPE_USHORT
                || raster.getTransferType() == DataBuffer.TYPE_INT)
            && (cm.getColorSpace().getType() == ColorSpace.TYPE_RGB
                || cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY)
            && raster.getNumBands() == colourBands + (cm.hasAlpha() ? 1 : 0);
    if (rawSamples) {
      int bands = raster.getNumBands();
      int[] bits = new int[bands];
      for (int band = 0; band < bands; band++) {
        bits[band] = cm.getComponentSize(band);
      }
      boolean alpha = cm.hasAlpha();
      int[] row = new int[width * bands];
      for (int y = 0; y < height; y++) {
        raster.getPixels(raster.getMinX(), raster.getMinY() + y, width, 1, row);
        int o = y * width * 3;
        for (int x = 0, p = 0; x < width; x++, p += bands) {
          int alphaValue = alpha ? to8Bits(row[p + bands - 1], bits[bands - 1]) : 255;
          if (colourBands == 1) {
            byte v = over((byte) to8Bits(row[p], bits[0]), alphaValue);
            rgb[o++] = v;
            rgb[o++] = v;
            rgb[o++] = v;
          } else {
            rgb[o++] = over((byte) to8Bits(row[p], bits[0]), alphaValue);
            rgb[o++] = over((byte) to8Bits(row[p + 1], bits[1]), alphaValue);
            rgb[o++] = over((byte) to8Bits(row[p + 2], bits[2]), alphaValue);
          }
        }
      }
      return new RgbImage(width, height, rgb);
    }
    // Anything else (CMYK, YCbCr or Lab colour spaces, premultiplied or float samples): let the
    // colour model convert to non-premultiplied sRGB ARGB.
    boolean alpha = cm.hasAlpha();
    int[] argb = new int[width];
    for (int y = 0; y < height; y++) {
      image.getRGB(0, y, width, 1, argb, 0, width);
      int o = y * width * 3;
      for (int x = 0; x < width; x++) {
        int p = argb[x];
        int alphaValue = alpha ? p >>> 24 : 255;
        rgb[o++] = over((byte) (p >> 16), alphaValue);
        rgb[o++] = over((byte) (p >> 8), alphaValue);
        rgb[o++] = over((byte) p, alphaValue);
      }
    }
    return new RgbImage(width, height, rgb);
  }

  private static byte over(byte channel, int alpha) {
    return alpha == 255 ? channel : (byte) AlphaComposite.overWhite(channel & 0xFF, alpha);
  }

  /** A sample of the given bit depth as 8 bits: 16-bit rounds v / 257, others scale exactly. */
  private static int to8Bits(int value, int bits) {
    if (bits == 8) {
      return value;
    }
    if (bits == 16) {
      return (value + 128) / 257;
    }
    int max = (1 << bits) - 1;
    return (int) ((value * 255L + max / 2) / max);
  }

  private static boolean isTruncationWarning(String warning) {
    String lower = warning.toLowerCase(java.util.Locale.ROOT);
    return lower.contains("premature end") || lower.contains("truncated");
  }

  private static boolean isTruncation(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof EOFException
          || (t.getMessage() != null && isTruncationWarning(t.getMessage()))) {
        return true;
      }
    }
    return false;
  }

  private static ImageDecodeException truncated(
      Format format, int length, String detail, Throwable cause) {
    return new ImageDecodeException(
        Reason.TRUNCATED,
        "the "
            + length
            + "-byte "
            + format.displayName
            + " image ends before its pixel data does ("
            + detail
            + "); the file is truncated, as after an interrupted download or copy: fetch it again",
        cause);
  }

  /** Makes the plugins present even where ImageIO's classpath scan missed them (Spark jars). */
  private static void registerPlugins() {
    IIORegistry registry = IIORegistry.getDefaultInstance();
    for (ImageReaderSpi spi :
        new ImageReaderSpi[] {
          new com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReaderSpi(),
          new com.twelvemonkeys.imageio.plugins.tiff.TIFFImageReaderSpi(),
          new com.twelvemonkeys.imageio.plugins.webp.WebPImageReaderSpi(),
          new com.twelvemonkeys.imageio.plugins.bmp.BMPImageReaderSpi()
        }) {
      if (registry.getServiceProviderByClass(spi.getClass()) == null) {
        registry.registerServiceProvider(spi, ImageReaderSpi.class);
      }
    }
  }

  /** The formats read, recognised by their first bytes, each with the reader that decodes it. */
  private enum Format {
    JPEG("JPEG", com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReaderSpi.class, null),
    PNG("PNG", null, "png"),
    GIF("GIF", null, "gif"),
    BMP("BMP", com.twelvemonkeys.imageio.plugins.bmp.BMPImageReaderSpi.class, null),
    WEBP("WebP", com.twelvemonkeys.imageio.plugins.webp.WebPImageReaderSpi.class, null),
    TIFF("TIFF", com.twelvemonkeys.imageio.plugins.tiff.TIFFImageReaderSpi.class, null);

    final String displayName;
    private final Class<? extends ImageReaderSpi> plugin;
    private final String jdkFormatName;

    Format(String displayName, Class<? extends ImageReaderSpi> plugin, String jdkFormatName) {
      this.displayName = displayName;
      this.plugin = plugin;
      this.jdkFormatName = jdkFormatName;
    }

    static Format sniff(byte[] b) {
      if (startsWith(b, 0xFF, 0xD8, 0xFF)) {
        return JPEG;
      }
      if (startsWith(b, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
        return PNG;
      }
      if (startsWith(b, 'G', 'I', 'F', '8') && b.length > 5 && (b[4] == '7' || b[4] == '9')) {
        return GIF;
      }
      if (startsWith(b, 'B', 'M')) {
        return BMP;
      }
      if (startsWith(b, 'R', 'I', 'F', 'F')
          && b.length >= 12
          && b[8] == 'W'
          && b[9] == 'E'
          && b[10] == 'B'
          && b[11] == 'P') {
        return WEBP;
      }
      if (startsWith(b, 'I', 'I', 42, 0)
          || startsWith(b, 'M', 'M', 0, 42)
          || startsWith(b, 'I', 'I', 43, 0)
          || startsWith(b, 'M', 'M', 0, 43)) {
        return TIFF;
      }
      return null;
    }

    private static boolean startsWith(byte[] bytes, int... prefix) {
      if (bytes.length < prefix.length) {
        return false;
      }
      for (int i = 0; i < prefix.length; i++) {
        if ((bytes[i] & 0xFF) != prefix[i]) {
          return false;
        }
      }
      return true;
    }

    /** A fresh reader of this format: the TwelveMonkeys plugin, or the JDK's own. */
    ImageReader newReader() {
      try {
        if (plugin != null) {
          ImageReaderSpi spi = IIORegistry.getDefaultInstance().getServiceProviderByClass(plugin);
          if (spi != null) {
            return spi.createReaderInstance();
          }
        } else {
          Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(jdkFormatName);
          if (readers.hasNext()) {
            return readers.next();
          }
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot create the " + displayName + " reader", e);
      }
      throw new IllegalStateException(
          "no ImageIO reader for "
              + displayName
              + " is registered; the model-loader jar's dependencies (TwelveMonkeys imageio-*)"
              + " are missing from the classpath");
    }
  }
}
