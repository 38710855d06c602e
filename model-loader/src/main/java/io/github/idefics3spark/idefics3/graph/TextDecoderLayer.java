package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TNumber;

/** LlamaDecoderLayer: pre-RMSNorm attention and MLP, each with a residual. */
final class TextDecoderLayer<T extends TNumber> {
  private final Ops tf;
  private final RmsNorm<T> inputLayernorm;
  private final TextAttention<T> selfAttn;
  private final RmsNorm<T> postAttentionLayernorm;
  private final TextMlp<T> mlp;

  /** {@code prefix} is "model.text_model.layers.{i}.". */
  TextDecoderLayer(Ops tf, Weights<T> weights, String prefix, Idefics3Config.Text config) {
    this.tf = tf;
    int hidden = config.hiddenSize();
    this.inputLayernorm =
        new RmsNorm<>(tf, weights, prefix + "input_layernorm.weight", hidden, config.rmsNormEps());
    this.selfAttn = new TextAttention<>(tf, weights, prefix + "self_attn.", config);
    this.postAttentionLayernorm =
        new RmsNorm<>(
            tf, weights, prefix + "post_attention_layernorm.weight", hidden, config.rmsNormEps());
    this.mlp = new TextMlp<>(tf, weights, prefix + "mlp.", config);
  }

  /** (B * L, hidden) -> (B * L, hidden): the rows of (B, L, hidden), with the layer's cache. */
  TextAttention.Output<T> forward(
      Operand<T> x, TextAttention.Inputs<T> in, TextAttention.KvCache<T> cache) {
    TextAttention.Output<T> attention = selfAttn.forward(inputLayernorm.forward(x), in, cache);
    Operand<T> h = tf.math.add(x, attention.hidden());
    h = tf.math.add(h, mlp.forward(postAttentionLayernorm.forward(h), cache != null));
    return new TextAttention.Output<>(h, attention.cache());
  }
}
