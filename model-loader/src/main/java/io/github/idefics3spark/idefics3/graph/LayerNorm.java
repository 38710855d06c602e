package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TNumber;

/**
 * torch.nn.LayerNorm over the last axis, with weight and bias (the vision tower's norms). Like
 * torch's kernel it computes in fp32 whatever the dtype and rounds the result once.
 */
final class LayerNorm<T extends TNumber> {
  private final Ops tf;
  private final float eps;
  private final Class<T> dtype;
  private final Operand<T> weight; // (hidden)
  private final Operand<T> bias; // (hidden)

  LayerNorm(Ops tf, Weights<T> weights, String prefix, int hidden, double eps) {
    this.tf = tf;
    this.eps = (float) eps;
    this.dtype = weights.dtype();
    this.weight = weights.read(tf, prefix + "weight", hidden);
    this.bias = weights.read(tf, prefix + "bias", hidden);
  }

  /** (..., hidden) -> (..., hidden): (x - mean) / sqrt(biased variance + eps) * weight + bias. */
  Operand<T> forward(Operand<T> x) {
    Operand<TFloat32> x32 = tf.dtypes.cast(x, TFloat32.class);
    Operand<TFloat32> mean = tf.math.mean(x32, tf.constant(-1), Mean.keepDims(true)); // (..., 1)
    Operand<TFloat32> centered = tf.math.sub(x32, mean);
    Operand<TFloat32> variance =
        tf.math.mean(tf.math.square(centered), tf.constant(-1), Mean.keepDims(true)); // (..., 1)
    Operand<TFloat32> normed =
        tf.math.mul(centered, tf.math.rsqrt(tf.math.add(variance, tf.constant(eps))));
    Operand<TFloat32> affine =
        tf.math.add(
            tf.math.mul(normed, tf.dtypes.cast(weight, TFloat32.class)),
            tf.dtypes.cast(bias, TFloat32.class));
    return tf.dtypes.cast(affine, dtype);
  }
}
