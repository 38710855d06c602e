package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job against a real S3-compatible server (S3Proxy, in this JVM, on loopback): images, a
 * manifest with relative image paths, DocVQA-layout Parquet and the model package read from {@code
 * s3a://}, Parquet written to {@code s3a://} through the S3A magic committer with the settings of
 * {@code conf/spark-defaults-s3.conf}.
 */
class S3ProxyJobTest {
  private static final String ACCESS_KEY = "idefics3-test";
  private static final String SECRET_KEY = "s3cr3t-" + UUID.randomUUID();
  private static final List<String> IMAGES =
      List.of("landscape_49x31.jpg", "page_5.png", "palette_33x45.gif", "tile_56x56.png");

  @TempDir static Path dir;
  private static BlobStoreContext blobs;
  private static S3Proxy s3;
  private static SparkSession spark;
  private static FileSystem fs;

  @BeforeAll
  static void start() throws Exception {
    blobs =
        ContextBuilder.newBuilder("transient")
            .credentials("identity", "credential")
            .build(BlobStoreContext.class);
    blobs.getBlobStore().createContainerInLocation(null, "bucket");
    s3 =
        S3Proxy.builder()
            .blobStore(blobs.getBlobStore())
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
            // the SDK's CRC32 checksum headers, which S3Proxy 3.0.0 does not know
            .ignoreUnknownHeaders(true)
            .build();
    s3.start();
    for (int i = 0; i < 500 && !"STARTED".equals(s3.getState()); i++) {
      Thread.sleep(10);
    }
    assertEquals("STARTED", s3.getState());

    SparkSession.Builder builder =
        SparkSession.builder()
            .appName("S3ProxyJobTest")
            .master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1");
    Properties defaults = new Properties();
    try (Reader reader = Files.newBufferedReader(Path.of("..", "conf", "spark-defaults-s3.conf"))) {
      defaults.load(reader);
    }
    for (String key : defaults.stringPropertyNames()) {
      builder = builder.config(key, defaults.getProperty(key));
    }
    // the loopback server and its keys in place of the environment's credential chain
    spark =
        builder
            .config("spark.hadoop.fs.s3a.endpoint", "http://127.0.0.1:" + s3.getPort())
            .config("spark.hadoop.fs.s3a.endpoint.region", "us-east-1")
            .config("spark.hadoop.fs.s3a.path.style.access", "true")
            .config("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
            .config(
                "spark.hadoop.fs.s3a.aws.credentials.provider",
                "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
            .config("spark.hadoop.fs.s3a.access.key", ACCESS_KEY)
            .config("spark.hadoop.fs.s3a.secret.key", SECRET_KEY)
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
    if (spark != null) {
      spark.stop();
    }
    if (s3 != null) {
      s3.stop();
    }
    if (blobs != null) {
      blobs.close();
    }
  }

  @Test
  void imagesAndModelFromS3ParquetToS3ThroughTheMagicCommitterThenResume() throws IOException {
    List<String> args =
        new ArrayList<>(
            List.of(
                "caption",
                "--input",
                "s3a://bucket/images",
                "--model",
                "s3a://bucket/models/tiny",
                "--model-cache",
                dir.resolve("cache").toString(),
                "--output",
                "s3a://bucket/runs/captions",
                "--max-new-tokens",
                "3",
                "--image-splitting=false",
                "--partitions",
                "2"));
    JobRun first = JobRun.of(args.toArray(String[]::new));
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
    JobRun again = JobRun.of(args.toArray(String[]::new));
    assertEquals(0, again.status(), again.err());
    assertTrue(again.out().contains("rows: 0 written, 5 skipped"), again.out());
    assertEquals(5, spark.read().parquet("s3a://bucket/runs/captions").count());

    // the secret key reaches neither output stream
    for (String text : List.of(first.out(), first.err(), again.out(), again.err())) {
      assertFalse(text.contains(SECRET_KEY));
    }
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
        JobRun.of(vqa("s3a://bucket/manifests/q.jsonl", "s3a://bucket/runs/manifest-answers"));
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
    byte[] page = Files.readAllBytes(SparkTestSession.IMAGES.resolve("page_5.png"));
    HfDatasets.write(
        spark,
        "s3a://bucket/datasets/docvqa/validation",
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
    JobRun hf =
        JobRun.of(vqa("s3a://bucket/datasets/docvqa/validation", "s3a://bucket/runs/docvqa"));
    assertEquals(0, hf.status(), hf.err());
    Row answer = spark.read().parquet("s3a://bucket/runs/docvqa").first();
    assertEquals("49153", answer.getAs("id"));
    assertTrue(answer.isNullAt(answer.fieldIndex("error")), () -> answer.getAs("error"));
    assertEquals(14465, (int) answer.getAs("docId"));
    assertEquals(1, (int) answer.getAs("image_frames"));
  }

  private static String[] vqa(String input, String output) {
    return new String[] {
      "vqa",
      "--input",
      input,
      "--model",
      "s3a://bucket/models/tiny",
      "--model-cache",
      dir.resolve("cache").toString(),
      "--output",
      output,
      "--max-new-tokens",
      "3",
      "--image-splitting=false"
    };
  }
}
