package io.github.idefics3spark.spark.sql;

import org.apache.spark.sql.api.java.UDF2;

/**
 * {@code vlm_answer(image, question)}: the model's answer to the question about the image, null
 * when it has none (then {@code vlm_answer_result} says why). Returns {@code string}; {@code image}
 * as for {@link VlmCaption}, {@code question} a string placed in the {@code prompt-template}
 * ({@code {question}} by default).
 *
 * <p>From PySpark, after setting {@code spark.idefics3.model}: {@code
 * spark.udf.registerJavaFunction("vlm_answer", "io.github.idefics3spark.spark.sql.VlmAnswer",
 * "string")}.
 */
public final class VlmAnswer implements UDF2<Object, Object, String> {
  private static final long serialVersionUID = 1L;

  private final FunctionInference inference;

  /** The function of the active session's {@code spark.idefics3.*} conf. */
  public VlmAnswer() {
    this(FunctionInference.fromActiveSession());
  }

  VlmAnswer(FunctionInference inference) {
    this.inference = inference;
  }

  @Override
  public String call(Object image, Object question) {
    return FunctionInference.answerOf(inference.answer(image, question));
  }
}
