package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TNumber;

/** LlamaRMSNorm (Idefics3RMSNorm): {@code weight * cast(x32 * rsqrt(mean(x32^2) + eps))}. */
final class RmsNorm<T extends TNumber> {
  private final Ops tf;
  private final float eps;
  private final Class<T> dtype;
  private final Operand<T> weight; // (hidden)

  RmsNorm(Ops tf, Weights<T> weights, String key, int hidden, double eps) {
    this.tf = tf;
    this.eps = (float) eps;
    this.dtype = weights.dtype();
    this.weight = weights.read(tf, key, hidden);
  }

  /**
   * (..., hidden) -> (..., hidden). The statistics are taken in fp32 and the weight multiplies
   * after the cast back to the input dtype, as the reference does.
   */
  Operand<T> forward(Operand<T> x) {
    Operand<TFloat32> x32 = tf.dtypes.cast(x, TFloat32.class);
    Operand<TFloat32> variance =
        tf.math.mean(tf.math.square(x32), tf.constant(-1), Mean.keepDims(true)); // (..., 1)
    Operand<TFloat32> normed =
        tf.math.mul(x32, tf.math.rsqrt(tf.math.add(variance, tf.constant(eps))));
    return tf.math.mul(weight, tf.dtypes.cast(normed, dtype));
  }
}
