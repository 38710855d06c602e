package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TNumber;

/**
 * Transformers' {@code Idefics3Connector}: {@link PixelShuffle} by the scale factor, then the
 * modality projection ({@code Idefics3SimpleMLP}: {@code out @ proj^T}, no bias).
 */
final class Connector<T extends TNumber> {
  private final Ops tf;
  private final int reduced; // G' = G / s, G patches a side, s the scale factor
  private final int textHidden;
  private final PixelShuffle pixelShuffle;
  private final Linear<T> proj; // (text hidden, D * s^2), no bias

  Connector(Ops tf, Weights<T> weights, Idefics3Config config) {
    this.tf = tf;
    int scale = config.scaleFactor();
    int visionHidden = config.vision().hiddenSize(); // D
    this.reduced = config.patchesPerSide() / scale;
    this.textHidden = config.text().hiddenSize();
    this.pixelShuffle = new PixelShuffle(tf, config);
    this.proj =
        new Linear<>(
            tf,
            weights,
            "model.connector.modality_projection.proj.",
            visionHidden * scale * scale,
            textHidden,
            false);
  }

  /** (frames, G * G, D) -> (frames, image_seq_len, text hidden). */
  Operand<T> forward(Operand<T> x) {
    Operand<T> rows = pixelShuffle.forward(x); // (F * G'^2, s^2 * D)
    Operand<T> projected = proj.forward(rows); // (F * G'^2, text hidden)
    return tf.reshape(projected, tf.constant(new int[] {-1, reduced * reduced, textHidden}));
  }
}
