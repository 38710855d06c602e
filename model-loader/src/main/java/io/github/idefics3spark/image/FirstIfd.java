package io.github.idefics3spark.image;

/**
 * A copy of an image whose EXIF (TIFF) IFD chains end after their first IFD, the one holding the
 * orientation.
 *
 * <p>metadata-extractor follows an IFD's "next IFD" link by recursion, one stack frame group per
 * IFD: a TIFF of a few thousand tiny IFDs (or an EXIF block of them) overflows a thread's stack,
 * and reads every IFD for a value that lives in the first. Pillow's {@code exif_transpose} reads
 * the first IFD only. This zeroes the link that ends IFD0 in a TIFF file, a JPEG's EXIF APP1
 * segments, a PNG's eXIf chunk and a WebP's EXIF chunk; IFD0's own entries (the orientation, the
 * EXIF and GPS sub-IFDs) are left as they are. Links that point outside the data are left alone:
 * the reader ignores them anyway.
 */
final class FirstIfd {
  private FirstIfd() {}

  /** A copy of {@code encoded} (TIFF, JPEG, PNG or WebP) with each IFD0's next link zeroed. */
  static byte[] only(byte[] encoded) {
    byte[] b = encoded.clone();
    if (startsWith(b, 0, 'I', 'I', 42, 0) || startsWith(b, 0, 'M', 'M', 0, 42)) {
      cut(b, 0, b.length);
    } else if (startsWith(b, 0, 0xFF, 0xD8)) {
      jpeg(b);
    } else if (startsWith(b, 0, 0x89, 'P', 'N', 'G')) {
      png(b);
    } else if (startsWith(b, 0, 'R', 'I', 'F', 'F')) {
      webp(b);
    }
    return b;
  }

  /** APP1 segments that start "Exif\0\0", up to the start of scan. */
  private static void jpeg(byte[] b) {
    int at = 2;
    while (at + 4 <= b.length && (b[at] & 0xFF) == 0xFF) {
      int marker = b[at + 1] & 0xFF;
      if (marker == 0xDA || marker == 0xD9) {
        return;
      }
      if (marker == 0xFF || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
        at += marker == 0xFF ? 1 : 2; // fill byte, or a marker without length
        continue;
      }
      int length = u16(b, at + 2, false);
      int data = at + 4;
      int end = Math.min(b.length, at + 2 + length);
      if (marker == 0xE1 && startsWith(b, data, 'E', 'x', 'i', 'f', 0, 0)) {
        cut(b, data + 6, end);
      }
      at = at + 2 + length;
    }
  }

  /** eXIf chunks. */
  private static void png(byte[] b) {
    int at = 8;
    while (at + 8 <= b.length) {
      long length = u32(b, at, false);
      long end = at + 12 + length;
      if (end > b.length) {
        return;
      }
      if (startsWith(b, at + 4, 'e', 'X', 'I', 'f')) {
        cut(b, at + 8, (int) (at + 8 + length));
      }
      at = (int) end;
    }
  }

  /** EXIF chunks (the TIFF header, or "Exif\0\0" and then it). */
  private static void webp(byte[] b) {
    int at = 12;
    while (at + 8 <= b.length) {
      long size = u32(b, at + 4, true);
      if (at + 8 + size > b.length) {
        return;
      }
      if (startsWith(b, at, 'E', 'X', 'I', 'F')) {
        int data = at + 8;
        cut(
            b,
            startsWith(b, data, 'E', 'x', 'i', 'f', 0, 0) ? data + 6 : data,
            (int) (data + size));
      }
      at = (int) (at + 8 + size + (size & 1));
    }
  }

  /** Zeroes the next-IFD link of the IFD0 of the TIFF block [start, end), where it lies inside. */
  private static void cut(byte[] b, int start, int end) {
    if (end - start < 8) {
      return;
    }
    boolean little = b[start] == 'I';
    long ifd0 = u32(b, start + 4, little);
    if (ifd0 < 8 || start + ifd0 + 2 > end) {
      return;
    }
    int entries = u16(b, (int) (start + ifd0), little);
    long link = start + ifd0 + 2 + 12L * entries;
    if (link + 4 <= end) {
      for (int i = 0; i < 4; i++) {
        b[(int) link + i] = 0;
      }
    }
  }

  private static int u16(byte[] b, int at, boolean little) {
    int x = b[at] & 0xFF;
    int y = b[at + 1] & 0xFF;
    return little ? x | y << 8 : x << 8 | y;
  }

  private static long u32(byte[] b, int at, boolean little) {
    long hi = u16(b, little ? at + 2 : at, little);
    long lo = u16(b, little ? at : at + 2, little);
    return hi << 16 | lo;
  }

  private static boolean startsWith(byte[] b, int at, int... prefix) {
    if (at < 0 || b.length < at + prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if ((b[at + i] & 0xFF) != prefix[i]) {
        return false;
      }
    }
    return true;
  }
}
