package io.github.idefics3spark.idefics3.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.runtime.GenerationSettings;
import io.github.idefics3spark.safetensors.SafeTensors;
import io.github.idefics3spark.tf.ComputeDtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Tensor;

/**
 * A converted package against transformers' goldens (tools/reference): image features and logits
 * within 1e-4 in fp32, greedy tokens identical with and without stop ids, every batch row identical
 * to its request alone, and a reloaded package identical to the first. Each tiny checkpoint is
 * converted once for the whole class, and once more with its products split ({@code convert
 * --split-products}, in blocks of uneven sizes: 3 parts of tiny-idefics3's 64 and 128 features, 2
 * of tiny-smolvlm's 3 vision heads), which must meet transformers' goldens as closely.
 */
class Idefics3PackageGoldenTest {
  private static final double TOLERANCE = 1e-4;
  private static final Map<String, Idefics3Package> PACKAGES = new HashMap<>();
  private static final Map<String, Path> PACKAGE_DIRS = new HashMap<>();
  private static final String SPLIT = " split ";
  private static final Map<String, Integer> SPLITS =
      Map.of(
          ReferenceFixtures.TINY_IDEFICS3,
          1,
          ReferenceFixtures.TINY_SMOLVLM,
          1,
          ReferenceFixtures.TINY_IDEFICS3 + SPLIT + 3,
          3,
          ReferenceFixtures.TINY_SMOLVLM + SPLIT + 2,
          2);
  private static Path workDir;

  /** The packages the tests run: a checkpoint's name, and with {@link #SPLIT}, its split one. */
  static List<String> packages() {
    return SPLITS.keySet().stream().sorted().toList();
  }

  @BeforeAll
  static void convertCheckpoints() throws IOException {
    workDir = Files.createTempDirectory("idefics3-package-test");
    for (String name : packages()) {
      Path dir = workDir.resolve(name.replace(' ', '-'));
      Idefics3Package.write(
          ReferenceFixtures.checkpoint(checkpointOf(name)),
          dir,
          ComputeDtype.FP32,
          0,
          SPLITS.get(name));
      PACKAGE_DIRS.put(name, dir);
      PACKAGES.put(name, Idefics3Package.load(dir, 2));
    }
  }

  private static String checkpointOf(String name) {
    int split = name.indexOf(SPLIT);
    return split < 0 ? name : name.substring(0, split);
  }

  /** A split package's graph holds the split (SplitV ops) and its manifest says into how many. */
  @ParameterizedTest
  @MethodSource("packages")
  void splitPackagesRecordAndHoldTheirSplit(String name) throws IOException {
    int splits = SPLITS.get(name);
    assertEquals(
        splits, PackageFiles.readManifest(PACKAGE_DIRS.get(name)).get("product_splits").asInt());
    long splitOps = 0;
    for (var it = PACKAGES.get(name).bundle().graph().operations(); it.hasNext(); ) {
      splitOps += it.next().type().equals("SplitV") ? 1 : 0;
    }
    assertEquals(splits > 1, splitOps > 0, name + ": " + splitOps + " SplitV ops");
  }

