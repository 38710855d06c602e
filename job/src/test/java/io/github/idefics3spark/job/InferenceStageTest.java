package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import io.github.idefics3spark.spark.InferenceSchema;
import io.github.idefics3spark.spark.InferenceSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
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
 * The inference stage writing Parquet in local mode with task retries (local[2,4]): one row per
 * request, overwrite, append and resume, a failed run finished by resume and a task failing on its
 * first attempt giving complete output without duplicates; summary and progress lines.
 */
class InferenceStageTest {
  /** Kept between runs (keyed by the checkpoint's listing); mvn clean empties it. */
  private static final Path CACHE = Path.of("target", "model-cache").toAbsolutePath();

  private static final InferenceSettings SETTINGS =
      InferenceSettings.of(
              SparkTestSession.TINY_CHECKPOINT.toString(),
              ModelSettings.builder().maxNewTokens(6).batchSize(2).build())
          .withCacheDir(CACHE.toString())
          .withSortWindowBatches(2);

  private static final StructType SCHEMA =
      InferenceSchema.requests().add("source", DataTypes.StringType);

  private static final List<String> IMAGES =
      List.of(
          "tile_64x64.png",
          "landscape_49x31.jpg",
          "portrait_35x49.jpg",
          "gray_40x29.png",
          "palette_33x45.gif",
          "rgba_alpha_48x33.png",
          "cmyk_41x31.jpg",
          "tile_56x56.png");

  /** Failures thrown by {@link FailOnce} in this JVM (local mode: the executor is this JVM). */
  private static final AtomicInteger THROWN = new AtomicInteger();

  @TempDir static Path temp;
  private static SparkSession spark;
  private static List<Row> rows;
  private static Dataset<Row> requests;

  @BeforeAll
  static void start() throws IOException {
    spark =
        SparkSession.builder()
            .appName("InferenceStageTest")
            .master("local[2,4]") // two cores, four attempts per task
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.host", "127.0.0.1")
            // running tasks report their rows done this often (10 s by default)
            .config("spark.executor.heartbeatInterval", "300ms")
            .getOrCreate();
    rows = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      String name = IMAGES.get(i % IMAGES.size());
      byte[] bytes = Files.readAllBytes(SparkTestSession.IMAGES.resolve(name));
      rows.add(
          RowFactory.create(
              "r" + i,
              List.of(RowFactory.create(bytes, name)),
              "What is in picture " + i + "?",
              null,
              "vqa",
              "source " + i));
    }
    rows.add(
        RowFactory.create(
            "bad-bytes",
            List.of(RowFactory.create("text".getBytes(StandardCharsets.UTF_8), null)),
            "What?",
            null,
            "vqa",
            "bad"));
    rows.add(
        RowFactory.create(
            "bad-path",
            List.of(RowFactory.create(null, temp.resolve("missing.png").toString())),
            "What?",
            null,
            "vqa",
            "bad"));
    requests = spark.createDataFrame(rows, SCHEMA).repartition(4);
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Dataset<Row> read(Path output) {
    return spark.read().parquet(output.toString());
  }

  /** id -> answer (or error kind) of every row, failing on a repeated id. */
  private static Map<String, String> answers(Path output) {
    Map<String, String> answers = new HashMap<>();
    for (Row row : read(output).collectAsList()) {
      String value =
          row.isNullAt(row.fieldIndex("answer"))
              ? "error " + row.getAs("error_kind")
              : row.getAs("answer") + " / " + row.getAs("generated_tokens");
      String id = row.getAs("id");
      assertEquals(null, answers.put(id, value), "id " + id + " written twice");
    }
    return answers;
  }

  private static InferenceSummary run(Dataset<Row> in, Path output, OutputMode mode) {
    return InferenceStage.run(
        in, SETTINGS, output.toString(), mode, RetryErrors.NONE, Duration.ofSeconds(5), l -> {});
  }

