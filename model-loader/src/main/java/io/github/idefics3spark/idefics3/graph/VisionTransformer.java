package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.ComputeDtype;
import io.github.idefics3spark.tf.Weights;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBool;
import org.tensorflow.types.family.TNumber;

/** Idefics3VisionTransformer: embeddings, encoder layers, post-layernorm. */
final class VisionTransformer<T extends TNumber> {
  private final Ops tf;
  private final Class<T> dtype;
  private final int side;
  private final int patchSize;
  private final VisionEmbeddings<T> embeddings;
  private final List<VisionEncoderLayer<T>> layers = new ArrayList<>();
  private final LayerNorm<T> postLayernorm;

  /** {@code prefix} is "model.vision_model.". */
  VisionTransformer(Ops tf, Weights<T> weights, String prefix, Idefics3Config.Vision config) {
    this.tf = tf;
    this.dtype = weights.dtype();
    this.patchSize = config.patchSize();
    this.side = config.imageSize() / config.patchSize();
    this.embeddings = new VisionEmbeddings<>(tf, weights, prefix + "embeddings.", config);
    for (int i = 0; i < config.numHiddenLayers(); i++) {
      layers.add(
          new VisionEncoderLayer<>(tf, weights, prefix + "encoder.layers." + i + ".", config));
    }
    this.postLayernorm =
        new LayerNorm<>(
            tf, weights, prefix + "post_layernorm.", config.hiddenSize(), config.layerNormEps());
  }

  /**
   * @param pixelValues (frames, channels, T, T)
   * @param pixelMask (frames, T, T), true on real pixels
   * @return (frames, N * N, hidden)
   */
  Operand<T> forward(Operand<T> pixelValues, Operand<TBool> pixelMask) {
    // A patch is real when any of its pixels is.
    Operand<TBool> blocks =
        tf.reshape(
            pixelMask,
            tf.constant(new int[] {-1, side, patchSize, side, patchSize})); // (F,N,p,N,p)
    Operand<TBool> patchMask = tf.reduceAny(blocks, tf.constant(new int[] {2, 4})); // (F, N, N)

    Operand<T> x = embeddings.forward(pixelValues, patchMask); // (F, N * N, hidden)

    // Key bias: 0 for real patches, finfo(dtype).min for padded ones.
    Operand<TBool> keyReal = tf.reshape(patchMask, tf.constant(new int[] {-1, 1, 1, side * side}));
    Operand<T> keyBias =
        tf.select(
            keyReal,
            ComputeDtype.scalar(tf, 0, dtype),
            ComputeDtype.scalar(tf, ComputeDtype.of(dtype).lowest(), dtype)); // (F, 1, 1, N * N)

    for (VisionEncoderLayer layer : layers) {
      x = layer.forward(x, keyBias);
    }
    return postLayernorm.forward(x);
  }
}
