package io.github.idefics3spark.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * PillowResample against Pillow 12.3's {@code Image.resize(LANCZOS)}: the goldens in
 * resources/image/resize.json (made by tools/reference/image_goldens.py) hold the sha256 of
 * Pillow's output for inputs both sides compute from one formula.
 */
class PillowResampleTest {

  /** tools/reference/image_goldens.py pattern(): hashed noise and black / white bars. */
  static RgbImage pattern(int width, int height, int seed) {
    byte[] rgb = new byte[width * height * 3];
    int i = 0;
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        for (int c = 0; c < 3; c++) {
          int v = x * (int) 2654435761L + y * 40503 + c * 97 + seed * 1013904223;
          v ^= v >>> 15;
          v *= (int) 2246822519L;
          v ^= v >>> 13;
          int noise = v >>> 24;
          int bars = (x / 4 + y / 6) % 2 == 0 ? 0 : 255;
          rgb[i++] = (byte) ((x / 5 + y / 3) % 2 == 0 ? noise : bars);
        }
      }
    }
    return new RgbImage(width, height, rgb);
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode goldens() throws IOException {
    try (InputStream in = PillowResampleTest.class.getResourceAsStream("/image/resize.json")) {
      return new ObjectMapper().readTree(in);
    }
  }

  private static String describe(JsonNode c) {
    return c.get("width")
        + "x"
        + c.get("height")
        + " (seed "
        + c.get("seed")
        + ") -> "
        + c.get("to_width")
        + "x"
        + c.get("to_height");
  }

  @Test
  void everyGoldenResizeIsBitIdenticalToPillow() throws IOException {
    JsonNode cases = goldens().get("cases");
    assertTrue(cases.size() > 200, "resize.json holds " + cases.size() + " cases");
    List<String> failures = new ArrayList<>();
    for (JsonNode c : cases) {
      RgbImage in = pattern(c.get("width").asInt(), c.get("height").asInt(), c.get("seed").asInt());
      RgbImage out =
          PillowResample.lanczos(in, c.get("to_width").asInt(), c.get("to_height").asInt());
      if (!sha256(out.rgb()).equals(c.get("sha256").asText())) {
        failures.add(describe(c));
      }
    }
    assertEquals(List.of(), failures, "resizes that differ from Pillow");
  }

  @Test
  void imagesMoreThan100TimesTallerThanWideShrinkVerticallyFirst() throws IOException {
    // Image.resize resizes such images vertically first; the order changes the rounding.
    int tall = 0;
    for (JsonNode c : goldens().get("cases")) {
      int w = c.get("width").asInt();
      int h = c.get("height").asInt();
      int th = c.get("to_height").asInt();
      int tw = c.get("to_width").asInt();
      if (h > w * 100 && th < h && tw != w) {
        tall++;
        RgbImage out = PillowResample.lanczos(pattern(w, h, c.get("seed").asInt()), tw, th);
        assertEquals(c.get("sha256").asText(), sha256(out.rgb()), describe(c));
      }
    }
    assertTrue(tall >= 10, "only " + tall + " golden cases exercise the vertical-first path");
  }

  @Test
  void anUnchangedSizeReturnsTheImageItself() {
    RgbImage image = pattern(31, 17, 3);
    assertSame(image, PillowResample.lanczos(image, 31, 17));
  }

  @Test
  void aSinglePixelUpsampledStaysItsColour() {
    // One tap of weight 1.0 = 2^22 per output: exactly the input, wherever the centre falls.
    RgbImage pixel = new RgbImage(1, 1, new byte[] {(byte) 200, 30, 90});
    RgbImage out = PillowResample.lanczos(pixel, 5, 3);
    for (int i = 0; i < 15; i++) {
      assertEquals(new byte[] {(byte) 200, 30, 90}[i % 3], out.rgb()[i]);
    }
  }

  @Test
  void coefficientsAreNormalisedFixedPointWithinTheImage() {
    PillowResample.Coefficients c = PillowResample.coefficients(1856, 2048);
    assertEquals(2 * 3 + 1, c.taps()); // upsampling: support 3
    for (int i = 0; i < 2048; i++) {
      assertTrue(c.first()[i] >= 0 && c.first()[i] + c.count()[i] <= 1856, "taps of " + i);
      int sum = 0;
      for (int j = 0; j < c.taps(); j++) {
        sum += c.weights()[i * c.taps() + j];
      }
      // Each weight rounds separately, so the sum is 2^22 give or take a few units.
      assertTrue(Math.abs(sum - (1 << 22)) <= c.taps(), "weights of " + i + " sum to " + sum);
    }
    PillowResample.Coefficients down = PillowResample.coefficients(2048, 364);
    assertEquals((int) Math.ceil(3 * 2048.0 / 364) * 2 + 1, down.taps());
  }

  @Test
  void lanczosFilterIsTruncatedSincOfThreeLobes() {
    assertEquals(1.0, PillowResample.lanczosFilter(0.0));
    assertEquals(0.0, PillowResample.lanczosFilter(3.0)); // [-3, 3): 3 is outside
    assertEquals(0.0, PillowResample.lanczosFilter(-3.0000001));
    assertTrue(Math.abs(PillowResample.lanczosFilter(1.0)) < 1e-15);
    assertTrue(PillowResample.lanczosFilter(1.5) < 0); // the negative lobe that rings
  }

  @Test
  void aTargetWithoutPixelsIsRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> PillowResample.lanczos(pattern(4, 4, 1), 0, 3));
    assertTrue(e.getMessage().contains("0 x 3"), e.getMessage());
  }

  @Test
  void rgbImageChecksItsArrayAgainstItsSize() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new RgbImage(2, 2, new byte[11]));
    assertTrue(e.getMessage().contains("12 bytes, got 11"), e.getMessage());
    assertArrayEquals(new byte[12], new RgbImage(2, 2, new byte[12]).rgb());
  }
}
