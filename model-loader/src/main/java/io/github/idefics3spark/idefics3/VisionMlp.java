package io.github.idefics3spark.idefics3;

import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/** Idefics3VisionMLP: fc2(gelu_pytorch_tanh(fc1(x))). */
final class VisionMlp {
  private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2.0 / Math.PI);

  private final Ops tf;
  private final Linear fc1; // (intermediate, hidden) + bias
  private final Linear fc2; // (hidden, intermediate) + bias

  VisionMlp(Ops tf, Weights weights, String prefix, Idefics3Config.Vision config) {
    this.tf = tf;
    this.fc1 =
        new Linear(
            tf, weights, prefix + "fc1.", config.hiddenSize(), config.intermediateSize(), true);
    this.fc2 =
        new Linear(
            tf, weights, prefix + "fc2.", config.intermediateSize(), config.hiddenSize(), true);
  }

  /** (..., hidden) -> (..., hidden). */
  Operand<TFloat32> forward(Operand<TFloat32> x) {
    Operand<TFloat32> h = fc1.forward(x); // (..., intermediate)
    // gelu tanh: 0.5 h (1 + tanh(sqrt(2 / pi) (h + 0.044715 h^3)))
    Operand<TFloat32> cube = tf.math.mul(tf.math.mul(h, h), h);
    Operand<TFloat32> inner =
        tf.math.mul(
            tf.constant(SQRT_2_OVER_PI), tf.math.add(h, tf.math.mul(tf.constant(0.044715f), cube)));
    Operand<TFloat32> gelu =
        tf.math.mul(
            tf.math.mul(tf.constant(0.5f), h), tf.math.add(tf.constant(1f), tf.math.tanh(inner)));
    return fc2.forward(gelu);
  }
}
