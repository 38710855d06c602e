package io.github.idefics3spark.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.image.ImageDecodeException.Reason;
import io.github.idefics3spark.safetensors.SafeTensors;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/**
 * ImageDecoder against Pillow 12.3 plus transformers' Idefics convert_to_rgb, on the decoder corner
 * cases of resources/image/decoder (made by tools/reference/image_goldens.py): bit-identical where
 * the decoders agree, a stated largest difference where they genuinely differ, and clear errors.
 */
class ImageDecoderTest {
  private static final ImageDecoder DECODER = new ImageDecoder();

  /**
   * The images where this decoder and Pillow genuinely differ, with the measured largest absolute
   * difference of a channel (0 to 255) against Pillow's RGB. Every other image is bit-identical.
   */
  static final Map<String, Integer> MEASURED_DIFFERENCES =
      Map.of(
          // 16-bit: we round v / 257; Pillow keeps the high byte (v >> 8) of RGB / RGBA ...
          "rgb16.png", 1,
          // ... and with alpha the colour and the alpha can each be 1 off before compositing.
          "rgba16.png", 2,
          "gray_alpha16.png", 2,
          // Pillow clips 16-bit gray (I;16) at 255: nearly white; we keep the gray levels.
          "gray16.png", 251,
          // TwelveMonkeys' VP8 decoder converts YUV to RGB (and upsamples chroma) unlike libwebp:
          // 57 on this noisy 64 x 48 test card, 5 on a photograph (background7.jpg as WebP).
          "lossy.webp", 57,
          // No ICC profile: the plugin's fallback CMYK conversion, next to Pillow's naive one.
          "cmyk.jpg", 1);

  private static Path resource(String name) {
    try {
      return Path.of(ImageDecoderTest.class.getResource("/image/" + name).toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("test resource image/" + name + " is missing", e);
    }
  }

  private static byte[] bytes(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Map<String, JsonNode> goldens() throws IOException {
    Map<String, JsonNode> byName = new LinkedHashMap<>();
    try (InputStream in = ImageDecoderTest.class.getResourceAsStream("/image/decoder.json")) {
      for (JsonNode image : new ObjectMapper().readTree(in).get("images")) {
        byName.put(image.get("name").asText(), image);
      }
    }
    return byName;
  }

  /** Largest |a - b| over two uint8 arrays of the same length. */
  static int maxAbsDifference(byte[] a, byte[] b) {
    assertEquals(a.length, b.length, "array lengths");
    int max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs((a[i] & 0xFF) - (b[i] & 0xFF)));
    }
    return max;
  }

  @Test
  void decodesEveryCornerCaseBitIdenticalToPillowExceptTheStatedOnes() throws IOException {
    Map<String, JsonNode> goldens = goldens();
    assertTrue(goldens.keySet().containsAll(MEASURED_DIFFERENCES.keySet()));
    List<String> failures = new ArrayList<>();
    for (JsonNode golden : goldens.values()) {
      String name = golden.get("name").asText();
      RgbImage image = DECODER.decode(bytes(resource("decoder/" + name)));
      String size = image.width() + "x" + image.height();
      String expectedSize = golden.get("width").asInt() + "x" + golden.get("height").asInt();
      if (!size.equals(expectedSize)) {
        failures.add(name + ": " + size + ", Pillow " + expectedSize);
      } else if (!MEASURED_DIFFERENCES.containsKey(name)
          && !PillowResampleTest.sha256(image.rgb()).equals(golden.get("sha256").asText())) {
        failures.add(name + " (Pillow mode " + golden.get("pillow_mode").asText() + ")");
      }
    }
    assertEquals(List.of(), failures, "images whose RGB differs from Pillow's");
  }

  @Test
  void genuineDifferencesFromPillowAreExactlyTheStatedOnes() throws IOException {
    Map<String, Integer> measured = new LinkedHashMap<>();
    try (SafeTensors pillow = SafeTensors.open(resource("decoder.safetensors.gz"))) {
      for (String name : MEASURED_DIFFERENCES.keySet()) {
        RgbImage image = DECODER.decode(bytes(resource("decoder/" + name)));
        measured.put(name, maxAbsDifference(pillow.uint8s(name), image.rgb()));
      }
    }
    // Pinned numbers: if a decoder changes, this says by how much (and the Javadoc must follow).
    assertEquals(new java.util.TreeMap<>(MEASURED_DIFFERENCES), new java.util.TreeMap<>(measured));
  }

