package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.github.idefics3spark.ReferenceFixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Quick start and {@code eval --benchmark docvqa} with the trained demo model on its
 * bundled synthetic set (model-loader/src/test/resources/demo): every stage together (decode,
 * resize, template, tokens, graph, generation, Parquet, scorer) gives the answers and the ANLS
 * transformers gives on the same files, and that score is well above chance.
 */
class DemoModelEvalTest {
  /**
   * The lowest ANLS accepted: the bundled model measured 0.661 on the 60 questions (transformers
   * 5.18, fp32, greedy; tools/demo-model/README.md); 0.6 leaves room for a few answers flipping
   * (one question is 1/60 = 0.017) and fails a model that reads the titles and fruits but no number
   * (29 right answers of 60: 0.48, plus what half-right numbers add).
   */
  private static final double ANLS_FLOOR = 0.6;

  private static final Path CACHE = Path.of("target", "model-cache").toAbsolutePath();

  private static SparkSession spark;
  private static JsonNode expected;
  @TempDir static Path dir;

  @BeforeAll
  static void start() {
    spark = SparkTestSession.start("DemoModelEvalTest");
    expected = ReferenceFixtures.demoExpected();
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** id -> answer of an output folder's Parquet. */
  private static Map<String, String> answers(Path parquet) {
    Map<String, String> byId = new HashMap<>();
    for (Row row : spark.read().parquet(parquet.toString()).collectAsList()) {
      assertTrue(row.isNullAt(row.fieldIndex("error")), row.getAs("id") + ": error");
      byId.put(row.getAs("id"), row.getAs("answer"));
    }
    return byId;
  }

  @Test
  void docvqaOnTheBundledPagesScoresAsTransformers() throws IOException {
    Path output = dir.resolve("docvqa");
    JobRun run =
        JobRun.of(
            "eval",
            "--benchmark",
            "docvqa",
            "--input",
            ReferenceFixtures.demo().resolve("docvqa").toString(),
            "--model",
            ReferenceFixtures.demoCheckpoint().toString(),
            "--model-cache",
            CACHE.toString(),
            "--output",
            output.toString());
    assertEquals(0, run.status(), run.err() + run.out());

    Map<String, String> answers = answers(output.resolve("answers"));
    assertEquals(expected.get("docvqa").size(), answers.size());
    for (JsonNode question : expected.get("docvqa")) {
      String id = question.get("questionId").asText();
      assertEquals(question.get("text").asText(), answers.get(id), id + " " + question);
    }
    JsonNode metrics =
        JsonMapper.builder().build().readTree(output.resolve("metrics.json").toFile());
    double anls = metrics.get("overall").asDouble();
    assertEquals(expected.get("docvqa_anls").asDouble(), anls, 0.01, metrics.toString());
    assertTrue(anls >= ANLS_FLOOR, "ANLS " + anls + " under the floor " + ANLS_FLOOR);
    assertTrue(run.out().contains("docvqa: "), run.out());
  }

  @Test
  void theQuickStartCaptionsTheBundledScenesAsTransformers() {
    Path output = dir.resolve("captions");
    JobRun run =
        JobRun.of(
            "caption",
            "--input",
            ReferenceFixtures.demo().resolve("captions").toString(),
            "--model",
            ReferenceFixtures.demoCheckpoint().toString(),
            "--model-cache",
            CACHE.toString(),
            "--output",
            output.toString(),
            "--max-new-tokens",
            "16",
            "--preview",
            "5");
    assertEquals(0, run.status(), run.err() + run.out());

    Map<String, String> answers = answers(output);
    assertEquals(expected.get("captions").size(), answers.size());
    int right = 0;
    for (JsonNode caption : expected.get("captions")) {
      String id = caption.get("image").asText();
      assertEquals(caption.get("text").asText(), answers.get(id), id);
      right += answers.get(id).equals(caption.get("truth").asText()) ? 1 : 0;
    }
    assertTrue(right * 2 > answers.size(), right + " of " + answers.size() + " captions right");
    JsonNode first = expected.get("captions").get(0);
    assertTrue(
        run.out().contains("  " + first.get("image").asText() + ": " + first.get("text").asText()),
        run.out());
  }
}
