package io.github.idefics3spark.idefics3;

import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/** LlamaMLP: down_proj(silu(gate_proj(x)) * up_proj(x)), no biases. */
final class TextMlp {
  private final Ops tf;
  private final Linear gateProj; // (intermediate, hidden)
  private final Linear upProj; // (intermediate, hidden)
  private final Linear downProj; // (hidden, intermediate)

  TextMlp(Ops tf, Weights weights, String prefix, Idefics3Config.Text config) {
    this.tf = tf;
    int hidden = config.hiddenSize();
    int intermediate = config.intermediateSize();
    this.gateProj = new Linear(tf, weights, prefix + "gate_proj.", hidden, intermediate, false);
    this.upProj = new Linear(tf, weights, prefix + "up_proj.", hidden, intermediate, false);
    this.downProj = new Linear(tf, weights, prefix + "down_proj.", intermediate, hidden, false);
  }

  /** (..., hidden) -> (..., hidden). */
  Operand<TFloat32> forward(Operand<TFloat32> x) {
    Operand<TFloat32> gate = gateProj.forward(x); // (..., intermediate)
    Operand<TFloat32> silu = tf.math.mul(gate, tf.math.sigmoid(gate));
    return downProj.forward(tf.math.mul(silu, upProj.forward(x)));
  }
}
