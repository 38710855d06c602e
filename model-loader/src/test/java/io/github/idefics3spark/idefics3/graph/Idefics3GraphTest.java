package io.github.idefics3spark.idefics3.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import org.junit.jupiter.api.Test;

/** The graph's shapes for a full-size config, checked without any weights. */
class Idefics3GraphTest {

  /** Idefics3-8B-Llama3's architecture (spec section 1). */
  static Idefics3Config idefics3_8b() {
    return new Idefics3Config(
        new Idefics3Config.Vision(1152, 4304, 27, 16, 3, 364, 14, "gelu_pytorch_tanh", 1e-6),
        new Idefics3Config.Text(
            4096,
            14336,
            32,
            32,
            8,
            128,
            128259,
            1e-5,
            500000,
            new Idefics3Config.RopeScaling(8, 1, 4, 8192),
            131072,
            false),
        2,
        128257);
  }

  @Test
  void idefics3_8bHasTheParameterCountOfTransformers() {
    // transformers 5.18: Idefics3ForConditionalGeneration(config) on the meta device has 729
    // parameter tensors and 8,462,086,384 parameters.
    try (Idefics3Graph graph = Idefics3Graph.build(idefics3_8b())) {
      assertEquals(729, graph.weights().variables().size());
      assertEquals(8_462_086_384L, graph.weights().parameterCount());
      assertEquals(8_462_086_384L, idefics3_8b().parameterCount(), "worked out without a graph");
      assertTrue(
          graph
              .signatures()
              .keySet()
              .containsAll(
                  java.util.List.of("encode_images", "logits", "generate", "score_options")));
    }
  }
}
