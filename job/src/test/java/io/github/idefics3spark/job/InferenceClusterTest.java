package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import io.github.idefics3spark.spark.InferenceSchema;
import io.github.idefics3spark.spark.InferenceSettings;
import io.github.idefics3spark.spark.LocalPackage;
import io.github.idefics3spark.spark.ModelCache;
import io.github.idefics3spark.tf.ComputeDtype;
import io.github.idefics3spark.tf.Int8Kernel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inference stage on a real multi-JVM Spark cluster, {@code local-cluster[2,1,1024]}: a master,
 * a worker and two executor JVMs on this machine. Each executor loads the model exactly once for
 * all its tasks of two jobs; an int8 package runs on the executors with the project's own op.
 *
 * <p>Executors are launched from {@code SPARK_HOME} (job/pom.xml points surefire at
 * target/spark-home, whose empty {@code jars/} and {@code launcher/target/scala-2.13/} this test
 * makes) with the test classpath.
 */
@Tag("cluster") // in the default suite; -DexcludedGroups=cluster leaves it out
class InferenceClusterTest {
  @TempDir static Path temp;
  private static SparkSession spark;

  @BeforeAll
  static void start() throws IOException {
    String home = System.getenv("SPARK_HOME");
    assertNotNull(
        home, "SPARK_HOME must name a folder for local-cluster (job/pom.xml sets it for surefire)");
    // what Spark's launcher looks for: the jars folder, and the Scala version's build folder
    Files.createDirectories(Path.of(home, "jars"));
    Files.createDirectories(Path.of(home, "launcher", "target", "scala-2.13"));
    spark =
        SparkSession.builder()
            .appName("InferenceClusterTest")
            .master("local-cluster[2,1,1024]")
            .config("spark.executor.extraClassPath", System.getProperty("java.class.path"))
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", "2")
            .getOrCreate();
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  /** {@code count} caption requests r0, r1, ... on the sample {@code images} in turn. */
  private static List<Row> captions(int count, List<String> images) throws IOException {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      byte[] bytes =
          Files.readAllBytes(SparkTestSession.IMAGES.resolve(images.get(i % images.size())));
      rows.add(
          RowFactory.create(
              "r" + i, List.of(RowFactory.create(bytes, null)), "What is it?", null, "caption"));
    }
    return rows;
  }

  /** Each JVM that runs a task of a wide job: its id and the models it has loaded. */
  private static Map<String, Integer> executorLoads() {
    MapPartitionsFunction<Long, String> report =
        rows -> List.of(ModelCache.jvmId() + "\t" + ModelCache.loads()).iterator();
    Map<String, Integer> loads = new HashMap<>();
    for (String line :
        spark
            .range(0, 64, 1, 32)
            .as(Encoders.LONG())
            .mapPartitions(report, Encoders.STRING())
            .distinct()
            .collectAsList()) {
      String[] parts = line.split("\t");
      loads.merge(parts[0], Integer.parseInt(parts[1]), Math::max);
    }
    return loads;
  }

