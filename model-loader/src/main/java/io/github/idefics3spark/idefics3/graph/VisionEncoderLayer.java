package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TNumber;

/**
 * Transformers' Idefics3EncoderLayer (one layer of the vision tower's encoder): pre-norm attention
 * and MLP, each with a residual.
 */
final class VisionEncoderLayer<T extends TNumber> {
  private final Ops tf;
  private final LayerNorm<T> layerNorm1;
  private final VisionAttention<T> selfAttn;
  private final LayerNorm<T> layerNorm2;
  private final VisionMlp<T> mlp;

  /** {@code prefix} is "model.vision_model.encoder.layers.{i}.". */
  VisionEncoderLayer(Ops tf, Weights<T> weights, String prefix, Idefics3Config.Vision config) {
    this.tf = tf;
    int hidden = config.hiddenSize();
    this.layerNorm1 =
        new LayerNorm<>(tf, weights, prefix + "layer_norm1.", hidden, config.layerNormEps());
    this.selfAttn = new VisionAttention<>(tf, weights, prefix + "self_attn.", config);
    this.layerNorm2 =
        new LayerNorm<>(tf, weights, prefix + "layer_norm2.", hidden, config.layerNormEps());
    this.mlp = new VisionMlp<>(tf, weights, prefix + "mlp.", config);
  }

  /** (frames, patches, hidden), key bias (frames, 1, 1, patches) -> (frames, patches, hidden). */
  Operand<T> forward(Operand<T> x, Operand<T> keyBias) {
    Operand<T> h = tf.math.add(x, selfAttn.forward(layerNorm1.forward(x), keyBias));
    return tf.math.add(h, mlp.forward(layerNorm2.forward(h)));
  }
}
