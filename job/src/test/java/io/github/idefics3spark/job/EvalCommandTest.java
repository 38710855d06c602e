package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * {@code eval} end to end with the tiny model on small Parquet files in each Hugging Face layout of
 * shared/spec/benchmarks.md, written by the test with real fixture images: the prompts sent, the
 * answers, predictions and metrics written, {@code score} on the predictions giving the same
 * metrics; a test split's submission file; wrong input refused before any inference.
 */
class EvalCommandTest {
  private static final StructType IMAGE = RequestRows.IMAGE;
  private static final org.apache.spark.sql.types.ArrayType STRINGS = HfDatasets.STRINGS;

  private static SparkSession spark;
  @TempDir static Path dir;

  @BeforeAll
  static void start() {
    spark = SparkTestSession.start("EvalCommandTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static JobRun eval(String benchmark, Path input, Path output, String... more) {
    return JobCommandLine.eval(benchmark, input, output, 4)
        .with("--batch-size", "4")
        .with(more)
        .run();
  }

  /** eval on {@code rows} written as the dataset {@code name}, into the folder {@code name-out}. */
  private static JobRun evalOn(String benchmark, String name, StructType schema, List<Row> rows) {
    return eval(
        benchmark, HfDatasets.write(spark, dir, name, schema, rows), dir.resolve(name + "-out"));
  }

  static JsonNode json(Path file) throws IOException {
    return JsonMapper.builder().build().readTree(file.toFile());
  }

  private static Map<String, Row> rows(Path parquet) {
    return SparkTestSession.rowsById(spark, parquet);
  }

  /**
   * The checks every benchmark shares: exit 0, one answer and one prediction per question with the
   * benchmark's prompt, metrics naming the benchmark, and {@code score} on the predictions giving
   * the same metrics.
   */
  private static JsonNode evalAndCheck(
      String benchmark, Path input, Map<String, String> expectedPrompts) throws IOException {
    Path output = dir.resolve(benchmark + "-out");
    JobRun outcome = eval(benchmark, input, output);
    assertEquals(0, outcome.status(), outcome.err() + outcome.out());
    assertTrue(outcome.out().contains(benchmark + ": "), outcome.out());

    Map<String, Row> answers = rows(output.resolve("answers"));
    assertEquals(expectedPrompts.keySet(), answers.keySet());
    expectedPrompts.forEach(
        (id, prompt) -> {
          Row row = answers.get(id);
          assertEquals(prompt, row.getAs("question"), id);
          assertEquals(benchmark, row.getAs("task"));
          assertNull(row.getAs("error"), id + ": " + row.getAs("error"));
        });

    Map<String, Row> predictions = rows(output.resolve("predictions"));
    assertEquals(expectedPrompts.keySet(), predictions.keySet());
    for (Row row : predictions.values()) {
      String answer = answers.get((String) row.getAs("id")).getAs("answer");
      assertEquals(answer, (String) row.getAs("answer"));
      assertTrue(Arrays.asList(row.schema().fieldNames()).contains("parsed_answer"));
    }

    JsonNode metrics = json(output.resolve("metrics.json"));
    assertEquals(benchmark, metrics.get("benchmark").asText());
    assertEquals(expectedPrompts.size(), metrics.get("questions").asInt());
    assertEquals(0, metrics.get("failed").asInt());

    Path rescored = dir.resolve(benchmark + "-rescored");
    JobRun score = JobCommandLine.score(benchmark, output.resolve("predictions"), rescored).run();
    assertEquals(0, score.status(), score.err());
    JsonNode again = json(rescored.resolve("metrics.json"));
    for (String field : List.of("overall", "scored", "questions", "by_category", "scores")) {
      assertEquals(metrics.get(field), again.get(field), field);
    }
    return metrics;
  }

  /** The mean of the predictions' per-question scores, in id order. */
  private static double meanScore(String benchmark) {
    List<Row> rows =
        spark
            .read()
            .parquet(dir.resolve(benchmark + "-out").resolve("predictions").toString())
            .orderBy("id")
            .collectAsList();
    double sum = 0;
    for (Row row : rows) {
      sum += (double) row.getAs("score");
    }
    return sum / rows.size();
  }

  private static Row docVqaRow(String id, String question, String image, String[] answers) {
    return RowFactory.create(
        id,
        question,
        new String[] {"form", "table/list"},
        HfDatasets.image(image),
        7,
        "xnbl0037",
        "1",
        answers,
        answers == null ? "test" : "val");
  }

  @Test
  void docVqaValidationIsScoredWithAnlsByQuestionType() throws IOException {
    Path input =
        HfDatasets.write(
            spark,
            dir,
            "docvqa",
            HfDatasets.DOCVQA,
            List.of(
                docVqaRow("49153", "What is the date?", "page_5.png", new String[] {"1/8/93"}),
                docVqaRow("24580", "Whose name is on top?", "page_10.png", new String[] {"T.F."}),
                docVqaRow("57349", "what is the title?", "ai2d_00000443.png", new String[] {"x"})));
    JsonNode metrics =
        evalAndCheck(
            "docvqa",
            input,
            Map.of(
                "49153", DocVqa.prompt("What is the date?"),
                "24580", DocVqa.prompt("Whose name is on top?"),
                "57349", DocVqa.prompt("what is the title?")));
    assertEquals("ANLS", metrics.get("metric").asText());
    assertEquals(3, metrics.get("scored").asInt());
    assertEquals(meanScore("docvqa"), metrics.get("overall").asDouble(), 1e-12);
    assertEquals(3, metrics.get("by_question_types").get("form").get("questions").asInt());
    assertTrue(metrics.get("by_question_types").has("table/list"));
    assertFalse(Files.exists(dir.resolve("docvqa-out").resolve("submission.json")));
  }

  /**
   * Issue 15.3: eval reads an image struct without bytes from its path, allowed only under the
   * input's folder and --allow-path-prefix, local paths by their real paths (links resolved).
   */
  @Test
  void imagePathsOutsideTheInputsFolderNeedAllowPathPrefixAndLinksAreResolved() throws IOException {
    Path elsewhere = Files.createDirectories(dir.resolve("docvqa-paths-elsewhere"));
    Files.copy(SparkTestSession.IMAGES.resolve("page_10.png"), elsewhere.resolve("page_10.png"));
    List<Row> rows = new ArrayList<>();
    for (String[] row :
        List.of(
            new String[] {"1", "pages/page_5.png"},
            new String[] {"2", elsewhere.resolve("page_10.png").toString()},
            new String[] {"3", "pages/away.png"})) {
      rows.add(
          RowFactory.create(
              row[0],
              "What is the date?",
              new String[] {"form"},
              RowFactory.create(null, row[1]),
              7,
              "xnbl0037",
              "1",
              new String[] {"1/8/93"},
              "val"));
    }
    Path folder = HfDatasets.write(spark, dir, "docvqa-paths", HfDatasets.DOCVQA, rows);
    Path input = folder.resolve("*.parquet"); // a glob: its folder holds the pages besides
    Path pages = Files.createDirectories(folder.resolve("pages"));
    Files.copy(SparkTestSession.IMAGES.resolve("page_5.png"), pages.resolve("page_5.png"));
    Files.createSymbolicLink(pages.resolve("away.png"), elsewhere.resolve("page_10.png"));

    Path output = dir.resolve("docvqa-paths-out");
    JobRun refused = eval("docvqa", input, output);
    assertEquals(0, refused.status(), refused.err());
    Map<String, Row> answers = rows(output.resolve("answers"));
    assertNull(answers.get("1").getAs("error"), () -> answers.get("1").getAs("error"));
    for (String id : List.of("2", "3")) {
      String error = answers.get(id).getAs("error");
      assertEquals("UNREADABLE_IMAGE", answers.get(id).getAs("error_kind"), error);
      assertTrue(
          error.contains("outside the allowed roots") && error.contains("--allow-path-prefix"),
          error);
    }
    assertTrue(
        ((String) answers.get("3").getAs("error")).contains("once symbolic links are resolved"));

    Path allowed = dir.resolve("docvqa-paths-allowed");
    JobRun read = eval("docvqa", input, allowed, "--allow-path-prefix", elsewhere.toString());
    assertEquals(0, read.status(), read.err());
    Map<String, Row> all = rows(allowed.resolve("answers"));
    assertEquals(Set.of("1", "2", "3"), all.keySet());
    for (Row row : all.values()) {
      assertNull(row.getAs("error"), () -> row.getAs("id") + ": " + row.getAs("error"));
    }
  }

  @Test
  void docVqaTestSplitWritesTheSubmissionFile() throws IOException {
    Path input =
        HfDatasets.write(
            spark,
            dir,
            "docvqa-test",
            HfDatasets.DOCVQA,
            List.of(
                docVqaRow("57344", "What is the total?", "page_5.png", null),
                docVqaRow("57345", "Who signed it?", "page_10.png", null)));
    Path output = dir.resolve("docvqa-test-out");
    JobRun outcome = eval("docvqa", input, output);
    assertEquals(0, outcome.status(), outcome.err());
    JsonNode metrics = json(output.resolve("metrics.json"));
    assertTrue(metrics.get("overall").isNull());
    assertEquals(0, metrics.get("scored").asInt());
    JsonNode submission = json(output.resolve("submission.json"));
    assertEquals(2, submission.size());
    Map<String, Row> answers = rows(output.resolve("answers"));
    for (JsonNode entry : submission) {
      assertTrue(entry.get("questionId").isNumber(), entry.toString());
      String id = entry.get("questionId").asText();
      assertEquals(answers.get(id).getAs("answer"), entry.get("answer").asText());
    }
  }

  @Test
  void infographicVqaIsScoredWithAnlsByAnswerTypeAndOperation() throws IOException {
    StructType schema =
        new StructType()
            .add("questionId", DataTypes.StringType)
            .add("question", DataTypes.StringType)
            .add("answers", STRINGS)
            .add("answer_type", STRINGS)
            .add("image", IMAGE)
            .add("image_url", DataTypes.StringType)
            .add("operation/reasoning", STRINGS)
            .add("ocr", DataTypes.StringType)
            .add("data_split", DataTypes.StringType);
    Path input =
        HfDatasets.write(
            spark,
            dir,
            "infovqa",
            schema,
            List.of(
                RowFactory.create(
                    "65718",
                    "Which country has the most users?",
                    new String[] {"india"},
                    new String[] {"single span"},
                    HfDatasets.image("ai2d_00001162.png"),
                    "https://example.invalid/1.jpeg",
                    new String[] {"counting"},
                    "{}",
                    "val"),
                RowFactory.create(
                    "65719",
                    "What percent use phones?",
                    new String[] {"45%", "45"},
                    new String[] {"non span"},
                    HfDatasets.image("page_5.png"),
                    "https://example.invalid/2.jpeg",
                    null,
                    "{}",
                    "val")));
    JsonNode metrics =
        evalAndCheck(
            "infographicvqa",
            input,
            Map.of(
                "65718", DocVqa.prompt("Which country has the most users?"),
                "65719", DocVqa.prompt("What percent use phones?")));
    assertEquals(meanScore("infographicvqa"), metrics.get("overall").asDouble(), 1e-12);
    assertEquals(1, metrics.get("by_answer_type").get("non span").get("questions").asInt());
    assertEquals(1, metrics.get("by_operation_reasoning").get("counting").get("questions").asInt());
  }

  @Test
  void textVqaIsScoredWithTheTextVqaEvaluator() throws IOException {
    StructType schema =
        new StructType()
            .add("image_id", DataTypes.StringType)
            .add("question_id", DataTypes.IntegerType)
            .add("question", DataTypes.StringType)
            .add("question_tokens", STRINGS)
            .add("image", IMAGE)
            .add("image_width", DataTypes.LongType)
            .add("image_height", DataTypes.LongType)
            .add("flickr_original_url", DataTypes.StringType)
            .add("flickr_300k_url", DataTypes.StringType)
            .add("answers", STRINGS)
            .add("image_classes", STRINGS)
            .add("set_name", DataTypes.StringType)
            .add("ocr_tokens", STRINGS);
    String[] nokia = new String[10];
    Arrays.fill(nokia, "nokia");
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      rows.add(
          RowFactory.create(
              "003a8ae2ef43b90" + i,
              34602 + i,
              i == 0 ? "what brand is this camera?" : "WHAT is written?",
              new String[] {"what"},
              HfDatasets.image(i == 0 ? "landscape_49x31.jpg" : "portrait_35x49.jpg"),
              49L,
              31L,
              "https://example.invalid/o.jpg",
              "https://example.invalid/s.jpg",
              nokia,
              new String[] {"Camera"},
              "val",
              new String[] {"nokia"}));
    }
    JsonNode metrics =
        evalAndCheck(
            "textvqa",
            HfDatasets.write(spark, dir, "textvqa", schema, rows),
            Map.of(
                "34602", TextVqa.prompt("what brand is this camera?"),
                "34603", TextVqa.prompt("WHAT is written?")));
    assertEquals(100 * meanScore("textvqa"), metrics.get("overall").asDouble(), 1e-9);
    assertTrue(metrics.get("scorer").asText().contains("m4c_evaluators.py"));
  }

