package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The caption job on a folder of PDFs, TIFFs and an image: one row per page, errors per page. */
class DocumentJobTest {
  @TempDir Path dir;

  @Test
  void captionAnswersEveryPageAndGivesEachBadPageItsErrorRow() throws IOException {
    Path input = Files.createDirectories(dir.resolve("documents"));
    Path documents = ReferenceFixtures.documents();
    for (String name :
        List.of(
            "three-pages.pdf",
            "two-frames.tiff",
            "corrupt-frame.tiff",
            "encrypted.pdf",
            "damaged.pdf",
            "empty.pdf")) {
      Files.copy(documents.resolve(name), input.resolve(name));
    }
    Files.copy(SparkTestSession.IMAGES.resolve("page_5.png"), input.resolve("page_5.png"));
    Path output = dir.resolve("captions");
    JobRun outcome =
        JobCommandLine.withTinyModel("caption", input, output, dir.resolve("cache"), 2)
            .with("--dpi", "72")
            .runLocally();
    assertEquals(0, outcome.status(), outcome.err());
    assertTrue(outcome.out().contains("rows: 11 written"), outcome.out());
    assertTrue(outcome.out().contains("errors: 4 ("), outcome.out());

    SparkSession spark = SparkTestSession.start("DocumentJobTest-check");
    try {
      Dataset<Row> written = spark.read().parquet(output.toString());
      assertEquals(
          List.of("id", "document", "page", "page_count", "task", "question", "image_count"),
          List.of(written.columns()).subList(0, 7));
      List<String> rows = new ArrayList<>();
      for (Row row :
          written
              .select("id", "document", "page", "page_count", "image_count", "error_kind")
              .orderBy("id")
              .collectAsList()) {
        rows.add(row.mkString(" | "));
      }
      assertEquals(
          List.of(
              "corrupt-frame.tiff#page=1 | corrupt-frame.tiff | 1 | 2 | 1 | null",
              "corrupt-frame.tiff#page=2 | corrupt-frame.tiff | 2 | 2 | 1 | CORRUPT_IMAGE",
              "damaged.pdf#page=1 | damaged.pdf | 1 | null | 1 | CORRUPT_IMAGE",
              "empty.pdf#page=1 | empty.pdf | 1 | 0 | 1 | BAD_PAGES",
              "encrypted.pdf#page=1 | encrypted.pdf | 1 | null | 1 | ENCRYPTED_DOCUMENT",
              "page_5.png | page_5.png | 1 | 1 | 1 | null",
              "three-pages.pdf#page=1 | three-pages.pdf | 1 | 3 | 1 | null",
              "three-pages.pdf#page=2 | three-pages.pdf | 2 | 3 | 1 | null",
              "three-pages.pdf#page=3 | three-pages.pdf | 3 | 3 | 1 | null",
              "two-frames.tiff#page=1 | two-frames.tiff | 1 | 2 | 1 | null",
              "two-frames.tiff#page=2 | two-frames.tiff | 2 | 2 | 1 | null"),
          rows);
      for (Row row : written.where("error_kind IS NULL").collectAsList()) {
        assertTrue(row.<String>getAs("answer") != null, row.toString());
        assertTrue(row.<Integer>getAs("prompt_tokens") > 0, row.toString());
      }
      // each error names the document, the page and the reason
      String folder = "file:" + input + "/";
      List<String> expected =
          List.of(
              folder + "corrupt-frame.tiff page 2: frame 2 cannot be decoded: ",
              folder + "damaged.pdf page 1: the PDF cannot be parsed: ",
              folder + "empty.pdf page 1: page 1 asked, but the PDF has no pages",
              folder
                  + "encrypted.pdf page 1: the PDF is encrypted and does not open without its"
                  + " password");
      List<Row> errors =
          written.where("error IS NOT NULL").orderBy("id").select("error").collectAsList();
      assertEquals(expected.size(), errors.size());
      for (int i = 0; i < errors.size(); i++) {
        String error = errors.get(i).getString(0);
        assertTrue(error.startsWith(expected.get(i)), error);
      }
    } finally {
      spark.stop();
    }
  }
}
