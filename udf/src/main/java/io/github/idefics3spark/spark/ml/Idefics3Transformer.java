package io.github.idefics3spark.spark.ml;

import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import io.github.idefics3spark.spark.ImageColumn;
import io.github.idefics3spark.spark.InferenceOption;
import io.github.idefics3spark.spark.InferenceOption.EntryPoint;
import io.github.idefics3spark.spark.InferenceSettings;
import io.github.idefics3spark.spark.LocalPackage;
import io.github.idefics3spark.spark.PromptTemplate;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;
import scala.Function1;

/**
 * A Spark ML Transformer that captions images, or answers a question about them, with an Idefics3
 * model: it adds the answer, the error and the error kind to every row, in batches of similar
 * prompt length, with the executor's shared model ({@link
 * io.github.idefics3spark.spark.ModelCache}: one load per executor JVM, shared with the job and the
 * SQL functions).
 *
 * <pre>{@code
 * Idefics3Transformer captioner = new Idefics3Transformer()
 *     .setModelUri("hdfs:///models/smolvlm-256m")
 *     .setInputCol("content")           // a binaryFile table's bytes
 *     .setOutputCol("caption")
 *     .setMaxNewTokens(48);
 * Dataset<Row> captioned = captioner.transform(spark.read().format("binaryFile").load("photos/"));
 * }</pre>
 *
 * <p>The input column holds, per row, encoded image bytes ({@code binary}), a path or URI ({@code
 * string}), a Hugging Face image {@code struct<bytes: binary, path: string>}, or an array of one of
 * these (several images, one answer). Without {@code questionCol} every row gets the prompt
 * template alone ({@code Describe this image.} by default); with it, the row's question replaces
 * {@code {question}} in the template ({@code {question}} by default). A bad row (zero bytes, not an
 * image, a path that cannot be read, a null image or question, a prompt past the context) gets a
 * null answer and its reason in the error columns; the other rows are answered as usual. Rows keep
 * their order and every input column.
 *
 * <p>Saved and loaded with its params ({@link DefaultParamsWritable}), alone or in a {@link
 * org.apache.spark.ml.Pipeline}.
 */