  /**
   * The reference fixture images where decoders genuinely differ: the measured largest channel
   * difference against Pillow's decoded RGB (goldens/decoded.safetensors.gz).
   */
  static final Map<String, Integer> MEASURED_FIXTURE_DIFFERENCES =
      Map.of(
          // Pillow clips I;16 at 255 (4362 of 4371 values differ); we round v / 257.
          "gray16_31x47.png", 254,
          // Pillow keeps the high byte; rounding v / 257 is 1 above it on 1112 of 3159 values.
          "rgb16_39x27.png", 1);

  @Test
  void decodesEveryReferenceFixtureImageLikePillow() throws IOException {
    // Real samples (PNG, baseline JPEG with EXIF) and made ones (progressive JPEG, EXIF 6 and 8,
    // gray, palette + tRNS, RGBA, GIF, BMP, CMYK, 16 bit, 1 x 1, a 2000 x 37 strip).
    JsonNode images =
        ReferenceFixtures.processorGoldens(ReferenceFixtures.TINY_IDEFICS3).get("images");
    List<String> failures = new ArrayList<>();
    Map<String, Integer> measured = new java.util.TreeMap<>();
    try (SafeTensors pillow = ReferenceFixtures.decodedGoldens()) {
      for (JsonNode golden : images) {
        String name = golden.get("name").asText();
        RgbImage image = DECODER.decode(ReferenceFixtures.imageBytes(name));
        if (image.width() != golden.get("width").asInt()
            || image.height() != golden.get("height").asInt()) {
          failures.add(
              name + ": " + image + ", Pillow " + golden.get("width") + "x" + golden.get("height"));
        } else if (MEASURED_FIXTURE_DIFFERENCES.containsKey(name)) {
          measured.put(name, maxAbsDifference(pillow.uint8s(name), image.rgb()));
        } else if (!PillowResampleTest.sha256(image.rgb())
            .equals(golden.get("decoded_sha256").asText())) {
          failures.add(name);
        }
      }
    }
    assertTrue(images.size() >= 25, images.size() + " fixture images");
    assertEquals(List.of(), failures, "fixture images whose RGB differs from Pillow's");
    assertEquals(new java.util.TreeMap<>(MEASURED_FIXTURE_DIFFERENCES), measured);
  }

  @Test
  void allEightExifOrientationsAreUndoneAsPillowsExifTranspose() throws IOException {
    Map<String, JsonNode> goldens = goldens();
    for (int orientation = 1; orientation <= 8; orientation++) {
      String name = "orientation" + orientation + ".jpg";
      RgbImage image = DECODER.decode(bytes(resource("decoder/" + name)));
      assertEquals(orientation >= 5 ? 9 : 14, image.width(), name);
      assertEquals(
          goldens.get(name).get("sha256").asText(), PillowResampleTest.sha256(image.rgb()));
    }
    // EXIF outside JPEG: a PNG eXIf chunk, a WebP EXIF chunk, a TIFF's own IFD0.
    for (String name : List.of("orientation5.png", "orientation7.webp", "orientation3.tiff")) {
      RgbImage image = DECODER.decode(bytes(resource("decoder/" + name)));
      assertEquals(
          goldens.get(name).get("sha256").asText(), PillowResampleTest.sha256(image.rgb()));
    }
  }

  @Test
  void alphaIsCompositedOverWhiteWithPillowsIntegerArithmetic() {
    // Pillow's alpha_composite over opaque white, checked by hand on three pixels.
    assertEquals(255, AlphaComposite.overWhite(0, 0)); // transparent: the white background
    assertEquals(7, AlphaComposite.overWhite(7, 255)); // opaque: the pixel
    // alpha 128: coef1 = 128 * 128 = 16384, coef2 = 255 * 128 - 16384 = 16256;
    // 0 * 16384 + 255 * 16256 + 0x4000 = 4161664; ((x >> 8) + x) >> 8 = 16320; >> 7 = 127.
    assertEquals(127, AlphaComposite.overWhite(0, 128));
  }

  @Test
  void zeroBytesAreRefusedAsEmpty() {
    ImageDecodeException e =
        assertThrows(ImageDecodeException.class, () -> DECODER.decode(new byte[0]));
    assertEquals(Reason.EMPTY, e.reason());
    assertTrue(e.getMessage().contains("0 bytes"), e.getMessage());
  }

