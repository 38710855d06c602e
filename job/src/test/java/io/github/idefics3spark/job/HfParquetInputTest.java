package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parquet files in the Hugging Face layouts of shared/spec/benchmarks.md, written by the test. */
class HfParquetInputTest {
  private static final StructType IMAGE = RequestRows.IMAGE;
  private static final org.apache.spark.sql.types.ArrayType STRINGS = HfDatasets.STRINGS;

  private static SparkSession spark;
  @TempDir static Path dir;
  private static byte[] page;
  private static byte[] chart;

  @BeforeAll
  static void start() throws IOException {
    spark = SparkTestSession.start("HfParquetInputTest");
    page = Files.readAllBytes(SparkTestSession.IMAGES.resolve("page_5.png"));
    chart = Files.readAllBytes(SparkTestSession.IMAGES.resolve("ai2d_00000443.png"));
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Row image(byte[] bytes, String path) {
    return RowFactory.create(bytes, path);
  }

  private static Map<String, Row> read(Path input, Task task, String... more) {
    List<String> args =
        new ArrayList<>(List.of("--input", input.toString(), "--output", "o", "--model", "m"));
    args.addAll(Arrays.asList(more));
    JobInput.Read read = JobInput.read(spark, JobConfig.parse(task, args.toArray(String[]::new)));
    assertEquals(InputFormat.HF_PARQUET, read.format());
    Map<String, Row> rows = new TreeMap<>();
    for (Row row : read.rows().collectAsList()) {
      rows.put(row.getAs("id"), row);
    }
    return rows;
  }

  private static List<byte[]> bytes(Row row) {
    List<byte[]> bytes = new ArrayList<>();
    for (Object image : row.getList(row.fieldIndex("images"))) {
      bytes.add((byte[]) ((Row) image).get(0));
    }
    return bytes;
  }

  private static List<String> columns(Row row) {
    return Arrays.asList(row.schema().fieldNames());
  }

  @Test
  void docVqa() {
    Path file =
        HfDatasets.write(
            spark,
            dir,
            "docvqa",
            HfDatasets.DOCVQA,
            List.of(
                RowFactory.create(
                    "49153",
                    "What is the ‘actual’ value per 1000, during the year 1975?",
                    new String[] {"figure/diagram"},
                    image(page, null),
                    14465,
                    "pybv0228",
                    "81",
                    new String[] {"0.28"},
                    "val"),
                RowFactory.create(
                    "24580",
                    "What is the date?",
                    new String[] {"form"},
                    image(chart, "ai2d.png"),
                    1,
                    "x",
                    "1",
                    new String[] {"1/8/93", "January 8, 1993"},
                    "val")));
    Map<String, Row> rows = read(file, Task.VQA);
    Row row = rows.get("49153");
    assertEquals(
        "What is the ‘actual’ value per 1000, during the year 1975?\n"
            + "Answer the question using a single word or phrase.",
        row.getAs("question"));
    assertArrayEquals(page, bytes(row).get(0));
    assertEquals(
        List.of(
            "id",
            "images",
            "question",
            "assistant_prefix",
            "task",
            "question_types",
            "docId",
            "ucsf_document_id",
            "ucsf_document_page_no",
            "answers",
            "data_split"),
        columns(row));
    assertEquals(List.of("1/8/93", "January 8, 1993"), rows.get("24580").getList(9));
    // an image with bytes keeps its file name as HF wrote it
    Row second = (Row) rows.get("24580").getList(1).get(0);
    assertEquals("ai2d.png", second.getString(1));
  }

  @Test
  void mmmuTakesEveryPresentImageInOrder() {
    StructType schema = HfDatasets.MMMU;
    Path file =
        HfDatasets.write(
            spark,
            dir,
            "mmmu",
            schema,
            List.of(
                RowFactory.create(
                    "validation_Art_1",
                    "<image 1> and <image 2>: which is older?",
                    "['A', 'B']",
                    "",
                    image(page, null),
                    image(chart, null),
                    null,
                    null,
                    null,
                    null,
                    null,
                    "['Paintings']",
                    "A",
                    "Easy",
                    "multiple-choice",
                    "Art History")));
    Row row = read(file, Task.VQA, "--prompt-template", "{question}").get("validation_Art_1");
    assertEquals(2, bytes(row).size());
    assertArrayEquals(page, bytes(row).get(0));
    assertArrayEquals(chart, bytes(row).get(1));
    assertEquals("<image 1> and <image 2>: which is older?", row.getAs("question"));
    assertEquals("A", row.getAs("input_answer"));
    assertEquals("['A', 'B']", row.getAs("options"));
  }

  @Test
  void mathVistaReadsTheDecodedImageAndTheQuery() {
    Path file =
        HfDatasets.write(
            spark,
            dir,
            "mathvista",
            HfDatasets.MATHVISTA,
            List.of(
                RowFactory.create(
                    "1",
                    "What is x?",
                    "images/1.jpg",
                    image(chart, null),
                    null,
                    null,
                    null,
                    "5",
                    "free_form",
                    "integer",
                    RowFactory.create(
                        "math-targeted-vqa",
                        "function plot",
                        "college",
                        200L,
                        300L,
                        "english",
                        new String[] {"algebraic reasoning"},
                        "FunctionQA",
                        "testmini",
                        "textbook question answering"),
                    "Hint: answer with an integer.\nQuestion: What is x?")));
    Row row = read(file, Task.VQA, "--prompt-template", "{question}").get("1");
    assertEquals("Hint: answer with an integer.\nQuestion: What is x?", row.getAs("question"));
    assertArrayEquals(chart, bytes(row).get(0));
    assertEquals("What is x?", row.getAs("input_question"));
    assertEquals("images/1.jpg", row.getAs("image"));
    assertEquals("5", row.getAs("input_answer"));
    assertEquals("FunctionQA", ((Row) row.getAs("metadata")).getAs("source"));
  }

  @Test
  void mmStarAndTextVqaIdsAreTheirOwn() {
    Path mmstar =
        HfDatasets.write(
            spark,
            dir,
            "mmstar",
            new StructType()
                .add("index", DataTypes.LongType)
                .add("question", DataTypes.StringType)
                .add("image", IMAGE)
                .add("answer", DataTypes.StringType)
                .add("category", DataTypes.StringType)
                .add("l2_category", DataTypes.StringType),
            List.of(
                RowFactory.create(
                    0L, "Which? A: x B: y", image(page, null), "A", "coarse", "style")));
    Row row = read(mmstar, Task.VQA).get("0");
    assertEquals("style", row.getAs("l2_category"));

    Path textvqa =
        HfDatasets.write(
            spark,
            dir,
            "textvqa",
            new StructType()
                .add("image_id", DataTypes.StringType)
                .add("question_id", DataTypes.IntegerType)
                .add("question", DataTypes.StringType)
                .add("image", IMAGE)
                .add("answers", STRINGS),
            List.of(
                RowFactory.create(
                    "003a8ae2ef43b901",
                    34602,
                    "what is the brand?",
                    image(chart, null),
                    new String[] {"nokia", "nokia"})));
    assertEquals("003a8ae2ef43b901", read(textvqa, Task.VQA).get("34602").getAs("image_id"));
  }

  @Test
  void aParquetFileWithoutImageStructsIsAManifestAndMissingColumnsAreNamed() {
    StructType schema =
        new StructType().add("id", DataTypes.StringType).add("image", DataTypes.StringType);
    Path plain =
        HfDatasets.write(spark, dir, "plain", schema, List.of(RowFactory.create("a", "x.png")));
    JobInput.Read read =
        JobInput.read(
            spark,
            JobConfig.parse(
                Task.CAPTION,
                new String[] {"--input", plain.toString(), "--output", "o", "--model", "m"}));
    assertEquals(InputFormat.MANIFEST, read.format());

    StructType docvqa =
        new StructType()
            .add("questionId", DataTypes.StringType)
            .add("docId", DataTypes.IntegerType)
            .add("image", IMAGE);
    Path noQuestion =
        HfDatasets.write(
            spark,
            dir,
            "no-question",
            docvqa,
            List.of(RowFactory.create("1", 2, image(page, null))));
    JobInputException e = assertThrows(JobInputException.class, () -> read(noQuestion, Task.VQA));
    assertTrue(
        e.getMessage().contains("(DocVQA layout) has no question column (looked for question)"),
        e.getMessage());
    e =
        assertThrows(
            JobInputException.class, () -> read(noQuestion, Task.CAPTION, "--id-column", "docid"));
    assertEquals(
        "--input "
            + noQuestion
            + " (DocVQA layout) has no column 'docid' (--id-column); columns found: questionId"
            + " string, docId int, image struct<bytes:binary,path:string>",
        e.getMessage());
  }
}