  @Test
  void chartQaIdsAreRowPositionsAndScoresSplitByType() throws IOException {
    StructType schema =
        new StructType()
            .add("type", DataTypes.StringType)
            .add("question", DataTypes.StringType)
            .add("answer", DataTypes.StringType)
            .add("image", IMAGE);
    List<Row> rows =
        List.of(
            RowFactory.create(
                "human_test", "How many bars?", "4", HfDatasets.image("landscape_49x31.jpg")),
            RowFactory.create(
                "augmented_test",
                "Which is largest?",
                "Asia",
                HfDatasets.image("portrait_35x49.jpg")),
            RowFactory.create(
                "human_test",
                "What share is red?",
                "25%",
                HfDatasets.image("landscape_49x31.jpg")));
    JsonNode metrics =
        evalAndCheck(
            "chartqa",
            HfDatasets.write(spark, dir, "chartqa", schema, rows),
            Map.of(
                "0", ChartQa.prompt("How many bars?"),
                "1", ChartQa.prompt("Which is largest?"),
                "2", ChartQa.prompt("What share is red?")));
    assertEquals(meanScore("chartqa"), metrics.get("overall").asDouble(), 1e-12);
    assertEquals(2, metrics.get("by_type").get("human_test").get("questions").asInt());
    assertEquals(1, metrics.get("by_type").get("augmented_test").get("questions").asInt());
    assertTrue(metrics.get("scorer").asText().contains("relaxed_correctness"));

    List<Row> badType =
        List.of(RowFactory.create("human_val", "q?", "1", HfDatasets.image("landscape_49x31.jpg")));
    JobRun bad = evalOn("chartqa", "chartqa-bad-type", schema, badType);
    assertEquals(2, bad.status(), bad.err());
    assertTrue(bad.err().contains("type 'human_val' is not one of ChartQA's"), bad.err());
  }

