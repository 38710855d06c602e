package io.github.idefics3spark.image;

import com.drew.imaging.ImageMetadataReader;
import com.drew.imaging.ImageProcessingException;
import com.drew.imaging.jpeg.JpegMetadataReader;
import com.drew.metadata.Directory;
import com.drew.metadata.Metadata;
import com.drew.metadata.exif.ExifIFD0Directory;
import com.drew.metadata.exif.ExifReader;
import com.drew.metadata.xmp.XmpDirectory;
import com.drew.metadata.xmp.XmpReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;

/**
 * The EXIF orientation of an image and its undoing, as Pillow's {@code ImageOps.exif_transpose}.
 *
 * <p>The tag (0x0112) is read with metadata-extractor from wherever the format keeps EXIF: a JPEG's
 * APP1, a PNG's eXIf chunk, a WebP's EXIF chunk, a TIFF's first IFD. Like Pillow's {@code
 * Image.getexif}, when EXIF has no orientation an XMP {@code tiff:Orientation} is used. Values:
 *
 * <pre>
 * 1 as stored              5 transpose (mirror along the main diagonal)
 * 2 mirror left-right      6 rotate 90 degrees clockwise  (Pillow's ROTATE_270)
 * 3 rotate 180 degrees     7 transverse (mirror along the anti-diagonal)
 * 4 mirror top-bottom      8 rotate 90 degrees counter-clockwise (Pillow's ROTATE_90)
 * </pre>
 *
 * Other values, and metadata that cannot be parsed, leave the image as stored.
 *
 * <p>Only what can hold the orientation is parsed: a JPEG's APP1 segments (EXIF, XMP), a PNG's eXIf
 * and uncompressed XMP ({@link PngChunks}), a WebP's VP8X, EXIF and XMP chunks ({@link
 * WebpChunks}), and of EXIF only the first IFD and its sub-IFDs ({@link FirstIfd}); never an ICC
 * profile, a Photoshop or IPTC block, or a text chunk.
 */
final class ExifOrientation {
  private static final int ORIENTATION_TAG = 0x0112;

  private ExifOrientation() {}

  /** The orientation (1 to 8) the encoded image declares; 1 when none or unreadable. */
  static int read(byte[] image) {
    byte[] encoded = FirstIfd.only(image);
    Metadata metadata;
    try {
      if (isJpeg(encoded)) {
        // only the APP1 segments that can hold it (EXIF, XMP): no ICC, Photoshop or IPTC parsing
        metadata =
            JpegMetadataReader.readMetadata(
                new ByteArrayInputStream(encoded), List.of(new ExifReader(), new XmpReader()));
      } else {
        metadata =
            ImageMetadataReader.readMetadata(new ByteArrayInputStream(encoded), encoded.length);
      }
    } catch (ImageProcessingException | IOException | RuntimeException e) {
      return 1; // metadata is optional: an image whose EXIF is damaged is shown as stored
    } catch (StackOverflowError e) {
      return 1; // sub-IFDs (or XMP) nested deeper than the reader's recursion: shown as stored
    }
    ExifIFD0Directory exif = metadata.getFirstDirectoryOfType(ExifIFD0Directory.class);
    Integer orientation = integer(exif, ORIENTATION_TAG);
    if (orientation == null) {
      XmpDirectory xmp = metadata.getFirstDirectoryOfType(XmpDirectory.class);
      if (xmp != null) {
        String value = xmp.getXmpProperties().get("tiff:Orientation");
        if (value != null && value.length() == 1 && Character.isDigit(value.charAt(0))) {
          orientation = value.charAt(0) - '0';
        }
      }
    }
    return orientation != null && orientation >= 1 && orientation <= 8 ? orientation : 1;
  }

  private static boolean isJpeg(byte[] b) {
    return b.length >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF;
  }

  private static Integer integer(Directory directory, int tag) {
    if (directory == null || !directory.containsTag(tag)) {
      return null;
    }
    return directory.getInteger(tag);
  }

  /** The image as it should be viewed, given its stored pixels and EXIF orientation. */
  static RgbImage apply(RgbImage image, int orientation) {
    if (orientation < 2 || orientation > 8) {
      return image;
    }
    int w = image.width();
    int h = image.height();
    boolean swapsSides = orientation >= 5;
    int outW = swapsSides ? h : w;
    int outH = swapsSides ? w : h;
    byte[] in = image.rgb();
    byte[] out = new byte[in.length];
    int o = 0;
    for (int y = 0; y < outH; y++) {
      for (int x = 0; x < outW; x++) {
        // (sx, sy): the stored pixel shown at (x, y)
        int sx;
        int sy;
        switch (orientation) {
          case 2 -> {
            sx = w - 1 - x;
            sy = y;
          }
          case 3 -> {
            sx = w - 1 - x;
            sy = h - 1 - y;
          }
          case 4 -> {
            sx = x;
            sy = h - 1 - y;
          }
          case 5 -> {
            sx = y;
            sy = x;
          }
          case 6 -> {
            sx = y;
            sy = h - 1 - x;
          }
          case 7 -> {
            sx = w - 1 - y;
            sy = h - 1 - x;
          }
          default -> { // 8
            sx = w - 1 - y;
            sy = x;
          }
        }
        int s = (sy * w + sx) * 3;
        out[o++] = in[s];
        out[o++] = in[s + 1];
        out[o++] = in[s + 2];
      }
    }
    return new RgbImage(outW, outH, out);
  }
}
