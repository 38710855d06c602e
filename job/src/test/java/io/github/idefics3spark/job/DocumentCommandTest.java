package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import io.github.idefics3spark.image.DocumentPages;
import io.github.idefics3spark.image.RgbImage;
import io.github.idefics3spark.spark.InferenceSchema;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.apache.pdfbox.io.RandomAccessReadBuffer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code document} command: its settings, the default --max-new-tokens fitted to the model's
 * context, a real run on page images with the tiny random checkpoint (which writes no DocTags, so
 * every page it answers carries warnings), and {@code --assemble} on multi-page documents.
 */
class DocumentCommandTest {
  private static final String[] REQUIRED = {"--input", "/in", "--output", "/out", "--model", "/m"};

  @TempDir Path dir;

  private static String[] with(String... more) {
    String[] args = Arrays.copyOf(REQUIRED, REQUIRED.length + more.length);
    System.arraycopy(more, 0, args, REQUIRED.length, more.length);
    return args;
  }

  @Test
  void documentDefaultsAreDoclings() {
    JobConfig config = JobConfig.parse(Task.DOCUMENT, REQUIRED);
    assertEquals("Convert this page to docling.", config.promptTemplate());
    ModelSettings model = config.modelSettings();
    assertEquals(8192, model.maxNewTokens());
    assertTrue(model.keepSpecialTokens());
    assertEquals(List.of("</doctag>", "<end_of_utterance>", "<|end_of_text|>"), model.stopTokens());
    assertEquals(DocumentSettings.DEFAULTS, config.document());
    assertNull(JobConfig.parse(Task.CAPTION, REQUIRED).document());
    assertFalse(JobConfig.parse(Task.CAPTION, REQUIRED).modelSettings().keepSpecialTokens());

    DocumentSettings all =
        JobConfig.parse(
                Task.DOCUMENT,
                with(
                    "--formats",
                    "markdown, html,json",
                    "--keep-headers-footers",
                    "--crop-pictures",
                    "--assemble",
                    "--max-new-tokens",
                    "100"))
            .document();
    assertEquals(
        new DocumentSettings(true, true, true, "/out-pictures", "/out-documents", true), all);
    DocumentSettings placed =
        JobConfig.parse(
                Task.DOCUMENT,
                with(
                    "--crop-pictures",
                    "--pictures-output",
                    "/p",
                    "--assemble",
                    "--assemble-output",
                    "/d"))
            .document();
    assertEquals("/p", placed.picturesOutput());
    assertEquals("/d", placed.assembleOutput());
  }

  @Test
  void wrongDocumentSettingsAreRefusedNamingThem() {
    Map<String, String[]> cases =
        Map.of(
            "setting formats is 'markdown,pdf' (option --formats), expected formats among"
                + " markdown, html, json",
            with("--formats", "markdown,pdf"),
            "setting assemble-output is '/d' (option --assemble-output), expected no value without"
                + " --assemble",
            with("--assemble-output", "/d"),
            "setting pictures-output is '/p' (option --pictures-output), expected no value without"
                + " --crop-pictures",
            with("--pictures-output", "/p"));
    for (Map.Entry<String, String[]> entry : cases.entrySet()) {
      JobConfigException e =
          assertThrows(
              JobConfigException.class, () -> JobConfig.parse(Task.DOCUMENT, entry.getValue()));
      assertTrue(e.getMessage().startsWith(entry.getKey()), e.getMessage());
    }
    JobConfigException caption =
        assertThrows(
            JobConfigException.class, () -> JobConfig.parse(Task.CAPTION, with("--assemble")));
    assertTrue(caption.getMessage().startsWith("--assemble is not an option of caption"));
  }

