package io.github.idefics3spark.tf;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.index.Indices;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TInt32;

/** Shapes computed in the graph, for reshapes whose sizes are known only when the graph runs. */
public final class DynamicShape {
  private DynamicShape() {}

  /** The size of {@code x} along {@code axis}, as a scalar. */
  public static Operand<TInt32> dim(Ops tf, Operand<?> x, int axis) {
    return tf.stridedSlice(tf.shape(x), Indices.at(axis));
  }

  /**
   * A shape vector made of run-time sizes (scalar {@code Operand<TInt32>}) and fixed sizes
   * (Integer), in order.
   */
  public static Operand<TInt32> of(Ops tf, Object... dims) {
    List<Operand<TInt32>> parts = new ArrayList<>(dims.length);
    for (Object dim : dims) {
      if (dim instanceof Integer fixed) {
        parts.add(tf.constant(fixed));
      } else if (dim instanceof Operand<?> operand && operand.type() == TInt32.class) {
        @SuppressWarnings("unchecked")
        Operand<TInt32> size = (Operand<TInt32>) operand;
        parts.add(size);
      } else {
        throw new IllegalArgumentException(
            "a dimension is an Integer or a scalar Operand<TInt32>, found " + dim);
      }
    }
    return tf.stack(parts);
  }
}
