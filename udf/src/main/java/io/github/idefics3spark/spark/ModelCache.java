package io.github.idefics3spark.spark;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.checkpoint.PackageFiles.Verification;
import io.github.idefics3spark.idefics3.runtime.Idefics3Runtime;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models loaded in this JVM (an executor), one per model URI: loaded lazily by the first task
 * that asks and shared by every later and concurrent task, never reloaded per partition or task.
 * {@link Idefics3Runtime} is thread-safe, so concurrent tasks share one TensorFlow session.
 *
 * <p>The job, the SQL functions and the ML Transformer all come here, so they share that load
 * whichever asked first: callers asking with other settings (batch size, decoding, image
 * resolution) get the loaded model through {@link Idefics3Runtime#withSettings}, at no load cost.
 * Only another cache folder, other intra-op threads, another package verification or another split
 * for a checkpoint the executors convert load the package again.
 *
 * <p>A load that fails is not remembered: the next task tries again (a retried task after a passing
 * S3 error, say). Models stay loaded for the life of the JVM.
 */
public final class ModelCache {
  private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);

  /** What makes two loaded packages the same: the session's threads are fixed at load. */
  private record Key(
      String modelUri,
      String cacheDir,
      int intraOpThreads,
      Verification verification,
      int productSplits) {}

  /**
   * One model, loaded by the first caller while the others wait for it, and its views with other
   * callers' settings.
   */
  private static final class Slot {
    private Idefics3Runtime model;
    private final Map<ModelSettings, Idefics3Runtime> views = new HashMap<>();

    synchronized Idefics3Runtime get(
        Key key, ModelSettings settings, Configuration hadoop, TaskResources resources)
        throws IOException {
      if (model == null) {
        Path cacheDir =
            key.cacheDir() == null ? LocalPackage.defaultCacheDir() : Path.of(key.cacheDir());
        long start = System.nanoTime();
        // a checkpoint is converted with the load's threads: the JVM's first TensorFlow session
        // makes its thread pools for every later one
        Path dir =
            LocalPackage.resolve(
                key.modelUri(),
                hadoop,
                cacheDir,
                key.verification(),
                key.intraOpThreads(),
                key.productSplits());
        // The executor's model lives on the GPU of the task that loaded it: give executors one GPU
        // each (spark.executor.resource.gpu.amount=1) so every task of the JVM has that one.
        model = Idefics3Runtime.load(dir, settings, String.join(",", resources.gpus()));
        int loads = LOADS.incrementAndGet();
        int splits = model.productSplits();
        if (key.productSplits() != InferenceSettings.DEFAULT_PRODUCT_SPLITS
            && splits != key.productSplits()) {
          LOG.warn(
              "model {} is a package converted with its products split in {}, and split-products"
                  + " {} applies only to a checkpoint the executors convert: the package runs"
                  + " as converted; convert the checkpoint with --split-products {} and set"
                  + " --model to that package, or give --model the checkpoint",
              key.modelUri(),
              splits,
              key.productSplits(),
              key.productSplits());
        }
        LOG.info(
            "loaded model {} from {} in {} s ({}{}; load {} in JVM {})",
            key.modelUri(),
            dir,
            String.format("%.1f", (System.nanoTime() - start) / 1e9),
            splits == 1
                ? key.intraOpThreads() + " intra-op threads"
                : Idefics3Package.operationThreads(key.intraOpThreads(), splits)
                    + " intra-op threads an operation, its products split in "
                    + splits,
            resources.gpus().isEmpty() ? "" : ", task GPUs " + resources.gpus(),
            loads,
            JVM_ID);
      }
      if (settings.equals(model.settings())) {
        return model;
      }
      return views.computeIfAbsent(settings, model::withSettings);
    }

    synchronized void close() {
      views.clear();
      if (model != null) {
        model.close();
        model = null;
      }
    }
  }

  private static final ConcurrentMap<Key, Slot> MODELS = new ConcurrentHashMap<>();
  private static final AtomicInteger LOADS = new AtomicInteger();
  private static final String JVM_ID = ManagementFactory.getRuntimeMXBean().getName();

  private ModelCache() {}

  /**
   * The model of {@code settings} for the running task, loading it on first use: intra-op threads 0
   * in the settings become the cores the task owns ({@code spark.task.cpus}).
   *
   * @throws IllegalArgumentException when the settings split products and the task has GPUs
   * @throws UncheckedIOException when the model cannot be found, copied, converted or loaded
   */
  public static Idefics3Runtime get(
      InferenceSettings settings, Configuration hadoop, TaskResources resources) {
    if (settings.productSplits() > 1 && !resources.gpus().isEmpty()) {
      // refused here, before an executor converts a checkpoint that a GPU load then refuses
      throw new IllegalArgumentException(
          "split-products is "
              + settings.productSplits()
              + " and this task has GPUs "
              + resources.gpus()
              + ": a package with split products is for CPU executors and is refused on a GPU"
              + " (the split doubles small-batch decode's kernel launches); set split-products"
              + " to 1, the default, for GPU executors");
    }
    ModelSettings model = settings.model();
    if (model.intraOpThreads() == 0) {
      model = model.toBuilder().intraOpThreads(resources.cpus()).build();
    }
    Key key =
        new Key(
            settings.modelUri(),
            settings.cacheDir(),
            model.intraOpThreads(),
            settings.verification(),
            settings.productSplits());
    try {
      return MODELS.computeIfAbsent(key, k -> new Slot()).get(key, model, hadoop, resources);
    } catch (IOException e) {
      throw new UncheckedIOException(e.getMessage(), e);
    }
  }

  /** How many models this JVM has loaded so far. */
  public static int loads() {
    return LOADS.get();
  }

  /** This JVM's name (pid@host), to tell executors apart. */
  public static String jvmId() {
    return JVM_ID;
  }

  /**
   * Closes and forgets every loaded model. Only for a JVM that runs no more tasks (tests, a driver
   * in local mode at its end); the load count is kept.
   */
  public static void closeAll() {
    for (Slot slot : MODELS.values()) {
      slot.close();
    }
    MODELS.clear();
  }
}
