package io.github.idefics3spark.idefics3.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import org.junit.jupiter.api.Test;

/**
 * inv_freq is bit-identical to transformers' LlamaRotaryEmbedding (5.18, fp32); the expected bits
 * were printed by {@code LlamaRotaryEmbedding(LlamaConfig(...)).inv_freq} for each config below.
 */
class TextRotaryEmbeddingTest {

  private static Idefics3Config.Text text(
      int headDim, double theta, Idefics3Config.RopeScaling scaling) {
    return new Idefics3Config.Text(
        headDim * 4, 1, 1, 4, 4, headDim, 10, 1e-5, theta, scaling, 4096, false);
  }

  private static void assertBits(int[] expected, float[] actual) {
    int[] bits = new int[actual.length];
    for (int i = 0; i < actual.length; i++) {
      bits[i] = Float.floatToRawIntBits(actual[i]);
    }
    assertArrayEquals(expected, bits);
  }

  @Test
  void llama3ScalingOfTheTinyCheckpointMatchesTransformers() {
    var scaling = new Idefics3Config.RopeScaling(8, 1, 4, 64);
    assertBits(
        new int[] {
          0x3f800000,
          0x3da29e0c,
          0x3b9a08c8,
          0x3a6ef74f,
          0x39395d21,
          0x380fc8f8,
          0x36df10c4,
          0x35ad07a7,
        },
        TextRotaryEmbedding.inverseFrequencies(text(16, 500000, scaling)));
  }

  @Test
  void llama3ScalingOfIdefics3_8BMatchesTransformers() {
    var scaling = new Idefics3Config.RopeScaling(8, 1, 4, 8192);
    assertBits(
        new int[] {
          0x3f800000, 0x3f508ac1, 0x3f29e1c6, 0x3f0a6384, 0x3ee177bc, 0x3eb7ab7d,
          0x3e959ee3, 0x3e73c461, 0x3e4693b0, 0x3e21c3a0, 0x3e03c6a0, 0x3dd6b19c,
          0x3daee4ad, 0x3d8e7898, 0x3d681e67, 0x3d3d1684, 0x3d1a08c8, 0x3cfaf53f,
          0x3ccc6f49, 0x3ca68939, 0x3c87a9c3, 0x3c5d06ec, 0x3c340d6d, 0x3c12ac7f,
          0x3beef74f, 0x3bc2aa76, 0x3b9e9402, 0x3b812e35, 0x3b527720, 0x3b0dfd06,
          0x3ab3d11d, 0x3a60979e, 0x3a0995d2, 0x39a3f108, 0x393b2dd2, 0x38c86886,
          0x38a3418d, 0x3884fdbf, 0x3858ac81, 0x38308199, 0x380fc8f8, 0x37ea426f,
          0x37bed4f4, 0x379b7475, 0x377d45c3, 0x374e51f5, 0x3728126b, 0x3708ea0f,
          0x36df10c4, 0x36b5b687, 0x369406cb, 0x36712b80, 0x36447610, 0x36200a69,
          0x36025f34, 0x35d46808, 0x35ad07a7, 0x358cf400, 0x3565a54d, 0x353b12c7,
          0x351864a7, 0x34f848c2, 0x34ca41b0, 0x34a4c2ff,
        },
        TextRotaryEmbedding.inverseFrequencies(text(128, 500000, scaling)));
  }

  @Test
  void unscaledFrequenciesOfSmolVlmMatchTransformers() {
    assertBits(
        new int[] {
          0x3f800000, 0x3f32a506, 0x3ef953cf, 0x3eadfcff, 0x3e72d423, 0x3e297409,
          0x3dec7fd6, 0x3da50956, 0x3d6655c2, 0x3d20bc1d, 0x3ce054d2, 0x3c9c8b97,
          0x3c5a7bf2, 0x3c187705, 0x3bd4ca15, 0x3b947dae, 0x3b4f3e38, 0x3b109edb,
          0x3ac9d75c, 0x3a8cd9db, 0x3a44948c, 0x3a092e02, 0x39bf74d7, 0x39859aa9,
          0x393a7753, 0x39021f2b, 0x38b59b1b, 0x387d75d4, 0x3830df52, 0x37f6da96,
          0x37ac431d, 0x37706b6d,
        },
        TextRotaryEmbedding.inverseFrequencies(text(64, 100000, null)));
  }

  @Test
  void unscaledFrequenciesOfTheTinySmolVlmMatchTransformers() {
    assertBits(
        new int[] {
          0x3f800000,
          0x3e72d423,
          0x3d6655c2,
          0x3c5a7bf2,
          0x3b4f3e38,
          0x3a44948c,
          0x393a7753,
          0x3830df52,
        },
        TextRotaryEmbedding.inverseFrequencies(text(16, 100000, null)));
  }
}
