package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.Tuple2;
import scala.collection.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The job against a real S3-compatible server (S3Proxy, in this JVM, on loopback): images, a
 * manifest with relative image paths, DocVQA-layout Parquet and the model package read from {@code
 * s3a://}, Parquet written to {@code s3a://} through the S3A magic committer with the settings of
 * {@code conf/spark-defaults-s3.conf}.
 */
class S3ProxyJobTest {
  // fake credentials unlike any other string of a run, so finding one anywhere is a leak
  private static final String ACCESS_KEY =
      "AKIA" + UUID.randomUUID().toString().replace("-", "").substring(0, 16).toUpperCase();
  private static final String SECRET_KEY = "s3cr3t-" + UUID.randomUUID();
  private static final String SESSION_TOKEN = "t0k3n-" + UUID.randomUUID();
  private static final List<String> CREDENTIALS = List.of(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN);
  private static final List<String> IMAGES =
      List.of("landscape_49x31.jpg", "page_5.png", "palette_33x45.gif", "tile_56x56.png");

  @TempDir static Path dir;
  private static LocalS3 s3;
  private static SparkSession spark;
  private static FileSystem fs;

  /** Every log4j2 line of the class's runs at INFO and above, with its stack trace. */
  private static final StringWriter LOG_LINES = new StringWriter();

  private static Appender logCapture;

  @BeforeAll
  static void start() throws Exception {
    // log4j2 is Spark's logging: capture what every logger prints, at INFO (above the WARN of
    // conf/log4j2.properties and log4j2-test.properties, so more than a real run shows)
    LoggerContext logs = (LoggerContext) LogManager.getContext(false);
    logCapture =
        WriterAppender.newBuilder()
            .setName("S3ProxyJobTest-credentials")
            .setTarget(LOG_LINES)
            .setLayout(PatternLayout.newBuilder().withPattern("%p %c: %m%n%ex{full}").build())
            .build();
    logCapture.start();
    logs.getConfiguration().getRootLogger().addAppender(logCapture, Level.INFO, null);
    logs.getConfiguration().getRootLogger().setLevel(Level.INFO);
    logs.updateLoggers();

    s3 = LocalS3.start(ACCESS_KEY, SECRET_KEY);
    assertEquals("STARTED", s3.state());

    // the loopback server and its keys in place of the environment's credential chain
    spark =
        s3.sparkSession("S3ProxyJobTest", s3.port())
            .config(
                "spark.hadoop.fs.s3a.aws.credentials.provider",
                "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider")
            // sent as x-amz-security-token, which S3Proxy signs but does not check
            .config("spark.hadoop.fs.s3a.session.token", SESSION_TOKEN)
            .getOrCreate();
    Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    fs = new org.apache.hadoop.fs.Path("s3a://bucket/").getFileSystem(hadoop);

    Path pkg = dir.resolve("tiny-package");
    Idefics3Package.write(SparkTestSession.TINY_CHECKPOINT, pkg);
    fs.copyFromLocalFile(
        new org.apache.hadoop.fs.Path(pkg.toUri()),
        new org.apache.hadoop.fs.Path("s3a://bucket/models/tiny"));
    for (String image : IMAGES) {
      fs.copyFromLocalFile(
          new org.apache.hadoop.fs.Path(SparkTestSession.IMAGES.resolve(image).toUri()),
          new org.apache.hadoop.fs.Path("s3a://bucket/images/scans/" + image));
    }
    try (var out = fs.create(new org.apache.hadoop.fs.Path("s3a://bucket/images/empty.png"))) {
      // zero bytes: an error row, not a missing one
    }
  }

  @AfterAll
  static void stop() throws Exception {
    LoggerContext logs = (LoggerContext) LogManager.getContext(false);
    logs.getConfiguration().getRootLogger().removeAppender(logCapture.getName());
    logs.getConfiguration().getRootLogger().setLevel(Level.WARN);
    logs.updateLoggers();
    logCapture.stop();
    if (spark != null) {
      spark.stop();
    }
    if (s3 != null) {
      s3.close();
    }
  }

  @Test
  void imagesAndModelFromS3ParquetToS3ThroughTheMagicCommitterThenResume() throws IOException {
    JobCommandLine captions =
        onS3("caption", "s3a://bucket/images", "s3a://bucket/runs/captions", "cache")
            .with("--partitions", "2");
    JobRun first = captions.run();
    assertEquals(0, first.status(), first.err());
    assertTrue(first.out().contains("rows: 5 written"), first.out());
    assertTrue(first.out().contains("errors: 1 (EMPTY_IMAGE 1)"), first.out());

    Dataset<Row> written = spark.read().parquet("s3a://bucket/runs/captions");
    assertEquals(5, written.count());
    assertEquals(5, written.select("id").distinct().count());
    Row page = written.where("id = 'scans/page_5.png'").first();
    assertTrue(page.isNullAt(page.fieldIndex("error")));
    assertFalse(page.isNullAt(page.fieldIndex("answer")));
    assertEquals("s3a://bucket/models/tiny", page.getAs("model"));

    // the magic committer wrote it: its _SUCCESS manifest names it, and no magic folder is left
    String success;
    try (InputStream in =
        fs.open(new org.apache.hadoop.fs.Path("s3a://bucket/runs/captions/_SUCCESS"))) {
      success = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(success.contains("\"committer\":\"magic\""), success);
    for (FileStatus status :
        fs.listStatus(new org.apache.hadoop.fs.Path("s3a://bucket/runs/captions"))) {
      assertFalse(status.getPath().getName().startsWith("__magic"), status.getPath().toString());
    }
    // the package was copied from S3 once into the cache, and checked against its manifest
    try (var copies = Files.list(dir.resolve("cache"))) {
      assertEquals(1, copies.count());
    }

    // resume: a rerun skips every id already written and writes nothing twice
    JobRun again = captions.run();
    assertEquals(0, again.status(), again.err());
    assertTrue(again.out().contains("rows: 0 written, 5 skipped"), again.out());
    assertEquals(5, spark.read().parquet("s3a://bucket/runs/captions").count());

    // no credential reaches either output stream
    for (JobRun run : List.of(first, again)) {
      assertNoCredential("the caption run's stdout", run.out());
      assertNoCredential("the caption run's stderr", run.err());
    }
  }

  @Test
  void pdfAndTiffPagesReadByPositionFromS3() throws IOException {
    for (String name : List.of("three-pages.pdf", "two-frames.tiff", "encrypted.pdf")) {
      fs.copyFromLocalFile(
          new org.apache.hadoop.fs.Path(ReferenceFixtures.documents().resolve(name).toUri()),
          new org.apache.hadoop.fs.Path("s3a://bucket/documents/" + name));
    }
    JobRun run =
        onS3("caption", "s3a://bucket/documents", "s3a://bucket/runs/document-pages", "cache")
            .with("--dpi", "72")
            .run();
    assertEquals(0, run.status(), run.err());
    List<String> rows = new ArrayList<>();
    for (Row row :
        spark
            .read()
            .parquet("s3a://bucket/runs/document-pages")
            .orderBy("id")
            .select("id", "document", "page", "page_count", "error_kind")
            .collectAsList()) {
      rows.add(row.mkString(" | "));
    }
    assertEquals(
        List.of(
            "encrypted.pdf#page=1 | encrypted.pdf | 1 | null | ENCRYPTED_DOCUMENT",
            "three-pages.pdf#page=1 | three-pages.pdf | 1 | 3 | null",
            "three-pages.pdf#page=2 | three-pages.pdf | 2 | 3 | null",
            "three-pages.pdf#page=3 | three-pages.pdf | 3 | 3 | null",
            "two-frames.tiff#page=1 | two-frames.tiff | 1 | 2 | null",
            "two-frames.tiff#page=2 | two-frames.tiff | 2 | 2 | null"),
        rows);
  }

  @Test
  void manifestAndDocVqaParquetFromS3() throws IOException {
    // a JSON Lines manifest whose relative paths resolve against its own s3a: folder
    for (String image : List.of("page_5.png", "tile_56x56.png")) {
      fs.copyFromLocalFile(
          new org.apache.hadoop.fs.Path(SparkTestSession.IMAGES.resolve(image).toUri()),
          new org.apache.hadoop.fs.Path("s3a://bucket/manifests/pages/" + image));
    }
    try (var out = fs.create(new org.apache.hadoop.fs.Path("s3a://bucket/manifests/q.jsonl"))) {
      out.write(
          String.join(
                  "\n",
                  "{\"id\": \"m1\", \"image\": \"pages/page_5.png\", \"question\": \"Title?\","
                      + " \"batch\": \"b1\"}",
                  "{\"id\": \"m2\", \"image\": \"pages/tile_56x56.png\", \"question\":"
                      + " \"Colour?\", \"batch\": \"b1\"}",
                  "{\"id\": \"m3\", \"image\": \"pages/missing.png\", \"question\": \"Lost?\","
                      + " \"batch\": \"b2\"}")
              .getBytes(StandardCharsets.UTF_8));
    }
    JobRun manifest =
        onS3("vqa", "s3a://bucket/manifests/q.jsonl", "s3a://bucket/runs/manifest-answers", "cache")
            .run();
    assertEquals(0, manifest.status(), manifest.err());
    assertTrue(manifest.out().contains("rows: 3 written"), manifest.out());
    Dataset<Row> answers = spark.read().parquet("s3a://bucket/runs/manifest-answers");
    assertEquals(3, answers.count());
    Row m1 = answers.where("id = 'm1'").first();
    assertTrue(m1.isNullAt(m1.fieldIndex("error")), () -> m1.getAs("error"));
    assertEquals("b1", m1.getAs("batch"));
    assertEquals(
        "Title?\nAnswer the question using a single word or phrase.", m1.getAs("question"));
    Row m3 = answers.where("id = 'm3'").first();
    assertTrue(((String) m3.getAs("error")).contains("pages/missing.png"), () -> m3.getAs("error"));

    // DocVQA's Hugging Face layout: the page's bytes inside the Parquet file
    writeDocVqaQuestion("s3a://bucket/datasets/docvqa/validation");
    JobRun hf =
        onS3("vqa", "s3a://bucket/datasets/docvqa/validation", "s3a://bucket/runs/docvqa", "cache")
            .run();
    assertEquals(0, hf.status(), hf.err());
    Row answer = spark.read().parquet("s3a://bucket/runs/docvqa").first();
    assertEquals("49153", answer.getAs("id"));
    assertTrue(answer.isNullAt(answer.fieldIndex("error")), () -> answer.getAs("error"));
    assertEquals(14465, (int) answer.getAs("docId"));
    assertEquals(1, (int) answer.getAs("image_frames"));
  }

  /**
   * Issue 15 item 5: the access key, secret key and session token reach no log line, stdout,
   * stderr, error message, summary, output Parquet, metrics.json or Spark UI property, of runs that
   * succeed, fail, or name a URI carrying the key and secret ({@code s3a://KEY:SECRET@bucket/...}).
   */
  @Test
  void noKeySecretOrSessionTokenInAnyLogLineMessageOutputOrProperty() throws IOException {
    String userInfo = ACCESS_KEY + ":" + SECRET_KEY + "@";
    List<JobRun> runs = new ArrayList<>();

    JobRun caption =
        onS3(
                "caption",
                "s3a://bucket/images/scans",
                "s3a://bucket/runs/credentials-captions",
                "credentials-cache")
            .with("--preview", "2")
            .run();
    assertEquals(0, caption.status(), caption.err());
    runs.add(caption);

    writeDocVqaQuestion("s3a://bucket/datasets/credentials-docvqa/validation");
    JobRun eval =
        onS3(
                "eval",
                "s3a://bucket/datasets/credentials-docvqa/validation",
                "s3a://bucket/runs/credentials-eval",
                "credentials-cache")
            .with("--benchmark", "docvqa")
            .run();
    assertEquals(0, eval.status(), eval.err());
    runs.add(eval);

    // runs that fail: a missing input, a bucket that does not exist, in messages and traces
    JobRun missing =
        JobRun.of(
            "caption",
            "--input",
            "s3a://bucket/no-such-folder",
            "--model",
            "s3a://bucket/models/tiny",
            "--output",
            "s3a://bucket/runs/credentials-missing");
    assertEquals(2, missing.status(), missing.err());
    runs.add(missing);
    JobRun missingEval =
        JobRun.of(
            "eval",
            "--benchmark",
            "docvqa",
            "--input",
            "s3a://bucket/datasets/no-such-docvqa",
            "--model",
            "s3a://bucket/models/tiny",
            "--output",
            "s3a://bucket/runs/credentials-missing-eval");
    assertTrue(missingEval.status() != 0, missingEval.out());
    runs.add(missingEval);
    JobRun unwritable =
        onS3(
                "caption",
                "s3a://bucket/images/scans",
                "s3a://no-such-bucket/runs/captions",
                "credentials-cache")
            .run();
    assertTrue(unwritable.status() != 0, unwritable.out());
    assertFalse(unwritable.err().isEmpty());
    runs.add(unwritable);

    // credentials in a URI: refused before Spark sees the path (S3A ignores a URI's login, and
    // Spark and Hadoop print the paths they write in their own log lines)
    for (String task : List.of("caption", "eval")) {
      for (String option : List.of("--input", "--output", "--model")) {
        List<String> args =
            new ArrayList<>(
                List.of(
                    task,
                    "--input",
                    "s3a://bucket/datasets/credentials-docvqa/validation",
                    "--model",
                    "s3a://bucket/models/tiny",
                    "--output",
                    "s3a://bucket/runs/credentials-refused"));
        if (task.equals("eval")) {
          args.addAll(List.of("--benchmark", "docvqa"));
        }
        int at = args.indexOf(option) + 1;
        args.set(at, args.get(at).replace("s3a://", "s3a://" + userInfo));
        JobRun refused = JobRun.of(args.toArray(String[]::new));
        assertEquals(2, refused.status(), refused.err());
        assertTrue(refused.err().contains("s3a://***@bucket/"), refused.err());
        runs.add(refused);
      }
    }

    for (JobRun run : runs) {
      assertNoCredential("stdout (the summary among it)", run.out());
      assertNoCredential("stderr (the error messages among it)", run.err());
    }
    String logLines = LOG_LINES.toString();
    assertTrue(logLines.contains("input: "), "the log capture saw the job's lines:\n" + logLines);
    assertNoCredential("the log", logLines);

    for (String output :
        List.of(
            "s3a://bucket/runs/credentials-captions",
            "s3a://bucket/runs/credentials-eval/" + BenchmarkRun.ANSWERS,
            "s3a://bucket/runs/credentials-eval/" + BenchmarkRun.PREDICTIONS)) {
      // every column, nested strings included, as JSON text
      List<String> rows = spark.read().parquet(output).toJSON().collectAsList();
      assertFalse(rows.isEmpty(), output);
      assertNoCredential(output, String.join("\n", rows));
    }
    try (InputStream in =
        fs.open(
            new org.apache.hadoop.fs.Path(
                "s3a://bucket/runs/credentials-eval/" + BenchmarkRun.METRICS))) {
      assertNoCredential(
          BenchmarkRun.METRICS, new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }

    // the Spark UI's Environment page: Spark and Hadoop properties, redacted as Spark shows them
    SparkConf conf = spark.sparkContext().getConf();
    List<Tuple2<String, String>> sparkProperties = List.of(conf.getAll());
    assertTrue(
        sparkProperties.stream().anyMatch(p -> p._2().equals(SESSION_TOKEN)),
        "the session holds the token, so redaction has something to hide");
    assertNoCredential("the Spark properties", uiProperties(conf, sparkProperties));
    List<Tuple2<String, String>> hadoopProperties = new ArrayList<>();
    for (Map.Entry<String, String> entry : spark.sparkContext().hadoopConfiguration()) {
      hadoopProperties.add(new Tuple2<>(entry.getKey(), entry.getValue()));
    }
    assertNoCredential("the Hadoop properties", uiProperties(conf, hadoopProperties));
  }

  /** Properties as the Spark UI's Environment page shows them: through spark.redaction.regex. */
  private static String uiProperties(SparkConf conf, List<Tuple2<String, String>> properties) {
    Seq<Tuple2<String, String>> shown =
        Utils.redact(conf, CollectionConverters.asScala(properties).toSeq());
    StringBuilder text = new StringBuilder();
    for (Tuple2<String, String> property : CollectionConverters.asJava(shown)) {
      text.append(property._1()).append('=').append(property._2()).append('\n');
    }
    return text.toString();
  }

  private static void assertNoCredential(String where, String text) {
    for (String credential : CREDENTIALS) {
      int at = text.indexOf(credential);
      assertTrue(
          at < 0,
          () ->
              where
                  + " holds a credential: ..."
                  + text.substring(Math.max(0, at - 200), Math.min(text.length(), at + 100))
                  + "...");
    }
  }

  /**
   * {@code task} from {@code input} to {@code output} with the tiny package on S3, copied into the
   * folder {@code cache} of the class's temporary folder, three new tokens.
   */
  private static JobCommandLine onS3(String task, String input, String output, String cache) {
    return JobCommandLine.of(task)
        .input(input)
        .output(output)
        .model("s3a://bucket/models/tiny", dir.resolve(cache), 3);
  }

  /**
   * One DocVQA validation question on page_5.png, in lmms-lab/DocVQA's layout, at {@code location}.
   */
  private static void writeDocVqaQuestion(String location) throws IOException {
    byte[] page = Files.readAllBytes(SparkTestSession.IMAGES.resolve("page_5.png"));
    HfDatasets.write(
        spark,
        location,
        HfDatasets.DOCVQA,
        List.of(
            RowFactory.create(
                "49153",
                "What is the date?",
                new String[] {"form"},
                RowFactory.create(page, "page_5.png"),
                14465,
                "pybv0228",
                "81",
                new String[] {"1975"},
                "val")));
  }
}
