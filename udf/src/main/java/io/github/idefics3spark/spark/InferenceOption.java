package io.github.idefics3spark.spark;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.checkpoint.PackageFiles.Verification;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A setting of how the model runs that the job, the SQL functions and the ML Transformer share,
 * declared once: its key (the job's option without the dashes, its {@code --conf} key and the SQL
 * functions' option key), the Transformer's Param name, the value's placeholder, type, default and
 * range, the job's help and the Param's doc, and the entry points that take it ({@link #takenBy}).
 *
 * <p>Each entry point reads its values through {@link #parse} (a text) or {@link #accepts} (a
 * Param's value), and makes the settings with {@link #settings}, the one place for the rules
 * between settings: setting any of temperature, top-k and top-p turns sampling on; a seed without
 * sampling is refused. Each words its refusals its own way, naming the setting as its user gave it.
 */
public enum InferenceOption {
  MODEL_CACHE(
      "model-cache",
      "modelCacheDir",
      "DIR",
      Type.TEXT,
      null,
      null,
      null,
      "Executor-local folder for packages copied from hdfs:/s3a: or converted from checkpoints"
          + " (default: a folder under java.io.tmpdir).",
      "executor-local folder for packages copied from hdfs:/s3a: or converted from"
          + " checkpoints; not set: a folder under java.io.tmpdir",
      EntryPoint.values()),
  VERIFY_PACKAGE(
      "verify-package",
      "verifyPackage",
      Verification.choices(),
      Type.VERIFICATION,
      Verification.FULL,
      null,
      null,
      "How executors check a package used in place or found in --model-cache against its"
          + " manifest before loading it. full (default): the sha256 of every file, weights"
          + " included (about 2 s per GB of package); quick: sizes, and the sha256 of the assets"
          + " and the graph. Both refuse a graph with an op that convert does not write.",
      "how a package used in place or found in the executor's cache is checked against its"
          + " manifest before it is loaded: full (default) hashes every file, weights"
          + " included; quick checks sizes and hashes the assets and the graph (the graph's"
          + " op check is always done)",
      EntryPoint.values()),
  SPLIT_PRODUCTS(
      "split-products",
      "splitProducts",
      "N",
      Type.WHOLE,
      InferenceSettings.DEFAULT_PRODUCT_SPLITS,
      Range.between(1, Idefics3Package.MAX_PRODUCT_SPLITS),
      null,
      "A checkpoint given as --model is converted on the executors with its large products"
          + " split in N parts that run at once (convert's --split-products: for CPU executors"
          + " whose tasks own N cores or more, spark.task.cpus; default 1, not split; refused"
          + " above 1 for tasks with GPUs). A package keeps the split it was converted with.",
      "a checkpoint given as the model is converted on the executors with its large products"
          + " split in N parts that run at once (1-"
          + Idefics3Package.MAX_PRODUCT_SPLITS
          + "; convert's --split-products, for CPU"
          + " executors whose tasks own N cores or more); a package keeps its own split",
      EntryPoint.values()),
  BATCH_SIZE(
      "batch-size",
      "batchSize",
      "N",
      Type.WHOLE,
      ModelSettings.DEFAULTS.batchSize(),
      Range.atLeast(1),
      null,
      "Requests decoded together at most (default 8).",
      "rows decoded together at most (>= 1)",
      EntryPoint.JOB,
      EntryPoint.TRANSFORMER),
  SORT_WINDOW_BATCHES(
      "sort-window-batches",
      "sortWindowBatches",
      "N",
      Type.WHOLE,
      InferenceSettings.DEFAULT_SORT_WINDOW_BATCHES,
      Range.atLeast(1),
      null,
      "Rows are sorted by prompt length in windows of this many batches.",
      "rows are sorted by prompt length in windows of this many batches, so batches pad"
          + " little (>= 1)",
      EntryPoint.TRANSFORMER),
  MAX_NEW_TOKENS(
      "max-new-tokens",
      "maxNewTokens",
      "N",
      Type.WHOLE,
      ModelSettings.DEFAULTS.maxNewTokens(),
      Range.atLeast(1),
      null,
      "New tokens per answer at most (default 64).",
      "new tokens per answer at most (>= 1)",
      EntryPoint.values()),
  TEMPERATURE(
      "temperature",
      "temperature",
      "T",
      Type.DECIMAL,
      ModelSettings.DEFAULTS.temperature(),
      Range.above(0),
      null,
      "Sample with this temperature (> 0). Setting any of --temperature, --top-k, --top-p turns"
          + " sampling on; without them decoding is greedy.",
      "sampling temperature (> 0); setting temperature, topK or topP turns sampling on,"
          + " else decoding is greedy",
      EntryPoint.values()),
  TOP_K(
      "top-k",
      "topK",
      "K",
      Type.WHOLE,
      ModelSettings.DEFAULTS.topK(),
      Range.atLeast(0),
      "(0: all tokens)",
      "Sample from the K most likely tokens (0: all; default 0).",
      "sample from the k most likely tokens (>= 0; 0: all)",
      EntryPoint.values()),
  TOP_P(
      "top-p",
      "topP",
      "P",
      Type.DECIMAL,
      ModelSettings.DEFAULTS.topP(),
      Range.probability(),
      null,
      "Sample from the smallest set of tokens reaching probability P (default 1).",
      "sample from the smallest set of tokens reaching this probability (in (0, 1])",
      EntryPoint.values()),
  SEED(
      "seed",
      "seed",
      "N",
      Type.LONG,
      ModelSettings.DEFAULTS.seed(),
      null,
      null,
      "Sampling seed (default 0): the same seed, batch and settings give the same tokens.",
      "sampling seed: the same seed, batch and settings give the same tokens; refused with"
          + " greedy decoding",
      EntryPoint.values()),
  LONGEST_EDGE(
      "longest-edge",
      "longestEdge",
      "PIXELS",
      Type.WHOLE,
      ModelSettings.DEFAULTS.longestEdge(),
      Range.atLeast(0),
      "(0: the checkpoint's)",
      "Resize each image's longest side to this first (0, default: the checkpoint's"
          + " size.longest_edge). Lower is faster and coarser: frames grow with its square.",
      "resize each image's longest side to this first (>= 0; 0: the checkpoint's); lower is"
          + " faster and coarser",
      EntryPoint.values()),
  IMAGE_SPLITTING(
      "image-splitting",
      "imageSplitting",
      "true|false",
      Type.BOOLEAN,
      ModelSettings.DEFAULTS.imageSplitting(),
      null,
      null,
      "true (default): tiles plus a global view, as the checkpoint does; false: one frame per"
          + " image, much faster.",
      "true: tiles plus a global view, as the checkpoint does; false: one frame per image,"
          + " much faster",
      EntryPoint.values()),
  MAX_IMAGE_PIXELS(
      "max-image-pixels",
      "maxImagePixels",
      "N",
      Type.LONG,
      ModelSettings.DEFAULTS.maxImagePixels(),
      Range.atLeast(1),
      null,
      "Images with more pixels are refused before decoding, as an error row (default"
          + " 178956970, Pillow's limit).",
      "images with more pixels are refused before decoding, as an error row (>= 1)",
      EntryPoint.values()),
  MAX_IMAGE_BYTES(
      "max-image-bytes",
      "maxImageBytes",
      "N",
      Type.LONG,
      ModelSettings.DEFAULTS.maxImageBytes(),
      Range.atLeast(0),
      "(0: no limit)",
      "Encoded images larger than N bytes become a TOO_LARGE error row before they are read"
          + " (a path: its length first) or decoded (0: no limit; default 67108864, 64 MiB).",
      "encoded images larger than this many bytes become a TOO_LARGE error row before they are"
          + " read or decoded (>= 0; 0: no limit)",
      EntryPoint.values()),
  IMAGE_DECODE_TIMEOUT_MS(
      "image-decode-timeout-ms",
      "imageDecodeTimeoutMs",
      "MS",
      Type.LONG,
      ModelSettings.DEFAULTS.imageDecodeTimeoutMs(),
      Range.atLeast(0),
      "(0: no limit)",
      "Decoding and resizing one image taking longer than MS milliseconds becomes that row's"
          + " TOO_LARGE error; the task goes on (0: no limit; default 30000).",
      "decoding and resizing one image taking longer than this many milliseconds becomes that"
          + " row's TOO_LARGE error (>= 0; 0: no limit)",
      EntryPoint.values()),
  MAX_QUESTION_CHARS(
      "max-question-chars",
      "maxQuestionChars",
      "N",
      Type.WHOLE,
      ModelSettings.DEFAULTS.maxQuestionChars(),
      Range.atLeast(1),
      null,
      "A question (with the prompt's text) longer than N characters becomes a BAD_PROMPT error"
          + " row before tokenisation (default 100000).",
      "a question (with the prompt's text) longer than this many characters becomes a"
          + " BAD_PROMPT error row before tokenisation (>= 1)",
      EntryPoint.values()),
  IMAGE_CACHE_MB(
      "image-cache-mb",
      "imageCacheMb",
      "MB",
      Type.WHOLE,
      ModelSettings.DEFAULTS.imageCacheMb(),
      Range.atLeast(0),
      "(0: no reuse)",
      "MiB of vision features a task keeps, so that rows sharing an image (same bytes, or a"
          + " path to the same bytes) decode and encode it once; rows are grouped by image"
          + " within a sort window (0: every row encodes its own images; default 256).",
      "MiB of vision features a task keeps so that rows sharing an image encode it once; rows"
          + " are grouped by image within a sort window (>= 0; 0: no reuse)",
      EntryPoint.JOB,
      EntryPoint.TRANSFORMER),
  CONTINUOUS_BATCHING(
      "continuous-batching",
      "continuousBatching",
      "true|false",
      Type.BOOLEAN,
      ModelSettings.DEFAULTS.continuousBatching(),
      null,
      null,
      "true (default): a task's generating rows share the batch's slots, a row taking a slot as"
          + " soon as one frees, so short answers do not wait for long ones (model packages"
          + " converted since; older ones decode in static batches); false: each batch decodes"
          + " until its longest answer ends.",
      "true: a task's generating rows share the batch's slots, a row taking a slot as soon as"
          + " one frees; false: each batch decodes until its longest answer ends",
      EntryPoint.JOB,
      EntryPoint.TRANSFORMER),
  INTRA_OP_THREADS(
      "intra-op-threads",
      "intraOpThreads",
      "N",
      Type.WHOLE,
      ModelSettings.DEFAULTS.intraOpThreads(),
      Range.atLeast(0),
      "(0: the cores a task owns)",
      "TensorFlow threads per operation (0, default: the cores a task owns, spark.task.cpus); a"
          + " package converted with --split-products S gives each operation N / S of them.",
      "TensorFlow threads per operation (>= 0; 0: the cores a task owns, spark.task.cpus; divided"
          + " by S for a package converted with --split-products S)",
      EntryPoint.values());

  /** Where a setting is given. */
  public enum EntryPoint {
    /** The {@code caption}, {@code vqa} and {@code eval} commands: options and conf keys. */
    JOB,
    /** The SQL functions: register's options and the {@code spark.idefics3.*} conf. */
    SQL,
    /** {@code Idefics3Transformer}'s Params. */
    TRANSFORMER
  }

  /** The kind of value a setting holds. */
  public enum Type {
    /** An int. */
    WHOLE,
    /** A long. */
    LONG,
    /** A float (a double in the Transformer's Param). */
    DECIMAL,
    /** true or false. */
    BOOLEAN,
    /** quick or full: a {@link Verification}. */
    VERIFICATION,
    /** A text, not blank. */
    TEXT
  }

  /** Why a text is not a value of the setting. */
  public enum Problem {
    /** Blank. */
    EMPTY,
    /** Not a number, not true or false, not one of the choices. */
    NOT_A_VALUE,
    /** A number outside the setting's range. */
    OUT_OF_RANGE,
    /** A whole number past the largest int. */
    TOO_LARGE
  }

  /** A text refused by {@link #parse}: the setting, the text and the problem. */
  public static final class InvalidValue extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final InferenceOption option;
    private final String text;
    private final Problem problem;

    InvalidValue(InferenceOption option, String text, Problem problem) {
      super("setting " + option.key + " is '" + text + "', expected " + option.expected(problem));
      this.option = option;
      this.text = text;
      this.problem = problem;
    }

    public InferenceOption option() {
      return option;
    }

    public String text() {
      return text;
    }

    public Problem problem() {
      return problem;
    }
  }

  /**
   * The numbers a setting takes, from {@code min} (excluded when {@code minExcluded}) to {@code
   * max} included, finite.
   */
  private record Range(double min, boolean minExcluded, double max) implements Serializable {
    static Range atLeast(double min) {
      return new Range(min, false, Double.POSITIVE_INFINITY);
    }

    static Range between(double min, double max) {
      return new Range(min, false, max);
    }

    static Range above(double min) {
      return new Range(min, true, Double.POSITIVE_INFINITY);
    }

    static Range probability() {
      return new Range(0, true, 1);
    }

    boolean contains(double value) {
      return (minExcluded ? value > min : value >= min)
          && value <= max
          && !Double.isInfinite(value);
    }

    /** {@code >= 1}, {@code > 0}, {@code in (0, 1]}. */
    String text() {
      if (max == Double.POSITIVE_INFINITY) {
        return (minExcluded ? "> " : ">= ") + number(min);
      }
      return "in " + (minExcluded ? "(" : "[") + number(min) + ", " + number(max) + "]";
    }

    private static String number(double value) {
      return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }
  }

  private final String key;
  private final String paramName;
  private final String valueLabel;
  private final Type type;
  private final Object defaultValue;
  private final Range range;
  private final String rangeNote;
  private final String help;
  private final String paramDoc;
  private final Set<EntryPoint> takenBy;

  InferenceOption(
      String key,
      String paramName,
      String valueLabel,
      Type type,
      Object defaultValue,
      Range range,
      String rangeNote,
      String help,
      String paramDoc,
      EntryPoint... takenBy) {
    this.key = key;
    this.paramName = paramName;
    this.valueLabel = valueLabel;
    this.type = type;
    this.defaultValue = defaultValue;
    this.range = range;
    this.rangeNote = rangeNote;
    this.help = help;
    this.paramDoc = paramDoc;
    this.takenBy = EnumSet.of(takenBy[0], takenBy);
  }

  /** The job's option without the dashes, its {@code --conf} key, the SQL functions' key. */
  public String key() {
    return key;
  }

  /** The name of the Transformer's Param. */
  public String paramName() {
    return paramName;
  }

  /** What the value looks like, for the job's help. */
  public String valueLabel() {
    return valueLabel;
  }

  public Type type() {
    return type;
  }

  /**
   * The value when not given: an Integer, Long, Float, Boolean or {@link Verification} by {@link
   * #type}; null when there is none (the model cache: a folder under java.io.tmpdir).
   */
  public Object defaultValue() {
    return defaultValue;
  }

  /** The job's help text. */
  public String help() {
    return help;
  }

  /** The Transformer's Param doc. */
  public String paramDoc() {
    return paramDoc;
  }

  /** Whether {@code entryPoint} takes this setting. */
  public boolean takenBy(EntryPoint entryPoint) {
    return takenBy.contains(entryPoint);
  }

  /** The settings {@code entryPoint} takes, in declaration order. */
  public static List<InferenceOption> of(EntryPoint entryPoint) {
    List<InferenceOption> options = new ArrayList<>();
    for (InferenceOption option : values()) {
      if (option.takenBy(entryPoint)) {
        options.add(option);
      }
    }
    return options;
  }

  /** The setting whose key is {@code key}, or null. */
  public static InferenceOption forKey(String key) {
    for (InferenceOption option : values()) {
      if (option.key.equals(key)) {
        return option;
      }
    }
    return null;
  }

  /**
   * The value of {@code text}, checked: an Integer, Long, Float, Boolean, {@link Verification} or
   * String by {@link #type}. Whole numbers may hold {@code _} ({@code 1_000_000}); spaces around a
   * value are ignored.
   *
   * @throws InvalidValue naming the setting, the text and the problem
   */
  public Object parse(String text) {
    String value = text.strip();
    switch (type) {
      case TEXT:
        if (value.isEmpty()) {
          throw new InvalidValue(this, text, Problem.EMPTY);
        }
        return text;
      case VERIFICATION:
        Verification verification = Verification.forValue(value);
        if (verification == null) {
          throw new InvalidValue(this, text, Problem.NOT_A_VALUE);
        }
        return verification;
      case BOOLEAN:
        return switch (value.toLowerCase(java.util.Locale.ROOT)) {
          case "true" -> true;
          case "false" -> false;
          default -> throw new InvalidValue(this, text, Problem.NOT_A_VALUE);
        };
      case DECIMAL:
        float decimal;
        try {
          decimal = Float.parseFloat(value);
        } catch (NumberFormatException e) {
          throw new InvalidValue(this, text, Problem.NOT_A_VALUE);
        }
        if (!accepts(decimal)) {
          throw new InvalidValue(this, text, Problem.OUT_OF_RANGE);
        }
        return decimal;
      default:
        long whole;
        try {
          whole = Long.parseLong(value.replace("_", ""));
        } catch (NumberFormatException e) {
          throw new InvalidValue(this, text, Problem.NOT_A_VALUE);
        }
        if (!accepts(whole)) {
          throw new InvalidValue(this, text, Problem.OUT_OF_RANGE);
        }
        if (type == Type.LONG) {
          return whole;
        }
        if (whole > Integer.MAX_VALUE) {
          throw new InvalidValue(this, text, Problem.TOO_LARGE);
        }
        return (int) whole;
    }
  }

  /** Whether {@code value} (of {@link #type}, or a Param's Double or String) is in range. */
  public boolean accepts(Object value) {
    if (value instanceof Number number) {
      return range == null || range.contains(number.doubleValue());
    }
    if (type == Type.VERIFICATION && value instanceof String text) {
      return Verification.forValue(text) != null;
    }
    return value != null && !(value instanceof String text && text.isBlank());
  }

  /**
   * What a value must be, in the job's words: {@code a whole number >= 1}, {@code a number in (0,
   * 1]}, {@code true or false}, {@code one of quick|full}.
   */
  public String expected(Problem problem) {
    return switch (type) {
      case TEXT -> valueLabel + ", not empty";
      case VERIFICATION -> "one of " + Verification.choices();
      case BOOLEAN -> "true or false";
      case DECIMAL -> "a number " + range.text();
      default ->
          problem == Problem.TOO_LARGE
              ? "a whole number <= " + Integer.MAX_VALUE
              : range == null ? "a whole number" : "a whole number " + range.text();
    };
  }

  /**
   * What a value must be, in the SQL functions' words: {@code >= 1}, {@code an integer >= 1} (for a
   * text that is no number), {@code >= 0 (0: the checkpoint's)}, {@code quick or full}.
   */
  public String expectedBriefly(Problem problem) {
    return switch (type) {
      case TEXT -> "not empty";
      case VERIFICATION -> "quick or full";
      case BOOLEAN -> "true or false";
      default -> {
        String kind = type == Type.DECIMAL ? "a number" : "an integer";
        if (range == null) {
          yield kind;
        }
        String expected = rangeNote == null ? range.text() : range.text() + " " + rangeNote;
        yield problem == Problem.NOT_A_VALUE ? kind + " " + expected : expected;
      }
    };
  }

  /** The Param's default: {@link #defaultValue} as the Param holds it, or null for none. */
  public Object paramDefault() {
    if (defaultValue instanceof Float decimal) {
      return decimal.doubleValue();
    }
    if (defaultValue instanceof Verification verification) {
      return verification.flag();
    }
    return defaultValue;
  }

  /** Whether the Param of this setting checks its values with {@link #accepts}. */
  public boolean checked() {
    return range != null || type == Type.TEXT || type == Type.VERIFICATION;
  }

  /** Whether these given settings turn sampling on: temperature, top-k or top-p is among them. */
  public static boolean sampling(Set<InferenceOption> given) {
    return given.contains(TEMPERATURE) || given.contains(TOP_K) || given.contains(TOP_P);
  }

  /**
   * The model settings of the {@code given} values (as {@link #parse} gives them, or a Param's),
   * the others from {@code defaults}, under the rules between settings: a given temperature, top-k
   * or top-p turns sampling on; a given seed without them is refused.
   *
   * @param seedWithoutSampling the entry point's refusal of a seed given without sampling
   */
  public static ModelSettings model(
      Map<InferenceOption, ?> given,
      ModelSettings defaults,
      Supplier<? extends RuntimeException> seedWithoutSampling) {
    boolean sampling = sampling(given.keySet());
    if (given.containsKey(SEED) && !sampling) {
      throw seedWithoutSampling.get();
    }
    ModelSettings.Builder model = defaults.toBuilder().doSample(sampling);
    for (Map.Entry<InferenceOption, ?> entry : given.entrySet()) {
      Object value = entry.getValue();
      switch (entry.getKey()) {
        case BATCH_SIZE -> model.batchSize(((Number) value).intValue());
        case MAX_NEW_TOKENS -> model.maxNewTokens(((Number) value).intValue());
        case TEMPERATURE -> model.temperature(((Number) value).floatValue());
        case TOP_K -> model.topK(((Number) value).intValue());
        case TOP_P -> model.topP(((Number) value).floatValue());
        case SEED -> model.seed(((Number) value).longValue());
        case LONGEST_EDGE -> model.longestEdge(((Number) value).intValue());
        case IMAGE_SPLITTING -> model.imageSplitting((Boolean) value);
        case MAX_IMAGE_PIXELS -> model.maxImagePixels(((Number) value).longValue());
        case MAX_IMAGE_BYTES -> model.maxImageBytes(((Number) value).longValue());
        case IMAGE_DECODE_TIMEOUT_MS -> model.imageDecodeTimeoutMs(((Number) value).longValue());
        case MAX_QUESTION_CHARS -> model.maxQuestionChars(((Number) value).intValue());
        case IMAGE_CACHE_MB -> model.imageCacheMb(((Number) value).intValue());
        case CONTINUOUS_BATCHING -> model.continuousBatching((Boolean) value);
        case INTRA_OP_THREADS -> model.intraOpThreads(((Number) value).intValue());
        case MODEL_CACHE, VERIFY_PACKAGE, SPLIT_PRODUCTS, SORT_WINDOW_BATCHES -> {
          // not model settings: see settings
        }
      }
    }
    return model.build();
  }

  /**
   * The settings of the model at {@code modelUri}: its {@link #model} settings, and the given cache
   * folder, package verification, products split and sort window (else the defaults).
   *
   * @param seedWithoutSampling the entry point's refusal of a seed given without sampling
   */
  public static InferenceSettings settings(
      String modelUri,
      Map<InferenceOption, ?> given,
      ModelSettings defaults,
      Supplier<? extends RuntimeException> seedWithoutSampling) {
    InferenceSettings settings =
        InferenceSettings.of(modelUri, model(given, defaults, seedWithoutSampling))
            .withVerification(verification(given.get(VERIFY_PACKAGE)))
            .withProductSplits(productSplits(given.get(SPLIT_PRODUCTS)))
            .withSortWindowBatches(
                given.containsKey(SORT_WINDOW_BATCHES)
                    ? ((Number) given.get(SORT_WINDOW_BATCHES)).intValue()
                    : InferenceSettings.DEFAULT_SORT_WINDOW_BATCHES);
    String cacheDir = (String) given.get(MODEL_CACHE);
    return cacheDir == null ? settings : settings.withCacheDir(cacheDir);
  }

  /** A given split-products value, or the default. */
  public static int productSplits(Object value) {
    return ((Number) (value == null ? SPLIT_PRODUCTS.defaultValue : value)).intValue();
  }

  /** A given verify-package value (a Verification, or a Param's flag), or the default. */
  public static Verification verification(Object value) {
    if (value == null) {
      return (Verification) VERIFY_PACKAGE.defaultValue;
    }
    return value instanceof String flag ? Verification.forValue(flag) : (Verification) value;
  }
}
