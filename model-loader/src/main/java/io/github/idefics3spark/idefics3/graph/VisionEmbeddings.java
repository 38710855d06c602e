package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.Weights;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.index.Indices;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TNumber;

/**
 * Idefics3VisionEmbeddings: the patch convolution plus NaViT-style position embeddings.
 *
 * <p>Position ids are bucketed from the patch mask as the checkpoints were trained: for a frame
 * with {@code nb_h} valid patch rows and {@code nb_w} valid columns, patch (r, c) gets {@code
 * floor(r * N / nb_h) * N + floor(c * N / nb_w)} (N patches a side), padded patches get 0. For a
 * full frame that is {@code r * N + c}. This is the intended formula, not the fp32 regression of
 * transformers 4.55-4.57 (spec section 4).
 */
final class VisionEmbeddings<T extends TNumber> {
  private final Ops tf;
  private final int patchSize;
  private final int side; // N, patches a side
  private final int hidden;
  private final Operand<T> patchWeight; // (hidden, channels, p, p)
  private final Operand<T> patchBias; // (hidden)
  private final Operand<T> positionEmbedding; // (N * N, hidden)

  VisionEmbeddings(Ops tf, Weights<T> weights, String prefix, Idefics3Config.Vision config) {
    this.tf = tf;
    this.patchSize = config.patchSize();
    this.side = config.imageSize() / config.patchSize();
    this.hidden = config.hiddenSize();
    int channels = config.numChannels();
    this.patchWeight =
        weights.read(tf, prefix + "patch_embedding.weight", hidden, channels, patchSize, patchSize);
    this.patchBias = weights.read(tf, prefix + "patch_embedding.bias", hidden);
    this.positionEmbedding =
        weights.read(tf, prefix + "position_embedding.weight", (long) side * side, hidden);
  }

  /**
   * @param pixelValues (frames, channels, T, T)
   * @param patchMask (frames, N, N), true where the patch holds at least one real pixel
   * @return (frames, N * N, hidden)
   */
  Operand<T> forward(Operand<T> pixelValues, Operand<TBool> patchMask) {
    // Conv2D with kernel = stride = patch size, VALID, in NHWC.
    Operand<T> nhwc =
        tf.linalg.transpose(pixelValues, tf.constant(new int[] {0, 2, 3, 1})); // (F, T, T, C)
    Operand<T> filter =
        tf.linalg.transpose(patchWeight, tf.constant(new int[] {2, 3, 1, 0})); // (p, p, C, hidden)
    long p = patchSize;
    Operand<T> patches =
        tf.nn.biasAdd(tf.nn.conv2d(nhwc, filter, List.of(1L, p, p, 1L), "VALID"), patchBias);
    // (F, N, N, hidden) -> (F, N * N, hidden), patches row-major.
    Operand<T> embeddings = tf.reshape(patches, tf.constant(new int[] {-1, side * side, hidden}));

    // Bucketed position ids from the mask's valid rows and columns.
    Operand<TInt32> mask = tf.dtypes.cast(patchMask, TInt32.class); // (F, N, N)
    Operand<TInt32> validRows =
        tf.sum(tf.stridedSlice(mask, Indices.all(), Indices.all(), Indices.at(0)), tf.constant(1));
    Operand<TInt32> validCols =
        tf.sum(tf.stridedSlice(mask, Indices.all(), Indices.at(0), Indices.all()), tf.constant(1));
    Operand<TInt32> index = tf.range(tf.constant(0), tf.constant(side), tf.constant(1)); // (N)
    Operand<TInt32> posRow = bucket(index, validRows); // (F, N)
    Operand<TInt32> posCol = bucket(index, validCols); // (F, N)
    Operand<TInt32> ids =
        tf.math.add(
            tf.math.mul(tf.expandDims(posRow, tf.constant(2)), tf.constant(side)),
            tf.expandDims(posCol, tf.constant(1))); // (F, N, N)
    ids = tf.select(patchMask, ids, tf.zerosLike(ids));
    ids = tf.reshape(ids, tf.constant(new int[] {-1, side * side})); // (F, N * N)

    Operand<T> positions = tf.gather(positionEmbedding, ids, tf.constant(0)); // (F, N * N, hidden)
    return tf.math.add(embeddings, positions);
  }

  /** floor(i * N / valid) for each frame, clamped to N - 1: (N), (F) -> (F, N). */
  private Operand<TInt32> bucket(Operand<TInt32> index, Operand<TInt32> valid) {
    Operand<TInt32> scaled = tf.expandDims(tf.math.mul(index, tf.constant(side)), tf.constant(0));
    Operand<TInt32> divisor =
        tf.expandDims(tf.math.maximum(valid, tf.constant(1)), tf.constant(1)); // (F, 1)
    return tf.math.minimum(tf.math.floorDiv(scaled, divisor), tf.constant(side - 1));
  }
}
