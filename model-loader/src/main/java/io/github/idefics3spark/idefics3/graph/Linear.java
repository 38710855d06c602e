package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.tf.Int8Matrix;
import io.github.idefics3spark.tf.Weights;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.index.Indices;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TNumber;

/**
 * torch.nn.Linear: {@code y = x W^T + b} over the last axis of an input of any rank. With int8
 * weights ({@code convert --dtype int8}) W is int8 with per-output-channel scales, dequantised in
 * the matmul ({@link Int8Matrix}); the bias stays float32. A split Linear (the MLPs', the vision
 * attention's) multiplies as {@link SplitProduct} in a package converted with {@code
 * --split-products}.
 */
final class Linear<T extends TNumber> {
  private final Ops tf;
  private final int inFeatures;
  private final int outFeatures;
  private final Operand<T> weight; // (in, out): the checkpoint's (out, in), stored transposed
  private final Int8Matrix int8Weight; // instead of weight, with int8 weights: (in, out) + (out)
  private final Operand<T> bias; // (out), or null
  private final int splits; // SplitProduct's parts; 1: one product

  /** Reads {@code prefix + "weight"} and, when {@code hasBias}, {@code prefix + "bias"}. */
  Linear(
      Ops tf, Weights<T> weights, String prefix, int inFeatures, int outFeatures, boolean hasBias) {
    this(tf, weights, prefix, inFeatures, outFeatures, hasBias, false);
  }

  /**
   * As {@link #Linear(Ops, Weights, String, int, int, boolean)}; with {@code split}, its product is
   * split into the weights' {@link Weights#productSplits} parts.
   */
  Linear(
      Ops tf,
      Weights<T> weights,
      String prefix,
      int inFeatures,
      int outFeatures,
      boolean hasBias,
      boolean split) {
    this.tf = tf;
    this.splits = split ? weights.productSplits() : 1;
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    if (weights.int8()) {
      this.weight = null;
      this.int8Weight = weights.readInt8(tf, prefix + "weight", true, inFeatures, outFeatures);
    } else {
      this.weight = weights.readTransposed(tf, prefix + "weight", outFeatures, inFeatures);
      this.int8Weight = null;
    }
    this.bias = hasBias ? weights.read(tf, prefix + "bias", outFeatures) : null;
  }

  /** (..., in) -> (..., out); rows (n, in) -> (n, out) without a reshape. */
  Operand<T> forward(Operand<T> x) {
    return forward(x, false);
  }

  /**
   * As {@link #forward(Operand)}; {@code fewRows} when x holds a decode step's rows (one a
   * sequence), which an int8 weight multiplies through its kernel ({@link Int8Matrix#multiply}).
   */
  Operand<T> forward(Operand<T> x, boolean fewRows) {
    if (x.shape().numDimensions() == 2) {
      return rows(x, fewRows);
    }
    Operand<TInt32> leading = tf.stridedSlice(tf.shape(x), Indices.sliceTo(-1));
    Operand<T> y = rows(tf.reshape(x, tf.constant(new int[] {-1, inFeatures})), fewRows);
    return tf.reshape(
        y, tf.concat(List.of(leading, tf.constant(new int[] {outFeatures})), tf.constant(0)));
  }

  /** (rows, in) -> (rows, out). */
  private Operand<T> rows(Operand<T> rows, boolean fewRows) {
    Operand<T> y =
        weight != null
            ? SplitProduct.multiply(tf, rows, weight, inFeatures, splits)
            : SplitProduct.multiply(tf, rows, int8Weight, inFeatures, outFeatures, splits, fewRows);
    return bias != null ? tf.nn.biasAdd(y, bias) : y;
  }
}