  @Test
  void ocrBenchIdsAreRowPositionsAndScoresCountByCategory() throws IOException {
    StructType schema =
        new StructType()
            .add("dataset", DataTypes.StringType)
            .add("question", DataTypes.StringType)
            .add("question_type", DataTypes.StringType)
            .add("answer", STRINGS)
            .add("image", IMAGE);
    List<Row> rows =
        List.of(
            RowFactory.create(
                "IIIT5K",
                "what is written in the image?",
                "Regular Text Recognition",
                new String[] {"STOP"},
                HfDatasets.image("landscape_49x31.jpg")),
            RowFactory.create(
                "HME100k",
                " Please write out the expression of the formula in the image using LaTeX format. ",
                "Handwritten Mathematical Expression Recognition",
                new String[] {"x ^ { 2 }"},
                HfDatasets.image("portrait_35x49.jpg")));
    JsonNode metrics =
        evalAndCheck(
            "ocrbench",
            HfDatasets.write(spark, dir, "ocrbench", schema, rows),
            Map.of(
                "0",
                "what is written in the image?",
                "1",
                "Please write out the expression of the formula in the image using LaTeX"
                    + " format."));
    double correct = meanScore("ocrbench") * 2;
    assertEquals(correct / 1000, metrics.get("overall").asDouble(), 1e-12);
    assertEquals((int) correct, metrics.get("final_score").asInt());
    assertEquals(10, metrics.get("by_category").size());
    assertEquals(5, metrics.get("by_group").size());
    assertTrue(metrics.get("scorer").asText().contains("ocrbench/utils.py"));

    List<Row> badType =
        List.of(
            RowFactory.create(
                "IIIT5K",
                "q?",
                "Text Recognition",
                new String[] {"a"},
                HfDatasets.image("landscape_49x31.jpg")));
    JobRun bad = evalOn("ocrbench", "ocrbench-bad-type", schema, badType);
    assertEquals(2, bad.status(), bad.err());
    assertTrue(
        bad.err().contains("question_type 'Text Recognition' is not one of OCRBench's"), bad.err());
  }

