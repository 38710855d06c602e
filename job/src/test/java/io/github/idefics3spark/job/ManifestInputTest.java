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

class ManifestInputTest {
  private static SparkSession spark;
  @TempDir static Path dir;
  private static String base;

  @BeforeAll
  static void start() throws IOException {
    spark = SparkTestSession.start("ManifestInputTest");
    Files.createDirectories(dir.resolve("scans"));
    Files.copy(SparkTestSession.IMAGES.resolve("page_5.png"), dir.resolve("scans/page_5.png"));
    Files.copy(SparkTestSession.IMAGES.resolve("page_10.png"), dir.resolve("scans/page_10.png"));
    base = "file:" + dir.toAbsolutePath();
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static JobConfig config(Task task, Path input, String... more) {
    List<String> args =
        new ArrayList<>(List.of("--input", input.toString(), "--output", "o", "--model", "m"));
    args.addAll(Arrays.asList(more));
    return JobConfig.parse(task, args.toArray(String[]::new));
  }

  private static Map<String, Row> read(JobConfig config) {
    JobInput.Read read = JobInput.read(spark, config);
    assertEquals(InputFormat.MANIFEST, read.format());
    Map<String, Row> rows = new TreeMap<>();
    for (Row row : read.rows().collectAsList()) {
      rows.put(row.getAs("id"), row);
    }
    return rows;
  }

  private static List<String> paths(Row row) {
    List<String> paths = new ArrayList<>();
    for (Object image : row.getList(row.fieldIndex("images"))) {
      paths.add(((Row) image).getString(1));
    }
    return paths;
  }

  @Test
  void jsonLinesWithRelativeAbsoluteAndUriPathsAndSeveralImages() throws IOException {
    String absolute = dir.resolve("scans/page_10.png").toAbsolutePath().toString();
    Path manifest = dir.resolve("manifest.jsonl");
    Files.writeString(
        manifest,
        String.join(
            "\n",
            "{\"id\": \"one\", \"image\": \"scans/page_5.png\", \"question\": \"Total?\","
                + " \"answer\": \"42\", \"source\": \"batch-1\"}",
            "{\"id\": \"two\", \"image\": \"" + absolute + "\", \"question\": \"Date?\"}",
            "{\"id\": \"three\", \"image\": \"./scans/page_5.png\", \"image_2\":"
                + " \"file:"
                + absolute
                + "\", \"question\": \"Same?\"}",
            "{\"id\": \"four\", \"image\": null, \"question\": \"No image?\"}"));
    Map<String, Row> rows = read(config(Task.VQA, manifest, "--prompt-template", "Q: {question}"));
    assertEquals(List.of("four", "one", "three", "two"), List.copyOf(rows.keySet()));
    assertEquals(List.of(base + "/scans/page_5.png"), paths(rows.get("one")));
    assertEquals(List.of(absolute), paths(rows.get("two")));
    assertEquals(List.of(base + "/scans/page_5.png", "file:" + absolute), paths(rows.get("three")));
    assertEquals(List.of(), paths(rows.get("four")));
    Row one = rows.get("one");
    assertEquals("Q: Total?", one.getAs("question"));
    // pass-through: the reference answer is renamed, other columns keep their names
    assertEquals(
        List.of(
            "id",
            "images",
            "question",
            "assistant_prefix",
            "task",
            "input_error",
            "input_answer",
            "source"),
        Arrays.asList(one.schema().fieldNames()));
    assertEquals("42", one.getAs("input_answer"));
    assertEquals("batch-1", one.getAs("source"));
    assertTrue(one.isNullAt(one.fieldIndex("input_error")));
  }

  @Test
  void jsonLinesMixingAPathAndAListOfPathsInOneColumnReadsBoth() throws IOException {
    // Spark infers string for the mixed column: the list arrives as its JSON text
    Path manifest = dir.resolve("mixed.jsonl");
    Files.writeString(
        manifest,
        String.join(
            "\n",
            "{\"id\": \"one\", \"image\": \"scans/page_5.png\", \"question\": \"A?\"}",
            "{\"id\": \"two\", \"image\": [\"scans/page_5.png\", \"scans/page_10.png\"],"
                + " \"question\": \"B?\"}",
            "{\"id\": \"bad\", \"image\": \"[scans/page_5.png]\", \"question\": \"C?\"}"));
    Map<String, Row> rows = read(config(Task.VQA, manifest));
    assertEquals(List.of(base + "/scans/page_5.png"), paths(rows.get("one")));
    assertEquals(
        List.of(base + "/scans/page_5.png", base + "/scans/page_10.png"), paths(rows.get("two")));
    // bracketed but no JSON: one path as written, which fails to read in that row alone
    assertEquals(List.of(base + "/[scans/page_5.png]"), paths(rows.get("bad")));
  }

  @Test
  void csvWithQuotedTextAndAPromptColumn() throws IOException {
    Path manifest = dir.resolve("manifest.csv");
    Files.writeString(
        manifest,
        "id,image_path,prompt,group\n"
            + "r1,scans/page_5.png,\"Read the title, then the date.\",a\n"
            + "r2,scans/page_10.png,\"Quote \"\"this\"\"\",b\n");
    Map<String, Row> rows = read(config(Task.VQA, manifest, "--prompt-template", "{question}"));
    assertEquals("Read the title, then the date.", rows.get("r1").getAs("question"));
    assertEquals("Quote \"this\"", rows.get("r2").getAs("question"));
    assertEquals(List.of(base + "/scans/page_10.png"), paths(rows.get("r2")));
    assertEquals("b", rows.get("r2").getAs("group"));
  }

  @Test
  void parquetWithImageBytesAndArraysOfPaths() throws IOException {
    byte[] png = Files.readAllBytes(dir.resolve("scans/page_5.png"));
    StructType schema =
        new StructType()
            .add("key", DataTypes.LongType)
            .add("image_bytes", DataTypes.BinaryType)
            .add("pages", DataTypes.createArrayType(DataTypes.StringType))
            .add("text", DataTypes.StringType);
    List<Row> data =
        List.of(
            RowFactory.create(
                7L, png, List.of("scans/page_10.png", "scans/page_5.png").toArray(), "Compare"),
            RowFactory.create(8L, null, null, "Nothing"));
    Path manifest = HfDatasets.write(spark, dir, "manifest-parquet", schema, data);
    Map<String, Row> rows =
        read(
            config(
                Task.VQA,
                manifest,
                "--id-column",
                "key",
                "--image-columns",
                "image_bytes,pages",
                "--question-column",
                "text",
                "--prompt-template",
                "{question}"));
    Row seven = rows.get("7");
    List<Row> images = seven.getList(seven.fieldIndex("images"));
    assertEquals(3, images.size());
    assertArrayEquals(png, (byte[]) images.get(0).get(0));
    assertTrue(images.get(0).isNullAt(1));
    assertEquals(base + "/manifest-parquet/scans/page_10.png", images.get(1).getString(1));
    assertEquals(List.of(), rows.get("8").getList(rows.get("8").fieldIndex("images")));
    assertEquals("Compare", seven.getAs("question"));
  }

  @Test
  void limitAndPartitions() throws IOException {
    Path manifest = dir.resolve("many.jsonl");
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < 20; i++) {
      lines.append("{\"id\": \"r").append(i).append("\", \"image\": \"scans/page_5.png\"}\n");
    }
    Files.writeString(manifest, lines);
    JobInput.Read read =
        JobInput.read(spark, config(Task.CAPTION, manifest, "--limit", "5", "--partitions", "3"));
    assertEquals(5, read.rows().count());
    assertEquals(3, read.rows().rdd().getNumPartitions());
  }

