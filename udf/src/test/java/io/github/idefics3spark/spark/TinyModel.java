package io.github.idefics3spark.spark;

import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.runtime.Idefics3Answer;
import io.github.idefics3spark.idefics3.runtime.Idefics3Request;
import io.github.idefics3spark.idefics3.runtime.Idefics3Runtime;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/**
 * The tiny SmolVLM checkpoint as the SQL function and Transformer tests use it: its URI and cache
 * folder, the reference images, a local Spark session, and the runtime loaded directly (not through
 * {@link ModelCache}) for the answers to compare with.
 */
public final class TinyModel implements AutoCloseable {
  /** Kept between runs (the cache is keyed by the checkpoint's listing); mvn clean empties it. */
  public static final Path CACHE = Path.of("target", "model-cache").toAbsolutePath();

  private final Idefics3Runtime model;

  private TinyModel(Idefics3Runtime model) {
    this.model = model;
  }

  /** The Hugging Face checkpoint folder, converted on first use. */
  public static String uri() {
    return ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM).toString();
  }

  public static byte[] imageBytes(String name) {
    return ReferenceFixtures.imageBytes(name);
  }

  public static String imagePath(String name) {
    return ReferenceFixtures.image(name).toString();
  }

  /** A local[2] session without the UI, as every Spark test class starts one. */
  public static SparkSession spark(String app) {
    return SparkSession.builder()
        .master("local[2]")
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate();
  }

  /**
   * The runtime with these settings and one intra-op thread (what a task of local[2] gets), loaded
   * from the package the cache holds.
   */
  public static TinyModel load(ModelSettings settings) {
    try {
      Path dir = LocalPackage.resolve(uri(), new Configuration(), CACHE);
      return new TinyModel(
          Idefics3Runtime.load(dir, settings.toBuilder().intraOpThreads(1).build()));
    } catch (IOException e) {
      throw new UncheckedIOException(e.getMessage(), e);
    }
  }

  /** The runtime's answer to this user text about these images, asked alone. */
  public Idefics3Answer answer(String text, List<byte[]> images) {
    return model.answer(List.of(Idefics3Request.question(text, images))).get(0);
  }

  @Override
  public void close() {
    model.close();
  }
}