  @Test
  void scienceQaImgPutsTheHintAsContextAndScoresTheLetter() throws IOException {
    StructType schema =
        new StructType()
            .add("question", DataTypes.StringType)
            .add("choices", STRINGS)
            .add("answer", DataTypes.ByteType)
            .add("hint", DataTypes.StringType)
            .add("image", IMAGE);
    String[] three = {"sun", "moon", "earth"};
    List<Row> rows =
        List.of(
            RowFactory.create(
                "Which is shown?", three, (byte) 0, "", HfDatasets.image("landscape_49x31.jpg")),
            RowFactory.create(
                "What eats grass?",
                new String[] {"deer", "wolf"},
                (byte) 1,
                "A food web.",
                HfDatasets.image("portrait_35x49.jpg")));
    JsonNode metrics =
        evalAndCheck(
            "scienceqa_img",
            HfDatasets.write(spark, dir, "scienceqa", schema, rows),
            Map.of(
                "0", ScienceQaImg.prompt("", "Which is shown?", List.of(three)),
                "1",
                    ScienceQaImg.prompt(
                        "A food web.", "What eats grass?", List.of("deer", "wolf"))));
    assertEquals(meanScore("scienceqa_img"), metrics.get("overall").asDouble(), 1e-12);
    assertTrue(metrics.get("scorer").asText().contains("sqa_process_results"));

    List<Row> badAnswer =
        List.of(
            RowFactory.create(
                "Which?",
                new String[] {"x", "y"},
                (byte) 2,
                "",
                HfDatasets.image("landscape_49x31.jpg")));
    JobRun bad = evalOn("scienceqa_img", "scienceqa-bad-answer", schema, badAnswer);
    assertEquals(2, bad.status(), bad.err());
    assertTrue(bad.err().contains("answer 2 is not the index of one of the 2 choices"), bad.err());
  }