  @Test
  void theDefaultMaxNewTokensIsLoweredToWhatTheContextLeavesAndAGivenValueIsKept() {
    String model = SparkTestSession.TINY_CHECKPOINT.toString();
    Configuration hadoop = new Configuration();
    ModelSettings document = JobConfig.parse(Task.DOCUMENT, REQUIRED).modelSettings();
    // tiny-smolvlm: context 8192; a page is up to (256 / 64)^2 + 1 = 17 frames of image_seq_len
    ModelContext.Fitted fitted =
        ModelContext.fitDocumentMaxNewTokens(model, document, false, hadoop);
    assertTrue(fitted.maxNewTokens() < 8192 && fitted.maxNewTokens() > 0, fitted.toString());
    assertNotNull(fitted.note());
    assertTrue(
        fitted.note().startsWith("--max-new-tokens lowered from the default 8192 to "),
        fitted.note());
    assertTrue(fitted.note().contains("17 frames"), fitted.note());
    // without splitting, one frame: more room
    ModelContext.Fitted oneFrame =
        ModelContext.fitDocumentMaxNewTokens(
            model, document.toBuilder().imageSplitting(false).build(), false, hadoop);
    assertTrue(oneFrame.maxNewTokens() > fitted.maxNewTokens(), oneFrame.toString());
    assertTrue(oneFrame.note().contains("1 frames"), oneFrame.note());
    // a value given is the user's: kept (the usual check refuses it if nothing fits)
    assertEquals(
        new ModelContext.Fitted(8192, null),
        ModelContext.fitDocumentMaxNewTokens(model, document, true, hadoop));
    // a default that fits is kept
    assertEquals(
        new ModelContext.Fitted(100, null),
        ModelContext.fitDocumentMaxNewTokens(
            model, document.toBuilder().maxNewTokens(100).build(), false, hadoop));
  }

  @Test
  void documentOnAFolderWritesOnePageRowPerImageWithItsConversions() throws IOException {
    Path images = Files.createDirectories(dir.resolve("pages"));
    for (String name : List.of("landscape_49x31.jpg", "ai2d_00000443.png")) {
      Files.copy(SparkTestSession.IMAGES.resolve(name), images.resolve(name));
    }
    Files.write(images.resolve("empty.png"), new byte[0]);
    Path output = dir.resolve("pages-out");
    JobRun outcome =
        document(images, output, 6)
            .with("--formats", "markdown,html,json", "--crop-pictures")
            .runLocally();
    assertEquals(0, outcome.status(), outcome.err());
    assertTrue(outcome.out().contains("rows: 3 written"), outcome.out());
    assertFalse(outcome.out().contains("lowered"), outcome.out());

    SparkSession spark = SparkTestSession.start("DocumentCommandTest-check");
    try {
      Dataset<Row> pages = spark.read().parquet(output.toString());
      List<String> columns = Arrays.asList(pages.columns());
      for (String column :
          List.of(
              "id",
              "document",
              "page",
              "page_count",
              "answer",
              "doctags",
              "markdown",
              "html",
              "json",
              "warnings",
              "page_width",
              "page_height",
              "pictures")) {
        assertTrue(columns.contains(column), column + " in " + columns);
      }
      assertFalse(columns.contains(PageConversion.PAGE_IMAGE), columns.toString());
      assertEquals(3, pages.count());
      assertEquals(3, pages.select("id").distinct().count());
      for (Row row : pages.collectAsList()) {
        String id = row.getAs("id");
        assertEquals("document", row.getAs("task"));
        assertEquals("Convert this page to docling.", row.getAs("question"));
        assertEquals(id, row.getAs("document"));
        assertEquals(1, (int) row.getAs("page"));
        assertEquals(1, (int) row.getAs("page_count"));
        if (id.equals("empty.png")) {
          assertEquals("EMPTY_IMAGE", row.getAs(InferenceSchema.ERROR_KIND));
          assertTrue(row.isNullAt(row.fieldIndex("doctags")));
          assertTrue(row.isNullAt(row.fieldIndex("warnings")));
          continue;
        }
        assertTrue(
            row.isNullAt(row.fieldIndex("error")), String.valueOf((Object) row.getAs("error")));
        assertEquals((String) row.getAs("answer"), row.getAs("doctags"));
        assertNotNull(row.getAs("markdown"));
        assertNotNull(row.getAs("html"));
        assertTrue(((String) row.getAs("json")).contains("idefics3-spark.doctags/1"));
        // six random tokens of a random model are no DocTags: said, never thrown
        assertFalse(row.getList(row.fieldIndex("warnings")).isEmpty(), id);
        int width = id.equals("landscape_49x31.jpg") ? 49 : 432;
        int height = id.equals("landscape_49x31.jpg") ? 31 : 318;
        assertEquals(width, (int) row.getAs("page_width"));
        assertEquals(height, (int) row.getAs("page_height"));
        assertTrue(row.getList(row.fieldIndex("pictures")).isEmpty());
      }
    } finally {
      spark.stop();
    }
  }

