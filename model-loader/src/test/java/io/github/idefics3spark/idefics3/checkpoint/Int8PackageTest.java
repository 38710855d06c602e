package io.github.idefics3spark.idefics3.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3PackageGoldenTest.Goldens;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3PackageGoldenTest.Inputs;
import io.github.idefics3spark.idefics3.graph.Idefics3Graph;
import io.github.idefics3spark.tf.ComputeDtype;
import io.github.idefics3spark.tf.Weights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.types.TUint8;

/**
 * int8 packages ({@code convert --dtype int8}: every matrix int8 with per-output-channel scales,
 * dequantised in the matmul) stay close to fp32: their logits against transformers' fp32 goldens
 * (which the fp32 package matches to 1e-4), their greedy tokens against the golden generations,
 * measured on both tiny checkpoints; split in parts ({@code --split-products}) they answer as
 * unsplit; their weights are one byte per matrix weight; GPU executors are refused them.
 */
class Int8PackageTest {
  /**
   * Largest logit difference allowed, as a share of the largest |logit| of the same golden:
   * measured 0.0177 on tiny-idefics3 and 0.0152 on tiny-smolvlm (max abs differences 0.48 and 0.35,
   * as the README says; the random tiny weights are near-uniform, the worst case for int8's 1/254
   * steps).
   */
  private static final double RELATIVE_TOLERANCE = 0.03;

  /**
   * Greedy tokens identical to transformers' fp32 tokens, over every golden generation of both
   * checkpoints (token by token, up to the first difference): measured 0.88 on tiny-idefics3 (22 of
   * 28 generations identical) and 0.63 on tiny-smolvlm (11 of 28). Random tiny models have
   * near-tied logits, where any rounding flips the argmax and everything after it.
   */
  private static final double GREEDY_AGREEMENT_FLOOR = 0.55;

  @TempDir static Path shared;
  private static final Map<String, Idefics3Package> PACKAGES = new HashMap<>();

  @BeforeAll
  static void convert() throws IOException {
    for (String name : List.of(ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM)) {
      Path dir = shared.resolve(name + "-int8");
      Idefics3Package.write(ReferenceFixtures.checkpoint(name), dir, ComputeDtype.INT8);
      PACKAGES.put(name, Idefics3Package.load(dir, 2));
    }
  }

  @AfterAll
  static void close() {
    PACKAGES.values().forEach(Idefics3Package::close);
  }

  @ParameterizedTest
  @ValueSource(strings = {ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM})
  void int8LogitsStayWithinToleranceOfFp32(String checkpoint) throws IOException {
    Idefics3Package pkg = PACKAGES.get(checkpoint);
    assertEquals("int8", pkg.manifest().get("dtype").asText());
    Goldens goldens = new Goldens(checkpoint, pkg);
    int vocab = goldens.model.get("vocab_size").asInt();
    double worstShare = 0;
    double worst = 0;
    int records = 0;
    for (JsonNode record : goldens.model.get("logits")) {
      Inputs inputs = goldens.inputs(record);
      float[] logits =
          pkg.logits(
              inputs.inputIds(),
              inputs.attentionMask(),
              Idefics3PackageGoldenTest.positions(inputs.attentionMask()),
              inputs.features());
      float[] expected = goldens.tensors.floats(record.get("key").asText());
      int batch = inputs.inputIds().length;
      int seq = inputs.inputIds()[0].length;
      boolean all = record.get("positions").asText().equals("all");
      double diff = 0;
      double largest = 0;
      for (int b = 0; b < batch; b++) {
        for (int l = all ? 0 : seq - 1; l < seq; l++) {
          if (inputs.attentionMask()[b][l] == 0) {
            continue; // pad positions carry no meaning
          }
          int goldenRow = all ? l : b;
          for (int v = 0; v < vocab; v++) {
            float golden = expected[goldenRow * vocab + v];
            diff = Math.max(diff, Math.abs(logits[(b * seq + l) * vocab + v] - golden));
            largest = Math.max(largest, Math.abs(golden));
          }
        }
      }
      assertTrue(
          diff <= RELATIVE_TOLERANCE * largest,
          record.get("key")
              + ": int8 vs fp32 max abs diff "
              + diff
              + " on logits up to "
              + largest);
      worstShare = Math.max(worstShare, diff / largest);
      worst = Math.max(worst, diff);
      records++;
    }
    assertTrue(records > 0);
    System.out.printf(
        "%s int8 logits: %d goldens, max abs diff %.3g, at most %.4f of the largest |logit|%n",
        checkpoint, records, worst, worstShare);
  }

  @ParameterizedTest
  @ValueSource(strings = {ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM})
  void int8GreedyTokensMostlyAgreeWithFp32(String checkpoint) throws IOException {
    Idefics3Package pkg = PACKAGES.get(checkpoint);
    Goldens goldens = new Goldens(checkpoint, pkg);
    int agreeing = 0;
    int total = 0;
    int identical = 0;
    int generations = 0;
    for (JsonNode record : goldens.model.get("generations")) {
      Idefics3Package.Generation generation =
          goldens.generate(pkg, record, record.get("eos").asBoolean());
      int row = record.get("row").asInt();
      int length = record.get("length").asInt();
      int[] expected = Idefics3PackageGoldenTest.ints(record.get("tokens"));
      int[] actual = generation.row(row);
      int same = 0;
      while (same < length && same < actual.length && actual[same] == expected[same]) {
        same++;
      }
      agreeing += same;
      total += length;
      identical += same == length && generation.lengths()[row] == length ? 1 : 0;
      generations++;
    }
    double agreement = (double) agreeing / total;
    System.out.printf(
        "%s int8 greedy: %d of %d golden tokens agree before the first difference (%.2f),"
            + " %d of %d generations identical%n",
        checkpoint, agreeing, total, agreement, identical, generations);
    assertTrue(
        agreement >= GREEDY_AGREEMENT_FLOOR,
        checkpoint + ": greedy agreement " + agreement + " < " + GREEDY_AGREEMENT_FLOOR);
  }

