package io.github.idefics3spark.spark.sql;

import org.apache.spark.sql.api.java.UDF1;

/**
 * {@code vlm_caption(image)}: the model's description of the image, null when it has none (then
 * {@code vlm_caption_result} says why). {@code image} is binary, a path, an HF image
 * struct&lt;bytes, path&gt; or an array of them (several images, one answer). Returns {@code
 * string}.
 *
 * <p>Registered by {@link Idefics3Functions#register}; from PySpark, after setting {@code
 * spark.idefics3.model} (and any other {@link FunctionSettings} key under {@code spark.idefics3.}):
 * {@code spark.udf.registerJavaFunction("vlm_caption",
 * "io.github.idefics3spark.spark.sql.VlmCaption", "string")}.
 */
public final class VlmCaption implements UDF1<Object, String> {
  private static final long serialVersionUID = 1L;

  private final FunctionInference inference;

  /** The function of the active session's {@code spark.idefics3.*} conf. */
  public VlmCaption() {
    this(FunctionInference.fromActiveSession());
  }

  VlmCaption(FunctionInference inference) {
    this.inference = inference;
  }

  @Override
  public String call(Object image) {
    return FunctionInference.answerOf(inference.caption(image));
  }
}