  @Test
  void documentOnAPdfAndATiffConvertsEachPageAtTheSizeTheModelSaw() throws IOException {
    Path input = Files.createDirectories(dir.resolve("pdf-pages"));
    Path documents = ReferenceFixtures.documents();
    for (String name : List.of("three-pages.pdf", "two-frames.tiff")) {
      Files.copy(documents.resolve(name), input.resolve(name));
    }
    Path output = dir.resolve("pdf-out");
    JobRun outcome = document(input, output, 4).with("--dpi", "72").runLocally();
    assertEquals(0, outcome.status(), outcome.err());
    DocumentPages rendering = new DocumentPages(72, 178_956_970L, "dpi", "max-image-pixels");
    SparkSession spark = SparkTestSession.start("DocumentCommandTest-pdf");
    try {
      List<Row> rows = spark.read().parquet(output.toString()).collectAsList();
      assertEquals(5, rows.size());
      for (Row row : rows) {
        String document = row.getAs("document");
        int page = row.getAs("page");
        assertTrue(
            row.isNullAt(row.fieldIndex("error")), String.valueOf((Object) row.getAs("error")));
        byte[] file = Files.readAllBytes(input.resolve(document));
        DocumentPages.Format format = DocumentPages.Format.of(file, file.length);
        RgbImage seen = rendering.render(new RandomAccessReadBuffer(file), format, page);
        assertEquals(seen.width(), (int) row.getAs("page_width"), document + " page " + page);
        assertEquals(seen.height(), (int) row.getAs("page_height"), document + " page " + page);
        for (Object warning : row.getList(row.fieldIndex("warnings"))) {
          assertFalse(String.valueOf(warning).contains("page image"), String.valueOf(warning));
        }
      }
    } finally {
      spark.stop();
    }
  }

  @Test
  void assembleJoinsEachDocumentsPagesInPageOrder() throws IOException {
    Path pagesOutput = dir.resolve("pages.parquet");
    StructType schema =
        new StructType()
            .add("document", DataTypes.StringType)
            .add("page", DataTypes.LongType)
            .add("page_count", DataTypes.LongType)
            .add("doctags", DataTypes.StringType)
            .add("page_width", DataTypes.IntegerType)
            .add("page_height", DataTypes.IntegerType)
            .add("error_kind", DataTypes.StringType);
    List<Row> rows =
        List.of(
            RowFactory.create("report.pdf", 2L, 3L, corpus("ordered_list"), 1000, 800, null),
            RowFactory.create("report.pdf", 3L, 3L, null, null, null, "PROMPT_TOO_LONG"),
            RowFactory.create("report.pdf", 1L, 3L, corpus("title_and_text"), 1000, 800, null),
            RowFactory.create("memo/a b", 1L, 1L, corpus("truncated_mid_list"), null, null, null));
    SparkSession spark = SparkTestSession.start("DocumentCommandTest-assemble");
    try {
      spark.createDataFrame(rows, schema).write().parquet(pagesOutput.toString());
      Path target = dir.resolve("assembled");
      Files.createDirectories(target.resolve("markdown"));
      Files.writeString(target.resolve("markdown/stale.md"), "from an earlier run");
      DocumentSettings settings =
          new DocumentSettings(true, false, false, null, target.toString(), false);
      String line = DocumentAssembly.write(spark, pagesOutput.toString(), settings);
      assertTrue(line.startsWith("assembled 2 documents into "), line);

      Map<String, Row> documents =
          spark.read().parquet(target.resolve("documents").toString()).collectAsList().stream()
              .collect(Collectors.toMap(row -> row.getString(0), row -> row));
      Row report = documents.get("report.pdf");
      String expected = expected("title_and_text") + "\n\n" + expected("ordered_list");
      assertEquals(expected, report.getAs("markdown"));
      assertEquals(3, (int) report.getAs("page_count"));
      assertEquals(2, (int) report.getAs("pages"));
      assertEquals(List.of(3), report.getList(report.fieldIndex("missing_pages")));
      assertEquals(
          List.of("page 3: no DocTags (no row, or an error row); left empty"),
          report.getList(report.fieldIndex("warnings")));
      assertTrue(((String) report.getAs("html")).contains("Annual Report 2024"));
      assertFalse(Arrays.asList(report.schema().fieldNames()).contains("json"));
      assertEquals(expected, Files.readString(target.resolve("markdown/report.pdf.md")));

      Row memo = documents.get("memo/a b");
      assertEquals(expected("truncated_mid_list"), memo.getAs("markdown"));
      assertEquals(List.of(), memo.getList(memo.fieldIndex("missing_pages")));
      assertFalse(memo.getList(memo.fieldIndex("warnings")).isEmpty(), "truncated page");
      assertEquals(
          expected("truncated_mid_list"), Files.readString(target.resolve("markdown/memo_a_b.md")));
      assertFalse(Files.exists(target.resolve("markdown/stale.md")), "the folder is replaced");
    } finally {
      spark.stop();
    }
  }