  @Test
  void overwriteWritesOneRowPerRequestAndTheSummaryCountsThem() {
    Path output = temp.resolve("overwrite");
    List<String> lines = new CopyOnWriteArrayList<>();
    InferenceSummary summary =
        InferenceStage.run(
            requests,
            SETTINGS,
            output.toString(),
            OutputMode.OVERWRITE,
            RetryErrors.NONE,
            Duration.ofMillis(200),
            lines::add);
    System.out.println("InferenceStageTest overwrite:\n" + summary.describe());

    Map<String, String> answers = answers(output);
    assertEquals(rows.size(), answers.size(), "rows out = rows in");
    assertEquals("error UNKNOWN_IMAGE_FORMAT", answers.get("bad-bytes"));
    assertEquals("error UNREADABLE_IMAGE", answers.get("bad-path"));
    assertEquals(rows.size(), summary.rows());
    assertEquals(rows.size(), summary.requests());
    assertEquals(
        Map.of("UNKNOWN_IMAGE_FORMAT", 1L, "UNREADABLE_IMAGE", 1L), summary.errorsByKind());
    assertEquals(rows.size(), summary.images());
    long tokens =
        read(output).agg(org.apache.spark.sql.functions.sum("generated_tokens")).first().getLong(0);
    assertEquals(tokens, summary.generatedTokens());
    assertTrue(summary.imagesPerSecond() > 0 && summary.generatedTokensPerSecond() > 0);
    assertTrue(summary.describe().contains("UNREADABLE_IMAGE 1"), summary.describe());
    assertEquals(0, summary.modelFailures(), "no batch call failed");
    assertFalse(summary.describe().contains("model failures"), summary.describe());
    assertEquals(
        List.of("source 3"),
        read(output).where("id = 'r3'").select("source").as(Encoders.STRING()).collectAsList());
    assertTrue(!lines.isEmpty(), "progress lines");
    assertTrue(lines.get(0).startsWith("inference: "), lines.get(0));
    assertTrue(lines.get(0).contains(" of 18 rows"), lines.get(0));

    // again: replaced, not added
    assertEquals(rows.size(), run(requests, output, OutputMode.OVERWRITE).rows());
    assertEquals(answers, answers(output), "the same answers the second time");
  }

  @Test
  void resumeSkipsDoneIdsAndCompletesTheRestAppendAddsEverything() {
    Path output = temp.resolve("resume");
    InferenceSummary first = run(requests.where("id < 'r5'"), output, OutputMode.RESUME);
    long firstRows = first.rows();
    assertTrue(firstRows > 0 && firstRows < rows.size(), "a partial first run: " + firstRows);

    InferenceSummary second = run(requests, output, OutputMode.RESUME);
    assertEquals(firstRows, second.skipped());
    assertEquals(rows.size() - firstRows, second.rows());
    assertEquals(rows.size(), answers(output).size(), "each id once");

    InferenceSummary third = run(requests, output, OutputMode.RESUME);
    assertEquals(0, third.rows());
    assertEquals(rows.size(), third.skipped());
    assertEquals(rows.size(), read(output).count());

    assertEquals(rows.size(), run(requests, output, OutputMode.APPEND).rows());
    assertEquals(2L * rows.size(), read(output).count(), "append adds every row again");
  }

  @Test
  void aFailedRunIsFinishedByResumeWithoutDuplicates() {
    Path output = temp.resolve("failed-then-resumed");
    Dataset<Row> failing = requests.mapPartitions(new FailOnce(1, 3, true), Encoders.row(SCHEMA));
    Exception failure =
        assertThrows(Exception.class, () -> run(failing, output, OutputMode.RESUME));
    assertTrue(
        String.valueOf(failure.getMessage()).contains("fails on purpose"), failure.toString());

    run(requests, output, OutputMode.RESUME);
    assertEquals(rows.size(), answers(output).size(), "complete, each id once");
  }

  @Test
  void aTaskFailingMidPartitionOnItsFirstAttemptGivesCompleteOutputWithoutDuplicates() {
    Path clean = temp.resolve("clean");
    run(requests, clean, OutputMode.OVERWRITE);

    Path output = temp.resolve("retried");
    int before = THROWN.get();
    // partition 0 holds 4 or 5 rows; after 3 rows, at least one batch has gone to the writer
    Dataset<Row> failing = requests.mapPartitions(new FailOnce(0, 3, false), Encoders.row(SCHEMA));
    InferenceSummary summary = run(failing, output, OutputMode.OVERWRITE);
    // the stage counts its input first: partition 0 fails once there and once in the write
    assertEquals(2, THROWN.get() - before, "the first attempt failed, in the count and the write");
    assertEquals(rows.size(), summary.rows());
    assertEquals(answers(clean), answers(output), "the same rows as a run without failure");
  }

