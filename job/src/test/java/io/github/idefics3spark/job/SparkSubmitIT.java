package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged job jar submitted through Spark's own {@code SparkSubmit} in a separate JVM, as
 * {@code spark-submit} does, with only Spark's jars on that JVM's classpath
 * (target/spark-submit.args): everything else must come from the job jar. Runs after {@code
 * package} (failsafe, {@code mvn verify}).
 */
class SparkSubmitIT {
  @TempDir Path dir;

  /** Exit status, standard output and standard error of one spark-submit. */
  private record Submitted(int status, String out, String err) {}

  private Submitted submit(String... args) throws IOException, InterruptedException {
    Process process = start("submit", args);
    if (!process.waitFor(8, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      throw new AssertionError(
          "spark-submit did not end in 8 minutes: " + Files.readString(dir.resolve("submit.err")));
    }
    return new Submitted(
        process.exitValue(),
        Files.readString(dir.resolve("submit.out"), StandardCharsets.UTF_8),
        Files.readString(dir.resolve("submit.err"), StandardCharsets.UTF_8));
  }

  /** Starts one spark-submit; its output goes to NAME.out and NAME.err in the test's folder. */
  private Process start(String name, String... args) throws IOException {
    Path jar = Path.of(System.getProperty("job.jar"));
    Path argFile = Path.of(System.getProperty("spark.submit.args"));
    assertTrue(Files.isRegularFile(jar), jar + " (mvn package builds it)");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("@" + argFile);
    command.addAll(
        List.of(
            "--master",
            "local[2]",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.driver.host=127.0.0.1"));
    command.addAll(Arrays.asList(args).subList(0, args.length));
    // args: [--class CLASS] JAR_PLACEHOLDER ...; the placeholder becomes the jar
    command.replaceAll(arg -> arg.equals("JOB_JAR") ? jar.toString() : arg);
    return new ProcessBuilder(command)
        .redirectOutput(dir.resolve(name + ".out").toFile())
        .redirectError(dir.resolve(name + ".err").toFile())
        .start();
  }

  /** The arguments of a caption run of the job jar with the tiny model, then {@code more}. */
  private String[] caption(Path images, Path output, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--class",
                Idefics3Job.class.getName(),
                "JOB_JAR",
                "caption",
                "--input",
                images.toString(),
                "--model",
                SparkTestSession.TINY_CHECKPOINT.toString(),
                "--model-cache",
                dir.resolve("cache").toString(),
                "--output",
                output.toString()));
    args.addAll(Arrays.asList(more));
    return args.toArray(String[]::new);
  }

  @Test
  void aJobKilledMidRunIsFinishedByResumeWithEachIdOnce() throws Exception {
    Path images = Files.createDirectories(dir.resolve("many"));
    List<String> samples = List.of("background3.jpg", "page_10.png", "bitmap_45x33.bmp");
    int count = 48;
    for (int i = 0; i < count; i++) {
      String sample = samples.get(i % samples.size());
      Files.copy(
          SparkTestSession.IMAGES.resolve(sample),
          images.resolve(String.format("%02d-%s", i, sample)));
    }
    Path output = dir.resolve("killed-captions");
    String[] args =
        caption(
            images,
            output,
            "--max-new-tokens",
            "4",
            "--batch-size",
            "1",
            "--image-splitting=false",
            "--partitions",
            "24");
    Process first = start("first", args);
    // kill -9 as soon as some task has committed its output and before the job commits
    Path committedTasks = output.resolve("_temporary/0");
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(6);
    boolean killed = false;
    while (System.nanoTime() < deadline && first.isAlive()) {
      if (Files.isDirectory(committedTasks)) {
        try (var tasks = Files.list(committedTasks)) {
          if (tasks.anyMatch(t -> t.getFileName().toString().startsWith("task_"))) {
            first.destroyForcibly(); // SIGKILL
            first.waitFor();
            killed = true;
            break;
          }
        }
      }
      Thread.sleep(20);
    }
    assertTrue(
        killed,
        "the run was killed after a task commit and before the job's: "
            + Files.readString(dir.resolve("first.err")));
    assertFalse(Files.exists(output.resolve("_SUCCESS")), "the killed run did not finish");

    Submitted resumed = submit(args); // --mode resume is the default
    assertEquals(0, resumed.status(), resumed.err());
    assertTrue(resumed.out().contains("rows: " + count + " written"), resumed.out());

    SparkSession spark = SparkTestSession.start("SparkSubmitIT-killed");
    try {
      Dataset<Row> written = spark.read().parquet(output.toString());
      assertEquals(count, written.count(), "rows out = rows in");
      assertEquals(count, written.select("id").distinct().count(), "each id once");
    } finally {
      spark.stop();
    }
  }

  @Test
  void captionOnSampleImagesWritesOneParquetRowPerImage() throws Exception {
    Path images = Files.createDirectories(dir.resolve("images"));
    for (String name : List.of("background3.jpg", "page_10.png", "bitmap_45x33.bmp")) {
      Files.copy(SparkTestSession.IMAGES.resolve(name), images.resolve(name));
    }
    Files.write(images.resolve("zero.jpg"), new byte[0]);
    Path output = dir.resolve("captions");
    Submitted run =
        submit(
            caption(
                images,
                output,
                "--max-new-tokens",
                "3",
                "--image-splitting=false",
                "--preview",
                "4"));
    assertEquals(0, run.status(), run.err());
    assertTrue(run.out().contains("rows: 4 written"), run.out());
    assertTrue(run.out().contains("errors: 1 (EMPTY_IMAGE 1)"), run.out());
    assertTrue(run.out().contains("  zero.jpg: ERROR "), run.out());

    SparkSession spark = SparkTestSession.start("SparkSubmitIT");
    try {
      Dataset<Row> written = spark.read().parquet(output.toString());
      assertEquals(
          List.of(
              "id",
              "task",
              "question",
              "image_count",
              "answer",
              "prompt_tokens",
              "generated_tokens",
              "image_frames",
              "preprocess_ms",
              "encode_ms",
              "generate_ms",
              "model",
              "error",
              "error_kind"),
          Arrays.asList(written.columns()));
      assertEquals(4, written.count());
      assertEquals(4, written.select("id").distinct().count());
      Row row = written.where("id = 'page_10.png'").first();
      assertTrue(row.isNullAt(row.fieldIndex("error")));
      assertFalse(row.isNullAt(row.fieldIndex("answer")));
      assertEquals(1, (int) row.getAs("image_frames"));
    } finally {
      spark.stop();
    }
  }

  @Test
  void convertIsReachableThroughTheJob() throws Exception {
    Submitted run =
        submit("JOB_JAR", "convert", SparkTestSession.TINY_CHECKPOINT.toString(), "--dry-run");
    assertEquals(0, run.status(), run.err());
    assertTrue(run.out().contains("graph built"), run.out());
  }

  @Test
  void theJarManifestNamesTheMainClassAndABadOptionExitsWithTwo() throws Exception {
    Submitted run =
        submit(
            "JOB_JAR", "vqa", "--input", "x", "--output", "y", "--model", "m", "--batch-size", "0");
    assertEquals(2, run.status(), run.err());
    assertTrue(
        run.err()
            .contains(
                "vqa: setting batch-size is '0' (option --batch-size), expected a whole number"
                    + " >= 1"),
        run.err());
  }
}
