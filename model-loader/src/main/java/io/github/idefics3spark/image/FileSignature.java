package io.github.idefics3spark.image;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Names what a file that is no image holds, from its signature ("a PDF document", "plain text"),
 * for error messages: never a byte of it, which may be a password file or a key.
 */
final class FileSignature {
  /** Bytes looked at to tell text from binary and markup from prose. */
  private static final int SNIFF = 4096;

  private FileSignature() {}

  /** What {@code b} is, as a noun phrase ("a ZIP archive"); never quotes its content. */
  static String describe(byte[] b) {
    if (startsWith(b, 0, "%PDF-")) {
      return "a PDF document";
    }
    if (startsWith(b, 0, 'P', 'K', 3, 4)
        || startsWith(b, 0, 'P', 'K', 5, 6)
        || startsWith(b, 0, 'P', 'K', 7, 8)) {
      return "a ZIP archive (or a file in a ZIP container: docx, xlsx, jar)";
    }
    if (startsWith(b, 0, 0x1F, 0x8B)) {
      return "gzip-compressed data";
    }
    if (startsWith(b, 0, "BZh")) {
      return "bzip2-compressed data";
    }
    if (startsWith(b, 0, 0xFD, '7', 'z', 'X', 'Z', 0)) {
      return "xz-compressed data";
    }
    if (startsWith(b, 0, 0x28, 0xB5, 0x2F, 0xFD)) {
      return "zstd-compressed data";
    }
    if (startsWith(b, 0, '7', 'z', 0xBC, 0xAF, 0x27, 0x1C)) {
      return "a 7-Zip archive";
    }
    if (startsWith(b, 257, "ustar")) {
      return "a tar archive";
    }
    if (startsWith(b, 0, 0x7F, 'E', 'L', 'F')) {
      return "an ELF executable or library";
    }
    if (startsWith(b, 0, 0xCA, 0xFE, 0xBA, 0xBE)) {
      return "a Java class file";
    }
    if (startsWith(b, 0, "PAR1")) {
      return "a Parquet file";
    }
    if (startsWith(b, 0, "SQLite format 3")) {
      return "an SQLite database";
    }
    if (startsWith(b, 0, 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1)) {
      return "a legacy Microsoft Office document";
    }
    if (startsWith(b, 0, "8BPS")) {
      return "a Photoshop (PSD) image, which this decoder does not read";
    }
    if (startsWith(b, 0, 0, 0, 0, 0x0C, 'j', 'P', ' ', ' ')
        || startsWith(b, 0, 0xFF, 0x4F, 0xFF, 0x51)) {
      return "a JPEG 2000 image, which this decoder does not read";
    }
    if (startsWith(b, 0, 0, 0, 1, 0)) {
      return "an ICO icon, which this decoder does not read";
    }
    if (startsWith(b, 4, "ftyp")) {
      String brand = b.length >= 12 ? new String(b, 8, 4, StandardCharsets.ISO_8859_1) : "";
      return switch (brand) {
        case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1" ->
            "a HEIC/HEIF image, which this decoder does not read";
        case "avif", "avis" -> "an AVIF image, which this decoder does not read";
        default -> "an MP4/QuickTime (ISO media) file";
      };
    }
    if (startsWith(b, 0, "RIFF")) {
      return "a RIFF file that is not WebP (WAV or AVI)";
    }
    if (startsWith(b, 0, "OggS") || startsWith(b, 0, "ID3") || startsWith(b, 0, "fLaC")) {
      return "an audio file";
    }
    if (startsWith(b, 0, 0xFE, 0xFF) || startsWith(b, 0, 0xFF, 0xFE)) {
      return "UTF-16 text";
    }
    if (!isText(b)) {
      return "unrecognised binary data";
    }
    String head =
        new String(b, 0, Math.min(b.length, SNIFF), StandardCharsets.UTF_8)
            .replace("\uFEFF", "")
            .stripLeading()
            .toLowerCase(Locale.ROOT);
    if (head.startsWith("%!ps")) {
      return "a PostScript document";
    }
    if (head.startsWith("{\\rtf")) {
      return "an RTF document";
    }
    if (head.startsWith("<")) {
      if (head.contains("<svg")) {
        return "an SVG (vector) image, which this decoder does not read: rasterise it first";
      }
      if (head.startsWith("<!doctype html") || head.contains("<html")) {
        return "an HTML page (an error page saved in place of the image?)";
      }
      return "XML or HTML markup";
    }
    if (head.startsWith("{") || head.startsWith("[")) {
      return "JSON or other structured text";
    }
    return "plain text";
  }

  /** True when the first {@link #SNIFF} bytes hold no NUL and no other control but whitespace. */
  private static boolean isText(byte[] b) {
    int n = Math.min(b.length, SNIFF);
    for (int i = 0; i < n; i++) {
      int c = b[i] & 0xFF;
      if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' || c == 0x7F) {
        return false;
      }
    }
    return true;
  }

  private static boolean startsWith(byte[] bytes, int offset, String prefix) {
    return startsWith(bytes, offset, prefix.chars().toArray());
  }

  private static boolean startsWith(byte[] bytes, int offset, int... prefix) {
    if (bytes.length < offset + prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if ((bytes[offset + i] & 0xFF) != prefix[i]) {
        return false;
      }
    }
    return true;
  }
}
