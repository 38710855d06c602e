package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TNumber;

/** LlamaMLP: down_proj(silu(gate_proj(x)) * up_proj(x)), no biases. */
final class TextMlp<T extends TNumber> {
  private final Ops tf;
  private final Class<T> dtype;
  private final Linear<T> gateProj; // (intermediate, hidden)
  private final Linear<T> upProj; // (intermediate, hidden)
  private final Linear<T> downProj; // (hidden, intermediate)

  TextMlp(Ops tf, Weights<T> weights, String prefix, Idefics3Config.Text config) {
    this.tf = tf;
    this.dtype = weights.dtype();
    int hidden = config.hiddenSize();
    int intermediate = config.intermediateSize();
    this.gateProj =
        new Linear<>(tf, weights, prefix + "gate_proj.", hidden, intermediate, false, true);
    this.upProj = new Linear<>(tf, weights, prefix + "up_proj.", hidden, intermediate, false, true);
    this.downProj =
        new Linear<>(tf, weights, prefix + "down_proj.", intermediate, hidden, false, true);
  }

  /**
   * (..., hidden) -> (..., hidden); {@code fewRows} when x holds a decode step's rows (see {@link
   * Linear#forward(Operand, boolean)}).
   */
  Operand<T> forward(Operand<T> x, boolean fewRows) {
    // silu in fp32, rounded once, as torch's kernel does for any dtype
    Operand<TFloat32> gate =
        tf.dtypes.cast(gateProj.forward(x, fewRows), TFloat32.class); // (..., intermediate)
    Operand<T> silu = tf.dtypes.cast(tf.math.mul(gate, tf.math.sigmoid(gate)), dtype);
    return downProj.forward(tf.math.mul(silu, upProj.forward(x, fewRows)), fewRows);
  }
}