  /**
   * An int8 package converted with {@code --split-products} (its products as row blocks of the
   * stored matrices, the tied lm_head as blocks of output rows; a decode step's blocks through the
   * int8 kernel) gives the unsplit int8 package's logits, to float rounding, and its greedy tokens.
   */
  @ParameterizedTest
  @ValueSource(strings = {ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM})
  void aSplitInt8PackageAnswersAsTheUnsplitOne(String checkpoint) throws IOException {
    Path dir = shared.resolve(checkpoint + "-int8-split-3");
    Idefics3Package.write(ReferenceFixtures.checkpoint(checkpoint), dir, ComputeDtype.INT8, 0, 3);
    Idefics3Package unsplit = PACKAGES.get(checkpoint);
    try (Idefics3Package split = Idefics3Package.load(dir, 3)) {
      assertEquals(3, split.manifest().get("product_splits").asInt());
      Goldens goldens = new Goldens(checkpoint, split);
      double worst = 0;
      for (JsonNode record : goldens.model.get("logits")) {
        Inputs inputs = goldens.inputs(record);
        int[][] positions = Idefics3PackageGoldenTest.positions(inputs.attentionMask());
        float[] a =
            split.logits(inputs.inputIds(), inputs.attentionMask(), positions, inputs.features());
        float[] b =
            unsplit.logits(inputs.inputIds(), inputs.attentionMask(), positions, inputs.features());
        double largest = 0;
        double diff = 0;
        for (int i = 0; i < a.length; i++) {
          largest = Math.max(largest, Math.abs(b[i]));
          diff = Math.max(diff, Math.abs(a[i] - b[i]));
        }
        assertTrue(diff <= 1e-5 * largest, record.get("key") + ": split vs unsplit " + diff);
        worst = Math.max(worst, diff / largest);
      }
      int generations = 0;
      for (JsonNode record : goldens.model.get("generations")) {
        boolean eos = record.get("eos").asBoolean();
        int row = record.get("row").asInt();
        assertArrayEquals(
            goldens.generate(unsplit, record, eos).row(row),
            goldens.generate(split, record, eos).row(row),
            record.get("key") + "");
        generations++;
      }
      System.out.printf(
          "%s int8 split in 3: logits within %.2g of the unsplit package's largest, %d of %d"
              + " greedy generations identical%n",
          checkpoint, worst, generations, generations);
    }
  }

  /**
   * The int8 package's weight data is one byte per matrix weight plus a float32 scale per output
   * channel, and float32 for the rest, to the byte; on tiny-smolvlm that is 0.32 of the fp32
   * package's weights, since 7.7% of its parameters are not in matrices (the vision tower's patch
   * and position embeddings, norms and biases stay float32), against 0.6% in SmolVLM-256M (whose
   * int8 package tools/bench/generate.sh measures at about a quarter).
   */
  @Test
  void int8WeightsAreOneBytePerMatrixWeight() throws IOException {
    String name = ReferenceFixtures.TINY_SMOLVLM;
    Path fp32 = shared.resolve("fp32");
    Idefics3Package.write(ReferenceFixtures.checkpoint(name), fp32);
    Path int8 = shared.resolve(name + "-int8");
    long expected = 0;
    long matrixWeights = 0;
    long parameters = 0;
    try (Idefics3Graph graph =
        Idefics3Graph.build(
            Idefics3Checkpoint.read(ReferenceFixtures.checkpoint(name)).config(),
            ComputeDtype.INT8)) {
      for (Weights.Variable variable : graph.weights().variables()) {
        long size = variable.shape().size();
        parameters += size;
        if (variable.type() == TUint8.class) {
          long outputs = variable.shape().get(variable.transposed() ? 1 : 0);
          expected += size + Float.BYTES * outputs;
          matrixWeights += size;
        } else {
          expected += Float.BYTES * size;
        }
      }
    }
    long int8Bytes = dataBytes(int8);
    long fp32Bytes = dataBytes(fp32);
    assertEquals(Float.BYTES * parameters, fp32Bytes, "fp32 weight data");
    assertEquals(expected, int8Bytes, "int8 weight data");
    double ratio = (double) int8Bytes / fp32Bytes;
    System.out.printf(
        "%s weights: int8 %,d bytes, fp32 %,d bytes: %.3f (%.1f%% of the parameters in"
            + " matrices)%n",
        name, int8Bytes, fp32Bytes, ratio, 100.0 * matrixWeights / parameters);
    assertTrue(ratio < 0.34, "int8 / fp32 weight bytes " + ratio);
  }

  /** Bytes of a package's weight data files (variables/variables.data-*). */
  private static long dataBytes(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir.resolve("variables"))) {
      return files
          .filter(p -> p.getFileName().toString().startsWith("variables.data-"))
          .mapToLong(p -> p.toFile().length())
          .sum();
    }
  }

  @Test
  void anInt8PackageIsRefusedOnAGpu() {
    Path dir = shared.resolve(ReferenceFixtures.TINY_SMOLVLM + "-int8");
    IOException e = assertThrows(IOException.class, () -> Idefics3Package.load(dir, 1, "0"));
    assertTrue(e.getMessage().contains("is int8 (convert --dtype int8)"), e.getMessage());
    assertTrue(e.getMessage().contains("--dtype bf16"), e.getMessage());
  }
}
