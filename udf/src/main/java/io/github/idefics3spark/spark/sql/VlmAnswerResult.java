package io.github.idefics3spark.spark.sql;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF2;

/**
 * {@code vlm_answer_result(image, question)}: {@code struct<answer: string, error: string,
 * error_kind: string>}, the answer or, for a bad image or a null question, why there is none.
 *
 * <p>From PySpark, after setting {@code spark.idefics3.model}: {@code
 * spark.udf.registerJavaFunction("vlm_answer_result",
 * "io.github.idefics3spark.spark.sql.VlmAnswerResult",
 * "struct<answer:string,error:string,error_kind:string>")}.
 */
public final class VlmAnswerResult implements UDF2<Object, Object, Row> {
  private static final long serialVersionUID = 1L;

  private final FunctionInference inference;

  /** The function of the active session's {@code spark.idefics3.*} conf. */
  public VlmAnswerResult() {
    this(FunctionInference.fromActiveSession());
  }

  VlmAnswerResult(FunctionInference inference) {
    this.inference = inference;
  }

  @Override
  public Row call(Object image, Object question) {
    return inference.answer(image, question);
  }
}
