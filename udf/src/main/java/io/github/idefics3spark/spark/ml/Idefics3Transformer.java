package io.github.idefics3spark.spark.ml;

import io.github.idefics3spark.idefics3.ModelSettings;
import io.github.idefics3spark.idefics3.PackageFiles.Verification;
import io.github.idefics3spark.spark.ImageColumn;
import io.github.idefics3spark.spark.InferenceSettings;
import io.github.idefics3spark.spark.LocalPackage;
import io.github.idefics3spark.spark.PromptTemplate;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
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
  private final IntParam intraOpThreads;

  public Idefics3Transformer() {
    this(Identifiable$.MODULE$.randomUID("idefics3"));
  }

  /** With this uid (what {@link #load} and {@link #copy} use). */
  public Idefics3Transformer(String uid) {
    this.uid = uid;
    ModelSettings defaults = ModelSettings.DEFAULTS;
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
                + " BAD_PROMPT, PROMPT_TOO_LONG, UNREADABLE_IMAGE, MODEL_FAILURE), null on success",
            nonBlank());
    modelUri =
        new Param<>(
            this,
            "modelUri",
            "a model package made by convert or a Hugging Face checkpoint folder: a local path, a"
                + " file:, hdfs: or s3a: URI, or the name of a folder shipped with --archives",
            nonBlank());
    modelCacheDir =
        new Param<>(
            this,
            "modelCacheDir",
            "executor-local folder for packages copied from hdfs:/s3a: or converted from"
                + " checkpoints; not set: a folder under java.io.tmpdir",
            nonBlank());
    verifyPackage =
        new Param<>(
            this,
            "verifyPackage",
            "how a package used in place or found in the executor's cache is checked against its"
                + " manifest before it is loaded: full (default) hashes every file, weights"
                + " included; quick checks sizes and hashes the assets and the graph (the graph's"
                + " op check is always done)",
            ParamValidators.inArray(new String[] {"quick", "full"}));
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
    batchSize =
        new IntParam(
            this, "batchSize", "rows decoded together at most (>= 1)", ParamValidators.gtEq(1));
    sortWindowBatches =
        new IntParam(
            this,
            "sortWindowBatches",
            "rows are sorted by prompt length in windows of this many batches, so batches pad"
                + " little (>= 1)",
            ParamValidators.gtEq(1));
    maxNewTokens =
        new IntParam(
            this, "maxNewTokens", "new tokens per answer at most (>= 1)", ParamValidators.gtEq(1));
    temperature =
        new DoubleParam(
            this,
            "temperature",
            "sampling temperature (> 0); setting temperature, topK or topP turns sampling on,"
                + " else decoding is greedy",
            ParamValidators.gt(0));
    topK =
        new IntParam(
            this,
            "topK",
            "sample from the k most likely tokens (>= 0; 0: all)",
            ParamValidators.gtEq(0));
    topP =
        new DoubleParam(
            this,
            "topP",
            "sample from the smallest set of tokens reaching this probability (in (0, 1])",
            ParamValidators.inRange(0, 1, false, true));
    seed =
        new LongParam(
            this,
            "seed",
            "sampling seed: the same seed, batch and settings give the same tokens; refused with"
                + " greedy decoding");
    longestEdge =
        new IntParam(
            this,
            "longestEdge",
            "resize each image's longest side to this first (>= 0; 0: the checkpoint's); lower is"
                + " faster and coarser",
            ParamValidators.gtEq(0));
    imageSplitting =
        new BooleanParam(
            this,
            "imageSplitting",
            "true: tiles plus a global view, as the checkpoint does; false: one frame per image,"
                + " much faster");
    maxImagePixels =
        new LongParam(
            this,
            "maxImagePixels",
            "images with more pixels are refused before decoding, as an error row (>= 1)",
            ParamValidators.gtEq(1));
    intraOpThreads =
        new IntParam(
            this,
            "intraOpThreads",
            "TensorFlow threads per operation (>= 0; 0: the cores a task owns, spark.task.cpus)",
            ParamValidators.gtEq(0));

    setDefault(inputCol, "image");
    setDefault(outputCol, "answer");
    setDefault(errorCol, "error");
    setDefault(errorKindCol, "error_kind");
    setDefault(batchSize, defaults.batchSize());
    setDefault(sortWindowBatches, InferenceSettings.DEFAULT_SORT_WINDOW_BATCHES);
    setDefault(maxNewTokens, defaults.maxNewTokens());
    setDefault(temperature, (double) defaults.temperature());
    setDefault(topK, defaults.topK());
    setDefault(topP, (double) defaults.topP());
    setDefault(seed, defaults.seed());
    setDefault(longestEdge, defaults.longestEdge());
    setDefault(imageSplitting, defaults.imageSplitting());
    setDefault(maxImagePixels, defaults.maxImagePixels());
    setDefault(intraOpThreads, defaults.intraOpThreads());
    setDefault(verifyPackage, Verification.FULL.flag());
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

  public int getIntraOpThreads() {
    return (Integer) $(intraOpThreads);
  }

  /** Whether decoding samples: temperature, topK or topP was set. */
  public boolean sampling() {
    return isSet(temperature) || isSet(topK) || isSet(topP);
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
    if (isSet(seed) && !sampling()) {
      throw new IllegalArgumentException(
          "Idefics3Transformer: seed is set but decoding is greedy; a seed needs sampling: set"
              + " temperature, topK or topP");
    }
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

  /** What the executors run: the model and how, from the params. */
  public InferenceSettings inferenceSettings() {
    ModelSettings model =
        ModelSettings.builder()
            .batchSize(getBatchSize())
            .maxNewTokens(getMaxNewTokens())
            .longestEdge(getLongestEdge())
            .imageSplitting(getImageSplitting())
            .maxImagePixels(getMaxImagePixels())
            .intraOpThreads(getIntraOpThreads())
            .build();
    if (sampling()) {
      model =
          model.toBuilder()
              .sampling((float) getTemperature(), getTopK(), (float) getTopP(), getSeed())
              .build();
    }
    InferenceSettings settings =
        InferenceSettings.of(getModelUri(), model)
            .withSortWindowBatches(getSortWindowBatches())
            .withVerification(Verification.forValue(getVerifyPackage()));
    return getModelCacheDir() == null ? settings : settings.withCacheDir(getModelCacheDir());
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
