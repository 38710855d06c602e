package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.github.idefics3spark.spark.InferenceSchema;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * {@code eval --mc-scoring likelihood} end to end with the tiny model: each multiple-choice answer
 * is the letter of its largest option log-probability, the log-probabilities (one per option,
 * finite, their exponentials summing to at most 1) are in the answers and predictions, the official
 * scorer reads the letter, open questions are still generated, and benchmarks that are not multiple
 * choice refuse the setting.
 */
class McScoringEvalTest {
  private static final StructType IMAGE = RequestRows.IMAGE;

  private static SparkSession spark;
  @TempDir static Path dir;

  @BeforeAll
  static void start() {
    spark = SparkTestSession.start("McScoringEvalTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static JobRun eval(String benchmark, Path input, Path output, String scoring) {
    return JobCommandLine.eval(benchmark, input, output, 4)
        .with("--batch-size", "2", "--mc-scoring", scoring)
        .run();
  }

  private static Map<String, Row> rows(Path parquet) {
    return SparkTestSession.rowsById(spark, parquet);
  }

  /**
   * The row's option log-probabilities, checked: as many as {@code letters}, finite, exp-sum at
   * most 1, and the answer the letter of the first largest.
   */
  private static void assertRanked(Row row, List<String> letters) {
    String id = row.getAs("id");
    assertNull(row.getAs("error"), id + ": " + row.getAs("error"));
    List<Double> logprobs = row.getList(row.fieldIndex(InferenceSchema.OPTION_LOGPROBS));
    assertNotNull(logprobs, id);
    assertEquals(letters.size(), logprobs.size(), id);
    double mass = 0;
    int best = 0;
    for (int k = 0; k < logprobs.size(); k++) {
      double logprob = logprobs.get(k);
      assertTrue(Double.isFinite(logprob) && logprob <= 0, id + ": " + logprobs);
      mass += Math.exp(logprob);
      if (logprob > logprobs.get(best)) {
        best = k;
      }
    }
    assertTrue(mass <= 1 + 1e-6, id + ": the options' probabilities sum to " + mass);
    assertEquals(letters.get(best), row.getAs("answer"), id + ": " + logprobs);
  }

  @Test
  void mmstarAnswersTheMostLikelyLetterAndTheOfficialScorerReadsIt() throws IOException {
    StructType schema =
        new StructType()
            .add("index", DataTypes.LongType)
            .add("question", DataTypes.StringType)
            .add("image", IMAGE)
            .add("answer", DataTypes.StringType)
            .add("category", DataTypes.StringType)
            .add("l2_category", DataTypes.StringType);
    Path input =
        HfDatasets.write(
            spark,
            dir,
            "mmstar",
            schema,
            List.of(
                RowFactory.create(
                    0L,
                    "Which option describes the image?\nOptions: A: a dog, B: a cat, C: a car, D:"
                        + " a tree",
                    HfDatasets.image("gray_40x29.png"),
                    "A",
                    "coarse perception",
                    "image scene and topic"),
                RowFactory.create(
                    1L,
                    "Is the image bright? Please answer yes or no.\nOptions: A: yes, B: no",
                    HfDatasets.image("rgba_alpha_48x33.png"),
                    "B",
                    "math",
                    "geometry"),
                RowFactory.create(
                    2L,
                    "How many shapes?\nOptions: A: 1, B: 2, C: 3",
                    HfDatasets.image("landscape_49x31.jpg"),
                    "C",
                    "math",
                    "numeric commonsense and calculation")));
    Path output = dir.resolve("mmstar-out");
    JobRun run = eval("mmstar", input, output, "likelihood");
    assertEquals(0, run.status(), run.err() + run.out());

    Map<String, Row> answers = rows(output.resolve("answers"));
    Map<String, List<String>> letters =
        Map.of(
            "0", List.of("A", "B", "C", "D"), "1", List.of("A", "B"), "2", List.of("A", "B", "C"));
    assertEquals(letters.keySet(), answers.keySet());
    letters.forEach((id, expected) -> assertRanked(answers.get(id), expected));
    assertEquals(
        MmStar.prompt("Is the image bright? Please answer yes or no.\nOptions: A: yes, B: no"),
        answers.get("1").getAs("question"),
        "the prompt of generate mode");

    Map<String, Row> predictions = rows(output.resolve("predictions"));
    int correct = 0;
    for (Map.Entry<String, Row> entry : predictions.entrySet()) {
      Row prediction = entry.getValue();
      Row answer = answers.get(entry.getKey());
      assertEquals(answer.getAs("answer"), (String) prediction.getAs("parsed_answer"));
      assertEquals(
          answer.getList(answer.fieldIndex(InferenceSchema.OPTION_LOGPROBS)),
          prediction.getList(prediction.fieldIndex(InferenceSchema.OPTION_LOGPROBS)));
      boolean right = prediction.getAs("answer").equals(prediction.getAs("input_answer"));
      assertEquals(right ? 1.0 : 0.0, (double) prediction.getAs("score"), entry.getKey());
      correct += right ? 1 : 0;
    }
    JsonNode metrics =
        JsonMapper.builder().build().readTree(output.resolve("metrics.json").toFile());
    assertEquals(correct / 1500.0, metrics.get("overall").asDouble(), 1e-12);
  }

  @Test
  void mmmuRanksMultipleChoiceLettersAndGeneratesOpenAnswers() throws IOException {
    StructType schema =
        new StructType()
            .add("id", DataTypes.StringType)
            .add("question", DataTypes.StringType)
            .add("options", DataTypes.StringType)
            .add("image_1", IMAGE)
            .add("image_2", IMAGE)
            .add("answer", DataTypes.StringType)
            .add("question_type", DataTypes.StringType);
    Path input =
        HfDatasets.write(
            spark,
            dir,
            "mmmu",
            schema,
            List.of(
                RowFactory.create(
                    "validation_Biology_1",
                    "Which of <image 1> and <image 2> shows a cell?",
                    "['<image 1>', '<image 2>', \"Neither, it's empty\"]",
                    HfDatasets.image("validation_Biology_1_1.png"),
                    HfDatasets.image("tile_56x56.png"),
                    "A",
                    "multiple-choice"),
                RowFactory.create(
                    "validation_Art_2",
                    "<image 1> Which colour dominates?",
                    "['red', 'green', 'blue', 'grey', 'white']",
                    HfDatasets.image("gray_40x29.png"),
                    null,
                    "D",
                    "multiple-choice"),
                RowFactory.create(
                    "validation_Design_19",
                    "<image 1> What year was this poster made?",
                    "[]",
                    HfDatasets.image("validation_Design_19_1.png"),
                    null,
                    "1984",
                    "open")));
    Path output = dir.resolve("mmmu-out");
    JobRun run = eval("mmmu", input, output, "likelihood");
    assertEquals(0, run.status(), run.err() + run.out());

    Map<String, Row> answers = rows(output.resolve("answers"));
    assertRanked(answers.get("validation_Biology_1"), List.of("A", "B", "C"));
    assertRanked(answers.get("validation_Art_2"), List.of("A", "B", "C", "D", "E"));
    Row open = answers.get("validation_Design_19");
    assertNull(open.getAs("error"));
    assertNull(open.getAs(InferenceSchema.OPTION_LOGPROBS), "an open question is generated");
    assertTrue((int) open.getAs("generated_tokens") > 0);

    Map<String, Row> predictions = rows(output.resolve("predictions"));
    for (String id : List.of("validation_Biology_1", "validation_Art_2")) {
      Row prediction = predictions.get(id);
      assertEquals(answers.get(id).getAs("answer"), (String) prediction.getAs("parsed_answer"));
      assertEquals("option", prediction.getAs("parse_method"), "the letter, never a random one");
    }
    assertEquals("open", predictions.get("validation_Design_19").getAs("parse_method"));
  }

  @Test
  void mmstarLettersAreThoseItsQuestionListsAfterOptions() {
    assertEquals(
        List.of("A", "B", "C", "D"),
        MmStar.optionLetters("Which?\nOptions: A: a dog, B: a cat, C: 3:4, D: a tree"));
    assertEquals(List.of("A", "B"), MmStar.optionLetters("Bright?\nOptions: A: yes, B: no"));
    assertEquals(
        List.of("A", "B"), MmStar.optionLetters("Options: in A: or B:?\nOptions: A: 1:2, B: 3:4"));
    assertEquals(List.of("A", "B", "C", "D"), MmStar.optionLetters("No options listed"));
  }

  @Test
  void aBenchmarkThatIsNotMultipleChoiceRefusesLikelihoodNamingTheSetting() throws IOException {
    JobRun run = eval("docvqa", dir.resolve("no-input"), dir.resolve("docvqa-out"), "likelihood");
    assertEquals(2, run.status(), run.err());
    assertTrue(
        run.err().contains("setting mc-scoring is 'likelihood'")
            && run.err().contains("docvqa is not multiple choice")
            && run.err().contains("mmmu, mmstar, ai2d, scienceqa_img"),
        run.err());
    assertFalse(Files.exists(dir.resolve("docvqa-out")));
  }
}
