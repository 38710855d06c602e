package io.github.idefics3spark.tf;

import java.util.Random;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Random float rows and a random int8 matrix with its scales, as graph constants, for the tests of
 * int8 products ({@code Int8KernelTest}, {@code SplitProductTest}); and the differences they check.
 *
 * @param rows (rows, in), values ~ N(0, 1)
 * @param matrix (in, out) when transposed, else (out, in); values in [-127, 127], scales in [0.001,
 *     0.011)
 */
public record RandomInt8(Operand<TFloat32> rows, Int8Matrix matrix) {

  public static RandomInt8 of(
      Ops tf, int rows, int in, int out, boolean transposed, Random random) {
    float[] x = new float[rows * in];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextGaussian();
    }
    byte[] bits = new byte[in * out]; // the int8 values' bits
    for (int i = 0; i < bits.length; i++) {
      bits[i] = (byte) (random.nextInt(255) - 127);
    }
    float[] scale = new float[out];
    for (int i = 0; i < out; i++) {
      scale[i] = 0.001f + random.nextFloat() * 0.01f;
    }
    return new RandomInt8(
        tf.constant(Shape.of(rows, in), DataBuffers.of(x)),
        new Int8Matrix(
            tf.constant(transposed ? Shape.of(in, out) : Shape.of(out, in), DataBuffers.of(bits)),
            tf.constant(Shape.of(out), DataBuffers.of(scale)),
            transposed));
  }

  /** {largest |a - b|, largest |a|} over two tensors of the same shape. */
  public static double[] differenceAndLargest(TFloat32 a, TFloat32 b) {
    float[] fa = new float[(int) a.shape().size()];
    float[] fb = new float[(int) b.shape().size()];
    a.asRawTensor().data().asFloats().read(fa);
    b.asRawTensor().data().asFloats().read(fb);
    double diff = 0;
    double largest = 0;
    for (int i = 0; i < fa.length; i++) {
      diff = Math.max(diff, Math.abs(fa[i] - fb[i]));
      largest = Math.max(largest, Math.abs(fa[i]));
    }
    return new double[] {diff, largest};
  }
}
