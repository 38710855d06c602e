package io.github.idefics3spark.spark.sql;

import io.github.idefics3spark.idefics3.ModelSettings;
import io.github.idefics3spark.idefics3.PackageFiles.Verification;
import io.github.idefics3spark.spark.InferenceSettings;
import io.github.idefics3spark.spark.PromptTemplate;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.RuntimeConfig;
import scala.jdk.javaapi.CollectionConverters;

/**
 * What the SQL functions run: the model and its settings, and the two prompts. Read from the
 * options of {@link Idefics3Functions#register(org.apache.spark.sql.SparkSession, String, Map)} or
 * from the session's {@code spark.idefics3.*} conf (for {@code spark.udf.registerJavaFunction}).
 *
 * <p>The keys are the job's option names:
 *
 * <table>
 *   <caption>options (conf: {@code spark.idefics3.KEY})</caption>
 *   <tr><th>key</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>{@code model}</td><td>(required; conf only: register takes it as an
 *       argument)</td><td>a package made by convert or a Hugging Face checkpoint folder: a local
 *       path, a file:, hdfs: or s3a: URI, or the name of a folder shipped with --archives</td></tr>
 *   <tr><td>{@code model-cache}</td><td>a folder under java.io.tmpdir</td><td>executor-local
 *       folder for copied and converted packages</td></tr>
 *   <tr><td>{@code verify-package}</td><td>full</td><td>how a package used in place or found in
 *       the cache is checked: full hashes every file, quick checks sizes and hashes the assets
 *       and the graph (the graph's op check is always done)</td></tr>
 *   <tr><td>{@code max-new-tokens}</td><td>64</td><td>new tokens per answer at most</td></tr>
 *   <tr><td>{@code temperature}, {@code top-k}, {@code top-p}, {@code seed}</td><td>1, 0, 1,
 *       0</td><td>sampling; setting any of the first three turns it on, else decoding is
 *       greedy (a seed alone is refused)</td></tr>
 *   <tr><td>{@code longest-edge}</td><td>0 (the checkpoint's)</td><td>resize each image's longest
 *       side to this first</td></tr>
 *   <tr><td>{@code image-splitting}</td><td>true</td><td>tiles plus a global view; false: one
 *       frame per image, much faster</td></tr>
 *   <tr><td>{@code max-image-pixels}</td><td>178956970</td><td>larger images are refused as an
 *       error</td></tr>
 *   <tr><td>{@code intra-op-threads}</td><td>0 (the task's cores)</td><td>TensorFlow threads per
 *       operation</td></tr>
 *   <tr><td>{@code caption-prompt}</td><td>{@code Describe this image.}</td><td>the user text of
 *       {@code vlm_caption}</td></tr>
 *   <tr><td>{@code prompt-template}</td><td>{@code {question}}</td><td>the user text of {@code
 *       vlm_answer}, {@code {question}} standing for its question</td></tr>
 * </table>
 *
 * @param inference the model and how it runs
 * @param caption the user text of {@code vlm_caption}
 * @param answer the user text of {@code vlm_answer}
 */
