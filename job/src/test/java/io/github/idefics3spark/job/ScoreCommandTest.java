package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.github.idefics3spark.eval.MmmuScore;
import java.io.IOException;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code score} on predictions written by the test: hand-made answers whose metrics are worked out
 * by hand from the official rules, MMMU's official example outputs (900 questions from each of two
 * models) giving exactly the official {@code main_parse_and_eval.py} table, and wrong input.
 */
class ScoreCommandTest {
  private static final org.apache.spark.sql.types.ArrayType STRINGS = HfDatasets.STRINGS;

  private static SparkSession spark;
  @TempDir static Path dir;

  @BeforeAll
  static void start() {
    spark = SparkTestSession.start("ScoreCommandTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** Runs score; returns the metrics file. */
  private static JsonNode score(String benchmark, Path predictions) throws IOException {
    Path output = dir.resolve(benchmark + "-" + predictions.getFileName() + "-scored");
    JobRun outcome = JobCommandLine.score(benchmark, predictions, output).run();
    assertEquals(0, outcome.status(), outcome.err());
    assertTrue(outcome.out().startsWith(benchmark + ": "), outcome.out());
    return JsonMapper.builder().build().readTree(output.resolve("metrics.json").toFile());
  }

  /**
   * What {@code score} gave: the metrics file and the scored predictions by id.
   *
   * @param metrics the metrics file
   * @param rows the predictions written, by id
   */
  private record Scoring(JsonNode metrics, Map<String, Row> rows) {}

  /**
   * Writes {@code predictions} (in {@code schema}) to the folder named after the benchmark, runs
   * score on them, and reads what it wrote.
   */
  private static Scoring score(String benchmark, StructType schema, List<Row> predictions)
      throws IOException {
    Path input = HfDatasets.write(spark, dir, benchmark, schema, predictions);
    JsonNode metrics = score(benchmark, input);
    Path output = dir.resolve(benchmark + "-" + input.getFileName() + "-scored");
    Map<String, Row> byId = new HashMap<>();
    for (Row row : spark.read().parquet(output.resolve("predictions").toString()).collectAsList()) {
      byId.put(String.valueOf((Object) row.getAs("id")), row);
    }
    return new Scoring(metrics, byId);
  }

  @Test
  void docVqaAnlsByQuestionType() throws IOException {
    StructType schema =
        new StructType()
            .add("id", DataTypes.StringType)
            .add("question_types", STRINGS)
            .add("answers", STRINGS)
            .add("answer", DataTypes.StringType);
    Scoring scoring =
        score(
            "docvqa",
            schema,
            List.of(
                RowFactory.create(
                    "1", new String[] {"figure/diagram"}, new String[] {"0.28"}, " 0.28 "),
                RowFactory.create(
                    "2",
                    new String[] {"form", "handwritten"},
                    new String[] {"1/8/93", "January 8, 1993"},
                    "1/8/9"),
                RowFactory.create("3", new String[] {"form"}, new String[] {"abc"}, null)));
    JsonNode metrics = scoring.metrics();
    // 1: exact after stripping; 2: one edit over 6 characters; 3: inference failed, scored as ""
    assertEquals((1.0 + (1 - 1.0 / 6) + 0) / 3, metrics.get("overall").asDouble(), 0.0);
    assertEquals(0.6111111111111112, metrics.get("overall").asDouble(), 0.0);
    assertEquals(3, metrics.get("scored").asInt());
    assertEquals(1, metrics.get("failed").asInt());
    JsonNode types = metrics.get("by_question_types");
    assertEquals(1.0, types.get("figure/diagram").get("score").asDouble(), 0.0);
    assertEquals(0.4166666666666667, types.get("form").get("score").asDouble(), 0.0);
    assertEquals(2, types.get("form").get("questions").asInt());
    assertEquals(0.8333333333333334, types.get("handwritten").get("score").asDouble(), 0.0);
    assertEquals("0.28", scoring.rows().get("1").getAs("parsed_answer"));
  }

  @Test
  void chartQaRelaxedAccuracyAllowsFivePercentAndSplitsHumanFromAugmented() throws IOException {
    StructType schema =
        new StructType()
            .add("id", DataTypes.StringType)
            .add("type", DataTypes.StringType)
            .add("input_answer", DataTypes.StringType)
            .add("answer", DataTypes.StringType);
    Scoring scoring =
        score(
            "chartqa",
            schema,
            List.of(
                RowFactory.create("0", "human_test", "12", "12.6"), // 5% off: correct
                RowFactory.create("1", "human_test", "12", "12.61"), // over 5%: wrong
                RowFactory.create("2", "augmented_test", "50%", "0.5"), // % divides by 100
                RowFactory.create("3", "augmented_test", "Yes", "yes"), // case ignored
                RowFactory.create("4", "augmented_test", "1000", "1,000"))); // no commas
    JsonNode metrics = scoring.metrics();
    assertEquals(3.0 / 5, metrics.get("overall").asDouble(), 0.0);
    assertEquals(5, metrics.get("scored").asInt());
    JsonNode types = metrics.get("by_type");
    assertEquals(0.5, types.get("human_test").get("score").asDouble(), 0.0);
    assertEquals(2, types.get("human_test").get("questions").asInt());
    assertEquals(2.0 / 3, types.get("augmented_test").get("score").asDouble(), 0.0);
    Map<String, Row> rows = scoring.rows();
    assertEquals(1.0, (double) rows.get("2").getAs("score"), 0.0);
    assertEquals(0.0, (double) rows.get("4").getAs("score"), 0.0);
    assertEquals("1,000", rows.get("4").getAs("parsed_answer"));
  }

  @Test
  void ocrBenchFindsAnyAnswerInTheResponseAndCountsOutOfAThousand() throws IOException {
    StructType schema =
        new StructType()
            .add("id", DataTypes.StringType)
            .add("dataset", DataTypes.StringType)
            .add("question_type", DataTypes.StringType)
            .add("input_answer", HfDatasets.STRINGS)
            .add("answer", DataTypes.StringType);
    String math = "Handwritten Mathematical Expression Recognition";
    Scoring scoring =
        score(
            "ocrbench",
            schema,
            List.of(
                // substring, case ignored
                RowFactory.create(
                    "0",
                    "IIIT5K",
                    "Regular Text Recognition",
                    new String[] {"stop"},
                    "It says STOP."),
                // any answer
                RowFactory.create(
                    "1",
                    "SROIE",
                    "Key Information Extraction",
                    new String[] {"x", "12.50"},
                    "12.50"),
                // not found
                RowFactory.create("2", "DocVQA", "Doc-oriented VQA", new String[] {"yes"}, "no"),
                // HME100k: spaces removed
                RowFactory.create("3", "HME100k", math, new String[] {"x ^ { 2 }"}, " x^{2} "),
                // HME100k: case kept
                RowFactory.create("4", "HME100k", math, new String[] {"x^{2}"}, "X^{2}")));
    JsonNode metrics = scoring.metrics();
    assertEquals(3.0 / 1000, metrics.get("overall").asDouble(), 0.0);
    assertEquals(3, metrics.get("final_score").asInt());
    assertEquals(1, metrics.get("text_recognition").asInt());
    assertEquals(5, metrics.get("scored").asInt());
    JsonNode categories = metrics.get("by_category");
    assertEquals(1, categories.get(math).asInt());
    assertEquals(0, categories.get("Doc-oriented VQA").asInt());
    assertEquals(1, metrics.get("by_group").get("Text Recognition").asInt());
    Map<String, Row> rows = scoring.rows();
    assertEquals(1.0, (double) rows.get("3").getAs("score"), 0.0);
    assertEquals(0.0, (double) rows.get("4").getAs("score"), 0.0);
    assertEquals("x^{2}", rows.get("3").getAs("parsed_answer"));
  }

  @Test
  void ai2dTakesTheLetterBeforeAPeriodAndIgnoresCaseAndPunctuation() throws IOException {
    StructType schema =
        new StructType()
            .add("id", DataTypes.StringType)
            .add("options", STRINGS)
            .add("input_answer", DataTypes.StringType)
            .add("answer", DataTypes.StringType);
    String[] four = {"sun", "moon", "earth", "mars"};
    Scoring scoring =
        score(
            "ai2d",
            schema,
            List.of(
                RowFactory.create("0", four, "1", " B. moon"), // filtered to B: correct
                RowFactory.create("1", four, "0", "(a)"), // punctuation and case dropped: correct
                RowFactory.create("2", four, "0", "A) sun"), // "a sun": wrong
                RowFactory.create("3", four, "3", "Answer: D"))); // no letter read: wrong
    JsonNode metrics = scoring.metrics();
    assertEquals(0.5, metrics.get("overall").asDouble(), 0.0);
    assertEquals(4, metrics.get("scored").asInt());
    Map<String, Row> rows = scoring.rows();
    assertEquals("B", rows.get("0").getAs("parsed_answer"));
    assertEquals(1.0, (double) rows.get("1").getAs("score"), 0.0);
    assertEquals(0.0, (double) rows.get("2").getAs("score"), 0.0);
  }

  @Test
  void scienceQaImgTakesTheLetterInAnyCaseOrAnUpperCaseLetterBeforeAPeriod() throws IOException {
    StructType schema =
        new StructType()
            .add("id", DataTypes.StringType)
            .add("choices", STRINGS)
            .add("input_answer", DataTypes.LongType)
            .add("answer", DataTypes.StringType);
    String[] three = {"sun", "moon", "earth"};
    Scoring scoring =
        score(
            "scienceqa_img",
            schema,
            List.of(
                RowFactory.create("0", three, 1L, " B. moon"), // upper-case letter, period: correct
                RowFactory.create("1", three, 0L, "a"), // the letter in lower case: correct
                RowFactory.create("2", three, 0L, "a. sun"), // lower case before a period: wrong
                RowFactory.create("3", three, 2L, "(C)"))); // punctuation kept: wrong
    JsonNode metrics = scoring.metrics();
    assertEquals(0.5, metrics.get("overall").asDouble(), 0.0);
    assertEquals(4, metrics.get("scored").asInt());
    Map<String, Row> rows = scoring.rows();
    assertEquals("B. moon", rows.get("0").getAs("parsed_answer"));
    assertEquals(1.0, (double) rows.get("1").getAs("score"), 0.0);
    assertEquals(0.0, (double) rows.get("2").getAs("score"), 0.0);
    assertEquals(0.0, (double) rows.get("3").getAs("score"), 0.0);
  }

  @Test
  void textVqaEvaluatorProcessesPredictionAndGoldAnswersAlways() throws IOException {
    StructType schema =
        new StructType()
            .add("question_id", DataTypes.LongType)
            .add("answers", STRINGS)
            .add("answer", DataTypes.StringType);
    String[] nokia = new String[10];
    java.util.Arrays.fill(nokia, "nokia");
    String[] twos = new String[10];
    java.util.Arrays.fill(twos, "2");
    String[] yesNo = {"yes", "yes", "no", "no", "no", "no", "no", "no", "no", "no"};
    Scoring scoring =
        score(
            "textvqa",
            schema,
            List.of(
                RowFactory.create(1L, nokia, "Nokia."), // processed: "nokia", 1 (VQA v2: 0)
                RowFactory.create(2L, twos, "two"), // "two" becomes 2: all ten match, 1 (VQA v2: 0)
                RowFactory.create(3L, yesNo, "yes"))); // (2 x 1/3 + 8 x 2/3) / 10 = 0.6
    JsonNode metrics = scoring.metrics();
    assertEquals(100 * (1 + 1 + 0.6) / 3, metrics.get("overall").asDouble(), 1e-9);
    assertEquals(86.67, metrics.get("overall_rounded").asDouble(), 0.0);
    assertTrue(metrics.get("scorer").asText().contains("TextVQAAccuracyEvaluator"));
    Map<String, Row> rows = scoring.rows();
    assertEquals(1.0, (double) rows.get("1").getAs("score"), 0.0);
    assertEquals("nokia", rows.get("1").getAs("parsed_answer"));
    assertEquals(1.0, (double) rows.get("2").getAs("score"), 0.0);
    assertEquals("2", rows.get("2").getAs("parsed_answer"));
  }

  @Test
  void vqaV2OfficialAccuracyProcessesOnlyWhenTheGoldAnswersDisagree() throws IOException {
    StructType schema =
        new StructType()
            .add("question_id", DataTypes.LongType)
            .add("answers", STRINGS)
            .add("answer_type", DataTypes.StringType)
            .add("answer", DataTypes.StringType);
    String[] nokia = new String[10];
    java.util.Arrays.fill(nokia, "nokia");
    String[] two = {"two", "two", "two", "2", "2", "2", "2", "2", "2", "2"};
    String[] yesNo = {"yes", "yes", "no", "no", "no", "no", "no", "no", "no", "no"};
    Scoring scoring =
        score(
            "vqav2",
            schema,
            List.of(
                RowFactory.create(1L, nokia, "other", "Nokia."), // gold agree: unprocessed, 0
                RowFactory.create(2L, two, "number", "2"), // "two" becomes 2: all ten match, 1
                RowFactory.create(3L, yesNo, "yes/no", "yes"))); // 0.6
    JsonNode metrics = scoring.metrics();
    assertEquals(100 * (0 + 1 + 0.6) / 3, metrics.get("overall").asDouble(), 1e-9);
    assertEquals(53.33, metrics.get("overall_rounded").asDouble(), 0.0);
    assertEquals(60.0, metrics.get("by_answer_type").get("yes/no").asDouble(), 1e-9);
    assertEquals(0.0, metrics.get("by_answer_type").get("other").asDouble(), 0.0);
    Map<String, Row> rows = scoring.rows();
    assertEquals(0.0, (double) rows.get("1").getAs("score"), 0.0);
    assertEquals("nokia", rows.get("1").getAs("parsed_answer"));
    assertEquals(1.0, (double) rows.get("2").getAs("score"), 0.0);
  }

  @Test
  void mmmuHandMadeAnswersIncludingTheSeededRandomGuess() throws IOException {
    StructType schema =
        new StructType()
            .add("id", DataTypes.StringType)
            .add("question_type", DataTypes.StringType)
            .add("options", DataTypes.StringType)
            .add("input_answer", DataTypes.StringType)
            .add("answer", DataTypes.StringType);
    Scoring scoring =
        score(
            "mmmu",
            schema,
            List.of(
                RowFactory.create(
                    "validation_Art_1", "multiple-choice", "['a', 'b', 'c', 'd']", "A", "(A) a"),
                RowFactory.create("validation_Art_2", "open", "[]", "12", "The answer is 12 m"),
                RowFactory.create(
                    "validation_Math_1", "multiple-choice", "['1', '2', '3', '4']", "B", ""),
                RowFactory.create(
                    "validation_Math_2",
                    "open",
                    "[]",
                    "['24/7', '3.429']",
                    "so the ratio is 3.43")));
    JsonNode metrics = scoring.metrics();
    // Math_1: no option in "": random.seed(42); random.choice(['A','B','C','D']) is 'A', wrong
    assertEquals(1, metrics.get("random_guesses").asInt());
    assertEquals(2, metrics.get("by_category").get("Art").get("correct").asInt());
    assertEquals(1, metrics.get("by_category").get("Math").get("correct").asInt());
    assertEquals(0.75, metrics.get("overall").get("accuracy").asDouble(), 0.0);
    assertEquals(
        1.0, metrics.get("by_discipline").get("Art and Design").get("accuracy").asDouble());
    assertEquals(0.5, metrics.get("by_discipline").get("Science").get("accuracy").asDouble());
    Map<String, Row> rows = scoring.rows();
    assertEquals("A", rows.get("validation_Math_1").getAs("parsed_answer"));
    assertEquals("random", rows.get("validation_Math_1").getAs("parse_method"));
    assertEquals("[3.43]", rows.get("validation_Math_2").getAs("parsed_answer"));
    assertEquals(1.0, (double) rows.get("validation_Math_2").getAs("score"), 0.0);
  }

  /** A Python repr-like literal of a list of strings. */
  private static String pyList(List<String> items) {
    List<String> quoted = new ArrayList<>();
    for (String s : items) {
      quoted.add(
          "'"
              + s.replace("\\", "\\\\")
                  .replace("'", "\\'")
                  .replace("\n", "\\n")
                  .replace("\r", "\\r")
              + "'");
    }
    return "[" + String.join(", ", quoted) + "]";
  }

  @ParameterizedTest
  @ValueSource(strings = {"llava1.5_13b", "qwen_vl"})
  void mmmuOfficialExampleOutputsGiveTheOfficialTable(String model) throws IOException {
    JsonMapper json = JsonMapper.builder().build();
    Path data = Path.of("src", "test", "resources", "mmmu", "example_outputs", model);
    StructType schema =
        new StructType()
            .add("id", DataTypes.StringType)
            .add("question_type", DataTypes.StringType)
            .add("options", DataTypes.StringType)
            .add("input_answer", DataTypes.StringType)
            .add("answer", DataTypes.StringType);
    List<Row> rows = new ArrayList<>();
    for (String category : MmmuScore.CATEGORIES) {
      for (JsonNode o : json.readTree(data.resolve(category).resolve("output.json").toFile())) {
        List<String> options = new ArrayList<>();
        o.path("index2ans").forEach(v -> options.add(v.asText()));
        JsonNode answer = o.get("answer");
        List<String> answers = new ArrayList<>();
        answer.forEach(a -> answers.add(a.asText()));
        rows.add(
            RowFactory.create(
                o.get("id").asText(),
                o.get("question_type").asText(),
                pyList(options),
                answer.isArray() ? pyList(answers) : answer.asText(),
                o.get("response").asText()));
      }
    }
    assertEquals(900, rows.size());
    JsonNode metrics = score("mmmu", HfDatasets.write(spark, dir, "mmmu-" + model, schema, rows));

    // python main_parse_and_eval.py --path example_outputs/<model> --subject ALL; print_results.py
    JsonNode expected =
        json.readTree(
                Path.of("src", "test", "resources", "eval", "mmmu_expected_" + model + ".json")
                    .toFile())
            .get("table");
    int rowsChecked = 0;
    for (Map.Entry<String, JsonNode> e : expected.properties()) {
      String name = e.getKey();
      JsonNode got =
          name.equals("Overall")
              ? metrics.get("overall")
              : name.startsWith("Overall-")
                  ? metrics.get("by_discipline").get(name.substring("Overall-".length()))
                  : metrics.get("by_category").get(name);
      assertEquals(e.getValue().get("num").asInt(), got.get("questions").asInt(), name);
      assertEquals(e.getValue().get("acc").asDouble(), got.get("accuracy").asDouble(), 0.0, name);
      assertEquals(
          e.getValue().get("rounded").asDouble(),
          got.get("accuracy_rounded").asDouble(),
          0.0,
          name);
      rowsChecked++;
    }
    assertEquals(30 + 6 + 1, rowsChecked);
    assertEquals(
        model.equals("qwen_vl") ? 325 : 330, metrics.get("overall").get("correct").asInt());
    assertEquals(model.equals("qwen_vl") ? 48 : 2, metrics.get("random_guesses").asInt());
  }

  @Test
  void mmstarOfficialRuleWithFixedDenominators() throws IOException {
    StructType schema =
        new StructType()
            .add("index", DataTypes.LongType)
            .add("input_answer", DataTypes.StringType)
            .add("category", DataTypes.StringType)
            .add("l2_category", DataTypes.StringType)
            .add("answer", DataTypes.StringType);
    Scoring scoring =
        score(
            "mmstar",
            schema,
            List.of(
                RowFactory.create(1L, "A", "coarse perception", "image emotion", "A"),
                RowFactory.create(2L, "B", "math", "geometry", "(b) cat"),
                RowFactory.create(3L, "C", "math", "geometry", "The answer is D"),
                RowFactory.create(4L, "D", "math", "geometry", "the answer is d.")));
    JsonNode metrics = scoring.metrics();
    assertEquals(3 / 1500.0, metrics.get("overall").asDouble(), 0.0);
    assertEquals(0.75, metrics.get("accuracy_on_scored").asDouble(), 0.0);
    assertEquals(2 / 250.0, metrics.get("by_category").get("math").asDouble(), 0.0);
    assertEquals(1 / 250.0, metrics.get("by_category").get("coarse perception").asDouble(), 0.0);
    assertEquals(0.0, metrics.get("by_category").get("logical reasoning").asDouble(), 0.0);
    assertEquals(2 / 3.0, metrics.get("by_l2_category").get("math(geometry)").asDouble(), 1e-15);
    assertFalse(metrics.get("by_l2_category").has("math(statistical reasoning)"));
    Map<String, Row> rows = scoring.rows();
    assertEquals("B", rows.get("2").getAs("parsed_answer"));
    assertEquals("D", rows.get("3").getAs("parsed_answer"));
  }

  @Test
  void mathVistaExtractionNormalisationAndBreakdowns() throws IOException {
    StructType metadata =
        new StructType()
            .add("language", DataTypes.StringType)
            .add("skills", STRINGS)
            .add("source", DataTypes.StringType);
    StructType schema =
        new StructType()
            .add("pid", DataTypes.StringType)
            .add("choices", STRINGS)
            .add("precision", DataTypes.DoubleType)
            .add("input_answer", DataTypes.StringType)
            .add("question_type", DataTypes.StringType)
            .add("answer_type", DataTypes.StringType)
            .add("metadata", metadata)
            .add("answer", DataTypes.StringType);
    Row english = RowFactory.create("english", new String[] {"algebraic reasoning"}, "A");
    Row chinese = RowFactory.create("chinese", new String[] {"arithmetic reasoning"}, "B");
    Scoring scoring =
        score(
            "mathvista",
            schema,
            List.of(
                RowFactory.create(
                    "1",
                    new String[] {"3", "4", "5"},
                    null,
                    "4",
                    "multi_choice",
                    "text",
                    english,
                    "B"),
                RowFactory.create("2", null, null, "7", "free_form", "integer", english, "7"),
                RowFactory.create("3", null, 2.0, "1.25", "free_form", "float", chinese, "1.254"),
                RowFactory.create(
                    "4", null, null, "3", "free_form", "integer", chinese, "There are three bars."),
                RowFactory.create("5", null, null, "10", "free_form", "integer", chinese, "12")));
    JsonNode metrics = scoring.metrics();
    assertEquals(0.8, metrics.get("overall").asDouble(), 0.0);
    JsonNode scores = metrics.get("scores");
    assertEquals(4, scores.get("average").get("correct").asInt());
    assertEquals(1.0, scores.get("language").get("english").get("accuracy").asDouble(), 0.0);
    assertEquals(2 / 3.0, scores.get("language").get("chinese").get("accuracy").asDouble(), 0.0);
    assertEquals(
        List.of("english", "chinese"), names(scores.get("language")), "best accuracy first");
    assertEquals(3, scores.get("answer_type").get("integer").get("total").asInt());
    // a bare letter is no choice's text: the official pipeline asks GPT-4 there, as for row 4
    assertEquals(2, metrics.get("extraction_methods").get("RULE_FALLBACK").asInt());
    assertEquals(2, metrics.get("extraction_methods").get("INTEGER").asInt());
    Map<String, Row> rows = scoring.rows();
    assertEquals("4", rows.get("1").getAs("parsed_answer"));
    assertEquals("B", rows.get("1").getAs("extraction"));
    assertEquals("1.25", rows.get("3").getAs("parsed_answer"));
    assertEquals("3", rows.get("4").getAs("parsed_answer"));
    assertEquals("RULE_FALLBACK", rows.get("4").getAs("parse_method"));
  }

  private static List<String> names(JsonNode object) {
    List<String> names = new ArrayList<>();
    object.fieldNames().forEachRemaining(names::add);
    return names;
  }

  @Test
  void predictionsLackingAScoringColumnAreRefusedNamingIt() throws IOException {
    StructType schema =
        new StructType()
            .add("id", DataTypes.StringType)
            .add("question_type", DataTypes.StringType)
            .add("answer", DataTypes.StringType);
    Path p =
        HfDatasets.write(
            spark,
            dir,
            "mmmu-no-options",
            schema,
            List.<Row>of(RowFactory.create("validation_Art_1", "open", "x")));
    Path output = dir.resolve("no-options-out");
    JobRun outcome = JobCommandLine.score("mmmu", p, output).run();
    assertEquals(2, outcome.status());
    assertTrue(outcome.err().contains("no column 'options'"), outcome.err());
    assertTrue(outcome.err().contains("no column 'input_answer'"), outcome.err());
    assertTrue(
        outcome.err().contains("Columns found: id string, question_type string, answer string"),
        outcome.err());
    assertFalse(Files.exists(output.resolve("metrics.json")));
  }
}
