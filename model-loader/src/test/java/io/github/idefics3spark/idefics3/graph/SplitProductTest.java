package io.github.idefics3spark.idefics3.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.tf.RandomInt8;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * An int8 matrix's product split in parts ({@code --split-products} with {@code --dtype int8})
 * equals the unsplit product to float rounding, for both stored layouts ((in, out): row blocks
 * summed; (out, in), the tied lm_head's: blocks of output rows side by side), a decode step's few
 * rows (the int8 kernel) and many rows (cast and MatMul), splits that do not divide the size.
 */
class SplitProductTest {
  @Test
  void aSplitInt8ProductEqualsTheUnsplitOne() {
    Random random = new Random(5);
    int in = 37;
    int out = 70;
    for (boolean transposed : new boolean[] {true, false}) {
      for (int rows : new int[] {2, 12}) {
        try (Graph graph = new Graph();
            Session session = new Session(graph)) {
          Ops tf = Ops.create(graph);
          RandomInt8 product = RandomInt8.of(tf, rows, in, out, transposed, random);
          boolean few = rows <= 8;
          Operand<TFloat32> whole =
              SplitProduct.multiply(tf, product.rows(), product.matrix(), in, out, 1, few);
          Operand<TFloat32> split =
              SplitProduct.multiply(tf, product.rows(), product.matrix(), in, out, 3, few);
          try (var result = session.runner().fetch(whole).fetch(split).run()) {
            TFloat32 splitResult = (TFloat32) result.get(1);
            assertEquals(Shape.of(rows, out), splitResult.shape());
            double[] diffAndLargest =
                RandomInt8.differenceAndLargest((TFloat32) result.get(0), splitResult);
            assertTrue(
                diffAndLargest[0] <= 1e-5 * diffAndLargest[1],
                "transposed "
                    + transposed
                    + ", rows "
                    + rows
                    + ": max abs diff "
                    + diffAndLargest[0]);
          }
        }
      }
    }
  }
}
