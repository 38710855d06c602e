package io.github.idefics3spark.idefics3;

import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;

/** torch.nn.LayerNorm over the last axis, with weight and bias (the vision tower's norms). */
final class LayerNorm {
  private final Ops tf;
  private final float eps;
  private final Operand<TFloat32> weight; // (hidden)
  private final Operand<TFloat32> bias; // (hidden)

  LayerNorm(Ops tf, Weights weights, String prefix, int hidden, double eps) {
    this.tf = tf;
    this.eps = (float) eps;
    this.weight = weights.read(tf, prefix + "weight", hidden);
    this.bias = weights.read(tf, prefix + "bias", hidden);
  }

  /** (..., hidden) -> (..., hidden): (x - mean) / sqrt(biased variance + eps) * weight + bias. */
  Operand<TFloat32> forward(Operand<TFloat32> x) {
    Operand<TFloat32> mean = tf.math.mean(x, tf.constant(-1), Mean.keepDims(true)); // (..., 1)
    Operand<TFloat32> centered = tf.math.sub(x, mean);
    Operand<TFloat32> variance =
        tf.math.mean(tf.math.square(centered), tf.constant(-1), Mean.keepDims(true)); // (..., 1)
    Operand<TFloat32> normed =
        tf.math.mul(centered, tf.math.rsqrt(tf.math.add(variance, tf.constant(eps))));
    return tf.math.add(tf.math.mul(normed, weight), bias);
  }
}
