package io.github.idefics3spark.image;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * A PNG file reduced to the chunks a reader needs, so that no other chunk is inflated or parsed.
 *
 * <p>Ancillary chunks can be made to cost far more memory than the file's size: a compressed text
 * chunk (zTXt, iTXt) or ICC profile (iCCP) of a few kilobytes may inflate to gigabytes, and both
 * the JDK's PNG reader (for palette images) and metadata-extractor inflate them whole. Pillow
 * bounds them (1 MB a text chunk); this decoder needs none of them for pixels, and for the EXIF
 * orientation only the eXIf chunk and an uncompressed XMP packet, so it copies just those chunks,
 * whole and with their CRCs, into the bytes the readers see.
 *
 * <p>Chunks are copied as they are; a chunk whose declared length runs past the end of the file,
 * and everything after it, is copied unread, so that the reader reports the damage as before.
 */
final class PngChunks {
  private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  /** What a reader needs for the pixels: header, palette, transparency, data, end. */
  private static final Set<String> PIXELS = Set.of("IHDR", "PLTE", "tRNS", "IDAT", "IEND");

  /** The keyword of the iTXt chunk that holds an XMP packet. */
  private static final byte[] XMP_KEYWORD =
      "XML:com.adobe.xmp".getBytes(StandardCharsets.ISO_8859_1);

  private PngChunks() {}

  /** {@code png} with only the chunks that decoding its pixels reads. */
  static byte[] forPixels(byte[] png) {
    return keep(png, false);
  }

  /** {@code png} with only its header, its EXIF (eXIf) and an uncompressed XMP iTXt. */
  static byte[] forOrientation(byte[] png) {
    return keep(png, true);
  }

  private static byte[] keep(byte[] png, boolean orientation) {
    if (png.length < SIGNATURE.length) {
      return png;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(orientation ? 256 : png.length);
    out.write(png, 0, SIGNATURE.length);
    int at = SIGNATURE.length;
    while (at + 8 <= png.length) {
      long length = u32(png, at);
      long end = at + 12 + length; // length, type, data, crc
      if (end > png.length) {
        break; // damaged: the rest goes to the reader unread
      }
      String type = new String(png, at + 4, 4, StandardCharsets.ISO_8859_1);
      boolean kept =
          orientation
              ? type.equals("IHDR")
                  || type.equals("IEND")
                  || type.equals("eXIf")
                  || (type.equals("iTXt") && isUncompressedXmp(png, at + 8, (int) length))
              : PIXELS.contains(type);
      if (kept) {
        out.write(png, at, (int) (end - at));
      }
      at = (int) end;
      if (type.equals("IEND")) {
        return out.toByteArray();
      }
    }
    if (!orientation) {
      out.write(png, at, png.length - at);
    }
    return out.toByteArray();
  }

  /** Whether an iTXt chunk's data starts with the XMP keyword and its compression flag is 0. */
  private static boolean isUncompressedXmp(byte[] png, int data, int length) {
    if (length < XMP_KEYWORD.length + 2) {
      return false;
    }
    for (int i = 0; i < XMP_KEYWORD.length; i++) {
      if (png[data + i] != XMP_KEYWORD[i]) {
        return false;
      }
    }
    return png[data + XMP_KEYWORD.length] == 0 && png[data + XMP_KEYWORD.length + 1] == 0;
  }

  private static long u32(byte[] b, int at) {
    return ((b[at] & 0xFFL) << 24)
        | ((b[at + 1] & 0xFFL) << 16)
        | ((b[at + 2] & 0xFFL) << 8)
        | (b[at + 3] & 0xFFL);
  }
}
