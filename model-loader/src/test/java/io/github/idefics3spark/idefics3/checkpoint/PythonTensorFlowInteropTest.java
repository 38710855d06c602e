package io.github.idefics3spark.idefics3.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.runtime.GenerationSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A package is a standard SavedModel: Python TensorFlow loads it with tf.saved_model.load and its
 * signatures, called by name, give the Java results (features to float rounding, identical tokens).
 *
 * <p>Opt-in (tag "python-tf", excluded by default): {@code mvn test -pl model-loader
 * -Dgroups=python-tf -Dpython.tf=/path/to/venv/bin/python}, with tensorflow-cpu installed in that
 * Python. When opted in, a missing Python TensorFlow fails the test.
 */
@Tag("python-tf")
class PythonTensorFlowInteropTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @TempDir Path temp;

  @Test
  void pythonTensorFlowCallsTheSignaturesByNameWithTheJavaResults() throws Exception {
    Path dir = temp.resolve("package");
    Idefics3Package.write(ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_IDEFICS3), dir);
    try (Idefics3Package pkg = Idefics3Package.load(dir, 1)) {
      Idefics3Config config = pkg.checkpoint().config();
      int side = config.vision().imageSize();
      int frames = 2;
      float[] pixels = new float[frames * 3 * side * side];
      Random random = new Random(7);
      for (int i = 0; i < pixels.length; i++) {
        pixels[i] = random.nextFloat() * 2 - 1;
      }
      boolean[] mask = new boolean[frames * side * side];
      Arrays.fill(mask, true);
      float[] features = pkg.encodeImages(pixels, mask, frames);

      // Two left-padded rows: the first with both frames' image tokens, the second text only.
      int slots = frames * config.imageSeqLen();
      int length = slots + 6;
      int[][] ids = new int[2][length];
      int[][] attention = new int[2][length];
      for (int l = 0; l < length; l++) {
        ids[0][l] = l < 3 || l >= 3 + slots ? 10 + l : config.imageTokenId();
        attention[0][l] = 1;
        ids[1][l] = l < length - 4 ? 0 : 20 + l;
        attention[1][l] = l < length - 4 ? 0 : 1;
      }
      GenerationSettings settings = new GenerationSettings(12, new int[0], 0, false, 1f, 0, 1f, 0);
      Idefics3Package.Generation fromJava = pkg.generate(ids, attention, features, settings);

      ObjectNode inputs = MAPPER.createObjectNode();
      inputs.put("frames", frames);
      inputs.set("pixel_values", MAPPER.valueToTree(pixels));
      inputs.set("input_ids", MAPPER.valueToTree(ids));
      inputs.set("attention_mask", MAPPER.valueToTree(attention));
      inputs.put("max_new_tokens", settings.maxNewTokens());
      inputs.set("eos_token_ids", MAPPER.valueToTree(settings.eosTokenIds()));
      inputs.put("pad_token_id", settings.padTokenId());
      Path inputsFile = temp.resolve("inputs.json");
      Path outputFile = temp.resolve("output.json");
      MAPPER.writeValue(inputsFile.toFile(), inputs);

      JsonNode python = runPython(dir, inputsFile, outputFile);
      assertEquals(
          MAPPER.valueToTree(List.of("encode_images", "generate", "logits", "score_options")),
          python.get("signatures"));
      JsonNode pythonFeatures = python.get("image_features");
      assertEquals(features.length, pythonFeatures.size());
      for (int i = 0; i < features.length; i++) {
        assertEquals(features[i], pythonFeatures.get(i).floatValue(), 1e-5, "feature " + i);
      }
      for (int row = 0; row < 2; row++) {
        assertArrayEquals(
            fromJava.tokens()[row],
            Idefics3PackageGoldenTest.ints(python.get("tokens").get(row)),
            "row " + row);
      }
    }
  }

  private JsonNode runPython(Path dir, Path inputs, Path output)
      throws IOException, InterruptedException {
    Path script = temp.resolve("call_signatures.py");
    try (var in = getClass().getResourceAsStream("/python-tf/call_signatures.py")) {
      Files.copy(in, script);
    }
    String python = System.getProperty("python.tf", "python3");
    Process process =
        new ProcessBuilder(
                python, script.toString(), dir.toString(), inputs.toString(), output.toString())
            .redirectErrorStream(true)
            .redirectOutput(temp.resolve("python.log").toFile())
            .start();
    assertTrue(process.waitFor(5, TimeUnit.MINUTES), "python did not finish in 5 minutes");
    String log = Files.readString(temp.resolve("python.log"));
    assertEquals(
        0,
        process.exitValue(),
        python
            + " failed (is tensorflow-cpu installed there? set -Dpython.tf=...):\n"
            + log.substring(Math.max(0, log.length() - 3000)));
    return MAPPER.readTree(output.toFile());
  }
}