  @Test
  void eachExecutorLoadsTheModelOnceForAllItsTasks() throws IOException {
    List<Row> rows =
        captions(16, List.of("tile_64x64.png", "landscape_49x31.jpg", "gray_40x29.png"));
    Dataset<Row> requests = spark.createDataFrame(rows, InferenceSchema.requests()).repartition(8);
    // converted here, or by an earlier run (the cache is keyed by the checkpoint's listing), so
    // executors start answering at once; LocalPackageTest races conversions
    Path cache = Path.of("target", "model-cache").toAbsolutePath();
    String model = SparkTestSession.TINY_CHECKPOINT.toString();
    Path converted = LocalPackage.resolve(model, new Configuration(), cache);
    List<Path> cached; // the cache outlives the build: earlier conversions may lie beside it
    try (Stream<Path> entries = Files.list(cache)) {
      cached = entries.sorted().toList();
    }
    InferenceSettings settings =
        InferenceSettings.of(model, ModelSettings.builder().maxNewTokens(4).batchSize(4).build())
            .withCacheDir(cache.toString());

    // what the executors loaded before (another test of this class may have loaded a package)
    Map<String, Integer> before = executorLoads();
    long start = System.nanoTime();
    InferenceSummary first =
        InferenceStage.run(
            requests,
            settings,
            temp.resolve("out").toString(),
            OutputMode.OVERWRITE,
            RetryErrors.NONE);
    InferenceSummary second =
        InferenceStage.run(
            requests,
            settings,
            temp.resolve("again").toString(),
            OutputMode.OVERWRITE,
            RetryErrors.NONE);
    System.out.printf(
        "InferenceClusterTest: two runs of %d rows in %.1f s%n%s%n",
        rows.size(), (System.nanoTime() - start) / 1e9, second.describe());

    assertEquals(rows.size(), first.rows());
    assertEquals(rows.size(), second.rows());
    assertEquals(0, first.errors() + second.errors(), first.describe());
    assertEquals(
        rows.size(),
        spark.read().parquet(temp.resolve("out").toString()).select("id").distinct().count());

    Map<String, Integer> loads = executorLoads();
    assertEquals(2, loads.size(), "two executor JVMs: " + loads);
    assertFalse(loads.containsKey(ModelCache.jvmId()), "tasks ran outside the driver");
    for (Map.Entry<String, Integer> executor : loads.entrySet()) {
      assertEquals(
          1,
          executor.getValue() - before.getOrDefault(executor.getKey(), 0),
          "model loads in executor " + executor.getKey() + " (before the runs: " + before + ")");
    }
    try (Stream<Path> entries = Files.list(cache)) {
      assertEquals(
          cached,
          entries.sorted().toList(),
          "executors used the converted package " + converted + " and converted nothing more");
    }
  }

  /**
   * An int8 package's decode steps run the project's own TensorFlow op, which each executor JVM
   * loads from the jar (tf.Int8Kernel) before the package: every request is answered, and the same
   * image and question give the same answer whichever executor took it.
   */
  @Test
  void anInt8PackageAnswersAlikeOnEveryExecutor() throws IOException {
    Path int8 = temp.resolve("tiny-int8");
    Idefics3Package.write(SparkTestSession.TINY_CHECKPOINT, int8, ComputeDtype.INT8);
    List<Row> rows = captions(8, List.of("tile_64x64.png", "landscape_49x31.jpg"));
    Dataset<Row> requests = spark.createDataFrame(rows, InferenceSchema.requests()).repartition(4);
    InferenceSummary summary =
        InferenceStage.run(
            requests,
            InferenceSettings.of(
                int8.toString(), ModelSettings.builder().maxNewTokens(6).batchSize(2).build()),
            temp.resolve("int8-out").toString(),
            OutputMode.OVERWRITE,
            RetryErrors.NONE);

    assertEquals(rows.size(), summary.rows());
    assertEquals(0, summary.errors(), summary.describe());
    Dataset<Row> out = spark.read().parquet(temp.resolve("int8-out").toString());
    assertEquals(rows.size(), out.filter(InferenceSchema.ANSWER + " IS NOT NULL").count());
    // the op was registered in an executor JVM, not only in the driver (which converted)
    MapPartitionsFunction<Long, String> registered =
        partition -> List.of(ModelCache.jvmId() + "\t" + Int8Kernel.registered()).iterator();
    List<String> executorsWithTheOp =
        spark
            .range(0, 16, 1, 8)
            .as(Encoders.LONG())
            .mapPartitions(registered, Encoders.STRING())
            .distinct()
            .collectAsList()
            .stream()
            .filter(line -> line.endsWith("\ttrue") && !line.startsWith(ModelCache.jvmId() + "\t"))
            .toList();
    assertFalse(executorsWithTheOp.isEmpty(), "no executor JVM registered " + Int8Kernel.OP);
    // r0, r2, ... share one image and r1, r3, ... the other: one answer for each
    Map<Integer, String> answers = new HashMap<>();
    for (Row row : out.select(InferenceSchema.ID, InferenceSchema.ANSWER).collectAsList()) {
      int image = Integer.parseInt(row.getString(0).substring(1)) % 2;
      String previous = answers.putIfAbsent(image, row.getString(1));
      assertEquals(
          previous == null ? row.getString(1) : previous,
          row.getString(1),
          "request " + row.getString(0));
    }
  }
}
