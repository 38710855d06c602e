package io.github.idefics3spark.idefics3.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.idefics3spark.idefics3.runtime.GenerationSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Greedy generation from a package in a JVM of its own: {@link #run} starts one with the test
 * classpath, {@link #main} loads the package there and writes the tokens, so a test can compare a
 * fresh process's tokens with its own.
 */
final class FreshJvmGeneration {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private FreshJvmGeneration() {}

  /** args: PACKAGE_DIR INPUTS_JSON OUTPUT_JSON. */
  public static void main(String[] args) throws IOException {
    JsonNode in = MAPPER.readTree(Path.of(args[1]).toFile());
    float[] features = MAPPER.treeToValue(in.get("features"), float[].class);
    GenerationSettings settings =
        new GenerationSettings(
            in.get("max_new_tokens").asInt(),
            MAPPER.treeToValue(in.get("eos_token_ids"), int[].class),
            in.get("pad_token_id").asInt(),
            false,
            1f,
            0,
            1f,
            0L);
    try (Idefics3Package pkg = Idefics3Package.load(Path.of(args[0]), 1)) {
      Idefics3Package.Generation generation =
          pkg.generate(
              MAPPER.treeToValue(in.get("input_ids"), int[][].class),
              MAPPER.treeToValue(in.get("attention_mask"), int[][].class),
              features,
              settings);
      MAPPER.writeValue(Path.of(args[2]).toFile(), generation.tokens());
    }
  }

  /** Runs {@link #main} in a new JVM and returns the tokens it generated. */
  static int[][] run(
      Path packageDir,
      int[][] inputIds,
      int[][] attentionMask,
      float[] features,
      GenerationSettings settings,
      Path work)
      throws IOException, InterruptedException {
    Path inputs = work.resolve("fresh-jvm-inputs.json");
    Path output = work.resolve("fresh-jvm-tokens.json");
    var node = MAPPER.createObjectNode();
    node.set("input_ids", MAPPER.valueToTree(inputIds));
    node.set("attention_mask", MAPPER.valueToTree(attentionMask));
    node.set("features", MAPPER.valueToTree(features));
    node.put("max_new_tokens", settings.maxNewTokens());
    node.set("eos_token_ids", MAPPER.valueToTree(settings.eosTokenIds()));
    node.put("pad_token_id", settings.padTokenId());
    MAPPER.writeValue(inputs.toFile(), node);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(FreshJvmGeneration.class.getName());
    command.add(packageDir.toString());
    command.add(inputs.toString());
    command.add(output.toString());
    Path log = work.resolve("fresh-jvm.log");
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0) {
      process.destroyForcibly();
      throw new IllegalStateException("the fresh JVM failed:\n" + Files.readString(log));
    }
    return MAPPER.readValue(output.toFile(), int[][].class);
  }
}
