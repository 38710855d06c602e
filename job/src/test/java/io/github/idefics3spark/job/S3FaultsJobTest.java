package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
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
 * Issue 15.4: the job against an S3 server that fails some requests, through a {@link
 * FaultInjectingProxy} between S3A and S3Proxy answering {@code 503 SlowDown}. S3A's retries are
 * bounded small here (the settings README.md names): transient failures are absorbed and the output
 * is complete; a server that keeps failing the part files' uploads ends the job with a clear error
 * in bounded time, nothing counted as done, and a resume once it recovers finishes the output with
 * each id once.
 */
class S3FaultsJobTest {
  private static final List<String> IMAGES =
      List.of("landscape_49x31.jpg", "page_5.png", "palette_33x45.gif", "tile_56x56.png");

  /** S3A's retry settings of this test: few, short retries. */
  static final List<String[]> RETRIES =
      List.of(
          new String[] {"fs.s3a.attempts.maximum", "2"},
          new String[] {"fs.s3a.retry.limit", "3"},
          new String[] {"fs.s3a.retry.interval", "50ms"},
          new String[] {"fs.s3a.retry.throttle.limit", "3"},
          new String[] {"fs.s3a.retry.throttle.interval", "50ms"});

  @TempDir static Path dir;
  private static BlobStoreContext blobs;
  private static S3Proxy s3;
  private static FaultInjectingProxy proxy;
  private static SparkSession spark;
  private static FileSystem fs;

  @BeforeAll
  static void start() throws Exception {
    // Hadoop caches file systems per scheme and bucket for the JVM: drop an s3a://bucket of an
    // earlier test class, bound to its endpoint, so this class's settings and proxy apply
    FileSystem.closeAll();
    blobs =
        ContextBuilder.newBuilder("transient")
            .credentials("identity", "credential")
            .build(BlobStoreContext.class);
    blobs.getBlobStore().createContainerInLocation(null, "bucket");
    s3 =
        S3Proxy.builder()
            .blobStore(blobs.getBlobStore())
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, "access", "secret")
            .ignoreUnknownHeaders(true)
            .build();
    s3.start();
    for (int i = 0; i < 500 && !"STARTED".equals(s3.getState()); i++) {
      Thread.sleep(10);
    }
    assertEquals("STARTED", s3.getState());
    proxy = new FaultInjectingProxy(s3.getPort());

    SparkSession.Builder builder =
        SparkSession.builder()
            .appName("S3FaultsJobTest")
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
    for (String[] setting : RETRIES) {
      builder = builder.config("spark.hadoop." + setting[0], setting[1]);
    }
    spark =
        builder
            .config("spark.hadoop.fs.s3a.endpoint", "http://127.0.0.1:" + proxy.port())
            .config("spark.hadoop.fs.s3a.endpoint.region", "us-east-1")
            .config("spark.hadoop.fs.s3a.path.style.access", "true")
            .config("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
            .config(
                "spark.hadoop.fs.s3a.aws.credentials.provider",
                "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
            .config("spark.hadoop.fs.s3a.access.key", "access")
            .config("spark.hadoop.fs.s3a.secret.key", "secret")
            .getOrCreate();
    fs =
        new org.apache.hadoop.fs.Path("s3a://bucket/")
            .getFileSystem(spark.sparkContext().hadoopConfiguration());
    for (String image : IMAGES) {
      fs.copyFromLocalFile(
          new org.apache.hadoop.fs.Path(SparkTestSession.IMAGES.resolve(image).toUri()),
          new org.apache.hadoop.fs.Path("s3a://bucket/images/" + image));
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (spark != null) {
      spark.stop();
    }
    if (proxy != null) {
      proxy.close();
    }
    if (s3 != null) {
      s3.stop();
    }
    if (blobs != null) {
      blobs.close();
    }
    FileSystem.closeAll(); // nor is this class's s3a://bucket, bound to the proxy, left to others
  }

  private static JobRun caption(String output) {
    return JobRun.of(
        "caption",
        "--input",
        "s3a://bucket/images",
        "--output",
        output,
        "--model",
        SparkTestSession.TINY_CHECKPOINT.toString(),
        "--model-cache",
        Path.of("target", "model-cache").toAbsolutePath().toString(),
        "--max-new-tokens",
        "2",
        "--image-splitting=false",
        "--partitions",
        "2");
  }

  private static void assertEachIdOnce(String output) {
    Dataset<Row> written = spark.read().parquet(output);
    assertEquals(IMAGES.size(), written.count());
    assertEquals(IMAGES.size(), written.select("id").distinct().count());
    assertEquals(0, written.where("error is not null").count());
  }

  @Test
  void everyFourthRequestFailingIsAbsorbedByS3aRetriesAndTheOutputIsComplete() {
    long before = proxy.failed();
    long requestsBefore = proxy.requests();
    proxy.rule((number, line) -> number % 4 == 0);
    JobRun run;
    try {
      run = caption("s3a://bucket/runs/transient");
    } finally {
      proxy.rule(FaultInjectingProxy.NONE);
    }
    long failed = proxy.failed() - before;
    System.out.println(
        "S3FaultsJobTest: every 4th request answered 503 SlowDown: "
            + failed
            + " failed of "
            + (proxy.requests() - requestsBefore)
            + " requests of the run");
    assertEquals(0, run.status(), run.err());
    assertTrue(run.out().contains("rows: " + IMAGES.size() + " written"), run.out());
    assertTrue(failed >= 5, "the proxy failed requests: " + failed);
    assertEachIdOnce("s3a://bucket/runs/transient");
  }

  @Test
  void uploadsFailingPersistentlyEndTheJobInBoundedTimeThenResumeCompletes() throws IOException {
    String output = "s3a://bucket/runs/persistent";
    long before = proxy.failed();
    long requestsBefore = proxy.requests();
    proxy.rule((number, line) -> line.contains("/part-"));
    JobRun run;
    long start = System.nanoTime();
    try {
      run = caption(output);
    } finally {
      proxy.rule(FaultInjectingProxy.NONE);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    long failed = proxy.failed() - before;
    System.out.printf(
        "S3FaultsJobTest: part-file uploads failing: the job ended in %.1f s, %d of %d requests"
            + " failed%n",
        seconds, failed, proxy.requests() - requestsBefore);
    assertEquals(1, run.status(), run.err());
    String first = run.err().lines().findFirst().orElse("");
    assertTrue(first.startsWith("caption: the job failed: "), run.err());
    assertTrue(first.contains("--mode resume"), first);
    assertFalse(run.out().contains("rows: "), "no summary claims rows: " + run.out());
    assertTrue(failed > 0);
    assertTrue(seconds < 120, "bounded: " + seconds + " s");
    org.apache.hadoop.fs.Path folder = new org.apache.hadoop.fs.Path(output);
    for (FileStatus status : fs.exists(folder) ? fs.listStatus(folder) : new FileStatus[0]) {
      String name = status.getPath().getName();
      assertFalse(name.startsWith("part-") || name.equals("_SUCCESS"), "committed: " + name);
    }

    JobRun resumed = caption(output);
    assertEquals(0, resumed.status(), resumed.err());
    assertTrue(resumed.out().contains("rows: " + IMAGES.size() + " written"), resumed.out());
    assertEachIdOnce(output);
  }
}
