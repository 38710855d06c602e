package io.github.idefics3spark.idefics3.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.safetensors.SafeTensors;
import io.github.idefics3spark.tf.ComputeDtype;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * bf16 and fp16 packages (meant for GPU executors; both also run on CPU) stay close to the fp32
 * reference. Measured against transformers run in the same dtype (eager attention, text_only): fp16
 * within 0.02 on logits up to 28 (one or two fp16 steps) with identical greedy tokens; bf16 within
 * 0.25 (two bf16 steps), its greedy tokens may part from transformers' after a few steps.
 */
class LowPrecisionPackageTest {
  @TempDir Path temp;

  @ParameterizedTest
  @EnumSource(
      value = ComputeDtype.class,
      names = {"BF16", "FP16"})
  void lowPrecisionPackageStaysCloseToTheFp32Reference(ComputeDtype dtype) throws IOException {
    String name = ReferenceFixtures.TINY_SMOLVLM;
    Path dir = temp.resolve(dtype.flag());
    Idefics3Package.write(ReferenceFixtures.checkpoint(name), dir, dtype);
    JsonNode model = ReferenceFixtures.modelGoldens(name);
    JsonNode processor = ReferenceFixtures.processorGoldens(name);
    try (Idefics3Package pkg = Idefics3Package.load(dir, 1);
        SafeTensors goldens = ReferenceFixtures.modelTensors(name)) {
      assertEquals(dtype.flag(), pkg.manifest().get("dtype").asText());
      int vocab = model.get("vocab_size").asInt();
      for (JsonNode record : model.get("logits")) {
        if (!record.has("request") || !record.get("positions").asText().equals("all")) {
          continue;
        }
        JsonNode request = null;
        for (JsonNode candidate : processor.get("requests")) {
          if (candidate.get("name").equals(record.get("request"))) {
            request = candidate;
          }
        }
        if (request == null || request.get("images").size() > 0) {
          continue;
        }
        int[][] ids = {Idefics3PackageGoldenTest.ints(request.get("input_ids"))};
        int[][] mask = {Idefics3PackageGoldenTest.ints(request.get("attention_mask"))};
        float[] logits =
            pkg.logits(ids, mask, Idefics3PackageGoldenTest.positions(mask), new float[0]);
        float[] expected = goldens.floats(record.get("key").asText());
        double diff = 0;
        double largest = 0;
        for (int i = 0; i < expected.length; i++) {
          diff = Math.max(diff, Math.abs(logits[i] - expected[i]));
          largest = Math.max(largest, Math.abs(expected[i]));
        }
        assertTrue(expected.length == ids[0].length * vocab);
        assertTrue(
            diff <= 0.05 * largest,
            dtype.flag() + " vs fp32: " + diff + " on logits up to " + largest);
      }
    }
  }
}
