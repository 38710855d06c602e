package io.github.idefics3spark.idefics3.graph;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TNumber;

/**
 * The attention weights both towers compute as transformers' {@code eager_attention_forward} does:
 * softmax(q k^T * hd^-0.5 + mask), the scaling and the softmax taken in fp32 and each rounded back
 * to the compute dtype once, as torch does for bf16 and fp16 models.
 */
final class EagerAttention {
  private EagerAttention() {}

  /**
   * @param scores q k^T, (..., queries, keys) in the compute dtype
   * @param mask added to the scaled scores: 0 where a key may be attended, the dtype's lowest value
   *     where not; broadcast against the scores
   * @param headDim the width of one head
   * @return the attention weights, (..., queries, keys), rows summing to 1
   */
  static <T extends TNumber> Operand<T> weights(
      Ops tf, Operand<T> scores, Operand<T> mask, int headDim) {
    Class<T> dtype = scores.type();
    // x * hd^-0.5, the product taken in fp32 and rounded once (torch's scalar multiply)
    Operand<TFloat32> product =
        tf.math.mul(
            tf.dtypes.cast(scores, TFloat32.class), tf.constant((float) Math.pow(headDim, -0.5)));
    Operand<T> scaled = tf.dtypes.cast(product, dtype);
    // softmax over the keys in fp32, rounded back to the dtype
    Operand<T> masked = tf.math.add(scaled, mask);
    return tf.dtypes.cast(tf.nn.softmax(tf.dtypes.cast(masked, TFloat32.class)), dtype);
  }
}
