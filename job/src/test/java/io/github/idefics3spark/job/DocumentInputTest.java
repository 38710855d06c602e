package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.spark_partition_id;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.ReferenceFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PDFs and TIFFs read as one request per page, from a folder and from a manifest. */
class DocumentInputTest {
  private static SparkSession spark;
  @TempDir static Path folder;

  @BeforeAll
  static void start() throws IOException {
    spark = SparkTestSession.start("DocumentInputTest");
    Path documents = ReferenceFixtures.documents();
    Files.createDirectories(folder.resolve("pdf"));
    Files.copy(documents.resolve("three-pages.pdf"), folder.resolve("pdf/three-pages.pdf"));
    Files.createDirectories(folder.resolve("manifest"));
    Files.copy(documents.resolve("three-pages.pdf"), folder.resolve("manifest/doc.pdf"));
    Files.copy(documents.resolve("two-frames.tiff"), folder.resolve("manifest/scan.TIF"));
    Files.copy(documents.resolve("encrypted.pdf"), folder.resolve("manifest/locked.pdf"));
    Files.copy(SparkTestSession.IMAGES.resolve("page_5.png"), folder.resolve("manifest/p.png"));
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Dataset<Row> read(Path input, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of("--input", input.toString(), "--output", "unused", "--model", "unused"));
    args.addAll(List.of(more));
    return JobInput.read(spark, JobConfig.parse(Task.CAPTION, args.toArray(String[]::new))).rows();
  }

  /** id | document | page | page_count | page_error, sorted by id. */
  private static List<String> pages(Dataset<Row> rows) {
    List<String> lines = new ArrayList<>();
    for (Row row :
        rows.select("id", "document", "page", "page_count", "page_error")
            .orderBy("id")
            .collectAsList()) {
      lines.add(
          row.get(0)
              + " | "
              + row.get(1)
              + " | "
              + row.get(2)
              + " | "
              + row.get(3)
              + " | "
              + row.get(4));
    }
    return lines;
  }

  @Test
  void aPdfsPagesAreSplitBeforeTheShuffleAndSpreadOverPartitions() {
    Dataset<Row> rows = read(folder.resolve("pdf"));
    assertEquals(
        List.of(
            "three-pages.pdf#page=1 | three-pages.pdf | 1 | 3 | null",
            "three-pages.pdf#page=2 | three-pages.pdf | 2 | 3 | null",
            "three-pages.pdf#page=3 | three-pages.pdf | 3 | 3 | null"),
        pages(rows));
    // one file was listed, one task counted its pages; after the split the three page requests
    // lie in both of local[2]'s partitions
    assertEquals(2, rows.rdd().getNumPartitions());
    assertEquals(2, rows.select(spark_partition_id()).distinct().count());
    List<String> columns = List.of(rows.columns());
    assertEquals(List.of("id", "document", "page", "page_count"), columns.subList(0, 4));
    assertEquals("page_error", columns.get(columns.size() - 1));
  }

  @Test
  void aManifestsPagesColumnSelectsPagesAndEachBadValueIsItsOwnErrorRow() throws IOException {
    Files.writeString(
        folder.resolve("manifest/requests.csv"),
        String.join(
            "\n",
            "id,image,pages",
            "first-two,doc.pdf,1-2",
            "last-and-past,doc.pdf,\"3,5-6\"",
            "backwards,doc.pdf,3-1",
            "words,doc.pdf,all",
            "all-frames,scan.TIF,",
            "locked,locked.pdf,2",
            "picture,p.png,",
            "picture-pages,p.png,2",
            ""));
    Dataset<Row> rows = read(folder.resolve("manifest/requests.csv"));
    assertEquals(
        List.of(
            "all-frames#page=1 | all-frames | 1 | 2 | null",
            "all-frames#page=2 | all-frames | 2 | 2 | null",
            "backwards | backwards | null | null | pages '3-1': the range '3-1' runs backwards;"
                + " write it as 1-3",
            "first-two#page=1 | first-two | 1 | 3 | null",
            "first-two#page=2 | first-two | 2 | 3 | null",
            "last-and-past#page=3 | last-and-past | 3 | 3 | null",
            "last-and-past#page=5 | last-and-past | 5 | 3 | pages '3,5-6' asks for page 5 and on,"
                + " but the document has 3 pages; correct the row's pages",
            "locked#page=2 | locked | 2 | null | null",
            "picture | picture | 1 | 1 | null",
            "picture-pages | picture-pages | 1 | 1 | pages '2' given, but the row's image is not a"
                + " PDF or TIFF (.pdf, .tif, .tiff)",
            "words | words | null | null | pages 'all': 'all' is not a page or a range such as 1-3"
                + " (pages are whole numbers from 1)"),
        pages(rows));
    assertTrue(!List.of(rows.columns()).contains("pages"), "the pages column is consumed");
  }

  @Test
  void anInputColumnNamedLikeAPageColumnIsRefused() throws IOException {
    Files.writeString(
        folder.resolve("manifest/clash.jsonl"),
        "{\"id\": \"a\", \"image\": \"doc.pdf\", \"page\": 4}\n");
    JobInputException e =
        assertThrows(JobInputException.class, () -> read(folder.resolve("manifest/clash.jsonl")));
    assertTrue(e.getMessage().contains("has a column 'page'"), e.getMessage());
    Files.delete(folder.resolve("manifest/clash.jsonl"));
  }

  @Test
  void aFolderWithoutDocumentsKeepsItsColumns() throws IOException {
    Path images = Files.createDirectories(folder.resolve("images"));
    Files.copy(SparkTestSession.IMAGES.resolve("page_5.png"), images.resolve("p.png"));
    assertEquals(
        List.of("id", "images", "question", "assistant_prefix", "task"),
        List.of(read(images).columns()));
  }

  @Test
  void dpiIsAWholeNumberFromOne() {
    JobConfigException e =
        assertThrows(
            JobConfigException.class,
            () ->
                JobConfig.parse(
                    Task.CAPTION,
                    new String[] {"--input", "x", "--output", "y", "--model", "m", "--dpi", "0"}));
    assertTrue(e.getMessage().startsWith("setting dpi is '0'"), e.getMessage());
    JobConfig config =
        JobConfig.parse(
            Task.CAPTION,
            new String[] {"--input", "x", "--output", "y", "--model", "m", "--dpi", "72"});
    assertEquals(72, config.inferenceSettings().pageDpi());
    assertEquals(
        144,
        JobConfig.parse(
                Task.CAPTION, new String[] {"--input", "x", "--output", "y", "--model", "m"})
            .inferenceSettings()
            .pageDpi());
  }
}
