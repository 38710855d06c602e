package io.github.idefics3spark.spark;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.checkpoint.PackageFiles.Verification;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import io.github.idefics3spark.image.DocumentPages;
import java.io.Serializable;
import java.util.List;
import java.util.Objects;

/**
 * What the inference stage ships to its executors: the model to load, how it runs, and where
 * executors keep their local copy of it. Serializable, so it travels inside a task; the key of the
 * executor's {@link ModelCache}.
 *
 * <p>{@code intraOpThreads} 0 in the model settings means "the cores the task owns" ({@code
 * spark.task.cpus}), decided on the executor.
 */
public final class InferenceSettings implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Rows sorted together by estimated prompt length before they are cut into batches. */
  public static final int DEFAULT_SORT_WINDOW_BATCHES = 8;

  /** A checkpoint the executors convert has its products whole (convert's default). */
  public static final int DEFAULT_PRODUCT_SPLITS = 1;

  private final String modelUri;
  private final String cacheDir;
  private final Verification verification;
  private final int productSplits;
  private final int sortWindowBatches;
  private final List<String> allowedRoots;
  private final int pageDpi;

  private final ModelSettings model;

  private InferenceSettings(
      String modelUri,
      ModelSettings model,
      String cacheDir,
      Verification verification,
      int productSplits,
      int sortWindowBatches,
      List<String> allowedRoots,
      int pageDpi) {
    if (modelUri == null || modelUri.isBlank()) {
      throw new IllegalArgumentException(
          "setting model is empty, expected a model package or Hugging Face checkpoint folder"
              + " (a local path, file:, hdfs: or s3a: URI, or an --archives name)");
    }
    if (productSplits < 1 || productSplits > Idefics3Package.MAX_PRODUCT_SPLITS) {
      throw new IllegalArgumentException(
          "setting split_products is "
              + productSplits
              + ", expected 1 to "
              + Idefics3Package.MAX_PRODUCT_SPLITS
              + " (1: products not split)");
    }
    if (sortWindowBatches < 1) {
      throw new IllegalArgumentException(
          "setting sort_window_batches is " + sortWindowBatches + ", expected >= 1");
    }
    this.modelUri = modelUri;
    this.cacheDir = cacheDir;
    this.verification = Objects.requireNonNull(verification, "verification");
    this.productSplits = productSplits;
    this.sortWindowBatches = sortWindowBatches;
    if (pageDpi < 1) {
      throw new IllegalArgumentException("setting dpi is " + pageDpi + ", expected >= 1");
    }
    this.allowedRoots = allowedRoots == null ? null : List.copyOf(allowedRoots);
    this.pageDpi = pageDpi;
    this.model = Objects.requireNonNull(model, "model");
  }

  /**
   * The model at {@code modelUri} run with {@code model}; the local cache in the default folder
   * ({@link LocalPackage#defaultCacheDir()}).
   *
   * @param modelUri a converted package or a Hugging Face checkpoint folder: a local path, a {@code
   *     file:}, {@code hdfs:} or {@code s3a:} URI, or the name of a folder shipped with {@code
   *     --archives}
   */
  public static InferenceSettings of(String modelUri, ModelSettings model) {
    return new InferenceSettings(
        modelUri,
        model,
        null,
        Verification.FULL,
        DEFAULT_PRODUCT_SPLITS,
        DEFAULT_SORT_WINDOW_BATCHES,
        null,
        DocumentPages.DEFAULT_DPI);
  }

  /** The same settings with executors keeping copied or converted packages in {@code dir}. */
  public InferenceSettings withCacheDir(String dir) {
    return new InferenceSettings(
        modelUri,
        model,
        dir,
        verification,
        productSplits,
        sortWindowBatches,
        allowedRoots,
        pageDpi);
  }

  /**
   * The same settings with executors checking a package used in place or found in their cache with
   * {@code verification} (default {@link Verification#FULL}: every file's sha256).
   */
  public InferenceSettings withVerification(Verification verification) {
    return new InferenceSettings(
        modelUri,
        model,
        cacheDir,
        verification,
        productSplits,
        sortWindowBatches,
        allowedRoots,
        pageDpi);
  }

  /**
   * The same settings with a checkpoint given as the model converted on the executors with its
   * large products split in {@code splits} parts (convert's {@code --split-products}; default 1:
   * not split). A package keeps the split it was converted with.
   */
  public InferenceSettings withProductSplits(int splits) {
    return new InferenceSettings(
        modelUri, model, cacheDir, verification, splits, sortWindowBatches, allowedRoots, pageDpi);
  }

  /** The same settings sorting windows of {@code batches} batches by prompt length. */
  public InferenceSettings withSortWindowBatches(int batches) {
    return new InferenceSettings(
        modelUri, model, cacheDir, verification, productSplits, batches, allowedRoots, pageDpi);
  }

  /** The same settings with other model settings. */
  public InferenceSettings withModel(ModelSettings model) {
    return new InferenceSettings(
        modelUri,
        model,
        cacheDir,
        verification,
        productSplits,
        sortWindowBatches,
        allowedRoots,
        pageDpi);
  }

  /**
   * The same settings reading rows' image paths only under {@code roots} (folders: paths or URIs,
   * compared with each image path as normalised, qualified URIs); null: any path.
   */
  public InferenceSettings withAllowedRoots(List<String> roots) {
    return new InferenceSettings(
        modelUri, model, cacheDir, verification, productSplits, sortWindowBatches, roots, pageDpi);
  }

  /**
   * The same settings rendering PDF pages at {@code dpi} dots per inch (default {@value
   * DocumentPages#DEFAULT_DPI}).
   */
  public InferenceSettings withPageDpi(int dpi) {
    return new InferenceSettings(
        modelUri,
        model,
        cacheDir,
        verification,
        productSplits,
        sortWindowBatches,
        allowedRoots,
        dpi);
  }

  /** The DPI PDF pages are rendered at. */
  public int pageDpi() {
    return pageDpi;
  }

  /** The folders rows' image paths must lie under, or null for any path. */
  public List<String> allowedRoots() {
    return allowedRoots;
  }

  public String modelUri() {
    return modelUri;
  }

  /** The local cache folder for copied and converted packages, or null for the default. */
  public String cacheDir() {
    return cacheDir;
  }

  /** How a package used in place or found in the cache is checked before it is loaded. */
  public Verification verification() {
    return verification;
  }

  /** The parts a checkpoint the executors convert has its large products split in. */
  public int productSplits() {
    return productSplits;
  }

  public int sortWindowBatches() {
    return sortWindowBatches;
  }

  /** The model settings as given (intra-op threads 0: decided per task). */
  public ModelSettings model() {
    return model;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof InferenceSettings other
        && modelUri.equals(other.modelUri)
        && Objects.equals(cacheDir, other.cacheDir)
        && verification == other.verification
        && productSplits == other.productSplits
        && sortWindowBatches == other.sortWindowBatches
        && Objects.equals(allowedRoots, other.allowedRoots)
        && pageDpi == other.pageDpi
        && model.equals(other.model);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        modelUri,
        cacheDir,
        verification,
        productSplits,
        sortWindowBatches,
        allowedRoots,
        pageDpi,
        model);
  }

  @Override
  public String toString() {
    return "InferenceSettings[model="
        + modelUri
        + ", cacheDir="
        + cacheDir
        + ", verifyPackage="
        + verification.flag()
        + ", splitProducts="
        + productSplits
        + ", sortWindowBatches="
        + sortWindowBatches
        + (allowedRoots == null ? "" : ", allowedRoots=" + allowedRoots)
        + ", pageDpi="
        + pageDpi
        + ", "
        + model
        + "]";
  }
}