  @AfterAll
  static void closePackages() throws IOException {
    PACKAGES.values().forEach(Idefics3Package::close);
    try (var files = Files.walk(workDir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @ParameterizedTest
  @MethodSource("packages")
  void imageFeaturesMatchTransformers(String checkpoint) throws IOException {
    Goldens goldens = new Goldens(checkpoint);
    double worst = 0;
    for (JsonNode record : goldens.model.get("image_features")) {
      float[] actual =
          goldens.features(record.get("name").asText(), record.get("split").asBoolean());
      float[] expected = goldens.tensors.floats(record.get("key").asText());
      double diff = maxAbsDiff(expected, actual);
      assertTrue(diff <= TOLERANCE, record.get("key") + ": max abs diff " + diff);
      worst = Math.max(worst, diff);
    }
    System.out.printf("%s image features: max abs diff %.3g%n", checkpoint, worst);
  }

  /**
   * encodeImages splits a batch's frames over session calls to bound the attention scores held
   * (Idefics3Package.ENCODE_SCORES_BYTES; the tiny checkpoints fit all frames in one call): one
   * frame a call gives every frame's features as all frames in one call do, and both match
   * transformers.
   */
  @ParameterizedTest
  @MethodSource("packages")
  void imageFeaturesDoNotDependOnFramesPerCall(String name) throws IOException {
    Goldens goldens = new Goldens(name);
    int checked = 0;
    for (JsonNode record : goldens.model.get("image_features")) {
      if (!record.get("split").asBoolean()) {
        continue;
      }
      byte[] frames = goldens.framesOf(record.get("name").asText());
      int count = frames.length / goldens.frameValues;
      assertTrue(count > 1, record.get("name") + " has " + count + " frames");
      assertTrue(goldens.pkg.framesPerEncodeCall() >= count, "the tiny model fits one call");
      float[] together = goldens.encode(frames, count, count);
      float[] oneByOne = goldens.encode(frames, count, 1);
      float[] twoByTwo = goldens.encode(frames, count, 2); // the last call has one frame when odd
      float[] expected = goldens.tensors.floats(record.get("key").asText());
      // a split package's uneven blocks (11 and 10 of 32 columns) go to kernels that oneDNN
      // chooses by a product's rows, so the frames of a call can move a sum by a float's ulp
      double bound = SPLITS.get(name) > 1 ? 1e-5 : 1e-6;
      double oneDiff = maxAbsDiff(together, oneByOne);
      double twoDiff = maxAbsDiff(together, twoByTwo);
      assertTrue(oneDiff <= bound, "one frame a call vs all at once: " + oneDiff);
      assertTrue(twoDiff <= bound, "two frames a call vs all at once: " + twoDiff);
      assertTrue(maxAbsDiff(expected, oneByOne) <= TOLERANCE, "one frame a call vs transformers");
      checked++;
    }
    assertTrue(checked > 0, "no split image in the goldens");
  }

  @Test
  void encodeImagesRefusesPixelsThatAreNotItsFrames() {
    Idefics3Package pkg = PACKAGES.get(ReferenceFixtures.TINY_SMOLVLM);
    int side = pkg.checkpoint().config().vision().imageSize();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> pkg.encodeImages(new float[3 * side * side], new boolean[2 * side * side], 2));
    assertTrue(e.getMessage().contains("encode_images of 2 frames expects"), e.getMessage());
  }

  @ParameterizedTest
  @MethodSource("packages")
  void logitsMatchTransformers(String checkpoint) throws IOException {
    Goldens goldens = new Goldens(checkpoint);
    int vocab = goldens.model.get("vocab_size").asInt();
    double worst = 0;
    for (JsonNode record : goldens.model.get("logits")) {
      Inputs inputs = goldens.inputs(record);
      float[] logits =
          goldens.pkg.logits(
              inputs.inputIds,
              inputs.attentionMask,
              positions(inputs.attentionMask),
              inputs.features);
      float[] expected = goldens.tensors.floats(record.get("key").asText());
      int batch = inputs.inputIds.length;
      int seq = inputs.inputIds[0].length;
      boolean all = record.get("positions").asText().equals("all");
      double diff = 0;
      for (int b = 0; b < batch; b++) {
        for (int l = all ? 0 : seq - 1; l < seq; l++) {
          if (inputs.attentionMask[b][l] == 0) {
            continue; // pad positions carry no meaning
          }
          int goldenRow = all ? l : b;
          for (int v = 0; v < vocab; v++) {
            float actual = logits[(b * seq + l) * vocab + v];
            diff = Math.max(diff, Math.abs(actual - expected[goldenRow * vocab + v]));
          }
        }
      }
      assertTrue(diff <= TOLERANCE, record.get("key") + ": max abs diff " + diff);
      worst = Math.max(worst, diff);
    }
    System.out.printf("%s logits: max abs diff %.3g%n", checkpoint, worst);
  }

  @ParameterizedTest
  @MethodSource("packages")
  void greedyTokensMatchTransformers(String checkpoint) throws IOException {
    Goldens goldens = new Goldens(checkpoint);
    int checked = 0;
    for (JsonNode record : goldens.model.get("generations")) {
      Idefics3Package.Generation generation =
          goldens.generate(goldens.pkg, record, record.get("eos").asBoolean());
      int row = record.get("row").asInt();
      int length = record.get("length").asInt();
      int[] expected = Arrays.copyOf(ints(record.get("tokens")), length);
      String what = record + "";
      assertArrayEquals(expected, generation.row(row), what);
      assertEquals(length, generation.lengths()[row], what);
      int pad = goldens.model.get("pad_token_id").asInt();
      for (int t = length; t < generation.tokens()[row].length; t++) {
        assertEquals(pad, generation.tokens()[row][t], "pad after the end: " + what);
      }
      checked++;
    }
    System.out.printf("%s greedy: %d generations identical%n", checkpoint, checked);
  }

  @ParameterizedTest
  @MethodSource("packages")
  void batchRowsEqualTheirRequestsAlone(String checkpoint) throws IOException {
    Goldens goldens = new Goldens(checkpoint);
    JsonNode batch = goldens.processor.get("batches").get(0);
    for (boolean eos : new boolean[] {true, false}) {
      Inputs inputs = goldens.batchInputs(batch);
      Idefics3Package.Generation together =
          goldens.pkg.generate(
              inputs.inputIds, inputs.attentionMask, inputs.features, goldens.settings(eos));
      for (int row = 0; row < batch.get("requests").size(); row++) {
        JsonNode request = goldens.request(batch.get("requests").get(row).asText());
        Inputs alone = goldens.requestInputs(request);
        Idefics3Package.Generation single =
            goldens.pkg.generate(
                alone.inputIds, alone.attentionMask, alone.features, goldens.settings(eos));
        assertArrayEquals(
            single.row(0), together.row(row), request.get("name") + " alone vs in the batch");
      }
    }
  }

  /**
   * The decode loop writes each step's keys and values into its caches in place: the caches a
   * caller feeds decode_slots (a prefill's inserted rows, and the slots' own, passed back from the
   * call before) must come out bit for bit as they went in, and two calls of 3 steps must continue
   * the prompt as the one-call generate does.
   */
  @ParameterizedTest
  @MethodSource("packages")
  void decodeSlotsLeavesTheCachesItIsFedUntouched(String checkpoint) throws IOException {
    Goldens goldens = new Goldens(checkpoint);
    Idefics3Package pkg = goldens.pkg;
    JsonNode request = goldens.processor.get("requests").get(0);
    Inputs alone = goldens.requestInputs(request);
    GenerationSettings settings = goldens.settings(false);
    int[] expected =
        pkg.generate(alone.inputIds, alone.attentionMask, alone.features, settings).row(0);
    int prompt = alone.inputIds[0].length;
    int capacity = prompt + 7;
    int[] mask = alone.attentionMask[0];
    Idefics3Package.SlotState state =
        new Idefics3Package.SlotState(
            new int[1],
            new boolean[] {false},
            new int[] {1},
            new int[][] {Arrays.copyOf(mask, capacity)},
            new int[] {Arrays.stream(mask).sum()},
            new int[] {prompt},
            new int[] {7});
    try (Idefics3Package.SlotPrefill prefill =
            pkg.prefillSlots(
                alone.inputIds, alone.attentionMask, alone.features, capacity, settings, 0);
        Idefics3Package.SlotCaches empty = prefill.caches().emptyLike(1)) {
      state.token()[0] = prefill.firstTokens()[0];
      List<float[]> inserted = values(prefill.caches());
      Idefics3Package.SlotDecode first =
          pkg.decodeSlots(empty, prefill, new int[] {0}, state, capacity, 3, 1, settings, 1);
      assertCachesEqual(inserted, values(prefill.caches()), "the inserted prefill's caches");
      try (Idefics3Package.SlotCaches fed = first.caches()) {
        List<float[]> before = values(fed);
        Idefics3Package.SlotDecode second =
            pkg.decodeSlots(fed, null, new int[0], state, capacity, 3, 1, settings, 4);
        second.caches().close();
        assertCachesEqual(before, values(fed), "the slots' caches passed back");
        int[] tokens = new int[7];
        tokens[0] = prefill.firstTokens()[0];
        System.arraycopy(first.tokens()[0], 0, tokens, 1, 3);
        System.arraycopy(second.tokens()[0], 0, tokens, 4, 3);
        assertArrayEquals(Arrays.copyOf(expected, 7), tokens, "two decode_slots calls");
      }
    }
  }

  private static List<float[]> values(Idefics3Package.SlotCaches caches) {
    List<float[]> values = new ArrayList<>();
    for (Tensor tensor : caches.tensors()) {
      float[] copy = new float[(int) tensor.shape().size()];
      tensor.asRawTensor().data().asFloats().read(copy);
      values.add(copy);
    }
    return values;
  }

  private static void assertCachesEqual(List<float[]> expected, List<float[]> actual, String what) {
    assertEquals(expected.size(), actual.size(), what);
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(expected.get(i), actual.get(i), what + ", cache tensor " + i);
    }
  }

  @ParameterizedTest
  @MethodSource("packages")
  void reloadedPackageGivesIdenticalTokens(String checkpoint) throws IOException {
    Goldens goldens = new Goldens(checkpoint);
    JsonNode batch = goldens.processor.get("batches").get(0);
    Inputs inputs = goldens.batchInputs(batch);
    try (Idefics3Package reloaded = Idefics3Package.load(PACKAGE_DIRS.get(checkpoint), 1)) {
      for (boolean eos : new boolean[] {true, false}) {
        GenerationSettings settings = goldens.settings(eos);
        assertTrue(
            Arrays.deepEquals(
                goldens
                    .pkg
                    .generate(inputs.inputIds, inputs.attentionMask, inputs.features, settings)
                    .tokens(),
                reloaded
                    .generate(inputs.inputIds, inputs.attentionMask, inputs.features, settings)
                    .tokens()));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM})
  void packageLoadedInAFreshJvmGivesIdenticalTokens(String checkpoint) throws Exception {
    Goldens goldens = new Goldens(checkpoint);
    Inputs inputs = goldens.batchInputs(goldens.processor.get("batches").get(0));
    GenerationSettings settings = goldens.settings(true);
    int[][] fresh =
        FreshJvmGeneration.run(
            PACKAGE_DIRS.get(checkpoint),
            inputs.inputIds,
            inputs.attentionMask,
            inputs.features,
            settings,
            workDir);
    int[][] here =
        goldens
            .pkg
            .generate(inputs.inputIds, inputs.attentionMask, inputs.features, settings)
            .tokens();
    assertTrue(Arrays.deepEquals(here, fresh), Arrays.deepToString(fresh));
  }

  /** cumsum(mask) - 1, 1 at padding: what the goldens used. */
  static int[][] positions(int[][] attentionMask) {
    int[][] out = new int[attentionMask.length][];
    for (int b = 0; b < attentionMask.length; b++) {
      out[b] = new int[attentionMask[b].length];
      int seen = 0;
      for (int l = 0; l < attentionMask[b].length; l++) {
        seen += attentionMask[b][l];
        out[b][l] = attentionMask[b][l] == 1 ? seen - 1 : 1;
      }
    }
    return out;
  }

  static double maxAbsDiff(float[] expected, float[] actual) {
    assertEquals(expected.length, actual.length, "element count");
    double diff = 0;
    for (int i = 0; i < expected.length; i++) {
      diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
    }
    return diff;
  }

  static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }

  static int[][] matrix(JsonNode rows) {
    int[][] out = new int[rows.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = ints(rows.get(i));
    }
    return out;
  }

  /** Token ids, mask and image features of one model call. */
  record Inputs(int[][] inputIds, int[][] attentionMask, float[] features) {}

  /** One checkpoint's goldens and the package under test. */
  static final class Goldens {
    final Idefics3Package pkg;
    final JsonNode model;
    final JsonNode processor;
    final SafeTensors tensors;
    final SafeTensors pixels;
    final float[] lut;
    final int frameValues;

    Goldens(String name) throws IOException {
      this(checkpointOf(name), PACKAGES.get(name));
    }

    /** The goldens of {@code checkpoint}, run through {@code pkg}: a package of it. */
    Goldens(String checkpoint, Idefics3Package pkg) throws IOException {
      this.pkg = pkg;
      this.model = ReferenceFixtures.modelGoldens(checkpoint);
      this.processor = ReferenceFixtures.processorGoldens(checkpoint);
      this.tensors = ReferenceFixtures.modelTensors(checkpoint);
      this.pixels = ReferenceFixtures.pixelGoldens(checkpoint);
      this.lut = pixels.floats(processor.get("lut").asText());
      int side = pkg.checkpoint().config().vision().imageSize();
      this.frameValues = pkg.checkpoint().config().vision().numChannels() * side * side;
    }

    /** Image features of one image's frames, encoded by the package. */
    float[] features(String image, boolean split) throws IOException {
      byte[] frames = split ? framesOf(image) : framesOf(image, "images_no_split");
      return encode(frames, frames.length / frameValues);
    }

    /** The frames (uint8) of one image, split as the checkpoint does. */
    byte[] framesOf(String image) throws IOException {
      return framesOf(image, "images");
    }

    private byte[] framesOf(String image, String list) throws IOException {
      for (JsonNode record : processor.get(list)) {
        if (record.get("name").asText().equals(image)) {
          return pixels.uint8s(record.get("frames_u8").asText());
        }
      }
      throw new IllegalArgumentException("no image " + image + " in processor.json " + list);
    }

    float[] encode(byte[] frames, int count) {
      return encode(frames, count, pkg.framesPerEncodeCall());
    }

    float[] encode(byte[] frames, int count, int perCall) {
      float[] values = new float[frames.length];
      for (int i = 0; i < values.length; i++) {
        values[i] = lut[frames[i] & 0xFF];
      }
      boolean[] mask = new boolean[count * (frameValues / 3)];
      Arrays.fill(mask, true);
      return pkg.encodeImages(values, mask, count, perCall);
    }

    JsonNode request(String name) {
      for (JsonNode request : processor.get("requests")) {
        if (request.get("name").asText().equals(name)) {
          return request;
        }
      }
      throw new IllegalArgumentException("no request " + name + " in processor.json");
    }

    Inputs requestInputs(JsonNode request) throws IOException {
      List<float[]> parts = new ArrayList<>();
      for (JsonNode image : request.get("images")) {
        parts.add(features(image.asText(), true));
      }
      return new Inputs(
          new int[][] {ints(request.get("input_ids"))},
          new int[][] {ints(request.get("attention_mask"))},
          concat(parts));
    }

    /** The batch's real frames (any mask pixel set), row by row, encoded by the package. */
    Inputs batchInputs(JsonNode batch) throws IOException {
      byte[] frames = pixels.uint8s(batch.get("frames_u8").asText());
      byte[] mask = pixels.uint8s(batch.get("pixel_attention_mask").asText());
      int maskValues = frameValues / 3;
      int slots = frames.length / frameValues;
      List<byte[]> real = new ArrayList<>();
      for (int f = 0; f < slots; f++) {
        boolean any = false;
        for (int i = 0; i < maskValues && !any; i++) {
          any = mask[f * maskValues + i] != 0;
        }
        if (any) {
          real.add(Arrays.copyOfRange(frames, f * frameValues, (f + 1) * frameValues));
        }
      }
      byte[] joined = new byte[real.size() * frameValues];
      for (int i = 0; i < real.size(); i++) {
        System.arraycopy(real.get(i), 0, joined, i * frameValues, frameValues);
      }
      float[] features = real.isEmpty() ? new float[0] : encode(joined, real.size());
      return new Inputs(
          matrix(batch.get("input_ids")), matrix(batch.get("attention_mask")), features);
    }

    Inputs inputs(JsonNode record) throws IOException {
      if (record.has("request")) {
        return requestInputs(request(record.get("request").asText()));
      }
      for (JsonNode batch : processor.get("batches")) {
        if (batch.get("name").asText().equals(record.get("batch").asText())) {
          return batchInputs(batch);
        }
      }
      throw new IllegalArgumentException("no batch " + record.get("batch"));
    }

    GenerationSettings settings(boolean eos) {
      GenerationSettings greedy =
          new GenerationSettings(
              model.get("max_new_tokens").asInt(),
              ints(model.get("eos_token_ids")),
              model.get("pad_token_id").asInt(),
              false,
              1f,
              0,
              1f,
              0L);
      return eos ? greedy : greedy.withoutStop();
    }

    private final Map<String, Idefics3Package.Generation> cache = new HashMap<>();

    Idefics3Package.Generation generate(Idefics3Package pkg, JsonNode record, boolean eos)
        throws IOException {
      String key =
          (record.has("request") ? record.get("request") : record.get("batch")) + "/" + eos;
      Idefics3Package.Generation cached = cache.get(key);
      if (cached == null) {
        Inputs inputs = inputs(record);
        cached =
            pkg.generate(inputs.inputIds, inputs.attentionMask, inputs.features, settings(eos));
        cache.put(key, cached);
      }
      return cached;
    }
  }

  static float[] concat(List<float[]> parts) {
    int total = parts.stream().mapToInt(p -> p.length).sum();
    float[] out = new float[total];
    int at = 0;
    for (float[] part : parts) {
      System.arraycopy(part, 0, out, at, part.length);
      at += part.length;
    }
    return out;
  }
}
