package io.github.idefics3spark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.runtime.Idefics3Runtime;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The executor's model cache without Spark: intra-op threads from the task's cores, one load for
 * concurrent callers, a failed load not remembered, a checkpoint converted with the split asked.
 * (Thread counts here differ from the other test classes', so their models are not shared with
 * these.)
 */
class ModelCacheTest {
  private static final Path CACHE = Path.of("target", "model-cache").toAbsolutePath();
  private static final Configuration HADOOP = new Configuration();
  private static Path converted;

  @TempDir Path temp;

  @BeforeAll
  static void convert() throws IOException {
    converted =
        LocalPackage.resolve(
            ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM).toString(), HADOOP, CACHE);
  }

  @Test
  void intraOpThreadsZeroBecomeTheCoresTheTaskOwns() {
    InferenceSettings settings =
        InferenceSettings.of(
            converted.toString(), ModelSettings.builder().intraOpThreads(0).build());
    Idefics3Runtime model = ModelCache.get(settings, HADOOP, new TaskResources(3, List.of()));
    assertEquals(3, model.settings().intraOpThreads());
    assertEquals(converted, model.packageDir());
  }

  @Test
  void concurrentCallersShareOneLoad() throws Exception {
    InferenceSettings settings =
        InferenceSettings.of(
            converted.toString(), ModelSettings.builder().intraOpThreads(5).build());
    int before = ModelCache.loads();
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<Future<Idefics3Runtime>> models = new ArrayList<>();
      Callable<Idefics3Runtime> get =
          () -> ModelCache.get(settings, HADOOP, new TaskResources(1, List.of()));
      for (int i = 0; i < 6; i++) {
        models.add(pool.submit(get));
      }
      for (Future<Idefics3Runtime> model : models) {
        assertSame(models.get(0).get(), model.get());
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(1, ModelCache.loads() - before, "one load for six concurrent callers");
    ModelCache.get(settings, HADOOP, new TaskResources(1, List.of()));
    assertEquals(1, ModelCache.loads() - before, "and none later");
  }

  @Test
  void aFailedLoadNamesTheSettingAndIsNotRemembered() throws IOException {
    Path later = temp.resolve("later");
    InferenceSettings settings =
        InferenceSettings.of(later.toString(), ModelSettings.builder().intraOpThreads(7).build());
    UncheckedIOException e =
        assertThrows(
            UncheckedIOException.class,
            () -> ModelCache.get(settings, HADOOP, new TaskResources(1, List.of())));
    assertTrue(e.getMessage().contains("--model"), e.getMessage());

    try (Stream<Path> walk = Files.walk(converted)) {
      for (Path path : walk.toList()) {
        Files.copy(path, later.resolve(converted.relativize(path).toString()));
      }
    }
    Idefics3Runtime model = ModelCache.get(settings, HADOOP, new TaskResources(1, List.of()));
    assertEquals(later, model.packageDir());
  }

  @Test
  void splitProductsConvertsACheckpointSplitAndLeavesAPackageAsConvertedWithAWarning()
      throws IOException {
    String checkpoint = ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM).toString();
    ModelSettings threads = ModelSettings.builder().intraOpThreads(4).build();
    Idefics3Runtime split =
        ModelCache.get(
            InferenceSettings.of(checkpoint, threads)
                .withCacheDir(temp.resolve("cache").toString())
                .withProductSplits(2),
            HADOOP,
            new TaskResources(1, List.of()));
    assertEquals(2, split.productSplits());

    Idefics3Runtime asConverted;
    String warning;
    try (WarningCapture warnings = new WarningCapture("ModelCacheTest-warnings")) {
      asConverted =
          ModelCache.get(
              InferenceSettings.of(converted.toString(), threads).withProductSplits(2),
              HADOOP,
              new TaskResources(1, List.of()));
      warning = warnings.text();
    }
    assertEquals(1, asConverted.productSplits());
    assertEquals(converted, asConverted.packageDir());
    assertTrue(
        warning.startsWith(
            "WARN model "
                + converted
                + " is a package converted with its products split in 1, and split-products 2"
                + " applies only to a checkpoint the executors convert"),
        warning);
  }

  @Test
  void splitProductsIsRefusedForATaskWithGpusBeforeAnythingIsConverted() {
    Path cache = temp.resolve("gpu-cache");
    InferenceSettings settings =
        InferenceSettings.of(
                ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM).toString(),
                ModelSettings.builder().intraOpThreads(4).build())
            .withCacheDir(cache.toString())
            .withProductSplits(2);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ModelCache.get(settings, HADOOP, new TaskResources(1, List.of("0"))));
    assertTrue(
        e.getMessage()
            .startsWith("split-products is 2 and this task has GPUs [0]: a package with split"),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("set split-products to 1, the default, for GPU executors"));
    assertTrue(Files.notExists(cache), "nothing converted");
  }
}