  @Test
  void documentWithAssembleOnAManifestOfMultiPageDocuments() throws IOException {
    Path input = Files.createDirectories(dir.resolve("manifest"));
    for (String name : List.of("landscape_49x31.jpg", "ai2d_00000443.png", "gray_40x29.png")) {
      Files.copy(SparkTestSession.IMAGES.resolve(name), input.resolve(name));
    }
    Files.writeString(
        input.resolve("pages.jsonl"),
        String.join(
            "\n",
            "{\"id\": \"a-2\", \"image\": \"ai2d_00000443.png\", \"document\": \"a.pdf\","
                + " \"page\": 2, \"page_count\": 2}",
            "{\"id\": \"a-1\", \"image\": \"landscape_49x31.jpg\", \"document\": \"a.pdf\","
                + " \"page\": 1, \"page_count\": 2}",
            "{\"id\": \"b-1\", \"image\": \"gray_40x29.png\", \"document\": \"b.tif\","
                + " \"page\": 1, \"page_count\": 2}"));
    Path output = dir.resolve("out");
    JobRun outcome =
        document(input.resolve("pages.jsonl"), output, 4).with("--assemble").runLocally();
    assertEquals(0, outcome.status(), outcome.err());
    assertTrue(outcome.out().contains("rows: 3 written"), outcome.out());
    assertTrue(outcome.out().contains("document: assembled 2 documents into "), outcome.out());
    Path documents = dir.resolve("out-documents");
    assertTrue(Files.isRegularFile(documents.resolve("markdown/a.pdf.md")));
    assertTrue(Files.isRegularFile(documents.resolve("markdown/b.tif.md")));
    SparkSession spark = SparkTestSession.start("DocumentCommandTest-manifest");
    try {
      Row a =
          spark
              .read()
              .parquet(documents.resolve("documents").toString())
              .where("document = 'a.pdf'")
              .first();
      assertEquals(2, (int) a.getAs("pages"));
      assertEquals(List.of(), a.getList(a.fieldIndex("missing_pages")));
      assertEquals(a.getAs("markdown"), Files.readString(documents.resolve("markdown/a.pdf.md")));
      Row b =
          spark
              .read()
              .parquet(documents.resolve("documents").toString())
              .where("document = 'b.tif'")
              .first();
      assertEquals(List.of(2), b.getList(b.fieldIndex("missing_pages")));
      Dataset<Row> pages = spark.read().parquet(output.toString());
      assertEquals(3, pages.count());
      assertEquals(2L, pages.where("document = 'a.pdf'").count());
    } finally {
      spark.stop();
    }
  }

  /** {@code document} on {@code input} with the tiny checkpoint, cached in the test's folder. */
  private JobCommandLine document(Path input, Path output, int maxNewTokens) {
    return JobCommandLine.withTinyModel(
        "document", input, output, dir.resolve("cache"), maxNewTokens);
  }

  private static String corpus(String name) {
    try (InputStream in =
        DocumentCommandTest.class.getResourceAsStream("/doctags/" + name + ".doctags")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** A corpus page's expected Markdown, without the file's final newline. */
  private static String expected(String name) {
    try (InputStream in =
        DocumentCommandTest.class.getResourceAsStream("/doctags/" + name + ".md")) {
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      return text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
