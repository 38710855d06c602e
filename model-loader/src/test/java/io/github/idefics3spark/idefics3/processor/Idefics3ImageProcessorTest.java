package io.github.idefics3spark.idefics3.processor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import io.github.idefics3spark.idefics3.checkpoint.PreprocessorConfig;
import io.github.idefics3spark.image.ImageDecoder;
import io.github.idefics3spark.image.RgbImage;
import io.github.idefics3spark.safetensors.SafeTensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Idefics3ImageProcessor and ImageBatch against transformers' Idefics3ImageProcessorPil, through
 * the reference fixtures (tools/reference/generate.py): frames, grids and float32 pixel values bit
 * for bit, for both tiny checkpoints and the real checkpoints' settings.
 */
class Idefics3ImageProcessorTest {
  private static final ImageDecoder DECODER = new ImageDecoder();
  private static final Map<String, RgbImage> DECODED = new HashMap<>();

  /**
   * The RGB the reference processed: Pillow's own decoded array where the fixtures hold it (the
   * made images, among them the 16-bit ones where decoders genuinely differ), else this project's
   * decoder (the real samples, which ImageDecoderTest shows decode bit-identically). So these tests
   * pin the processor alone. Decoded once per class: the real pages are 1856 x 1620.
   */
  private static synchronized RgbImage decoded(String name) {
    return DECODED.computeIfAbsent(
        name,
        n -> {
          try (SafeTensors pillow = ReferenceFixtures.decodedGoldens()) {
            if (pillow.tensors().containsKey(n)) {
              long[] shape = pillow.info(n).shape(); // (height, width, 3)
              return new RgbImage((int) shape[1], (int) shape[0], pillow.uint8s(n));
            }
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
          return DECODER.decode(ReferenceFixtures.imageBytes(n));
        });
  }

  private static PreprocessorConfig config(int longestEdge, int tile, boolean split) {
    float[] half = {0.5f, 0.5f, 0.5f};
    return new PreprocessorConfig(
        longestEdge, tile, split, true, true, true, 1 / 255.0, true, half, half.clone(), true, 1);
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** sha256 of float32 values as little-endian bytes, as the fixtures hash numpy's "<f4". */
  static String floatSha256(float[] values) {
    ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(values);
    return sha256(bytes.array());
  }

  @Test
  void sizesFollowTheReferenceIntAndEvenRules() {
    // (width, height, L) -> first resize; values from transformers' own size functions.
    assertArrayEquals(
        new int[] {2048, 1788}, Idefics3ImageProcessor.resizeOutputSize(1856, 1620, 2048));
    assertArrayEquals(
        new int[] {1456, 1270}, Idefics3ImageProcessor.resizeOutputSize(1856, 1620, 1456));
    assertArrayEquals(new int[] {486, 1456}, Idefics3ImageProcessor.resizeOutputSize(1, 3, 1456));
    assertArrayEquals(new int[] {1456, 6}, Idefics3ImageProcessor.resizeOutputSize(7000, 30, 1456));
    // int(2048 / 9000) = 0 is even, then max(0, 1) = 1
    assertArrayEquals(new int[] {1, 2048}, Idefics3ImageProcessor.resizeOutputSize(1, 9000, 2048));
    // MAX_IMAGE_SIZE caps a longest edge past 4096 (no even rule in that second step).
    assertArrayEquals(
        new int[] {4096, 2275}, Idefics3ImageProcessor.resizeOutputSize(9000, 5000, 5000));
    // resize_for_vision_encoder: multiples of the tile.
    assertArrayEquals(
        new int[] {2048, 2048}, Idefics3ImageProcessor.visionEncoderSize(2048, 1788, 512));
    assertArrayEquals(
        new int[] {728, 1456}, Idefics3ImageProcessor.visionEncoderSize(486, 1456, 364));
    assertArrayEquals(
        new int[] {1456, 364}, Idefics3ImageProcessor.visionEncoderSize(1456, 8, 364));
  }

  @Test
  void aSplitImageIsRowMajorTilesThenTheGlobalImage() {
    RgbImage image = new RgbImage(100, 57, gradient(100, 57));
    Idefics3ImageProcessor.Frames frames =
        new Idefics3ImageProcessor(config(224, 56, true)).process(image);
    // 100 x 57 -> 224 x 128 -> 224 x 168: 3 rows of 4 tiles, then the global frame.
    assertEquals(3, frames.rows());
    assertEquals(4, frames.cols());
    assertEquals(13, frames.count());
    assertEquals(13 * 3 * 56 * 56, frames.pixels().length);
    Idefics3ImageProcessor.Frames single =
        new Idefics3ImageProcessor(config(224, 56, false)).process(image);
    assertEquals(0, single.rows());
    assertEquals(1, single.count());
  }

  @Test
  void pixelValuesAreTheLookupTableOfTheUint8Frames() {
    Idefics3ImageProcessor processor = new Idefics3ImageProcessor(config(224, 56, true));
    assertEquals(-1.0f, processor.pixelValue(0, 0));
    assertEquals(1.0f, processor.pixelValue(2, 255));
    // float32(128 / 255) = 0.50196081; (x - 0.5f) / 0.5f in float32:
    assertEquals((((float) (128 / 255.0)) - 0.5f) / 0.5f, processor.pixelValue(1, 128));
    Idefics3ImageProcessor.Frames frames = processor.process(new RgbImage(3, 2, gradient(3, 2)));
    float[] values = frames.pixelValues();
    int plane = 56 * 56;
    for (int i = 0; i < values.length; i++) {
      int channel = (i / plane) % 3;
      assertEquals(processor.pixelValue(channel, frames.pixels()[i] & 0xFF), values[i]);
    }
  }

  @Test
  void settingsOtherThanLanczosAreRefused() {
    float[] half = {0.5f, 0.5f, 0.5f};
    PreprocessorConfig bicubic =
        new PreprocessorConfig(
            224, 56, true, true, true, true, 1 / 255.0, true, half, half, true, 3);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new Idefics3ImageProcessor(bicubic));
    assertTrue(e.getMessage().contains("resample is 3"), e.getMessage());
  }

  private static byte[] gradient(int width, int height) {
    byte[] rgb = new byte[width * height * 3];
    for (int i = 0; i < rgb.length; i++) {
      rgb[i] = (byte) (i * 7 + (i / (width * 3)) * 13);
    }
    return rgb;
  }

  // ---- against the reference fixtures --------------------------------------------------------

  private static PreprocessorConfig checkpointConfig(String checkpoint) {
    return Idefics3Checkpoint.read(ReferenceFixtures.checkpoint(checkpoint)).preprocessor();
  }

  @ParameterizedTest
  @ValueSource(strings = {ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM})
  void everyFixtureImageGivesTheReferenceFramesBitForBit(String checkpoint) throws IOException {
    JsonNode goldens = ReferenceFixtures.processorGoldens(checkpoint);
    PreprocessorConfig config = checkpointConfig(checkpoint);
    List<String> failures = new ArrayList<>();
    int checked = 0;
    try (SafeTensors pixels = ReferenceFixtures.pixelGoldens(checkpoint)) {
      float[] lut = pixels.floats(goldens.get("lut").asText());
      for (boolean split : new boolean[] {true, false}) {
        Idefics3ImageProcessor processor =
            new Idefics3ImageProcessor(config.withImageSplitting(split));
        for (int c = 0; c < 3; c++) {
          for (int v = 0; v < 256; v++) {
            assertEquals(
                Float.floatToRawIntBits(lut[v]),
                Float.floatToRawIntBits(processor.pixelValue(c, v)),
                "lookup table, channel " + c + " value " + v);
          }
        }
        for (JsonNode image : goldens.get(split ? "images" : "images_no_split")) {
          String name = image.get("name").asText();
          Idefics3ImageProcessor.Frames frames = processor.process(decoded(name));
          String what = name + (split ? " split" : " not split");
          String grid = frames.rows() + "x" + frames.cols() + "/" + frames.count();
          String expectedGrid =
              image.get("rows").asInt()
                  + "x"
                  + image.get("cols").asInt()
                  + "/"
                  + image.get("frames").asInt();
          if (!grid.equals(expectedGrid)) {
            failures.add(what + ": grid " + grid + ", reference " + expectedGrid);
            continue;
          }
          byte[] expected = pixels.uint8s(image.get("frames_u8").asText());
          if (!java.util.Arrays.equals(expected, frames.pixels())) {
            failures.add(what + ": uint8 frames differ");
          }
          if (!floatSha256(frames.pixelValues()).equals(image.get("pixel_sha256").asText())) {
            failures.add(what + ": float32 pixel values differ");
          }
          checked++;
        }
      }
    }
    assertEquals(List.of(), failures, checkpoint);
    assertTrue(checked >= 20, "only " + checked + " images checked");
  }

  @Test
  void theRealCheckpointsSettingsGiveTheReferencePixelHashes() {
    JsonNode goldens = ReferenceFixtures.realPreprocessorGoldens();
    // One task per (settings, image): the first resize (identical with and without splitting)
    // runs once, then both frame sets. Real settings upsample every image to 1456 or 2048 pixels,
    // so the tasks run in parallel (the processor is thread-safe).
    record Task(
        String model, PreprocessorConfig config, String name, Map<Boolean, JsonNode> goldens) {}
    Map<String, Task> tasks = new java.util.LinkedHashMap<>();
    int entries = 0;
    for (Map.Entry<String, JsonNode> model : goldens.properties()) {
      JsonNode settings = model.getValue();
      int longestEdge = settings.get("size").get("longest_edge").asInt();
      int tile = settings.get("max_image_size").get("longest_edge").asInt();
      for (JsonNode image : settings.get("images")) {
        String name = image.get("name").asText();
        decoded(name);
        tasks
            .computeIfAbsent(
                model.getKey() + " " + name,
                k ->
                    new Task(
                        model.getKey(), config(longestEdge, tile, true), name, new HashMap<>()))
            .goldens()
            .put(image.get("split").asBoolean(), image);
        entries++;
      }
    }
    List<String> failures =
        tasks.values().parallelStream()
            .flatMap(
                task -> {
                  RgbImage resized =
                      new Idefics3ImageProcessor(task.config()).resize(decoded(task.name()));
                  List<String> wrong = new ArrayList<>();
                  for (Map.Entry<Boolean, JsonNode> golden : task.goldens().entrySet()) {
                    Idefics3ImageProcessor.Frames frames =
                        new Idefics3ImageProcessor(
                                task.config().withImageSplitting(golden.getKey()))
                            .frames(resized);
                    JsonNode expected = golden.getValue();
                    String what = task.model() + " " + task.name() + " split=" + golden.getKey();
                    if (frames.rows() != expected.get("rows").asInt()
                        || frames.cols() != expected.get("cols").asInt()
                        || frames.count() != expected.get("frames").asInt()) {
                      wrong.add(what + ": grid " + frames.rows() + "x" + frames.cols());
                    } else if (!floatSha256(frames.pixelValues())
                        .equals(expected.get("pixel_sha256").asText())) {
                      wrong.add(what);
                    }
                  }
                  return wrong.stream();
                })
            .toList();
    assertEquals(List.of(), failures, "entries whose pixel values differ from the reference");
    assertTrue(entries >= 40, "only " + entries + " entries checked");
  }

  @ParameterizedTest
  @ValueSource(strings = {ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM})
  void batchesArePaddedLikeTheReference(String checkpoint) throws IOException {
    JsonNode goldens = ReferenceFixtures.processorGoldens(checkpoint);
    Idefics3ImageProcessor processor = new Idefics3ImageProcessor(checkpointConfig(checkpoint));
    Map<String, JsonNode> requests = new HashMap<>();
    for (JsonNode request : goldens.get("requests")) {
      requests.put(request.get("name").asText(), request);
    }
    try (SafeTensors pixels = ReferenceFixtures.pixelGoldens(checkpoint)) {
      for (JsonNode batch : goldens.get("batches")) {
        List<List<Idefics3ImageProcessor.Frames>> members = new ArrayList<>();
        for (JsonNode requestName : batch.get("requests")) {
          List<Idefics3ImageProcessor.Frames> images = new ArrayList<>();
          for (JsonNode image : requests.get(requestName.asText()).get("images")) {
            images.add(processor.process(decoded(image.asText())));
          }
          members.add(images);
        }
        ImageBatch padded = ImageBatch.of(members);
        String name = batch.get("name").asText();
        byte[] expectedFrames = pixels.uint8s(batch.get("frames_u8").asText());
        byte[] expectedMask = pixels.uint8s(batch.get("pixel_attention_mask").asText());
        long[] shape = pixels.info(batch.get("frames_u8").asText()).shape();
        assertEquals(shape[0], padded.batchSize(), name);
        assertEquals(shape[1], padded.maxFrames(), name);
        assertArrayEquals(
            expectedMask, padded.pixelAttentionMask(), name + " pixel_attention_mask");
        assertEquals(batch.get("pixel_sha256").asText(), floatSha256(padded.pixelValues()), name);
        // The real-frame flags agree with the mask, frame by frame.
        int plane = padded.side() * padded.side();
        for (int f = 0; f < padded.realFrames().length; f++) {
          assertEquals(expectedMask[f * plane] == 1, padded.realFrames()[f], name + " frame " + f);
        }
        assertEquals(expectedFrames.length, padded.pixelValues().length, name);
      }
    }
  }

  // ---- ImageBatch on its own -----------------------------------------------------------------

  @Test
  void aBatchPadsMissingFramesWithZerosAndFlagsThemNotReal() {
    Idefics3ImageProcessor processor = new Idefics3ImageProcessor(config(112, 56, true));
    Idefics3ImageProcessor.Frames wide = processor.process(new RgbImage(9, 4, gradient(9, 4)));
    Idefics3ImageProcessor.Frames square = processor.process(new RgbImage(2, 2, gradient(2, 2)));
    ImageBatch batch = ImageBatch.of(List.of(List.of(wide, square), List.of(), List.of(square)));
    int first = wide.count() + square.count();
    assertEquals(3, batch.batchSize());
    assertEquals(first, batch.maxFrames());
    assertEquals(56, batch.side());
    int frame = 3 * 56 * 56;
    // Request 0: its frames in order; request 1: only padding; request 2: one image, then padding.
    float[] expected0 = new float[first * frame];
    wide.writePixelValues(expected0, 0);
    square.writePixelValues(expected0, wide.count() * frame);
    assertArrayEquals(
        expected0, java.util.Arrays.copyOfRange(batch.pixelValues(), 0, first * frame));
    for (int f = 0; f < first; f++) {
      assertTrue(batch.isReal(0, f));
      assertFalse(batch.isReal(1, f));
      assertEquals(f < square.count(), batch.isReal(2, f));
    }
    byte[] mask = batch.pixelAttentionMask();
    assertEquals(3 * first * 56 * 56, mask.length);
    assertEquals(1, mask[0]);
    assertEquals(0, mask[first * 56 * 56]); // request 1, frame 0
  }

  @Test
  void zeroValuedPixelsOfARealFrameStayReal() {
    // Without normalisation uint8 0 is 0.0f: a black image is all zeros, and still an image.
    float[] none = {0f, 0f, 0f};
    float[] one = {1f, 1f, 1f};
    PreprocessorConfig raw =
        new PreprocessorConfig(
            56, 56, false, true, true, false, 1 / 255.0, false, none, one, true, 1);
    Idefics3ImageProcessor processor = new Idefics3ImageProcessor(raw);
    Idefics3ImageProcessor.Frames black = processor.process(new RgbImage(4, 4, new byte[48]));
    ImageBatch batch = ImageBatch.of(List.of(List.of(black), List.of(black, black)));
    for (float v : batch.pixelValues()) {
      assertEquals(0f, v);
    }
    assertTrue(batch.isReal(0, 0));
    assertFalse(batch.isReal(0, 1));
    assertTrue(batch.isReal(1, 1));
  }

  @Test
  void framesOfDifferentSidesCannotShareABatch() {
    Idefics3ImageProcessor.Frames a =
        new Idefics3ImageProcessor(config(112, 56, false))
            .process(new RgbImage(2, 2, gradient(2, 2)));
    Idefics3ImageProcessor.Frames b =
        new Idefics3ImageProcessor(config(128, 64, false))
            .process(new RgbImage(2, 2, gradient(2, 2)));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> ImageBatch.of(List.of(List.of(a), List.of(b))));
    assertTrue(e.getMessage().contains("64 and 56"), e.getMessage());
  }
}
