package io.github.idefics3spark.image;

import java.io.ByteArrayOutputStream;

/**
 * A WebP file reduced to the chunks its EXIF orientation can be read from, so that no other chunk
 * is parsed.
 *
 * <p>metadata-extractor reads every chunk of a RIFF file it knows (ICC profiles among them) and
 * takes a chunk's declared size on trust: a few bytes declaring gigabytes make it allocate them.
 * For the orientation only the VP8X header, the EXIF chunk and the XMP chunk matter; this copies
 * those, whole, and only where the declared size fits in the file, into a RIFF container of their
 * own. The pixels are decoded from the file as it is.
 */
final class WebpChunks {
  /** RIFF header: "RIFF", size, "WEBP". */
  private static final int HEADER = 12;

  private WebpChunks() {}

  /** {@code webp} with only its VP8X, EXIF and XMP chunks, each one that fits its file. */
  static byte[] forOrientation(byte[] webp) {
    ByteArrayOutputStream chunks = new ByteArrayOutputStream(256);
    int at = HEADER;
    while (at + 8 <= webp.length) {
      String type = new String(webp, at, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
      long size = u32le(webp, at + 4);
      long end = at + 8 + size + (size & 1); // chunks are padded to an even size
      if (at + 8 + size > webp.length) {
        break; // declares more than the file holds: ignored, and everything after it
      }
      if (type.equals("VP8X") || type.equals("EXIF") || type.equals("XMP ")) {
        chunks.write(webp, at, (int) Math.min(end, webp.length) - at);
      }
      at = (int) Math.min(end, webp.length);
    }
    byte[] body = chunks.toByteArray();
    byte[] out = new byte[HEADER + body.length];
    System.arraycopy(webp, 0, out, 0, HEADER);
    int riffSize = 4 + body.length;
    out[4] = (byte) riffSize;
    out[5] = (byte) (riffSize >>> 8);
    out[6] = (byte) (riffSize >>> 16);
    out[7] = (byte) (riffSize >>> 24);
    System.arraycopy(body, 0, out, HEADER, body.length);
    return out;
  }

  private static long u32le(byte[] b, int at) {
    return (b[at] & 0xFFL)
        | (b[at + 1] & 0xFFL) << 8
        | (b[at + 2] & 0xFFL) << 16
        | (b[at + 3] & 0xFFL) << 24;
  }
}
