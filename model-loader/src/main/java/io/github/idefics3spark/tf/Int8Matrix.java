package io.github.idefics3spark.tf;

import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Max;
import org.tensorflow.op.linalg.MatMul;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TUint8;
import org.tensorflow.types.family.TNumber;

/**
 * A weight matrix stored int8 with one float32 scale per output channel (symmetric: {@code w ≈ q *
 * scale}, {@code scale = max|w| / 127} over the channel's inputs, q in [-127, 127]), as convert's
 * {@code --dtype int8} writes it, and the ops that multiply by it in float32.
 *
 * <p>The int8 values are dequantised in the matmul, two ways. A decode step's few rows go through
 * the project's own kernel ({@link Int8Kernel}), which converts each int8 value to float in
 * registers as it multiplies: the step reads a quarter of fp32's bytes of weights. Many rows (a
 * prompt's prefill, the vision encoder), which are bound by arithmetic rather than by reading the
 * weights, cast the int8 matrix to float32 (a copy the size of the fp32 weight, made and dropped
 * per call) and multiply with TensorFlow's MatMul, which runs on every intra-op thread; the kernel
 * runs on one. Both scale the product's columns: the same arithmetic as scaling the weight, since
 * every output channel has one scale. TensorFlow 2.18's own CPU kernels have no product that reads
 * int8 weights beside float activations (tools/bench/java/Int8MatMulBench.java measures them).
 *
 * <p>TensorFlow Java has no int8 tensor class: the values live in a uint8 variable holding the same
 * bits (two's complement) and are reinterpreted with a {@code Bitcast}, which copies nothing.
 *
 * @param bits the int8 values' bits: (in, out) when {@code transposed}, else (out, in)
 * @param scale (out)
 * @param transposed whether the matrix is stored as the transpose of the checkpoint's (out, in)
 */
public record Int8Matrix(Operand<TUint8> bits, Operand<TFloat32> scale, boolean transposed) {

  /** A float32 matrix quantised: its int8 values' bits and the scales. */
  record Quantised(Operand<TUint8> bits, Operand<TFloat32> scale) {}

  /**
   * Quantises {@code w}, per output channel: the channels lie along the axis other than {@code
   * inputAxis}. A channel of zeros gets the smallest normal scale and zero values.
   */
  static Quantised quantise(Ops tf, Operand<TFloat32> w, int inputAxis) {
    Operand<TFloat32> maxAbs =
        tf.max(tf.math.abs(w), tf.constant(inputAxis), Max.keepDims(true)); // (1, out) or (out, 1)
    Operand<TFloat32> scale =
        tf.math.maximum(tf.math.div(maxAbs, tf.constant(127f)), tf.constant(Float.MIN_NORMAL));
    Operand<TFloat32> q = tf.math.round(tf.math.div(w, scale)); // in [-127, 127], half to even
    // q mod 256 as uint8: the bits of q as an int8
    Operand<TUint8> bits = tf.dtypes.cast(tf.math.floorMod(q, tf.constant(256f)), TUint8.class);
    return new Quantised(bits, tf.reshape(scale, tf.constant(new int[] {-1})));
  }

  /** The int8 values as float32 (unscaled), in the stored layout. */
  public Operand<TFloat32> values(Ops tf) {
    return tf.scope()
        .opBuilder("Cast", "Cast")
        .addInput(int8(tf))
        .setAttr("SrcT", DataType.DT_INT8)
        .setAttr("DstT", DataType.DT_FLOAT)
        .setAttr("Truncate", false)
        .build()
        .<TFloat32>output(0);
  }

  /** The stored bits read as int8, which copies nothing. */
  private Output<?> int8(Ops tf) {
    return tf.scope()
        .opBuilder("Bitcast", "Bitcast")
        .addInput(bits.asOutput())
        .setAttr("T", DataType.DT_UINT8)
        .setAttr("type", DataType.DT_INT8)
        .build()
        .output(0);
  }

  /**
   * {@code rows @ W^T}: (rows, in) -> (rows, out), whichever way the matrix is stored (transposed,
   * (in, out): an nn.Linear weight; else (out, in): the token embeddings as a tied lm_head).
   *
   * @param fewRows whether {@code rows} are a decode step's (one a sequence of the batch): they go
   *     through {@link Int8Kernel}; else the matrix is cast to float32 for TensorFlow's MatMul
   */
  public <T extends TNumber> Operand<T> multiply(Ops tf, Operand<T> rows, boolean fewRows) {
    if (fewRows) {
      Int8Kernel.load();
      Operand<TFloat32> product =
          tf.scope()
              .opBuilder(Int8Kernel.OP, "Int8MatMul")
              .addInput(float32(rows).asOutput())
              .addInput(int8(tf))
              .addInput(scale.asOutput())
              .setAttr("transpose_b", !transposed)
              .build()
              .<TFloat32>output(0);
      return same(rows, product);
    }
    Operand<TFloat32> product =
        tf.math.mul(
            tf.linalg.matMul(float32(rows), values(tf), MatMul.transposeB(!transposed)), scale);
    return same(rows, product);
  }

  /**
   * Rows {@code ids} of a matrix stored (out, in): (...) -> (..., in), each row times its scale
   * (the token embeddings' lookup).
   */
  public Operand<TFloat32> gather(Ops tf, Operand<TInt32> ids) {
    if (transposed) {
      throw new IllegalStateException("rows are gathered from a matrix stored (out, in)");
    }
    Operand<TUint8> rowBits = tf.gather(bits, ids, tf.constant(0));
    Int8Matrix rows = new Int8Matrix(rowBits, scale, false);
    Operand<TFloat32> rowScale =
        tf.expandDims(tf.gather(scale, ids, tf.constant(0)), tf.constant(-1));
    return tf.math.mul(rows.values(tf), rowScale);
  }

  private static Operand<TFloat32> float32(Operand<? extends TNumber> x) {
    if (x.type() != TFloat32.class) {
      throw new IllegalArgumentException(
          "int8 weights multiply float32 inputs, not " + x.type().getSimpleName());
    }
    @SuppressWarnings("unchecked")
    Operand<TFloat32> typed = (Operand<TFloat32>) x;
    return typed;
  }

  @SuppressWarnings("unchecked")
  private static <T extends TNumber> Operand<T> same(Operand<T> like, Operand<TFloat32> x) {
    return (Operand<T>) x; // like is float32: checked by float32()
  }
}