  @Test
  void ai2dLettersTheOptionsAndScoresTheLetter() throws IOException {
    StructType schema =
        new StructType()
            .add("question", DataTypes.StringType)
            .add("options", STRINGS)
            .add("answer", DataTypes.StringType)
            .add("image", IMAGE);
    String[] four = {"sun", "moon", "earth", "mars"};
    List<Row> rows =
        List.of(
            RowFactory.create(
                "Which is shown?", four, "0", HfDatasets.image("landscape_49x31.jpg")),
            RowFactory.create(
                "What eats grass?",
                new String[] {"deer", "wolf"},
                "1",
                HfDatasets.image("portrait_35x49.jpg")));
    JsonNode metrics =
        evalAndCheck(
            "ai2d",
            HfDatasets.write(spark, dir, "ai2d", schema, rows),
            Map.of(
                "0", Ai2d.prompt("Which is shown?", List.of(four)),
                "1", Ai2d.prompt("What eats grass?", List.of("deer", "wolf"))));
    assertEquals(meanScore("ai2d"), metrics.get("overall").asDouble(), 1e-12);
    assertTrue(metrics.get("scorer").asText().contains("exact_match"));

    List<Row> badAnswer =
        List.of(
            RowFactory.create(
                "Which?", new String[] {"x", "y"}, "2", HfDatasets.image("landscape_49x31.jpg")));
    JobRun bad = evalOn("ai2d", "ai2d-bad-answer", schema, badAnswer);
    assertEquals(2, bad.status(), bad.err());
    assertTrue(
        bad.err().contains("answer '2' is not the index of one of the 2 options"), bad.err());
  }

