package io.github.idefics3spark.idefics3;

import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;

/** LlamaRMSNorm (Idefics3RMSNorm): {@code weight * (x * rsqrt(mean(x^2) + eps))}. */
final class RmsNorm {
  private final Ops tf;
  private final float eps;
  private final Operand<TFloat32> weight; // (hidden)

  RmsNorm(Ops tf, Weights weights, String key, int hidden, double eps) {
    this.tf = tf;
    this.eps = (float) eps;
    this.weight = weights.read(tf, key, hidden);
  }

  /**
   * (..., hidden) -> (..., hidden). The statistics are taken in fp32 and the weight multiplies
   * after the cast back to the input dtype, as the reference does (fp32 here: the cast is a no-op).
   */
  Operand<TFloat32> forward(Operand<TFloat32> x) {
    Operand<TFloat32> variance =
        tf.math.mean(tf.math.square(x), tf.constant(-1), Mean.keepDims(true)); // (..., 1)
    Operand<TFloat32> normed =
        tf.math.mul(x, tf.math.rsqrt(tf.math.add(variance, tf.constant(eps))));
    return tf.math.mul(weight, normed);
  }
}
