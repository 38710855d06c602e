package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TNumber;

/** Idefics3VisionMLP: fc2(gelu_pytorch_tanh(fc1(x))). */
final class VisionMlp<T extends TNumber> {
  private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2.0 / Math.PI);

  private final Ops tf;
  private final Class<T> dtype;
  private final Linear<T> fc1; // (intermediate, hidden) + bias
  private final Linear<T> fc2; // (hidden, intermediate) + bias

  VisionMlp(Ops tf, Weights<T> weights, String prefix, Idefics3Config.Vision config) {
    this.tf = tf;
    this.dtype = weights.dtype();
    this.fc1 =
        new Linear<>(
            tf,
            weights,
            prefix + "fc1.",
            config.hiddenSize(),
            config.intermediateSize(),
            true,
            true);
    this.fc2 =
        new Linear<>(
            tf,
            weights,
            prefix + "fc2.",
            config.intermediateSize(),
            config.hiddenSize(),
            true,
            true);
  }

  /** (..., hidden) -> (..., hidden). */
  Operand<T> forward(Operand<T> x) {
    // gelu tanh in fp32, rounded once: 0.5 h (1 + tanh(sqrt(2 / pi) (h + 0.044715 h^3)))
    Operand<TFloat32> h = tf.dtypes.cast(fc1.forward(x), TFloat32.class); // (..., intermediate)
    Operand<TFloat32> cube = tf.math.mul(tf.math.mul(h, h), h);
    Operand<TFloat32> inner =
        tf.math.mul(
            tf.constant(SQRT_2_OVER_PI), tf.math.add(h, tf.math.mul(tf.constant(0.044715f), cube)));
    Operand<TFloat32> gelu =
        tf.math.mul(
            tf.math.mul(tf.constant(0.5f), h), tf.math.add(tf.constant(1f), tf.math.tanh(inner)));
    return fc2.forward(tf.dtypes.cast(gelu, dtype));
  }
}
