package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TNumber;

/**
 * Idefics3Connector: pixel shuffle by the scale factor, then the modality projection.
 *
 * <p>{@code out[f, R*G' + C, (i*s + j)*D + d] = x[f, (R*s + i)*G + (C*s + j), d]} with G patches a
 * side, s the scale factor, G' = G / s; then {@code out @ proj^T}, no bias.
 */
final class Connector<T extends TNumber> {
  private final Ops tf;
  private final int grid; // G
  private final int scale; // s
  private final int visionHidden; // D
  private final int textHidden;
  private final Operand<T> proj; // (D * s^2, text hidden), the checkpoint's matrix transposed

  Connector(Ops tf, Weights<T> weights, Idefics3Config config) {
    this.tf = tf;
    this.grid = config.patchesPerSide();
    this.scale = config.scaleFactor();
    this.visionHidden = config.vision().hiddenSize();
    this.textHidden = config.text().hiddenSize();
    this.proj =
        weights.readTransposed(
            tf,
            "model.connector.modality_projection.proj.weight",
            textHidden,
            (long) visionHidden * scale * scale);
  }

  /** (frames, G * G, D) -> (frames, image_seq_len, text hidden). */
  Operand<T> forward(Operand<T> x) {
    int reduced = grid / scale; // G'
    // (F, R, i, C, j, D): the patch row is R*s + i, the column C*s + j.
    Operand<T> blocks =
        tf.reshape(x, tf.constant(new int[] {-1, reduced, scale, reduced, scale, visionHidden}));
    // (F, R, C, i, j, D) -> (F * G'^2, s^2 * D)
    Operand<T> shuffled = tf.linalg.transpose(blocks, tf.constant(new int[] {0, 1, 3, 2, 4, 5}));
    Operand<T> rows =
        tf.reshape(shuffled, tf.constant(new int[] {-1, scale * scale * visionHidden}));
    Operand<T> projected = tf.linalg.matMul(rows, proj); // (F * G'^2, text hidden)
    return tf.reshape(projected, tf.constant(new int[] {-1, reduced * reduced, textHidden}));
  }
}