  @Test
  void vqaV2ReadsTheAnswerStructsAndIsScoredWithTheOfficialVqaAccuracy() throws IOException {
    StructType answer =
        new StructType()
            .add("answer", DataTypes.StringType)
            .add("answer_confidence", DataTypes.StringType)
            .add("answer_id", DataTypes.LongType);
    StructType schema =
        new StructType()
            .add("question_type", DataTypes.StringType)
            .add("multiple_choice_answer", DataTypes.StringType)
            .add("answers", DataTypes.createArrayType(answer))
            .add("image_id", DataTypes.LongType)
            .add("answer_type", DataTypes.StringType)
            .add("question_id", DataTypes.LongType)
            .add("question", DataTypes.StringType)
            .add("image", IMAGE);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      List<Row> answers = new ArrayList<>();
      for (int j = 0; j < 10; j++) {
        answers.add(RowFactory.create(j < 7 ? "2" : "two", "yes", (long) j + 1));
      }
      rows.add(
          RowFactory.create(
              "how many",
              "2",
              answers,
              262148L + i,
              i == 0 ? "number" : "other",
              262148000L + i,
              i == 0 ? "How many dogs are there?" : "what is this?",
              HfDatasets.image(i == 0 ? "landscape_49x31.jpg" : "portrait_35x49.jpg")));
    }
    JsonNode metrics =
        evalAndCheck(
            "vqav2",
            HfDatasets.write(spark, dir, "vqav2", schema, rows),
            Map.of(
                "262148000", VqaV2.prompt("How many dogs are there?"),
                "262148001", VqaV2.prompt("what is this?")));
    assertEquals(100 * meanScore("vqav2"), metrics.get("overall").asDouble(), 1e-9);
    assertTrue(metrics.get("scorer").asText().contains("vqaEval.py"));
    assertEquals(2, metrics.get("by_answer_type").size());
    assertEquals(
        metrics.get("overall").asDouble(),
        metrics.get("by_question_type").get("how many").asDouble(),
        1e-9);
  }

  @Test
  void mmmuInterleavesTheImagesAndIsScoredByDisciplineAndCategory() throws IOException {
    StructType schema = HfDatasets.MMMU;
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
                    "",
                    HfDatasets.image("validation_Biology_1_1.png"),
                    HfDatasets.image("tile_56x56.png"),
                    null,
                    null,
                    null,
                    null,
                    null,
                    "['Diagrams']",
                    "A",
                    "Medium",
                    "multiple-choice",
                    "Cell Biology"),
                RowFactory.create(
                    "validation_Design_19",
                    "<image 1> What year was this poster made?",
                    "[]",
                    "",
                    HfDatasets.image("validation_Design_19_1.png"),
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    "['Paintings']",
                    "1920",
                    "Easy",
                    "open",
                    "Design History")));
    JsonNode metrics =
        evalAndCheck(
            "mmmu",
            input,
            Map.of(
                "validation_Biology_1",
                Mmmu.prompt(
                    "Which of <image 1> and <image 2> shows a cell?",
                    "multiple-choice",
                    List.of("<image 1>", "<image 2>", "Neither, it's empty")),
                "validation_Design_19",
                Mmmu.prompt("<image 1> What year was this poster made?", "open", List.of())));
    Map<String, Row> answers = rows(dir.resolve("mmmu-out").resolve("answers"));
    assertEquals(2, (int) answers.get("validation_Biology_1").getAs("image_count"));
    assertEquals("A", answers.get("validation_Biology_1").getAs("input_answer"));
    assertEquals(2, metrics.get("scored").asInt());
    assertEquals(2, metrics.get("overall").get("questions").asInt());
    assertEquals(meanScore("mmmu"), metrics.get("overall").get("accuracy").asDouble(), 1e-12);
    assertEquals(1, metrics.get("by_category").get("Biology").get("questions").asInt());
    assertEquals(1, metrics.get("by_discipline").get("Art and Design").get("questions").asInt());
    Row biology = rows(dir.resolve("mmmu-out").resolve("predictions")).get("validation_Biology_1");
    assertTrue(List.of("option", "random").contains((String) biology.getAs("parse_method")));
  }

  @Test
  void mmstarIsScoredWithTheOfficialRuleAndFixedDenominators() throws IOException {
    StructType schema =
        new StructType()
            .add("index", DataTypes.LongType)
            .add("question", DataTypes.StringType)
            .add("image", IMAGE)
            .add("answer", DataTypes.StringType)
            .add("category", DataTypes.StringType)
            .add("l2_category", DataTypes.StringType)
            .add("meta_info", new StructType().add("source", DataTypes.StringType));
    Path input =
        HfDatasets.write(
            spark,
            dir,
            "mmstar",
            schema,
            List.of(
                RowFactory.create(
                    0L,
                    "Which option describes the object relationship in the image correctly?\n"
                        + "Options: A: The suitcase is on the book., B: The suitcase is beneath"
                        + " the cat.",
                    HfDatasets.image("gray_40x29.png"),
                    "A",
                    "coarse perception",
                    "image scene and topic",
                    RowFactory.create("MMBench")),
                RowFactory.create(
                    1L,
                    "Is the image bright? Please answer yes or no.\nOptions: A: yes, B: no",
                    HfDatasets.image("rgba_alpha_48x33.png"),
                    "B",
                    "math",
                    "geometry",
                    RowFactory.create("SEEDBench"))));
    JsonNode metrics =
        evalAndCheck(
            "mmstar",
            input,
            Map.of(
                "0",
                MmStar.prompt(
                    "Which option describes the object relationship in the image correctly?\n"
                        + "Options: A: The suitcase is on the book., B: The suitcase is beneath"
                        + " the cat."),
                "1",
                "Is the image bright?\nOptions: A: yes, B: no\n"
                    + "Answer with the option's letter from the given choices directly"));
    assertEquals(
        Math.round(meanScore("mmstar") * 2) / 1500.0, metrics.get("overall").asDouble(), 1e-12);
    assertEquals(6, metrics.get("by_category").size());
  }

  @Test
  void mathVistaIsScoredByTheOfficialMetadataFields() throws IOException {
    Path input =
        HfDatasets.write(
            spark,
            dir,
            "mathvista",
            HfDatasets.MATHVISTA,
            List.of(
                RowFactory.create(
                    "1",
                    "Which bar is longest?",
                    "images/1.jpg",
                    HfDatasets.image("ai2d_00000443.png"),
                    new String[] {"red", "blue"},
                    null,
                    null,
                    "blue",
                    "multi_choice",
                    "text",
                    RowFactory.create(
                        "general-vqa",
                        "bar chart",
                        "daily life",
                        31L,
                        49L,
                        "english",
                        new String[] {"statistical reasoning", "arithmetic reasoning"},
                        "FigureQA",
                        "testmini",
                        "figure question answering"),
                    "Hint: ... Question: Which bar is longest?"),
                RowFactory.create(
                    "2",
                    "What is the mean?",
                    "images/2.jpg",
                    HfDatasets.image("tile_64x64.png"),
                    null,
                    "cm",
                    2.0,
                    "1.25",
                    "free_form",
                    "float",
                    RowFactory.create(
                        "math-targeted-vqa",
                        "table",
                        "high school",
                        64L,
                        64L,
                        "english",
                        new String[] {"arithmetic reasoning"},
                        "TabMWP",
                        "testmini",
                        "math word problem"),
                    "Hint: ... Question: What is the mean?")));
    JsonNode metrics =
        evalAndCheck(
            "mathvista",
            input,
            Map.of(
                "1",
                MathVista.prompt(
                    "Which bar is longest?",
                    null,
                    List.of("red", "blue"),
                    "multi_choice",
                    "text",
                    null),
                "2",
                MathVista.prompt("What is the mean?", "cm", null, "free_form", "float", 2.0)));
    assertEquals(meanScore("mathvista"), metrics.get("overall").asDouble(), 1e-12);
    JsonNode scores = metrics.get("scores");
    assertEquals(2, scores.get("average").get("total").asInt());
    assertEquals(2, scores.get("skills").get("arithmetic reasoning").get("total").asInt());
    assertEquals(1, scores.get("source").get("TabMWP").get("total").asInt());
    assertNotNull(metrics.get("extraction_methods"));
  }

  @Test
  void aMissingColumnIsNamedWithTheColumnsFoundBeforeAnyInference() {
    StructType schema =
        new StructType()
            .add("questionId", DataTypes.StringType)
            .add("question", DataTypes.StringType)
            .add("image", IMAGE)
            .add("answers", STRINGS);
    Path input =
        HfDatasets.write(
            spark,
            dir,
            "docvqa-no-types",
            schema,
            List.<Row>of(
                RowFactory.create("1", "Q?", HfDatasets.image("page_5.png"), new String[] {"a"})));
    Path output = dir.resolve("no-types-out");
    JobRun outcome = eval("docvqa", input, output);
    assertEquals(2, outcome.status(), outcome.out());
    assertTrue(outcome.err().startsWith("eval: --input " + input), outcome.err());
    assertTrue(
        outcome.err().contains("no column 'question_types' (the question types"), outcome.err());
    assertTrue(
        outcome.err().contains("Columns found: questionId string, question string,"),
        outcome.err());
    assertFalse(Files.exists(output.resolve("answers")), "no inference ran");

    JobRun wrongType = eval("mmmu", input, dir.resolve("mmmu-on-docvqa"), "--limit", "1");
    assertEquals(2, wrongType.status());
    assertTrue(wrongType.err().contains("no column 'options'"), wrongType.err());
    assertTrue(wrongType.err().contains("no column 'id'"), wrongType.err());
  }

  @Test
  void valuesTheScorerCannotTakeAreRefusedBeforeAnyInference() {
    StructType mmmu =
        new StructType()
            .add("id", DataTypes.StringType)
            .add("question", DataTypes.StringType)
            .add("options", DataTypes.StringType)
            .add("question_type", DataTypes.StringType)
            .add("answer", DataTypes.StringType)
            .add("image_1", IMAGE);
    Path badOptions =
        HfDatasets.write(
            spark,
            dir,
            "mmmu-bad-options",
            mmmu,
            List.<Row>of(
                RowFactory.create(
                    "validation_Art_1",
                    "Q?",
                    "A, B",
                    "multiple-choice",
                    "A",
                    HfDatasets.image("page_5.png"))));
    JobRun options = eval("mmmu", badOptions, dir.resolve("bad-options-out"));
    assertEquals(2, options.status());
    assertTrue(
        options.err().contains("the options of question validation_Art_1 are not a Python list"),
        options.err());
    assertFalse(Files.exists(dir.resolve("bad-options-out").resolve("answers")));

    Path badId =
        HfDatasets.write(
            spark,
            dir,
            "mmmu-bad-id",
            mmmu,
            List.<Row>of(
                RowFactory.create("q1", "Q?", "[]", "open", "1", HfDatasets.image("page_5.png"))));
    JobRun id = eval("mmmu", badId, dir.resolve("bad-id-out"));
    assertEquals(2, id.status());
    assertTrue(id.err().contains("MMMU question id 'q1' does not name a category"), id.err());

    StructType mmstar =
        new StructType()
            .add("index", DataTypes.LongType)
            .add("question", DataTypes.StringType)
            .add("image", IMAGE)
            .add("answer", DataTypes.StringType)
            .add("category", DataTypes.StringType)
            .add("l2_category", DataTypes.StringType);
    Path badCategory =
        HfDatasets.write(
            spark,
            dir,
            "mmstar-bad-category",
            mmstar,
            List.<Row>of(
                RowFactory.create(
                    1L, "Q?", HfDatasets.image("page_5.png"), "A", "math", "cooking")));
    JobRun category = eval("mmstar", badCategory, dir.resolve("bad-category-out"));
    assertEquals(2, category.status());
    assertTrue(
        category.err().contains("category 'math' with l2_category 'cooking' is not one of"),
        category.err());
    assertFalse(Files.exists(dir.resolve("bad-category-out").resolve("answers")));
  }

  @Test
  void anUnknownBenchmarkIsRefusedListingTheKnownOnes() {
    JobRun outcome = eval("ocrbench-v9", dir.resolve("none"), dir.resolve("none-out"));
    assertEquals(2, outcome.status());
    assertEquals(
        "eval: setting benchmark is 'ocrbench-v9' (option --benchmark), expected one of"
            + " docvqa|infographicvqa|textvqa|vqav2|mmmu|mmstar|mathvista|chartqa|ai2d|ocrbench|scienceqa_img\n",
        outcome.err());
    JobRun score = JobCommandLine.score("gqa", Path.of("p"), dir.resolve("o")).run();
    assertEquals(2, score.status());
    assertTrue(score.err().contains("expected one of docvqa|"), score.err());
  }
}