  @Test
  void textIsRefusedNamingTheSupportedFormats() {
    byte[] html = "<!DOCTYPE html><html>404 Not Found</html>".getBytes(StandardCharsets.US_ASCII);
    ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> DECODER.decode(html));
    assertEquals(Reason.UNKNOWN_FORMAT, e.reason());
    assertTrue(e.getMessage().contains("an HTML page"), e.getMessage());
    assertFalse(e.getMessage().contains("Not Found"), e.getMessage());
    assertTrue(e.getMessage().contains("JPEG, PNG, GIF, BMP, WebP or TIFF"), e.getMessage());
  }

  @Test
  void unknownFormatErrorsNameTheFormatFoundAndQuoteNoByteOfTheFile() {
    // what a path to /etc/passwd, /etc/shadow or /proc/self/environ reads: secrets, as text
    String passwd =
        "root:x:0:0:root:/root:/bin/bash\nalice:$6$s3cr3tSalt$hash:19000:0:99999:7:::\n";
    String environ = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI\0HOME=/root\0";
    Map<String, String> found =
        Map.of(
            passwd,
            "plain text",
            environ,
            "unrecognised binary data",
            "%PDF-1.7 secret-title",
            "a PDF document",
            "PK\3\4secret.txt",
            "a ZIP archive",
            "\u007fELFsecret",
            "an ELF executable",
            "\u001f\u008bsecret",
            "gzip-compressed data",
            "<?xml version=\"1.0\"?><secret>wJalrXUtnFEMI</secret>",
            "XML or HTML markup");
    for (Map.Entry<String, String> file : found.entrySet()) {
      byte[] bytes = file.getKey().getBytes(StandardCharsets.ISO_8859_1);
      ImageDecodeException e =
          assertThrows(ImageDecodeException.class, () -> DECODER.decode(bytes));
      String message = e.getMessage();
      assertEquals(Reason.UNKNOWN_FORMAT, e.reason(), message);
      assertTrue(message.contains(file.getValue()), message);
      for (String secret : List.of("root", "s3cr3t", "wJalrXUtnFEMI", "secret", "7f 45")) {
        assertFalse(message.contains(secret), secret + " echoed in: " + message);
      }
    }
  }

  @Test
  void textThatStartsLikeAnImageSignatureIsNotQuotedByTheReadersError() {
    // "BM" is the BMP signature, "II*\0" TIFF's: the reader fails on text it takes for a header
    for (String text :
        List.of(
            "BMW fleet: password=wJalrXUtnFEMI, token=wJalrXUtnFEMI wJalrXUtnFEMI wJalrXUtnFEMI",
            "II*\0password=wJalrXUtnFEMI wJalrXUtnFEMI wJalrXUtnFEMI wJalrXUtnFEMI")) {
      byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
      ImageDecodeException e =
          assertThrows(ImageDecodeException.class, () -> DECODER.decode(bytes));
      assertFalse(e.getMessage().contains("wJalrXUtnFEMI"), e.getMessage());
      assertFalse(e.getMessage().contains("password"), e.getMessage());
    }
  }

  @Test
  void truncatedPngIsRefusedAsTruncated() {
    byte[] png = bytes(resource("decoder/rgba.png"));
    ImageDecodeException e =
        assertThrows(
            ImageDecodeException.class,
            () -> DECODER.decode(Arrays.copyOf(png, png.length * 2 / 3)));
    assertEquals(Reason.TRUNCATED, e.reason(), e.getMessage());
    assertTrue(e.getMessage().contains("PNG"), e.getMessage());
  }

  @Test
  void truncatedJpegsAreRefusedAsTruncated() {
    // libjpeg would pad a cut JPEG with gray and warn; Pillow raises "image file is truncated".
    for (String name : List.of("baseline420.jpg", "progressive.jpg", "gray.jpg")) {
      byte[] jpeg = bytes(resource("decoder/" + name));
      for (int length : new int[] {jpeg.length / 2, jpeg.length - 2}) {
        ImageDecodeException e =
            assertThrows(
                ImageDecodeException.class, () -> DECODER.decode(Arrays.copyOf(jpeg, length)));
        assertEquals(Reason.TRUNCATED, e.reason(), name + " cut at " + length);
      }
    }
  }

  @Test
  void truncatedWebpIsRefusedByItsRiffSize() {
    byte[] webp = bytes(resource("decoder/lossy.webp"));
    ImageDecodeException e =
        assertThrows(
            ImageDecodeException.class, () -> DECODER.decode(Arrays.copyOf(webp, webp.length - 1)));
    assertEquals(Reason.TRUNCATED, e.reason(), e.getMessage());
  }

  /** A PNG signature and an IHDR chunk (with its CRC) declaring width x height, no pixels. */
  static byte[] pngHeaderOnly(int width, int height) {
    byte[] png = new byte[8 + 25];
    byte[] signature = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    System.arraycopy(signature, 0, png, 0, 8);
    java.nio.ByteBuffer chunk = java.nio.ByteBuffer.wrap(png, 8, 25);
    chunk.putInt(13).put("IHDR".getBytes(StandardCharsets.US_ASCII));
    chunk.putInt(width).putInt(height).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0);
    chunk.put((byte) 0);
    CRC32 crc = new CRC32();
    crc.update(png, 12, 17);
    chunk.putInt((int) crc.getValue());
    return png;
  }

  @Test
  void aPngClaiming20000By20000PixelsIsRefusedBeforeDecoding() {
    ImageDecodeException e =
        assertThrows(ImageDecodeException.class, () -> DECODER.decode(pngHeaderOnly(20000, 20000)));
    assertEquals(Reason.TOO_MANY_PIXELS, e.reason(), e.getMessage());
    assertTrue(e.getMessage().contains("20000 x 20000 = 400000000 pixels"), e.getMessage());
    assertTrue(e.getMessage().contains("178956970"), e.getMessage());
  }

  @Test
  void anImagePastALoweredLimitIsRefusedNamingTheSetting() {
    ImageDecoder small = new ImageDecoder(100, "image.maxPixels");
    byte[] png = bytes(resource("decoder/rgba.png")); // 14 x 9 = 126 pixels
    ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> small.decode(png));
    assertEquals(Reason.TOO_MANY_PIXELS, e.reason());
    assertTrue(e.getMessage().contains("14 x 9 = 126 pixels"), e.getMessage());
    assertTrue(e.getMessage().contains("limit of 100"), e.getMessage());
    assertTrue(e.getMessage().contains("image.maxPixels"), e.getMessage());
    assertEquals(14, new ImageDecoder(126, "image.maxPixels").decode(png).width()); // at the limit
  }

  @Test
  void randomlyDamagedImagesDecodeOrFailWithAnImageDecodeExceptionOnly() throws IOException {
    // Byte flips and cuts of every corner-case file: whatever the readers throw inside (IIO,
    // EOF, array bounds, ...) must come out as an ImageDecodeException with a reason.
    ImageDecoder decoder = new ImageDecoder(1_000_000, "image.maxPixels");
    List<Path> files;
    try (var listing = Files.list(resource("decoder"))) {
      files = listing.sorted().toList();
    }
    java.util.Random random = new java.util.Random(42);
    Map<String, Integer> outcomes = new java.util.TreeMap<>();
    for (int i = 0; i < 400; i++) {
      byte[] data = bytes(files.get(random.nextInt(files.size())));
      for (int flips = 1 + random.nextInt(8); flips > 0; flips--) {
        data[random.nextInt(data.length)] = (byte) random.nextInt(256);
      }
      if (random.nextInt(4) == 0) {
        data = Arrays.copyOf(data, 1 + random.nextInt(data.length));
      }
      String outcome;
      try {
        decoder.decode(data);
        outcome = "decoded";
      } catch (ImageDecodeException e) {
        outcome = e.reason().name();
      }
      outcomes.merge(outcome, 1, Integer::sum);
    }
    assertTrue(outcomes.size() >= 4, "outcomes " + outcomes);
  }

  @Test
  void imageIoKeepsNoDiskCache() {
    new ImageDecoder();
    assertFalse(javax.imageio.ImageIO.getUseCache());
  }

  @Test
  void aKnownSignatureWithGarbageAfterItIsRefusedNotCrashed() {
    byte[] junk = new byte[200];
    new java.util.Random(5).nextBytes(junk);
    for (byte[] signature :
        new byte[][] {
          {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF},
          {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A},
          {'G', 'I', 'F', '8', '9', 'a'},
          {'B', 'M'},
          {'I', 'I', 42, 0}
        }) {
      byte[] data = junk.clone();
      System.arraycopy(signature, 0, data, 0, signature.length);
      ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> DECODER.decode(data));
      assertTrue(
          e.reason() == Reason.CORRUPT
              || e.reason() == Reason.TRUNCATED
              || e.reason() == Reason.TOO_MANY_PIXELS,
          e.reason() + ": " + e.getMessage());
    }
  }

  /** A PNG chunk: length, type, data, CRC over type and data. */
  private static byte[] pngChunk(String type, byte[] data) {
    java.nio.ByteBuffer chunk = java.nio.ByteBuffer.allocate(12 + data.length);
    chunk.putInt(data.length).put(type.getBytes(StandardCharsets.ISO_8859_1)).put(data);
    CRC32 crc = new CRC32();
    crc.update(chunk.array(), 4, 4 + data.length);
    chunk.putInt((int) crc.getValue());
    return chunk.array();
  }

  /** {@code png} with {@code chunk} inserted right after its IHDR chunk. */
  private static byte[] withChunkAfterHeader(byte[] png, byte[] chunk) {
    int afterHeader = 8 + 12 + 13;
    byte[] out = new byte[png.length + chunk.length];
    System.arraycopy(png, 0, out, 0, afterHeader);
    System.arraycopy(chunk, 0, out, afterHeader, chunk.length);
    System.arraycopy(png, afterHeader, out, afterHeader + chunk.length, png.length - afterHeader);
    return out;
  }

  /** The zlib stream of {@code size} zero bytes, made without holding them. */
  private static byte[] deflatedZeros(long size) {
    java.util.zip.Deflater deflater = new java.util.zip.Deflater(java.util.zip.Deflater.BEST_SPEED);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    byte[] zeros = new byte[1 << 20];
    byte[] buffer = new byte[1 << 16];
    for (long left = size; left > 0; left -= zeros.length) {
      deflater.setInput(zeros, 0, (int) Math.min(zeros.length, left));
      while (!deflater.needsInput()) {
        out.write(buffer, 0, deflater.deflate(buffer));
      }
    }
    deflater.finish();
    while (!deflater.finished()) {
      out.write(buffer, 0, deflater.deflate(buffer));
    }
    deflater.end();
    return out.toByteArray();
  }

  @Test
  void compressedChunksThatInflateToGigabytesAreNeverInflated() {
    // an iTXt text chunk and an iCCP profile of a few MB that inflate to 3 GB each (more than a
    // Java array holds): the JDK's palette PNG reader and the EXIF reader used to inflate them
    byte[] bomb = deflatedZeros(3L << 30);
    java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream();
    text.writeBytes("Comment".getBytes(StandardCharsets.ISO_8859_1));
    text.writeBytes(new byte[] {0, 1, 0, 0, 0}); // keyword end, compressed, zlib, no language/key
    text.writeBytes(bomb);
    java.io.ByteArrayOutputStream icc = new java.io.ByteArrayOutputStream();
    icc.writeBytes("bomb".getBytes(StandardCharsets.ISO_8859_1));
    icc.writeBytes(new byte[] {0, 0});
    icc.writeBytes(bomb);
    for (String name : List.of("palette.png", "rgba.png")) {
      byte[] png = bytes(resource("decoder/" + name));
      RgbImage clean = DECODER.decode(png);
      byte[] hostile =
          withChunkAfterHeader(
              withChunkAfterHeader(png, pngChunk("iTXt", text.toByteArray())),
              pngChunk("iCCP", icc.toByteArray()));
      RgbImage decoded = DECODER.decode(hostile);
      assertEquals(clean.width(), decoded.width(), name);
      assertTrue(Arrays.equals(clean.rgb(), decoded.rgb()), name + ": the same pixels");
    }
  }

  @Test
  void pngChunksKeepWhatTheReadersNeedWholeAndNothingElse() {
    byte[] png = bytes(resource("decoder/orientation5.png"));
    byte[] withText =
        withChunkAfterHeader(
            png, pngChunk("tEXt", "Secret\0value".getBytes(StandardCharsets.ISO_8859_1)));
    byte[] pixels = PngChunks.forPixels(withText);
    assertEquals(-1, indexOf(pixels, "tEXt"), "no text chunk for the pixel reader");
    assertTrue(indexOf(pixels, "IDAT") > 0 && indexOf(pixels, "IEND") > 0);
    byte[] orientation = PngChunks.forOrientation(withText);
    assertEquals(-1, indexOf(orientation, "IDAT"), "no pixel data for the EXIF reader");
    assertEquals(-1, indexOf(orientation, "tEXt"));
    assertTrue(indexOf(orientation, "eXIf") > 0, "the EXIF chunk kept for the orientation");
    assertTrue(
        Arrays.equals(DECODER.decode(png).rgb(), DECODER.decode(withText).rgb()),
        "the same oriented pixels");
    byte[] cut = Arrays.copyOf(withText, withText.length * 2 / 3);
    ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> DECODER.decode(cut));
    assertEquals(Reason.TRUNCATED, e.reason(), e.getMessage());
  }

  private static int indexOf(byte[] data, String type) {
    byte[] t = type.getBytes(StandardCharsets.ISO_8859_1);
    outer:
    for (int i = 0; i + t.length <= data.length; i++) {
      for (int j = 0; j < t.length; j++) {
        if (data[i + j] != t[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
