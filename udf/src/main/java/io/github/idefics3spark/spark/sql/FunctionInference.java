package io.github.idefics3spark.spark.sql;

import io.github.idefics3spark.spark.ImageColumn;
import io.github.idefics3spark.spark.InferenceSchema;
import io.github.idefics3spark.spark.LocalPackage;
import io.github.idefics3spark.spark.PartitionInference;
import java.io.IOException;
import java.io.Serializable;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The work behind the SQL functions: one image value (and question) in, one {@link #RESULT} struct
 * out, answered by {@link PartitionInference} as a batch of one with the executor's model from
 * {@link io.github.idefics3spark.spark.ModelCache}, so the functions read images, report bad rows
 * and share the loaded model exactly as the job does.
 *
 * <p>Built on the driver, where it checks the model setting and broadcasts the Hadoop configuration
 * (for image paths and remote models); shipped to executors inside the functions.
 */
final class FunctionInference implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The type of {@code vlm_caption_result} and {@code vlm_answer_result}. */
  static final StructType RESULT =
      new StructType()
          .add(InferenceSchema.ANSWER, DataTypes.StringType, true)
          .add(InferenceSchema.ERROR, DataTypes.StringType, true)
          .add(InferenceSchema.ERROR_KIND, DataTypes.StringType, true);

  private static final StructType REQUESTS = InferenceSchema.requests();
  private static final StructType RESULTS = InferenceSchema.results(REQUESTS);
  private static final int ANSWER = RESULTS.fieldIndex(InferenceSchema.ANSWER);
  private static final int ERROR = RESULTS.fieldIndex(InferenceSchema.ERROR);
  private static final int ERROR_KIND = RESULTS.fieldIndex(InferenceSchema.ERROR_KIND);

  private final FunctionSettings settings;
  private final PartitionInference inference;

  /**
   * @throws IllegalArgumentException when the model setting names something that is certainly not a
   *     model
   */
  FunctionInference(SparkSession spark, FunctionSettings settings) {
    var context = spark.sparkContext();
    String model = settings.inference().modelUri();
    try {
      LocalPackage.checkReachable(model, context.hadoopConfiguration());
    } catch (IOException e) {
      throw new IllegalArgumentException("Idefics3 SQL functions: " + e.getMessage(), e);
    }
    Broadcast<SerializableConfiguration> hadoop = SerializableConfiguration.broadcast(context);
    this.settings = settings;
    this.inference = new PartitionInference(settings.inference(), REQUESTS, hadoop, null, null);
  }

  /** The functions of the active session's {@code spark.idefics3.*} conf. */
  static FunctionInference fromActiveSession() {
    SparkSession spark = SparkSession.active();
    return new FunctionInference(spark, FunctionSettings.fromConf(spark.conf()));
  }

  FunctionSettings settings() {
    return settings;
  }

  /** {@code vlm_caption_result(image)}. */
  Row caption(Object image) {
    return result(image, settings.caption().apply(null), "caption");
  }

  /** {@code vlm_answer_result(image, question)}. */
  Row answer(Object image, Object question) {
    if (question != null && !(question instanceof String)) {
      throw new IllegalArgumentException(
          "the question of "
              + Idefics3Functions.ANSWER
              + " is a "
              + question.getClass().getName()
              + ", expected a string; cast the column to string");
    }
    return result(image, settings.answer().apply((String) question), "vqa");
  }

  private Row result(Object image, String text, String task) {
    List<Row> images = ImageColumn.images(image);
    if (images == null) {
      return RowFactory.create(
          null,
          "the image is null; expected " + ImageColumn.EXPECTED,
          InferenceSchema.UNREADABLE_IMAGE);
    }
    Row request = RowFactory.create("sql", ImageColumn.asColumnValue(images), text, null, task);
    Iterator<Row> results = inference.call(List.of(request).iterator());
    Row result = results.next();
    return RowFactory.create(result.get(ANSWER), result.get(ERROR), result.get(ERROR_KIND));
  }

  /** The answer of a result struct (null on error). */
  static String answerOf(Row result) {
    return result.getString(0);
  }
}
