package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.tf.Int8Matrix;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TUint8;
import org.tensorflow.types.family.TNumber;

/**
 * Products split into parts that TensorFlow's inter-op threads run at once, each reading its own
 * part of the weight: a package converted with {@code --split-products N} (the README's "The second
 * core").
 *
 * <p>One core's decode step is bound by how fast its matmul kernels take the weights in (about the
 * same at 1 and at 8 rows), so a second core shortens it only if it reads other weights than the
 * first. {@code x @ W} becomes the sum over W's row blocks of {@code x[:, block] @ W[block]}: the
 * row blocks of a stored (in, out) matrix are views of it (TensorFlow's split along the first axis
 * shares the buffer when a row's bytes are a multiple of 64), and the sum costs one add of the
 * (rows, out) products. Sums are taken in another order than one product's, so logits move by
 * rounding only. The text attention cuts a batch's rows into blocks instead ({@link #blockSizes}),
 * each reading its own rows of the KV caches.
 */
final class SplitProduct {
  private SplitProduct() {}

  /**
   * (rows, in) x (in, out) -> (rows, out), as {@code splits} products of W's row blocks, summed.
   */
  static <T extends TNumber> Operand<T> multiply(
      Ops tf, Operand<T> rows, Operand<T> weight, long in, int splits) {
    if (Math.min(splits, in) <= 1) {
      return tf.linalg.matMul(rows, weight);
    }
    List<Operand<T>> xs = blocks(tf, rows, 1, in, splits); // (rows, block) each
    List<Operand<T>> ws = blocks(tf, weight, 0, in, splits); // (block, out) each
    Operand<T> sum = tf.linalg.matMul(xs.get(0), ws.get(0));
    for (int i = 1; i < xs.size(); i++) {
      sum = tf.math.add(sum, tf.linalg.matMul(xs.get(i), ws.get(i)));
    }
    return sum;
  }

  /**
   * (rows, in) x an int8 matrix -> (rows, out), in {@code splits} products (each through {@link
   * Int8Matrix#multiply}, so a decode step's through the int8 kernel): a matrix stored (in, out) as
   * the sum over its row blocks of {@code x[:, block] @ W[block]}, as {@link #multiply} does; one
   * stored (out, in), the tied lm_head's embeddings, as its blocks of output rows side by side,
   * since a block of its rows is a view of it and a block of its columns would be a copy.
   */
  static <T extends TNumber> Operand<T> multiply(
      Ops tf, Operand<T> rows, Int8Matrix weight, long in, long out, int splits, boolean fewRows) {
    long cut = weight.transposed() ? in : out;
    if (Math.min(splits, cut) <= 1) {
      return weight.multiply(tf, rows, fewRows);
    }
    List<Operand<TUint8>> bits = blocks(tf, weight.bits(), 0, cut, splits);
    if (weight.transposed()) {
      List<Operand<T>> xs = blocks(tf, rows, 1, in, splits); // (rows, block) each
      Operand<T> sum = null;
      for (int i = 0; i < bits.size(); i++) {
        Operand<T> part =
            new Int8Matrix(bits.get(i), weight.scale(), true).multiply(tf, xs.get(i), fewRows);
        sum = sum == null ? part : tf.math.add(sum, part);
      }
      return sum;
    }
    List<Operand<TFloat32>> scales = blocks(tf, weight.scale(), 0, out, splits);
    List<Operand<T>> columns = new ArrayList<>(bits.size());
    for (int i = 0; i < bits.size(); i++) {
      columns.add(new Int8Matrix(bits.get(i), scales.get(i), false).multiply(tf, rows, fewRows));
    }
    return tf.concat(columns, tf.constant(1));
  }

  /**
   * {@code x} cut along {@code axis} (of {@code size}) into {@code min(splits, size)} blocks in
   * order, the first ones one longer where {@code size} does not divide evenly.
   */
  static <T extends TNumber> List<Operand<T>> blocks(
      Ops tf, Operand<T> x, int axis, long size, int splits) {
    int parts = (int) Math.min(splits, size);
    long[] sizes = new long[parts];
    for (int i = 0; i < parts; i++) {
      sizes[i] = size / parts + (i < size % parts ? 1 : 0);
    }
    return blocks(tf, x, axis, tf.constant(sizes), parts);
  }

  /**
   * {@code x} cut along {@code axis} into {@code splits} blocks of the given {@link #blockSizes}
   * (for a size known only when the graph runs: a batch's rows).
   */
  static <T extends TNumber> List<Operand<T>> blocks(
      Ops tf, Operand<T> x, int axis, Operand<? extends TNumber> sizes, int splits) {
    List<Operand<T>> out = new ArrayList<>(splits);
    tf.splitV(x, sizes, tf.constant(axis), (long) splits).forEach(out::add);
    return out;
  }

  /**
   * (splits) the sizes of the blocks of a size known only when the graph runs: size / splits each,
   * the first ones one longer where it does not divide evenly, the last ones 0 where size &lt;
   * splits.
   */
  static Operand<TInt32> blockSizes(Ops tf, Operand<TInt32> size, int splits) {
    // sizes[i] = floor((size + splits - 1 - i) / splits)
    Operand<TInt32> lift = tf.range(tf.constant(splits - 1), tf.constant(-1), tf.constant(-1));
    return tf.math.floorDiv(tf.math.add(size, lift), tf.constant(splits));
  }
}
