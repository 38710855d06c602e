package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertNull;

import io.github.idefics3spark.ReferenceFixtures;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** The local Spark session of one test class: local[2], no UI, few shuffle partitions. */
final class SparkTestSession {
  /** The bundled sample images (model-loader's reference fixtures). */
  static final Path IMAGES = ReferenceFixtures.root().resolve("images");

  /** The bundled tiny SmolVLM-shaped checkpoint, random weights. */
  static final Path TINY_CHECKPOINT = ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM);

  private SparkTestSession() {}

  /** The rows of the Parquet folder {@code parquet} (a job's output) by id, each id once. */
  static Map<String, Row> rowsById(SparkSession spark, Path parquet) {
    Map<String, Row> byId = new HashMap<>();
    for (Row row : spark.read().parquet(parquet.toString()).collectAsList()) {
      assertNull(byId.put(row.getAs("id"), row), "id " + row.getAs("id") + " twice");
    }
    return byId;
  }

  static SparkSession start(String name) {
    return SparkSession.builder()
        .appName(name)
        .master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate();
  }
}
