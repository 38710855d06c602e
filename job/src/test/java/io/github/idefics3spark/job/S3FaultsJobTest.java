package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
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
  private static LocalS3 s3;
  private static FaultInjectingProxy proxy;
  private static SparkSession spark;
  private static FileSystem fs;

  @BeforeAll
  static void start() throws Exception {
    // Hadoop caches file systems per scheme and bucket for the JVM: drop an s3a://bucket of an
    // earlier test class, bound to its endpoint, so this class's settings and proxy apply
    FileSystem.closeAll();
    s3 = LocalS3.start("access", "secret");
    assertEquals("STARTED", s3.state());
    proxy = new FaultInjectingProxy(s3.port());

    SparkSession.Builder builder = s3.sparkSession("S3FaultsJobTest", proxy.port());
    for (String[] setting : RETRIES) {
      builder = builder.config("spark.hadoop." + setting[0], setting[1]);
    }
    spark =
        builder
            .config(
                "spark.hadoop.fs.s3a.aws.credentials.provider",
                "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
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
      s3.close();
    }
    FileSystem.closeAll(); // nor is this class's s3a://bucket, bound to the proxy, left to others
  }

  private static JobRun caption(String output) {
    return JobCommandLine.of("caption")
        .input("s3a://bucket/images")
        .output(output)
        .tinyModel(JobCommandLine.SHARED_CACHE, 2)
        .with("--partitions", "2")
        .run();
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
