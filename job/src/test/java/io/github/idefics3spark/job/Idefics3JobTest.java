package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Idefics3JobTest {
  @TempDir Path dir;

  @Test
  void helpListsTheCommands() {
    JobRun outcome = JobRun.of("--help");
    assertEquals(0, outcome.status());
    for (String command : List.of("caption", "vqa", "eval", "score", "convert")) {
      assertTrue(outcome.out().contains("\n  " + command + " "), outcome.out());
    }
    assertEquals(2, JobRun.of().status());
  }

  @Test
  void commandHelpListsEveryOptionWithItsHelp() {
    for (Task task : Task.values()) {
      JobRun outcome = JobRun.of(task.command(), "--help");
      assertEquals(0, outcome.status());
      for (JobOption option : JobOption.values()) {
        assertEquals(
            option.appliesTo(task),
            outcome.out().contains("  " + option.option() + " " + option.valueLabel() + "\n"),
            task + " " + option.option());
      }
      assertTrue(outcome.out().contains("--conf FILE"));
      for (String line : outcome.out().split("\n")) {
        assertTrue(line.length() <= 100 || !line.contains(" "), line);
      }
    }
  }

  @Test
  void wrongCommandsAndSettingsExitWithTwoBeforeAnySparkWork() {
    JobRun unknown = JobRun.of("describe", "--input", "x");
    assertEquals(2, unknown.status());
    assertTrue(unknown.err().startsWith("unknown command 'describe'"), unknown.err());

    JobRun wrong =
        JobRun.of("caption", "--input", "x", "--output", "y", "--model", "m", "--top-k", "-1");
    assertEquals(2, wrong.status());
    assertEquals(
        "caption: setting top-k is '-1' (option --top-k), expected a whole number >= 0\n",
        wrong.err());
    assertTrue(SparkSession.getActiveSession().isEmpty());
  }

  @Test
  void credentialsInAUriAreNeverPrinted() {
    for (String input :
        List.of("nope://AKIA:s3cr3tKey@bucket/x", "file://AKIA:s3cr3tKey@/no/such/folder")) {
      JobRun outcome =
          JobRun.of(
              "caption",
              "--input",
              input,
              "--output",
              dir.resolve("out").toString(),
              "--model",
              SparkTestSession.TINY_CHECKPOINT.toString());
      assertEquals(2, outcome.status(), outcome.err());
      assertTrue(outcome.err().contains("://***@"), outcome.err());
      assertFalse(outcome.err().contains("s3cr3tKey"), outcome.err());
      assertFalse(outcome.out().contains("s3cr3tKey"), outcome.out());
    }
  }

  @Test
  void aMissingInputIsOneClearMessage() {
    JobRun outcome =
        JobRun.of(
            "caption",
            "--input",
            dir.resolve("nothing-here").toString(),
            "--output",
            dir.resolve("out").toString(),
            "--model",
            SparkTestSession.TINY_CHECKPOINT.toString());
    assertEquals(2, outcome.status());
    assertTrue(outcome.err().contains("nothing-here: no such file or folder"), outcome.err());
  }

  @Test
  void outputsThatWouldDestroyOrMixWithDataAndHopelessTokenLimitsExitWithTwo() throws IOException {
    Path images = Files.createDirectories(dir.resolve("images"));
    Files.copy(SparkTestSession.IMAGES.resolve("page_5.png"), images.resolve("page_5.png"));
    Path notes = Files.createDirectories(dir.resolve("notes"));
    Files.writeString(notes.resolve("todo.txt"), "keep me");
    String model = SparkTestSession.TINY_CHECKPOINT.toString();
    System.setProperty("spark.master", "local[1]");
    System.setProperty("spark.ui.enabled", "false");
    try {
      for (String[] outputAndRelation :
          new String[][] {
            {images.toString(), "is the same folder as --input"},
            {dir.toString(), "contains --input"},
            {images.resolve("captions").toString(), "lies inside --input"},
            {SparkTestSession.TINY_CHECKPOINT.resolve("out").toString(), "lies inside --model"}
          }) {
        JobRun outcome =
            JobRun.of(
                "caption",
                "--input",
                images.toString(),
                "--output",
                outputAndRelation[0],
                "--model",
                model,
                "--mode",
                "overwrite");
        assertEquals(2, outcome.status(), outcome.err());
        assertTrue(
            outcome
                .err()
                .startsWith(
                    "caption: --output " + outputAndRelation[0] + " " + outputAndRelation[1]),
            outcome.err());
        assertTrue(outcome.err().contains("give an --output outside"), outcome.err());
      }
      assertTrue(Files.isRegularFile(images.resolve("page_5.png")), "the input is untouched");
      assertTrue(Files.notExists(images.resolve("captions")));
      assertTrue(Files.notExists(SparkTestSession.TINY_CHECKPOINT.resolve("out")));

      JobRun foreign =
          JobRun.of(
              "caption",
              "--input",
              images.toString(),
              "--output",
              notes.toString(),
              "--model",
              model);
      assertEquals(2, foreign.status(), foreign.err());
      assertEquals(1, foreign.err().strip().lines().count(), foreign.err());
      assertTrue(
          foreign.err().contains("holds todo.txt, which this job did not write"), foreign.err());
      assertEquals("keep me", Files.readString(notes.resolve("todo.txt")));

      JobRun tooManyTokens =
          JobRun.of(
              "caption",
              "--input",
              images.toString(),
              "--output",
              dir.resolve("out").toString(),
              "--model",
              model,
              "--max-new-tokens",
              "1000000000");
      assertEquals(2, tooManyTokens.status(), tooManyTokens.err());
      assertTrue(
          tooManyTokens
              .err()
              .startsWith(
                  "caption: setting max-new-tokens is 1000000000 but the" + " model's context is "),
          tooManyTokens.err());
      assertTrue(Files.notExists(dir.resolve("out")), "nothing written");
    } finally {
      System.clearProperty("spark.master");
      System.clearProperty("spark.ui.enabled");
    }
  }

  @Test
  void captionOnAFolderWritesOneRowPerImageAndPrintsTheSummaryAndPreview() throws IOException {
    Path images = Files.createDirectories(dir.resolve("images"));
    for (String name : List.of("landscape_49x31.jpg", "page_5.png", "palette_33x45.gif")) {
      Files.copy(SparkTestSession.IMAGES.resolve(name), images.resolve(name));
    }
    Files.write(images.resolve("empty.png"), new byte[0]);
    Path output = dir.resolve("captions");
    JobRun outcome =
        JobCommandLine.withTinyModel("caption", images, output, dir.resolve("cache"), 3)
            .with("--preview", "4")
            .runLocally();
    assertEquals(0, outcome.status(), outcome.err());
    assertTrue(outcome.out().contains("rows: 4 written"), outcome.out());
    assertTrue(outcome.out().contains("errors: 1 (EMPTY_IMAGE 1)"), outcome.out());
    assertTrue(outcome.out().contains("  empty.png: ERROR "), outcome.out());
    assertTrue(outcome.out().contains("  page_5.png: "), outcome.out());
    SparkSession spark = SparkTestSession.start("Idefics3JobTest-check");
    try {
      Dataset<Row> written = spark.read().parquet(output.toString());
      assertEquals(4, written.count());
      assertEquals(4, written.select("id").distinct().count());
      Row row = written.where("id = 'page_5.png'").first();
      assertEquals("caption", row.getAs("task"));
      assertEquals("Describe this image.", row.getAs("question"));
      assertFalse(row.isNullAt(row.fieldIndex("answer")));
      assertTrue(row.isNullAt(row.fieldIndex("error")));
    } finally {
      spark.stop();
    }
  }
}
