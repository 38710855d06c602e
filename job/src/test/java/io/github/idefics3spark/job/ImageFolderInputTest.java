package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderInputTest {
  private static SparkSession spark;
  @TempDir static Path folder;

  @BeforeAll
  static void start() throws IOException {
    spark = SparkTestSession.start("ImageFolderInputTest");
    copy("landscape_49x31.jpg", "a.jpg");
    copy("page_5.png", "with space.png");
    copy("portrait_35x49.jpg", "UPPER.JPG");
    copy("palette_33x45.gif", "sub/b.gif");
    copy("tile_56x56.png", "sub/deeper/c.png");
    Files.writeString(folder.resolve("notes.txt"), "not an image");
    Files.writeString(folder.resolve("sub/readme.md"), "not an image");
    Files.write(folder.resolve("sub/empty.png"), new byte[0]);
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static void copy(String fixture, String target) throws IOException {
    Path to = folder.resolve(target);
    Files.createDirectories(to.getParent());
    Files.copy(SparkTestSession.IMAGES.resolve(fixture), to);
  }

  private static JobConfig config(Task task, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of("--input", folder.toString(), "--output", "unused", "--model", "unused"));
    args.addAll(Arrays.asList(more));
    return JobConfig.parse(task, args.toArray(String[]::new));
  }

  /** id -> the row. */
  private static Map<String, Row> read(JobConfig config) {
    JobInput.Read read = JobInput.read(spark, config);
    assertEquals(InputFormat.FOLDER, read.format());
    Map<String, Row> rows = new TreeMap<>();
    for (Row row : read.rows().collectAsList()) {
      rows.put(row.getAs("id"), row);
    }
    return rows;
  }

  @Test
  void everyImageUnderTheFolderIsOneRowWithItsRelativePathAsId() throws IOException {
    Map<String, Row> rows = read(config(Task.CAPTION));
    assertEquals(
        List.of(
            "UPPER.JPG",
            "a.jpg",
            "sub/b.gif",
            "sub/deeper/c.png",
            "sub/empty.png",
            "with space.png"),
        List.copyOf(rows.keySet()));
    Row row = rows.get("sub/deeper/c.png");
    assertEquals(
        List.of("id", "images", "question", "assistant_prefix", "task"),
        Arrays.asList(row.schema().fieldNames()));
    assertEquals("Describe this image.", row.getAs("question"));
    assertEquals("caption", row.getAs("task"));
    assertTrue(row.isNullAt(row.fieldIndex("assistant_prefix")));
    // bytes are left to the inference stage: the path reads the very file through Hadoop
    for (Map.Entry<String, Row> entry : rows.entrySet()) {
      List<Row> images = entry.getValue().getList(1);
      assertEquals(1, images.size());
      assertTrue(images.get(0).isNullAt(0));
      String path = images.get(0).getString(1);
      org.apache.hadoop.fs.Path hadoopPath = new org.apache.hadoop.fs.Path(path);
      FileSystem fs = hadoopPath.getFileSystem(spark.sparkContext().hadoopConfiguration());
      try (InputStream in = fs.open(hadoopPath)) {
        assertArrayEquals(Files.readAllBytes(folder.resolve(entry.getKey())), in.readAllBytes());
      }
    }
  }

  @Test
  void recursiveFalseReadsTheTopFolderOnly() {
    assertEquals(
        List.of("UPPER.JPG", "a.jpg", "with space.png"),
        List.copyOf(read(config(Task.CAPTION, "--recursive=false")).keySet()));
  }

  @Test
  void aGlobFiltersFileNamesAtEveryDepth() {
    assertEquals(
        List.of("sub/deeper/c.png", "sub/empty.png", "with space.png"),
        List.copyOf(read(config(Task.CAPTION, "--glob", "*.png")).keySet()));
    assertEquals(
        List.of("notes.txt", "sub/readme.md"),
        List.copyOf(read(config(Task.CAPTION, "--glob", "*.{txt,md}")).keySet()));
  }

  @Test
  void theTemplateAndPrefixGoToEveryRow() {
    Map<String, Row> rows =
        read(
            config(
                Task.VQA,
                "--prompt-template",
                "What colour dominates?",
                "--assistant-prefix",
                "The colour is"));
    Row row = rows.get("a.jpg");
    assertEquals("What colour dominates?", row.getAs("question"));
    assertEquals("The colour is", row.getAs("assistant_prefix"));
    assertEquals("vqa", row.getAs("task"));
  }

  @Test
  void aTemplateWithAQuestionIsRefusedForAFolder() {
    JobInputException e =
        assertThrows(JobInputException.class, () -> JobInput.read(spark, config(Task.VQA)));
    assertTrue(e.getMessage().contains("has no question column"), e.getMessage());
    assertTrue(e.getMessage().contains("--prompt-template without {question}"), e.getMessage());
  }

  @Test
  void aMissingFolderAndAFolderWithoutImagesAreRefused() throws IOException {
    JobConfig missing =
        JobConfig.parse(
            Task.CAPTION,
            new String[] {
              "--input", folder.resolve("nope").toString(), "--output", "o", "--model", "m"
            });
    JobInputException e =
        assertThrows(JobInputException.class, () -> JobInput.read(spark, missing));
    assertTrue(
        e.getMessage()
            .endsWith(
                "nope: no such file or folder (check the path; for s3a:,"
                    + " the bucket, endpoint and credentials)"),
        e.getMessage());

    Path empty = Files.createDirectories(folder.resolve("sub/empty"));
    Files.writeString(empty.resolve("x.txt"), "text");
    JobConfig noImages =
        JobConfig.parse(
            Task.CAPTION,
            new String[] {
              "--input",
              empty.toString(),
              "--output",
              "o",
              "--model",
              "m",
              "--input-format",
              "folder"
            });
    e = assertThrows(JobInputException.class, () -> JobInput.read(spark, noImages));
    assertTrue(e.getMessage().contains("no image files"), e.getMessage());
    Files.delete(empty.resolve("x.txt"));
    Files.delete(empty);
  }

  /** A folder of 5 images at three depths, read with the default options. */
  private static JobConfig fiveImages(Path dir) throws IOException {
    for (String name : List.of("a.jpg", "b.jpg", "sub/c.png", "sub/d.png", "sub/deeper/e.gif")) {
      Path to = dir.resolve(name);
      Files.createDirectories(to.getParent());
      Files.copy(SparkTestSession.IMAGES.resolve("landscape_49x31.jpg"), to);
    }
    return JobConfig.parse(
        Task.CAPTION, new String[] {"--input", dir.toString(), "--output", "o", "--model", "m"});
  }

  @Test
  void aSymlinkToAParentFolderIsNotFollowedRoundTheLoop(@TempDir Path loopy) throws IOException {
    JobConfig config = fiveImages(loopy);
    Files.createSymbolicLink(loopy.resolve("sub/up"), loopy); // sub/up/sub/up/... was 204 rows
    assertEquals(
        List.of("a.jpg", "b.jpg", "sub/c.png", "sub/d.png", "sub/deeper/e.gif"),
        List.copyOf(read(config).keySet()));
  }

  @Test
  void aSecondLinkToAFolderAddsNoRowsAndTheRealPathIsKept(
      @TempDir Path linked, @TempDir Path outside) throws IOException {
    JobConfig config = fiveImages(linked);
    Files.createSymbolicLink(linked.resolve("again"), linked.resolve("sub")); // sorts before sub
    Files.copy(SparkTestSession.IMAGES.resolve("landscape_49x31.jpg"), outside.resolve("f.jpg"));
    Files.createSymbolicLink(linked.resolve("elsewhere"), outside); // a link out is still read
    assertEquals(
        List.of("a.jpg", "b.jpg", "elsewhere/f.jpg", "sub/c.png", "sub/d.png", "sub/deeper/e.gif"),
        List.copyOf(read(config).keySet()));
  }
}
