package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.DynamicShape;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.AssertThat;
import org.tensorflow.op.math.Cumsum;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TNumber;

/**
 * Transformers' {@code Idefics3Model.inputs_merger}: the image features replace the text embeddings
 * at the image_token_id positions of input_ids, batch-major then by position, the feature rows in
 * order.
 */
final class InputsMerger {
  private final Ops tf;
  private final int hidden; // text hidden size
  private final int imageTokenId;

  InputsMerger(Ops tf, Idefics3Config config) {
    this.tf = tf;
    this.hidden = config.text().hiddenSize();
    this.imageTokenId = config.imageTokenId();
  }

  /**
   * (B, L) ids, (B, L, H) embeddings, (frames, image_seq_len, H) features -&gt; (B, L, H). Frames
   * may be 0; a count of image tokens other than frames x image_seq_len fails at run time, as in
   * the reference.
   */
  <T extends TNumber> Operand<T> forward(
      Operand<TInt32> inputIds, Operand<T> embeddings, Operand<TFloat32> imageFeatures) {
    Operand<T> rows =
        tf.reshape(
            tf.dtypes.cast(imageFeatures, embeddings.type()),
            tf.constant(new int[] {-1, hidden})); // (frames * S, H)
    Operand<TInt32> count = DynamicShape.dim(tf, rows, 0);
    // One zero row at the end, the index of every non-image position (and of any surplus).
    rows =
        tf.concat(
            List.of(rows, tf.zeros(tf.constant(new int[] {1, hidden}), embeddings.type())),
            tf.constant(0));
    Operand<TBool> isImage = tf.math.equal(inputIds, tf.constant(imageTokenId)); // (B, L)
    Operand<TInt32> flat =
        tf.reshape(tf.dtypes.cast(isImage, TInt32.class), tf.constant(new int[] {-1}));
    Operand<TInt32> order = tf.math.cumsum(flat, tf.constant(0), Cumsum.exclusive(true)); // (B * L)
    Operand<TInt32> index =
        tf.select(
            tf.reshape(isImage, tf.constant(new int[] {-1})),
            tf.math.minimum(order, count),
            tf.fill(tf.shape(order), count));
    Operand<T> gathered =
        tf.reshape(tf.gather(rows, index, tf.constant(0)), tf.shape(embeddings)); // (B, L, H)
    // As the reference, refuse a mismatch between image tokens and feature rows.
    Operand<TInt32> slots = tf.sum(flat, tf.constant(0));
    AssertThat check =
        tf.assertThat(
            tf.math.equal(slots, count),
            List.of(
                tf.constant("image_token_id positions in input_ids:"),
                slots,
                tf.constant("rows of image_features (frames x image_seq_len):"),
                count));
    return tf.withControlDependencies(List.of(check))
        .select(tf.expandDims(isImage, tf.constant(-1)), gathered, embeddings);
  }
}
