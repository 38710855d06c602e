package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TInt32;
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

  /** (batch, seq, hidden) -> (batch, seq, hidden), with the layer's keys and values. */
  TextAttention.Output<T> forward(
      Operand<T> x,
      TextRotaryEmbedding.CosSin rope,
      Operand<T> mask,
      TextAttention.KvCache<T> cache,
      Operand<TInt32> slots) {
    TextAttention.Output<T> attention =
        selfAttn.forward(inputLayernorm.forward(x), rope, mask, cache, slots);
    Operand<T> h = tf.math.add(x, attention.hidden());
    h = tf.math.add(h, mlp.forward(postAttentionLayernorm.forward(h)));
    return new TextAttention.Output<>(h, attention.cache());
  }
}
