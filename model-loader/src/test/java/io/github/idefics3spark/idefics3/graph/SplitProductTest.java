package io.github.idefics3spark.idefics3.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.tf.Int8Matrix;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
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
        float[] x = new float[rows * in];
        for (int i = 0; i < x.length; i++) {
          x[i] = (float) random.nextGaussian();
        }
        byte[] bits = new byte[in * out];
        for (int i = 0; i < bits.length; i++) {
          bits[i] = (byte) (random.nextInt(255) - 127);
        }
        float[] scale = new float[out];
        for (int i = 0; i < out; i++) {
          scale[i] = 0.001f + random.nextFloat() * 0.01f;
        }
        try (Graph graph = new Graph();
            Session session = new Session(graph)) {
          Ops tf = Ops.create(graph);
          Operand<TFloat32> xs = tf.constant(Shape.of(rows, in), DataBuffers.of(x));
          Int8Matrix matrix =
              new Int8Matrix(
                  tf.constant(
                      transposed ? Shape.of(in, out) : Shape.of(out, in), DataBuffers.of(bits)),
                  tf.constant(Shape.of(out), DataBuffers.of(scale)),
                  transposed);
          boolean few = rows <= 8;
          Operand<TFloat32> whole = SplitProduct.multiply(tf, xs, matrix, in, out, 1, few);
          Operand<TFloat32> split = SplitProduct.multiply(tf, xs, matrix, in, out, 3, few);
          try (var result = session.runner().fetch(whole).fetch(split).run()) {
            TFloat32 a = (TFloat32) result.get(0);
            TFloat32 b = (TFloat32) result.get(1);
            assertEquals(Shape.of(rows, out), b.shape());
            float[] fa = new float[rows * out];
            float[] fb = new float[rows * out];
            a.asRawTensor().data().asFloats().read(fa);
            b.asRawTensor().data().asFloats().read(fb);
            double largest = 0;
            double diff = 0;
            for (int i = 0; i < fa.length; i++) {
              largest = Math.max(largest, Math.abs(fa[i]));
              diff = Math.max(diff, Math.abs(fa[i] - fb[i]));
            }
            assertTrue(
                diff <= 1e-5 * largest,
                "transposed " + transposed + ", rows " + rows + ": max abs diff " + diff);
          }
        }
      }
    }
  }
}
