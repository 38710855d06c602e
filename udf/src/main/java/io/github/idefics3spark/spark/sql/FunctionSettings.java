package io.github.idefics3spark.spark.sql;

import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import io.github.idefics3spark.spark.InferenceOption;
import io.github.idefics3spark.spark.InferenceOption.EntryPoint;
import io.github.idefics3spark.spark.InferenceSettings;
import io.github.idefics3spark.spark.PromptTemplate;
import java.io.Serializable;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
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
 *   <tr><td>{@code split-products}</td><td>1</td><td>a checkpoint given as the model is
 *       converted on the executors with its large products split in N parts that run at once
 *       (convert's {@code --split-products}); a package keeps its own split</td></tr>
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
 *   <tr><td>{@code max-image-bytes}</td><td>67108864</td><td>larger encoded images are refused
 *       as an error before they are read; 0: no limit</td></tr>
 *   <tr><td>{@code image-decode-timeout-ms}</td><td>30000</td><td>a longer decode is refused as
 *       an error; 0: no limit</td></tr>
 *   <tr><td>{@code max-question-chars}</td><td>100000</td><td>longer questions are refused as an
 *       error before tokenisation</td></tr>
 *   <tr><td>{@code intra-op-threads}</td><td>0 (the task's cores)</td><td>TensorFlow threads per
 *       operation (divided by S for a package converted with {@code --split-products S})</td></tr>
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
  public static final String CAPTION_PROMPT = "caption-prompt";
  public static final String PROMPT_TEMPLATE = "prompt-template";

  /** The keys the functions take: the shared settings they take, then the two prompts. */
  private static final List<String> OPTIONS =
      Stream.concat(
              InferenceOption.of(EntryPoint.SQL).stream().map(InferenceOption::key),
              Stream.of(CAPTION_PROMPT, PROMPT_TEMPLATE))
          .toList();

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
    Map<InferenceOption, Object> given = new EnumMap<>(InferenceOption.class);
    for (Map.Entry<String, String> entry : values.entrySet()) {
      InferenceOption option = InferenceOption.forKey(entry.getKey());
      if (option == null) {
        continue;
      }
      try {
        given.put(option, option.parse(entry.getValue()));
      } catch (InferenceOption.InvalidValue e) {
        String key = entry.getKey();
        throw new IllegalArgumentException(
            e.problem() == InferenceOption.Problem.EMPTY
                ? origin.of(key) + " is empty"
                : origin.of(key)
                    + " is '"
                    + e.text()
                    + "', expected "
                    + option.expectedBriefly(e.problem()),
            e);
      }
    }
    InferenceSettings inference =
        InferenceOption.settings(
            modelUri,
            given,
            ModelSettings.DEFAULTS,
            () ->
                new IllegalArgumentException(
                    origin.of(InferenceOption.SEED.key())
                        + " is given but decoding is greedy; a seed needs sampling: set "
                        + InferenceOption.TEMPERATURE.key()
                        + ", "
                        + InferenceOption.TOP_K.key()
                        + " or "
                        + InferenceOption.TOP_P.key()));
    Text v = new Text(values, origin);
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

  /** The prompt options' texts, each refused when blank with the name of the option. */
  private record Text(Map<String, String> values, Origin origin) {

    String text(String key) {
      String value = values.get(key);
      if (value == null || value.isBlank()) {
        throw new IllegalArgumentException(origin.of(key) + " is empty");
      }
      return value;
    }
  }
}
