package io.github.idefics3spark.spark.sql;

import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The Idefics3 SQL functions, registered in one call, for {@code spark.sql(...)} and the DataFrame
 * API:
 *
 * <table>
 *   <caption>functions</caption>
 *   <tr><th>function</th><th>returns</th></tr>
 *   <tr><td>{@code vlm_caption(image)}</td><td>string: the description, null on error</td></tr>
 *   <tr><td>{@code vlm_caption_result(image)}</td><td>struct&lt;answer: string, error: string,
 *       error_kind: string&gt;</td></tr>
 *   <tr><td>{@code vlm_answer(image, question)}</td><td>string: the answer, null on
 *       error</td></tr>
 *   <tr><td>{@code vlm_answer_result(image, question)}</td><td>struct&lt;answer: string, error:
 *       string, error_kind: string&gt;</td></tr>
 * </table>
 *
 * <p>{@code image} is binary (encoded bytes: a {@code binaryFile} table's {@code content}), a
 * string (a path or URI read through Hadoop: local, hdfs:, s3a:), a Hugging Face image {@code
 * struct<bytes: binary, path: string>}, or an array of one of these (several images, one answer). A
 * bad image (zero bytes, not an image, a path that cannot be read, null) never fails the query: the
 * answer is null and the {@code _result} function's {@code error} says why; {@code error_kind} is
 * one of the job's kinds ({@link io.github.idefics3spark.spark.InferenceSchema}). Select both
 * fields of one {@code _result} call rather than calling a function and its {@code _result} twice:
 * each call runs the model.
 *
 * <p>Each call answers one row: Spark gives a scalar function one row at a time, so the functions
 * decode with a batch of one. For large tables, {@link
 * io.github.idefics3spark.spark.ml.Idefics3Transformer} answers the same rows in batches, several
 * times faster (tools/bench/udf.sh). Both, and the job, share the executor's loaded model ({@link
 * io.github.idefics3spark.spark.ModelCache}): one load per executor JVM.
 *
 * <p>From PySpark, register the classes {@link VlmCaption}, {@link VlmCaptionResult}, {@link
 * VlmAnswer} and {@link VlmAnswerResult} with {@code spark.udf.registerJavaFunction} after setting
 * {@code spark.idefics3.model} (and the other {@link FunctionSettings} keys under {@code
 * spark.idefics3.}).
 */
public final class Idefics3Functions {
  public static final String CAPTION = "vlm_caption";
  public static final String CAPTION_RESULT = "vlm_caption_result";
  public static final String ANSWER = "vlm_answer";
  public static final String ANSWER_RESULT = "vlm_answer_result";

  /** The type of {@code vlm_caption_result} and {@code vlm_answer_result}. */
  public static final StructType RESULT = FunctionInference.RESULT;

  private Idefics3Functions() {}

  /**
   * Registers the four functions in {@code spark} for the model at {@code modelUri}.
   *
   * @param modelUri a package made by convert or a Hugging Face checkpoint folder: a local path, a
   *     file:, hdfs: or s3a: URI, or the name of a folder shipped with --archives
   * @param options the {@link FunctionSettings} keys (the job's option names: {@code
   *     max-new-tokens}, {@code longest-edge}, {@code caption-prompt}, ...)
   * @throws IllegalArgumentException naming the option or the model when one is wrong
   */
  public static void register(SparkSession spark, String modelUri, Map<String, String> options) {
    register(spark, FunctionSettings.fromOptions(modelUri, options));
  }

  /**
   * Registers the four functions with the session's {@code spark.idefics3.*} conf ({@code
   * spark.idefics3.model} and the other {@link FunctionSettings} keys).
   *
   * @throws IllegalArgumentException naming the key when the model is not set or a key is wrong
   */
  public static void register(SparkSession spark) {
    register(spark, FunctionSettings.fromConf(spark.conf()));
  }

  private static void register(SparkSession spark, FunctionSettings settings) {
    FunctionInference inference = new FunctionInference(spark, settings);
    spark.udf().register(CAPTION, new VlmCaption(inference), DataTypes.StringType);
    spark.udf().register(CAPTION_RESULT, new VlmCaptionResult(inference), RESULT);
    spark.udf().register(ANSWER, new VlmAnswer(inference), DataTypes.StringType);
    spark.udf().register(ANSWER_RESULT, new VlmAnswerResult(inference), RESULT);
  }

  /** {@code vlm_caption(image)} as a Column; the functions must be registered. */
  public static Column vlmCaption(Column image) {
    return functions.call_function(CAPTION, image);
  }

  /** {@code vlm_caption_result(image)} as a Column; the functions must be registered. */
  public static Column vlmCaptionResult(Column image) {
    return functions.call_function(CAPTION_RESULT, image);
  }

  /** {@code vlm_answer(image, question)} as a Column; the functions must be registered. */
  public static Column vlmAnswer(Column image, Column question) {
    return functions.call_function(ANSWER, image, question);
  }

  /** {@code vlm_answer_result(image, question)} as a Column; the functions must be registered. */
  public static Column vlmAnswerResult(Column image, Column question) {
    return functions.call_function(ANSWER_RESULT, image, question);
  }
}