  @Test
  void resumeAfterAKilledRunIgnoresItsUncommittedTaskOutput() throws IOException {
    // a run killed before its job commit leaves committed task folders under _temporary/0 (the
    // file output committer's layout); the next run's commit would merge them
    Path complete = temp.resolve("killed-source");
    run(requests, complete, OutputMode.OVERWRITE);
    Path output = temp.resolve("killed");
    Path task =
        Files.createDirectories(output.resolve("_temporary/0/task_202612060000_0000_m_000000"));
    try (var parts = Files.list(complete)) {
      for (Path part : parts.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
        Files.copy(part, task.resolve(part.getFileName()));
      }
    }

    InferenceSummary resumed = run(requests, output, OutputMode.RESUME);
    assertEquals(rows.size(), answers(output).size(), "each id once");
    assertEquals(rows.size(), resumed.rows());
    assertTrue(resumed.complete(), resumed.describe());
    assertTrue(Files.notExists(output.resolve("_temporary")));
  }

  @Test
  void anOutputHoldingFilesTheJobDidNotWriteIsRefusedInEveryMode() throws IOException {
    Path output = Files.createDirectories(temp.resolve("holds-notes"));
    Path notes = Files.writeString(output.resolve("notes.txt"), "mine");
    for (OutputMode mode : OutputMode.values()) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> run(requests, output, mode));
      assertTrue(
          e.getMessage()
              .contains(
                  "holds notes.txt, which this job did not write; the output must be a new or"
                      + " empty folder or an earlier output of this job"),
          e.getMessage());
      assertTrue(e.getMessage().endsWith("give another --output"), e.getMessage());
    }
    assertEquals("mine", Files.readString(notes));

    Path file = Files.writeString(temp.resolve("output-file"), "mine too");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> run(requests, file, OutputMode.OVERWRITE));
    assertTrue(e.getMessage().contains("output-file is a file"), e.getMessage());
    assertEquals("mine too", Files.readString(file));

    Path notParquet = Files.createDirectories(temp.resolve("not-parquet"));
    Files.writeString(notParquet.resolve("part-00000.csv"), "id,answer\n1,x\n");
    e =
        assertThrows(
            IllegalArgumentException.class, () -> run(requests, notParquet, OutputMode.RESUME));
    assertTrue(
        e.getMessage().contains("holds part files that cannot be read as Parquet"), e.getMessage());
  }

  @Test
  void resumeWithRetryErrorsAnswersTheChosenKindsAgainAndCountsTheWholeOutput() throws IOException {
    Path output = temp.resolve("retry");
    Path missing = temp.resolve("missing.png");
    Files.deleteIfExists(missing);
    run(requests, output, OutputMode.OVERWRITE);
    Map<String, String> first = answers(output);
    assertEquals("error UNREADABLE_IMAGE", first.get("bad-path"));

    // the missing image appears; a plain resume counts the error row as done
    Files.copy(SparkTestSession.IMAGES.resolve("tile_64x64.png"), missing);
    try {
      InferenceSummary plain = run(requests, output, OutputMode.RESUME);
      assertEquals(0, plain.rows());
      assertEquals(2, plain.outputErrors(), plain.describe());
      assertTrue(
          plain
              .describe()
              .contains(
                  "in the output: 18 rows, errors: 2 (UNKNOWN_IMAGE_FORMAT 1, UNREADABLE_IMAGE 1)"),
          plain.describe());

      InferenceSummary retried =
          InferenceStage.run(
              requests,
              SETTINGS,
              output.toString(),
              OutputMode.RESUME,
              RetryErrors.parse("UNREADABLE_IMAGE"),
              Duration.ofSeconds(5),
              l -> {});
      assertEquals(1, retried.retried());
      assertEquals(1, retried.rows());
      assertEquals(rows.size() - 1, retried.skipped());
      assertTrue(retried.complete(), retried.describe());
      assertEquals(Map.of("UNKNOWN_IMAGE_FORMAT", 1L), retried.outputErrorsByKind());
      assertTrue(retried.describe().contains("1 error rows answered again"), retried.describe());

      Map<String, String> second = answers(output);
      assertEquals(rows.size(), second.size(), "each id once");
      assertTrue(!second.get("bad-path").startsWith("error"), second.get("bad-path"));
      assertEquals("error UNKNOWN_IMAGE_FORMAT", second.get("bad-bytes"));
      first.remove("bad-path");
      second.remove("bad-path");
      assertEquals(first, second, "every other row kept as it was");
      try (var names = Files.list(output)) {
        assertTrue(
            names.noneMatch(p -> p.getFileName().toString().startsWith("_retry")),
            "working folders removed");
      }
    } finally {
      Files.delete(missing);
    }
  }

  @Test
  void resumeOverAnOutputHoldingAnIdTwiceIsIncomplete() {
    Path output = temp.resolve("twice");
    run(requests.limit(3), output, OutputMode.OVERWRITE);
    run(requests.limit(3), output, OutputMode.APPEND);
    InferenceSummary resumed = run(requests, output, OutputMode.RESUME);
    assertTrue(!resumed.complete());
    assertEquals(3, resumed.repeatedIds());
    assertTrue(
        resumed.describe().contains("INCOMPLETE: 3 ids are in the output more than once"),
        resumed.describe());
  }

  @Test
  void appendAndResumeRefuseAnOutputWithOtherColumns() {
    Path output = temp.resolve("other-columns");
    run(requests.limit(2), output, OutputMode.OVERWRITE);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                run(
                    requests.withColumn("extra", requests.col("source")),
                    output,
                    OutputMode.RESUME));
    assertTrue(e.getMessage().contains("only in this run: extra string"), e.getMessage());
    assertTrue(e.getMessage().contains("--mode resume"), e.getMessage());
  }

  @Test
  void progressCountsTheRowsOfARunningTaskFromItsHeartbeats() {
    // one partition, slowed to about 100 ms a row: rows done before the task ends come from
    // the executor's heartbeats
    Dataset<Row> slow = requests.coalesce(1).mapPartitions(new SlowRows(100), Encoders.row(SCHEMA));
    List<String> lines = new CopyOnWriteArrayList<>();
    InferenceStage.run(
        slow,
        SETTINGS,
        temp.resolve("slow").toString(),
        OutputMode.OVERWRITE,
        RetryErrors.NONE,
        Duration.ofMillis(100),
        lines::add);
    assertTrue(
        lines.stream().anyMatch(l -> l.matches("inference: ([1-9]|1[0-7]) of 18 rows .* left")),
        "a line with some but not all rows done: " + lines);
  }

  /** Passes rows through, {@code millis} apart. */
  private static final class SlowRows implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final long millis;

    SlowRows(long millis) {
      this.millis = millis;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return input.hasNext();
        }

        @Override
        public Row next() {
          try {
            Thread.sleep(millis);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return input.next();
        }
      };
    }
  }

  /**
   * Passes rows through, but throws after {@code afterRows} rows of partition {@code partition}: on
   * the first attempt only, or on every attempt.
   */
  private static final class FailOnce implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final int partition;
    private final int afterRows;
    private final boolean everyAttempt;

    FailOnce(int partition, int afterRows, boolean everyAttempt) {
      this.partition = partition;
      this.afterRows = afterRows;
      this.everyAttempt = everyAttempt;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
      TaskContext task = TaskContext.get();
      boolean fail = task.partitionId() == partition && (everyAttempt || task.attemptNumber() == 0);
      return new Iterator<>() {
        private int served;

        @Override
        public boolean hasNext() {
          return input.hasNext();
        }

        @Override
        public Row next() {
          if (fail && served == afterRows) {
            THROWN.incrementAndGet();
            throw new IllegalStateException(
                "task fails on purpose after " + served + " rows (partition " + partition + ")");
          }
          served++;
          return input.next();
        }
      };
    }
  }
}
