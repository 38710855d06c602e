package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code eval --prompt-style smolvlm} end to end through the tiny SmolVLM checkpoint: MMMU rows of
 * eval/smolvlm_prompts.json (images labelled first, one image in two slots, the {@code Answer:}
 * prefix) are asked with VLMEvalKit's SmolVLM prompts, answered and scored; and the benchmark
 * smolvlm.py has no prompt for is refused before any work.
 */
class SmolVlmEvalTest {
  private static final String[] IMAGE_FILES = {
    "validation_Biology_1_1.png", "tile_56x56.png", "validation_Design_19_1.png"
  };

  private static SparkSession spark;
  @TempDir static Path dir;

  @BeforeAll
  static void start() {
    spark = SparkTestSession.start("SmolVlmEvalTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static JobRun eval(String benchmark, Path input, Path output, String style) {
    return JobCommandLine.eval(benchmark, input, output, 4).with("--prompt-style", style).run();
  }

  /**
   * The user turn of VLMEvalKit's raw prompt: what SmolVLM's template writes around it ({@code
   * <|im_start|>User:} and a space when the turn starts with text; {@code
   * <end_of_utterance>\nAssistant:} and the prefix) taken off.
   */
  private static String userTurn(String prompt) {
    String turn = prompt.substring("<|im_start|>User:".length());
    turn = turn.startsWith("<image>") ? turn : turn.substring(1);
    return turn.substring(0, turn.lastIndexOf("<end_of_utterance>\nAssistant:"));
  }

  @Test
  void mmmuIsAskedWithVlmEvalKitsSmolVlmPromptAndScored() throws IOException {
    JsonNode fixture;
    try (InputStream in = getClass().getResourceAsStream("/eval/smolvlm_prompts.json")) {
      fixture = JsonMapper.builder().build().readTree(in);
    }
    StructType schema =
        new StructType()
            .add("id", DataTypes.StringType)
            .add("question", DataTypes.StringType)
            .add("options", DataTypes.StringType)
            .add("image_1", RequestRows.IMAGE)
            .add("image_2", RequestRows.IMAGE)
            .add("image_3", RequestRows.IMAGE)
            .add("answer", DataTypes.StringType)
            .add("question_type", DataTypes.StringType);
    List<Row> rows = new ArrayList<>();
    Map<String, String> expected = new HashMap<>();
    Map<String, Integer> imageCounts = new HashMap<>();
    for (JsonNode c : fixture.get("cases")) {
      if (!c.get("benchmark").asText().equals("mmmu")) {
        continue;
      }
      JsonNode r = c.get("row");
      Object[] cells = new Object[8];
      cells[0] = r.get("id").asText();
      cells[1] = r.get("question").asText();
      cells[2] = r.get("options").asText();
      for (int k = 1; k <= 3; k++) {
        cells[2 + k] =
            r.path("image_" + k).asBoolean() ? HfDatasets.image(IMAGE_FILES[k - 1]) : null;
      }
      cells[6] = r.get("question_type").asText().equals("open") ? "42" : "A";
      cells[7] = r.get("question_type").asText();
      rows.add(RowFactory.create(cells));
      expected.put(r.get("id").asText(), userTurn(c.get("prompt").asText()));
      imageCounts.put(r.get("id").asText(), c.get("images").size());
    }
    assertEquals(5, rows.size());
    Path input = HfDatasets.write(spark, dir, "mmmu", schema, rows);
    Path output = dir.resolve("mmmu-out");

    JobRun outcome = eval("mmmu", input, output, "smolvlm");
    assertEquals(0, outcome.status(), outcome.err() + outcome.out());
    Map<String, Row> predictions = new HashMap<>();
    for (Row row : spark.read().parquet(output.resolve("predictions").toString()).collectAsList()) {
      predictions.put(row.getAs("id"), row);
    }
    assertEquals(expected.keySet(), predictions.keySet());
    expected.forEach(
        (id, turn) -> {
          Row row = predictions.get(id);
          assertEquals(turn, row.getAs("question"), id);
          assertNull(row.getAs("error"), id + ": " + row.getAs("error"));
          // without image splitting one frame per image the prompt holds, repeats included
          assertEquals(imageCounts.get(id), (Integer) row.getAs("image_frames"), id);
        });
    assertTrue(
        expected.get("validation_Physics_4").startsWith("Question: <image 1>:<image>\n<image 2>:"),
        "one image named twice stands in two slots");
    JsonNode metrics =
        JsonMapper.builder().build().readTree(output.resolve("metrics.json").toFile());
    assertEquals(5, metrics.get("scored").asInt());
    assertEquals(0, metrics.get("failed").asInt());
  }

  @Test
  void aBenchmarkSmolVlmPyHasNoPromptForIsRefusedListingThoseItHas() {
    JobRun outcome = eval("vqav2", dir.resolve("none"), dir.resolve("none-out"), "smolvlm");
    assertEquals(2, outcome.status());
    assertEquals(
        "eval: setting prompt-style is 'smolvlm' (option --prompt-style) but VLMEvalKit's"
            + " smolvlm.py defines no prompt for vqav2; it defines one for docvqa,"
            + " infographicvqa, textvqa, mmmu, mmstar, mathvista, chartqa, ai2d, ocrbench,"
            + " scienceqa_img. Use --prompt-style lmms-eval for vqav2\n",
        outcome.err());
    assertTrue(Files.notExists(dir.resolve("none-out")));
    JobRun unknown = eval("docvqa", dir.resolve("none"), dir.resolve("none-out"), "vlmevalkit");
    assertEquals(2, unknown.status());
    assertTrue(unknown.err().contains("expected one of lmms-eval|smolvlm"), unknown.err());
  }
}