public final class Idefics3Transformer extends Transformer implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;

  private final Param<String> inputCol;
  private final Param<String> questionCol;
  private final Param<String> outputCol;
  private final Param<String> errorCol;
  private final Param<String> errorKindCol;
  private final Param<String> modelUri;
  private final Param<String> modelCacheDir;
  private final Param<String> verifyPackage;
  private final IntParam splitProducts;
  private final Param<String> promptTemplate;
  private final IntParam batchSize;
  private final IntParam sortWindowBatches;
  private final IntParam maxNewTokens;
  private final DoubleParam temperature;
  private final IntParam topK;
  private final DoubleParam topP;
  private final LongParam seed;
  private final IntParam longestEdge;
  private final BooleanParam imageSplitting;
  private final LongParam maxImagePixels;
  private final LongParam maxImageBytes;
  private final LongParam imageDecodeTimeoutMs;
  private final IntParam maxQuestionChars;
  private final IntParam imageCacheMb;
  private final BooleanParam continuousBatching;
  private final IntParam intraOpThreads;

  /** The Params above made from the shared settings' declarations, by setting. */
  private final Map<InferenceOption, Param<?>> shared = new EnumMap<>(InferenceOption.class);

  public Idefics3Transformer() {
    this(Identifiable$.MODULE$.randomUID("idefics3"));
  }

  /** With this uid (what {@link #load} and {@link #copy} use). */
  public Idefics3Transformer(String uid) {
    this.uid = uid;
    inputCol =
        new Param<>(
            this,
            "inputCol",
            "the image column: binary, string (a path or URI), struct<bytes: binary, path: string>"
                + " or an array of one of them",
            nonBlank());
    questionCol =
        new Param<>(
            this,
            "questionCol",
            "the question column (string); not set: every row gets the prompt template alone",
            nonBlank());
    outputCol = new Param<>(this, "outputCol", "the answer column (null on error)", nonBlank());
    errorCol =
        new Param<>(this, "errorCol", "what went wrong with the row, null on success", nonBlank());
    errorKindCol =
        new Param<>(
            this,
            "errorKindCol",
            "the error's kind (EMPTY_IMAGE, UNKNOWN_IMAGE_FORMAT, CORRUPT_IMAGE, TOO_MANY_PIXELS,"
                + " BAD_PROMPT, PROMPT_TOO_LONG, UNREADABLE_IMAGE, MALFORMED_ROW, MODEL_FAILURE), null on success",
            nonBlank());
    modelUri =
        new Param<>(
            this,
            "modelUri",
            "a model package made by convert or a Hugging Face checkpoint folder: a local path, a"
                + " file:, hdfs: or s3a: URI, or the name of a folder shipped with --archives",
            nonBlank());
    promptTemplate =
        new Param<>(
            this,
            "promptTemplate",
            "the user text of every row, "
                + PromptTemplate.QUESTION
                + " standing for the row's question; not set: '"
                + PromptTemplate.QUESTION
                + "' with questionCol, '"
                + PromptTemplate.CAPTION.text()
                + "' without",
            nonBlank());
    modelCacheDir = param(InferenceOption.MODEL_CACHE);
    verifyPackage = param(InferenceOption.VERIFY_PACKAGE);
    splitProducts = (IntParam) param(InferenceOption.SPLIT_PRODUCTS);
    batchSize = (IntParam) param(InferenceOption.BATCH_SIZE);
    sortWindowBatches = (IntParam) param(InferenceOption.SORT_WINDOW_BATCHES);
    maxNewTokens = (IntParam) param(InferenceOption.MAX_NEW_TOKENS);
    temperature = (DoubleParam) param(InferenceOption.TEMPERATURE);
    topK = (IntParam) param(InferenceOption.TOP_K);
    topP = (DoubleParam) param(InferenceOption.TOP_P);
    seed = (LongParam) param(InferenceOption.SEED);
    longestEdge = (IntParam) param(InferenceOption.LONGEST_EDGE);
    imageSplitting = (BooleanParam) param(InferenceOption.IMAGE_SPLITTING);
    maxImagePixels = (LongParam) param(InferenceOption.MAX_IMAGE_PIXELS);
    maxImageBytes = (LongParam) param(InferenceOption.MAX_IMAGE_BYTES);
    imageDecodeTimeoutMs = (LongParam) param(InferenceOption.IMAGE_DECODE_TIMEOUT_MS);
    maxQuestionChars = (IntParam) param(InferenceOption.MAX_QUESTION_CHARS);
    imageCacheMb = (IntParam) param(InferenceOption.IMAGE_CACHE_MB);
    continuousBatching = (BooleanParam) param(InferenceOption.CONTINUOUS_BATCHING);
    intraOpThreads = (IntParam) param(InferenceOption.INTRA_OP_THREADS);

    setDefault(inputCol, "image");
    setDefault(outputCol, "answer");
    setDefault(errorCol, "error");
    setDefault(errorKindCol, "error_kind");
    for (InferenceOption option : InferenceOption.of(EntryPoint.TRANSFORMER)) {
      if (option.paramDefault() != null) {
        setSharedDefault(shared.get(option), option.paramDefault());
      }
    }
  }

  /**
   * The Param of a shared setting as declared: named {@link InferenceOption#paramName}, with its
   * doc, and a validator that is {@link InferenceOption#accepts} where it has a range or choices;
   * an IntParam, LongParam, DoubleParam, BooleanParam or a {@code Param<String>} by its type.
   */
  @SuppressWarnings("unchecked")
  private <T> Param<T> param(InferenceOption option) {
    String name = option.paramName();
    String doc = option.paramDoc();
    Function1<Object, Object> valid =
        (Function1<Object, Object> & Serializable) value -> option.accepts(value);
    Param<?> param =
        switch (option.type()) {
          case WHOLE -> new IntParam(this, name, doc, valid);
          case LONG ->
              option.checked()
                  ? new LongParam(this, name, doc, valid)
                  : new LongParam(this, name, doc);
          case DECIMAL -> new DoubleParam(this, name, doc, valid);
          case BOOLEAN -> new BooleanParam(this, name, doc);
          case VERIFICATION, TEXT ->
              new Param<String>(
                  this, name, doc, (Function1<String, Object>) (Function1<?, Object>) valid);
        };
    shared.put(option, param);
    return (Param<T>) param;
  }

  @SuppressWarnings("unchecked")
  private <T> void setSharedDefault(Param<T> param, Object value) {
    setDefault(param, (T) value);
  }

  private static Function1<String, Object> nonBlank() {
    return (Function1<String, Object> & Serializable) value -> value != null && !value.isBlank();
  }

  @Override
  public String uid() {
    return uid;
  }

  // params

  public Param<String> inputCol() {
    return inputCol;
  }

  public Param<String> questionCol() {
    return questionCol;
  }

  public Param<String> outputCol() {
    return outputCol;
  }

  public Param<String> errorCol() {
    return errorCol;
  }

  public Param<String> errorKindCol() {
    return errorKindCol;
  }

  public Param<String> modelUri() {
    return modelUri;
  }

  public Param<String> modelCacheDir() {
    return modelCacheDir;
  }

  public Param<String> verifyPackage() {
    return verifyPackage;
  }

  public IntParam splitProducts() {
    return splitProducts;
  }

  public Param<String> promptTemplate() {
    return promptTemplate;
  }

  public IntParam batchSize() {
    return batchSize;
  }

  public IntParam sortWindowBatches() {
    return sortWindowBatches;
  }

  public IntParam maxNewTokens() {
    return maxNewTokens;
  }

  public DoubleParam temperature() {
    return temperature;
  }

  public IntParam topK() {
    return topK;
  }

  public DoubleParam topP() {
    return topP;
  }

  public LongParam seed() {
    return seed;
  }

  public IntParam longestEdge() {
    return longestEdge;
  }

  public BooleanParam imageSplitting() {
    return imageSplitting;
  }

  public LongParam maxImagePixels() {
    return maxImagePixels;
  }

  public LongParam maxImageBytes() {
    return maxImageBytes;
  }

  public LongParam imageDecodeTimeoutMs() {
    return imageDecodeTimeoutMs;
  }

  public IntParam maxQuestionChars() {
    return maxQuestionChars;
  }

  public IntParam imageCacheMb() {
    return imageCacheMb;
  }

  public BooleanParam continuousBatching() {
    return continuousBatching;
  }

  public IntParam intraOpThreads() {
    return intraOpThreads;
  }

  // getters

  public String getInputCol() {
    return $(inputCol);
  }

  /** The question column, or null when not set. */
  public String getQuestionCol() {
    return isDefined(questionCol) ? $(questionCol) : null;
  }

  public String getOutputCol() {
    return $(outputCol);
  }

  public String getErrorCol() {
    return $(errorCol);
  }

  public String getErrorKindCol() {
    return $(errorKindCol);
  }

  /** The model, or null when not set. */
  public String getModelUri() {
    return isDefined(modelUri) ? $(modelUri) : null;
  }

  /** The executor-local cache folder, or null for the default. */
  public String getModelCacheDir() {
    return isDefined(modelCacheDir) ? $(modelCacheDir) : null;
  }

  /** The package verification: {@code quick} or {@code full}. */
  public String getVerifyPackage() {
    return $(verifyPackage);
  }

  /** The parts a checkpoint the executors convert has its large products split in (1: not). */
  public int getSplitProducts() {
    return (Integer) $(splitProducts);
  }

  /** The prompt template in force: the one set, or the default for the question column. */
  public String getPromptTemplate() {
    if (isDefined(promptTemplate)) {
      return $(promptTemplate);
    }
    return getQuestionCol() == null
        ? PromptTemplate.CAPTION.text()
        : PromptTemplate.QUESTION_ONLY.text();
  }

  public int getBatchSize() {
    return (Integer) $(batchSize);
  }

  public int getSortWindowBatches() {
    return (Integer) $(sortWindowBatches);
  }

  public int getMaxNewTokens() {
    return (Integer) $(maxNewTokens);
  }

  public double getTemperature() {
    return (Double) $(temperature);
  }

  public int getTopK() {
    return (Integer) $(topK);
  }

  public double getTopP() {
    return (Double) $(topP);
  }

  public long getSeed() {
    return (Long) $(seed);
  }

  public int getLongestEdge() {
    return (Integer) $(longestEdge);
  }

  public boolean getImageSplitting() {
    return (Boolean) $(imageSplitting);
  }

  public long getMaxImagePixels() {
    return (Long) $(maxImagePixels);
  }

  public long getMaxImageBytes() {
    return (Long) $(maxImageBytes);
  }

  public long getImageDecodeTimeoutMs() {
    return (Long) $(imageDecodeTimeoutMs);
  }

  public int getMaxQuestionChars() {
    return (Integer) $(maxQuestionChars);
  }

  public int getImageCacheMb() {
    return (Integer) $(imageCacheMb);
  }

  public boolean getContinuousBatching() {
    return (Boolean) $(continuousBatching);
  }

  public int getIntraOpThreads() {
    return (Integer) $(intraOpThreads);
  }

  /** Whether decoding samples: temperature, topK or topP was set. */
  public boolean sampling() {
    return InferenceOption.sampling(given().keySet());
  }

  /** The shared settings set on this transformer, with their values. */
  private Map<InferenceOption, Object> given() {
    Map<InferenceOption, Object> given = new EnumMap<>(InferenceOption.class);
    for (Map.Entry<InferenceOption, Param<?>> entry : shared.entrySet()) {
      if (isSet(entry.getValue())) {
        given.put(entry.getKey(), $(entry.getValue()));
      }
    }
    return given;
  }

  // setters

  public Idefics3Transformer setInputCol(String value) {
    set(inputCol, value);
    return this;
  }

  public Idefics3Transformer setQuestionCol(String value) {
    set(questionCol, value);
    return this;
  }

  public Idefics3Transformer setOutputCol(String value) {
    set(outputCol, value);
    return this;
  }

  public Idefics3Transformer setErrorCol(String value) {
    set(errorCol, value);
    return this;
  }

  public Idefics3Transformer setErrorKindCol(String value) {
    set(errorKindCol, value);
    return this;
  }

  public Idefics3Transformer setModelUri(String value) {
    set(modelUri, value);
    return this;
  }

  public Idefics3Transformer setModelCacheDir(String value) {
    set(modelCacheDir, value);
    return this;
  }

  public Idefics3Transformer setVerifyPackage(String value) {
    set(verifyPackage, value);
    return this;
  }

  public Idefics3Transformer setSplitProducts(int value) {
    set(splitProducts, value);
    return this;
  }

  public Idefics3Transformer setPromptTemplate(String value) {
    set(promptTemplate, value);
    return this;
  }

  public Idefics3Transformer setBatchSize(int value) {
    set(batchSize, value);
    return this;
  }

  public Idefics3Transformer setSortWindowBatches(int value) {
    set(sortWindowBatches, value);
    return this;
  }

  public Idefics3Transformer setMaxNewTokens(int value) {
    set(maxNewTokens, value);
    return this;
  }

  /** Sampling with this temperature (setting it turns sampling on). */
  public Idefics3Transformer setTemperature(double value) {
    set(temperature, value);
    return this;
  }

  /** Sampling from the k most likely tokens (setting it turns sampling on). */
  public Idefics3Transformer setTopK(int value) {
    set(topK, value);
    return this;
  }

  /** Nucleus sampling (setting it turns sampling on). */
  public Idefics3Transformer setTopP(double value) {
    set(topP, value);
    return this;
  }

  public Idefics3Transformer setSeed(long value) {
    set(seed, value);
    return this;
  }

  public Idefics3Transformer setLongestEdge(int value) {
    set(longestEdge, value);
    return this;
  }

  public Idefics3Transformer setImageSplitting(boolean value) {
    set(imageSplitting, value);
    return this;
  }

  public Idefics3Transformer setMaxImagePixels(long value) {
    set(maxImagePixels, value);
    return this;
  }

  public Idefics3Transformer setMaxImageBytes(long value) {
    set(maxImageBytes, value);
    return this;
  }

  public Idefics3Transformer setImageDecodeTimeoutMs(long value) {
    set(imageDecodeTimeoutMs, value);
    return this;
  }

  public Idefics3Transformer setMaxQuestionChars(int value) {
    set(maxQuestionChars, value);
    return this;
  }

  /** MiB of image features a task keeps so rows sharing an image encode it once; 0: no reuse. */
  public Idefics3Transformer setImageCacheMb(int value) {
    set(imageCacheMb, value);
    return this;
  }

  /** Whether generating rows share slots (true) or decode in static batches (false). */
  public Idefics3Transformer setContinuousBatching(boolean value) {
    set(continuousBatching, value);
    return this;
  }

  public Idefics3Transformer setIntraOpThreads(int value) {
    set(intraOpThreads, value);
    return this;
  }

  // the stage

  /**
   * The input columns, then the output, error and error kind columns (strings).
   *
   * @throws IllegalArgumentException naming the column or param when the model is not set, a column
   *     is missing or has another type, an output column is already in the input, or the prompt
   *     template does not fit the question column
   */
  @Override
  public StructType transformSchema(StructType schema) {
    if (getModelUri() == null) {
      throw new IllegalArgumentException(
          "Idefics3Transformer: modelUri is not set; setModelUri to a model package or a Hugging"
              + " Face checkpoint folder (a local path, a file:, hdfs: or s3a: URI)");
    }
    DataType image = column(schema, "inputCol", getInputCol()).dataType();
    if (!ImageColumn.accepts(image)) {
      throw new IllegalArgumentException(
          "Idefics3Transformer: input column "
              + getInputCol()
              + " (inputCol) is "
              + image.simpleString()
              + ", expected "
              + ImageColumn.EXPECTED);
    }
    PromptTemplate template = new PromptTemplate(getPromptTemplate());
    String question = getQuestionCol();
    if (question != null) {
      DataType type = column(schema, "questionCol", question).dataType();
      if (!type.equals(DataTypes.StringType)) {
        throw new IllegalArgumentException(
            "Idefics3Transformer: question column "
                + question
                + " (questionCol) is "
                + type.simpleString()
                + ", expected string; cast it to string");
      }
      if (!template.takesQuestion()) {
        throw new IllegalArgumentException(
            "Idefics3Transformer: promptTemplate '"
                + template.text()
                + "' has no "
                + PromptTemplate.QUESTION
                + ", so questionCol "
                + question
                + " would be ignored; put "
                + PromptTemplate.QUESTION
                + " where the question goes");
      }
    } else if (template.takesQuestion()) {
      throw new IllegalArgumentException(
          "Idefics3Transformer: promptTemplate '"
              + template.text()
              + "' holds "
              + PromptTemplate.QUESTION
              + " but questionCol is not set; setQuestionCol to the question column");
    }
    inferenceSettings();
    List<String> outputs = new ArrayList<>();
    StructType result = schema;
    for (String[] output :
        new String[][] {
          {"outputCol", getOutputCol()},
          {"errorCol", getErrorCol()},
          {"errorKindCol", getErrorKindCol()}
        }) {
      String name = output[1];
      for (String taken : schema.fieldNames()) {
        if (taken.equalsIgnoreCase(name)) {
          throw new IllegalArgumentException(
              "Idefics3Transformer: output column "
                  + name
                  + " ("
                  + output[0]
                  + ") is already an input column; set "
                  + output[0]
                  + " to another name");
        }
      }
      for (String earlier : outputs) {
        if (earlier.equalsIgnoreCase(name)) {
          throw new IllegalArgumentException(
              "Idefics3Transformer: "
                  + output[0]
                  + " is "
                  + name
                  + ", the name of another output column; give each output its own name");
        }
      }
      outputs.add(name);
      result = result.add(name, DataTypes.StringType, true);
    }
    return result;
  }

  private static StructField column(StructType schema, String param, String name) {
    for (StructField field : schema.fields()) {
      if (field.name().equals(name)) {
        return field;
      }
    }
    throw new IllegalArgumentException(
        "Idefics3Transformer: "
            + param
            + " "
            + name
            + " is not a column of the input (columns: "
            + String.join(", ", schema.fieldNames())
            + ")");
  }

  /**
   * What the executors run: the model and how, from the params.
   *
   * @throws IllegalArgumentException when seed is set but decoding is greedy
   */
  public InferenceSettings inferenceSettings() {
    return InferenceOption.settings(
        getModelUri(),
        given(),
        ModelSettings.DEFAULTS,
        () ->
            new IllegalArgumentException(
                "Idefics3Transformer: seed is set but decoding is greedy; a seed needs sampling:"
                    + " set temperature, topK or topP"));
  }

  /**
   * The rows with the answer, error and error kind columns added, answered in batches in {@code
   * mapPartitions}. Lazy, like any Dataset; fails at once when a column or the model setting is
   * wrong.
   */
  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    StructType output = transformSchema(dataset.schema(), true);
    InferenceSettings settings = inferenceSettings();
    SparkContext spark = dataset.sparkSession().sparkContext();
    try {
      LocalPackage.checkReachable(settings.modelUri(), spark.hadoopConfiguration());
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "Idefics3Transformer: modelUri: " + e.getMessage() + " (setModelUri)", e);
    }
    Broadcast<SerializableConfiguration> hadoop = SerializableConfiguration.broadcast(spark);
    TransformerPartition partition =
        new TransformerPartition(
            settings,
            dataset.schema(),
            getInputCol(),
            getQuestionCol(),
            new PromptTemplate(getPromptTemplate()),
            hadoop);
    return dataset.toDF().mapPartitions(partition, Encoders.row(output));
  }

  @Override
  public Idefics3Transformer copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  /** The reader of saved transformers (what {@link org.apache.spark.ml.Pipeline} loading calls). */
  public static MLReader<Idefics3Transformer> read() {
    return new DefaultParamsReader<>();
  }

  /** The transformer saved at {@code path} with {@code write().save(path)} or {@code save}. */
  public static Idefics3Transformer load(String path) {
    return read().load(path);
  }
}
