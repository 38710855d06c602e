package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TNumber;

/**
 * Transformers' {@code Idefics3Connector.pixel_shuffle}: each s x s block of neighbouring patches
 * becomes one token s^2 times as wide.
 *
 * <p>{@code out[f*G'^2 + R*G' + C, (i*s + j)*D + d] = x[f, (R*s + i)*G + (C*s + j), d]} with G
 * patches a side, s the scale factor, G' = G / s. The reference's (frames, G'^2, s^2 * D) comes out
 * with its first two axes merged, the rows the modality projection multiplies.
 */
final class PixelShuffle {
  private final Ops tf;
  private final int reduced; // G'
  private final int scale; // s
  private final int visionHidden; // D

  PixelShuffle(Ops tf, Idefics3Config config) {
    this.tf = tf;
    this.scale = config.scaleFactor();
    this.reduced = config.patchesPerSide() / scale;
    this.visionHidden = config.vision().hiddenSize();
  }

  /** (frames, G * G, D) -> (frames * G'^2, s^2 * D). */
  <T extends TNumber> Operand<T> forward(Operand<T> x) {
    // (F, R, i, C, j, D): the patch row is R*s + i, the column C*s + j.
    Operand<T> blocks =
        tf.reshape(x, tf.constant(new int[] {-1, reduced, scale, reduced, scale, visionHidden}));
    // (F, R, C, i, j, D) -> (F * G'^2, s^2 * D)
    Operand<T> shuffled = tf.linalg.transpose(blocks, tf.constant(new int[] {0, 1, 3, 2, 4, 5}));
    return tf.reshape(shuffled, tf.constant(new int[] {-1, scale * scale * visionHidden}));
  }
}
