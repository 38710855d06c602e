package io.github.idefics3spark.idefics3.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.runtime.GenerationSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tensorflow.Tensor;
import org.tensorflow.exceptions.TFInvalidArgumentException;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The generate signature's sampling path (temperature, top-k, top-p, a stateless seed), its limits
 * and refusals, on the tiny SmolVLM-shaped package (converted once).
 */
class GenerateSamplingTest {
  private static Path dir;
  private static Idefics3Package pkg;
  private static final int[][] IDS = {{0, 0, 11, 12, 13}, {21, 22, 23, 24, 25}};
  private static final int[][] MASK = {{0, 0, 1, 1, 1}, {1, 1, 1, 1, 1}};

  @BeforeAll
  static void convert() throws IOException {
    dir = Files.createTempDirectory("sampling").resolve("package");
    Idefics3Package.write(ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM), dir);
    pkg = Idefics3Package.load(dir, 1);
  }

  @AfterAll
  static void close() {
    pkg.close();
  }

  private static GenerationSettings greedy(int maxNewTokens) {
    return new GenerationSettings(maxNewTokens, new int[0], 0, false, 1f, 0, 1f, 0L);
  }

  private static int[][] tokens(GenerationSettings settings) {
    return pkg.generate(IDS, MASK, new float[0], settings).tokens();
  }

  @Test
  void theSameSeedGivesTheSameTokensAndAnotherSeedOthers() {
    GenerationSettings hot = greedy(16).sampling(1.5f, 0, 1f, 42L);
    int[][] first = tokens(hot);
    assertTrue(Arrays.deepEquals(first, tokens(hot)), "same seed, same tokens");
    assertFalse(
        Arrays.deepEquals(first, tokens(greedy(16).sampling(1.5f, 0, 1f, 43L))),
        "another seed, other tokens");
    assertFalse(Arrays.deepEquals(first, tokens(greedy(16))), "sampling at 1.5 is not greedy");
  }

  @Test
  void topKOfOneAndATinyTopPAreGreedy() {
    int[][] greedy = tokens(greedy(12));
    assertTrue(Arrays.deepEquals(greedy, tokens(greedy(12).sampling(1f, 1, 1f, 5L))), "top_k 1");
    assertTrue(
        Arrays.deepEquals(greedy, tokens(greedy(12).sampling(1f, 0, 1e-6f, 5L))), "top_p 1e-6");
  }

  @Test
  void stopIdsEndARowWhichThenEmitsPadWhileOthersGoOn() {
    int[][] free = tokens(greedy(10));
    int stop = free[0][3]; // row 0 stops at its 4th token (or earlier if it repeats)
    int firstStop = 0;
    while (free[0][firstStop] != stop) {
      firstStop++;
    }
    GenerationSettings settings =
        new GenerationSettings(10, new int[] {stop}, 7, false, 1f, 0, 1f, 0L);
    Idefics3Package.Generation stopped = pkg.generate(IDS, MASK, new float[0], settings);
    assertEquals(firstStop + 1, stopped.lengths()[0]);
    assertArrayEquals(Arrays.copyOf(free[0], firstStop + 1), stopped.row(0));
    for (int t = firstStop + 1; t < 10; t++) {
      assertEquals(7, stopped.tokens()[0][t], "pad after the stop");
    }
    int row1Stop = 0;
    while (row1Stop < 10 && free[1][row1Stop] != stop) {
      row1Stop++;
    }
    int expected = Math.min(10, row1Stop + 1);
    assertEquals(expected, stopped.lengths()[1]);
    assertArrayEquals(Arrays.copyOf(free[1], expected), stopped.row(1));
  }

  @Test
  void imageTokensWithoutMatchingFeaturesAreRefusedNamingBothCounts() {
    int image = pkg.checkpoint().config().imageTokenId();
    int[][] ids = {{5, image, 6}};
    int[][] mask = {{1, 1, 1}};
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> pkg.generate(ids, mask, new float[0], greedy(2)));
    assertTrue(e.getMessage().contains("hold 1 image tokens"), e.getMessage());
    assertTrue(e.getMessage().contains("have 0 rows"), e.getMessage());

    // Callers of the signature itself (Python, TF Serving) meet the graph's own check.
    int hidden = pkg.checkpoint().config().text().hiddenSize();
    int seqLen = pkg.checkpoint().config().imageSeqLen();
    try (TInt32 idsTensor = TInt32.tensorOf(StdArrays.ndCopyOf(ids));
        TInt32 maskTensor = TInt32.tensorOf(StdArrays.ndCopyOf(mask));
        TInt32 positions = TInt32.tensorOf(StdArrays.ndCopyOf(new int[][] {{0, 1, 2}}));
        TFloat32 features = TFloat32.tensorOf(Shape.of(0, seqLen, hidden))) {
      Map<String, Tensor> inputs =
          Map.of(
              "input_ids", idsTensor,
              "attention_mask", maskTensor,
              "position_ids", positions,
              "image_features", features);
      Exception graph =
          assertThrows(
              TFInvalidArgumentException.class,
              () -> pkg.bundle().function(Idefics3Graph.LOGITS).call(inputs).close());
      assertTrue(graph.getMessage().contains("image_token_id positions"), graph.getMessage());
    }
  }

  @Test
  void oneNewTokenIsThePrefillsChoice() {
    int[][] one = tokens(greedy(1));
    int[][] more = tokens(greedy(5));
    for (int b = 0; b < IDS.length; b++) {
      assertEquals(1, one[b].length);
      assertEquals(more[b][0], one[b][0]);
    }
  }
}