  @Test
  void missingColumnsAreNamedWithTheColumnsFound() throws IOException {
    Path manifest = dir.resolve("odd.jsonl");
    Files.writeString(manifest, "{\"name\": \"a\", \"picture\": \"scans/page_5.png\"}\n");
    JobInputException e =
        assertThrows(
            JobInputException.class, () -> JobInput.read(spark, config(Task.CAPTION, manifest)));
    assertEquals(
        "--input "
            + manifest
            + " (manifest) has no column 'id' (--id-column); columns found: name string, picture"
            + " string",
        e.getMessage());
    e =
        assertThrows(
            JobInputException.class,
            () -> JobInput.read(spark, config(Task.CAPTION, manifest, "--id-column", "name")));
    assertTrue(e.getMessage().contains("has no image column (looked for image, images"));
    assertTrue(e.getMessage().endsWith("Set --image-columns"), e.getMessage());
    e =
        assertThrows(
            JobInputException.class,
            () ->
                JobInput.read(
                    spark,
                    config(
                        Task.VQA, manifest, "--id-column", "name", "--image-columns", "picture")));
    assertTrue(e.getMessage().contains("has no question column (looked for question, prompt)"));
  }

  @Test
  void aLineThatDoesNotParseIsARowNamedByItsFileAndLine() throws IOException {
    Path folder = Files.createDirectories(dir.resolve("parts"));
    Files.writeString(
        folder.resolve("a.jsonl"),
        "\uFEFF{\"id\": \"a1\", \"image\": \"x.png\"}\n"
            + "{\"id\": \"a2\", \"image\": \n"
            + "\n"
            + "{\"id\": \"a4\", \"image\": \"x.png\"}\n");
    Files.writeString(
        folder.resolve("b.jsonl"),
        "{\"id\": \"b1\", \"image\": \"x.png\"}\n\"b2\"\n{\"id\": \"b3\", \"image\": \"y.png\"}\n");
    Map<String, Row> rows = read(config(Task.CAPTION, folder));
    assertEquals(
        List.of("a.jsonl:2", "a1", "a4", "b.jsonl:2", "b1", "b3"), List.copyOf(rows.keySet()));
    assertTrue(rows.get("a1").isNullAt(rows.get("a1").fieldIndex("input_error")));
    String bad = rows.get("a.jsonl:2").getAs("input_error");
    assertTrue(bad.startsWith("line 2 of a.jsonl is not JSON ("), bad);
    assertEquals(
        "line 2 of b.jsonl is not a JSON object but string; a JSON Lines manifest holds one object"
            + " per line",
        rows.get("b.jsonl:2").getAs("input_error"));
    assertEquals(List.of(), paths(rows.get("b.jsonl:2")));
  }

  @Test
  void repeatedAndNullIdsAreRefused() throws IOException {
    Path manifest = dir.resolve("dupes.jsonl");
    Files.writeString(
        manifest,
        "{\"id\": \"a\", \"image\": \"x.png\"}\n"
            + "{\"id\": \"a\", \"image\": \"y.png\"}\n"
            + "{\"id\": null, \"image\": \"z.png\"}\n");
    JobInputException e =
        assertThrows(
            JobInputException.class, () -> JobInput.read(spark, config(Task.CAPTION, manifest)));
    assertTrue(e.getMessage().contains("ids must be unique and not null"), e.getMessage());
    assertTrue(e.getMessage().contains("'a' appears 2 times"), e.getMessage());
    assertTrue(e.getMessage().contains("1 rows have no id"), e.getMessage());
  }
}