public record FunctionSettings(
    InferenceSettings inference, PromptTemplate caption, PromptTemplate answer)
    implements Serializable {

  /** The prefix of the conf keys the functions read. */
  public static final String CONF_PREFIX = "spark.idefics3.";

  public static final String MODEL = "model";
  public static final String MODEL_CACHE = "model-cache";
  public static final String VERIFY_PACKAGE = "verify-package";
  public static final String MAX_NEW_TOKENS = "max-new-tokens";
  public static final String TEMPERATURE = "temperature";
  public static final String TOP_K = "top-k";
  public static final String TOP_P = "top-p";
  public static final String SEED = "seed";
  public static final String LONGEST_EDGE = "longest-edge";
  public static final String IMAGE_SPLITTING = "image-splitting";
  public static final String MAX_IMAGE_PIXELS = "max-image-pixels";
  public static final String INTRA_OP_THREADS = "intra-op-threads";
  public static final String CAPTION_PROMPT = "caption-prompt";
  public static final String PROMPT_TEMPLATE = "prompt-template";

  private static final List<String> OPTIONS =
      List.of(
          MODEL_CACHE,
          VERIFY_PACKAGE,
          MAX_NEW_TOKENS,
          TEMPERATURE,
          TOP_K,
          TOP_P,
          SEED,
          LONGEST_EDGE,
          IMAGE_SPLITTING,
          MAX_IMAGE_PIXELS,
          INTRA_OP_THREADS,
          CAPTION_PROMPT,
          PROMPT_TEMPLATE);

  public FunctionSettings {
    if (caption.takesQuestion()) {
      throw new IllegalArgumentException(
          "the caption prompt '"
              + caption.text()
              + "' holds "
              + PromptTemplate.QUESTION
              + " but vlm_caption has no question; use vlm_answer");
    }
    if (!answer.takesQuestion()) {
      throw new IllegalArgumentException(
          "the prompt template '"
              + answer.text()
              + "' has no "
              + PromptTemplate.QUESTION
              + ", so vlm_answer would ignore its question; put "
              + PromptTemplate.QUESTION
              + " where the question goes");
    }
  }

  /**
   * The settings of {@code register(spark, modelUri, options)}.
   *
   * @throws IllegalArgumentException naming the option when one is unknown or has a wrong value
   */
  public static FunctionSettings fromOptions(String modelUri, Map<String, String> options) {
    return parse(modelUri, options, key -> "option " + key + " of Idefics3Functions.register");
  }

  /**
   * The settings in a session's conf: {@code spark.idefics3.model} and the other keys under {@value
   * #CONF_PREFIX}.
   *
   * @throws IllegalArgumentException naming the key when the model is not set, or a key is unknown
   *     or has a wrong value
   */
  public static FunctionSettings fromConf(RuntimeConfig conf) {
    Map<String, String> options = new TreeMap<>();
    for (Map.Entry<String, String> entry : CollectionConverters.asJava(conf.getAll()).entrySet()) {
      if (entry.getKey().startsWith(CONF_PREFIX)) {
        options.put(entry.getKey().substring(CONF_PREFIX.length()), entry.getValue());
      }
    }
    String model = options.remove(MODEL);
    if (model == null || model.isBlank()) {
      throw new IllegalArgumentException(
          "Spark conf "
              + CONF_PREFIX
              + MODEL
              + " is not set; set it to a model package or Hugging Face checkpoint folder (a local"
              + " path, a file:, hdfs: or s3a: URI, or an --archives name) before registering the"
              + " Idefics3 SQL functions, e.g. spark.conf.set(\""
              + CONF_PREFIX
              + MODEL
              + "\", \"/models/smolvlm\")");
    }
    return parse(model, options, key -> "Spark conf " + CONF_PREFIX + key);
  }

  private interface Origin {
    String of(String key);
  }

  private static FunctionSettings parse(
      String modelUri, Map<String, String> options, Origin origin) {
    Map<String, String> values = new LinkedHashMap<>(options);
    for (String key : values.keySet()) {
      if (!OPTIONS.contains(key)) {
        String hint =
            key.equals("batch-size")
                ? ": each SQL call answers one row; batches are the ML Transformer's"
                    + " (Idefics3Transformer.setBatchSize)"
                : key.equals(MODEL)
                    ? ": the model is register's modelUri argument"
                    : "; expected one of " + String.join(", ", OPTIONS);
        throw new IllegalArgumentException(origin.of(key) + " is not a setting" + hint);
      }
    }
    Values v = new Values(values, origin);
    ModelSettings model =
        ModelSettings.builder()
            .maxNewTokens(v.integer(MAX_NEW_TOKENS, 64, 1, ">= 1"))
            .longestEdge(v.integer(LONGEST_EDGE, 0, 0, ">= 0 (0: the checkpoint's)"))
            .imageSplitting(v.bool(IMAGE_SPLITTING, true))
            .maxImagePixels(v.longValue(MAX_IMAGE_PIXELS, 178_956_970L, 1, ">= 1"))
            .intraOpThreads(v.integer(INTRA_OP_THREADS, 0, 0, ">= 0 (0: the cores a task owns)"))
            .build();
    boolean sampling =
        values.containsKey(TEMPERATURE) || values.containsKey(TOP_K) || values.containsKey(TOP_P);
    float temperature = v.decimal(TEMPERATURE, 1f, 0f, false, 1e9f, "> 0");
    int topK = v.integer(TOP_K, 0, 0, ">= 0 (0: all tokens)");
    float topP = v.decimal(TOP_P, 1f, 0f, false, 1f, "in (0, 1]");
    long seed = v.longValue(SEED, 0L, Long.MIN_VALUE, "an integer");
    if (sampling) {
      model = model.toBuilder().sampling(temperature, topK, topP, seed).build();
    } else if (values.containsKey(SEED)) {
      throw new IllegalArgumentException(
          origin.of(SEED)
              + " is given but decoding is greedy; a seed needs sampling: set "
              + TEMPERATURE
              + ", "
              + TOP_K
              + " or "
              + TOP_P);
    }
    InferenceSettings inference = InferenceSettings.of(modelUri, model);
    if (values.containsKey(MODEL_CACHE)) {
      inference = inference.withCacheDir(v.text(MODEL_CACHE));
    }
    if (values.containsKey(VERIFY_PACKAGE)) {
      inference = inference.withVerification(v.verification(VERIFY_PACKAGE));
    }
    PromptTemplate caption =
        values.containsKey(CAPTION_PROMPT)
            ? new PromptTemplate(v.text(CAPTION_PROMPT))
            : PromptTemplate.CAPTION;
    PromptTemplate answer =
        values.containsKey(PROMPT_TEMPLATE)
            ? new PromptTemplate(v.text(PROMPT_TEMPLATE))
            : PromptTemplate.QUESTION_ONLY;
    try {
      return new FunctionSettings(inference, caption, answer);
    } catch (IllegalArgumentException e) {
      String key = caption.takesQuestion() ? CAPTION_PROMPT : PROMPT_TEMPLATE;
      throw new IllegalArgumentException(origin.of(key) + ": " + e.getMessage(), e);
    }
  }

  /** The option values, each read and checked with the name of the option it came from. */
  private record Values(Map<String, String> values, Origin origin) {

    String text(String key) {
      String value = values.get(key);
      if (value == null || value.isBlank()) {
        throw new IllegalArgumentException(origin.of(key) + " is empty");
      }
      return value;
    }

    int integer(String key, int fallback, int min, String expected) {
      long value = longValue(key, fallback, min, expected);
      if (value > Integer.MAX_VALUE) {
        throw wrong(key, expected);
      }
      return (int) value;
    }

    long longValue(String key, long fallback, long min, String expected) {
      String value = values.get(key);
      if (value == null) {
        return fallback;
      }
      try {
        long parsed = Long.parseLong(value.strip());
        if (parsed < min) {
          throw wrong(key, expected);
        }
        return parsed;
      } catch (NumberFormatException e) {
        throw wrong(key, "an integer " + expected);
      }
    }

    float decimal(
        String key, float fallback, float min, boolean minIncluded, float max, String expected) {
      String value = values.get(key);
      if (value == null) {
        return fallback;
      }
      try {
        float parsed = Float.parseFloat(value.strip());
        if (!(minIncluded ? parsed >= min : parsed > min) || !(parsed <= max)) {
          throw wrong(key, expected);
        }
        return parsed;
      } catch (NumberFormatException e) {
        throw wrong(key, "a number " + expected);
      }
    }

    Verification verification(String key) {
      Verification verification = Verification.forValue(values.get(key));
      if (verification == null) {
        throw wrong(key, "quick or full");
      }
      return verification;
    }

    boolean bool(String key, boolean fallback) {
      String value = values.get(key);
      if (value == null) {
        return fallback;
      }
      return switch (value.strip().toLowerCase(Locale.ROOT)) {
        case "true" -> true;
        case "false" -> false;
        default -> throw wrong(key, "true or false");
      };
    }

    private IllegalArgumentException wrong(String key, String expected) {
      return new IllegalArgumentException(
          origin.of(key) + " is '" + values.get(key) + "', expected " + expected);
    }
  }
}
