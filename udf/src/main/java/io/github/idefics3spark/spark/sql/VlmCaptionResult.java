package io.github.idefics3spark.spark.sql;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;

/**
 * {@code vlm_caption_result(image)}: {@code struct<answer: string, error: string, error_kind:
 * string>}, the description or, for a bad image, why there is none (error set, answer null). The
 * error kinds are those of the job's output ({@link
 * io.github.idefics3spark.spark.InferenceSchema}).
 *
 * <p>From PySpark, after setting {@code spark.idefics3.model}: {@code
 * spark.udf.registerJavaFunction("vlm_caption_result",
 * "io.github.idefics3spark.spark.sql.VlmCaptionResult",
 * "struct<answer:string,error:string,error_kind:string>")}.
 */
public final class VlmCaptionResult implements UDF1<Object, Row> {
  private static final long serialVersionUID = 1L;

  private final FunctionInference inference;

  /** The function of the active session's {@code spark.idefics3.*} conf. */
  public VlmCaptionResult() {
    this(FunctionInference.fromActiveSession());
  }

  VlmCaptionResult(FunctionInference inference) {
    this.inference = inference;
  }

  @Override
  public Row call(Object image) {
    return inference.caption(image);
  }
}
