package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.ComputeDtype;
import io.github.idefics3spark.tf.DynamicShape;
import io.github.idefics3spark.tf.Int8Matrix;
import io.github.idefics3spark.tf.Weights;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TNumber;

/**
 * The Llama decoder of Idefics3 (LlamaModel: embed_tokens, layers, norm) and its lm_head.
 *
 * <p>lm_head is "lm_head.weight", or the embedding matrix when the text config ties them. With int8
 * weights both are int8 with a scale per token row ({@link Int8Matrix}): per output channel of the
 * lm_head, per row of the lookup.
 */
final class TextModel<T extends TNumber> {
  private final Ops tf;
  private final Class<T> dtype;
  private final int hidden;
  // (vocab, hidden); tied, stored transposed (hidden, vocab); null with int8 weights
  private final Operand<T> embedTokens;
  private final Int8Matrix int8Embed; // (vocab, hidden) + (vocab), with int8 weights
  private final List<TextDecoderLayer<T>> layers = new ArrayList<>();
  private final RmsNorm<T> norm;
  private final boolean tied; // lm_head is embed_tokens
  private final Operand<T> lmHead; // (hidden, vocab), stored transposed; tied: embedTokens
  private final int productSplits; // --split-products: the lm_head's and the attention's parts
  private final Int8Matrix int8LmHead; // the same as int8, with int8 weights
  private final TextRotaryEmbedding rotaryEmb;
  private final Idefics3Config.Text config;

  /** The decoder's output: final-normed hidden states and each layer's keys and values. */
  record Output<T extends TNumber>(Operand<T> hidden, List<TextAttention.KvCache<T>> caches) {}

  TextModel(Ops tf, Weights<T> weights, Idefics3Config.Text config) {
    this.tf = tf;
    this.dtype = weights.dtype();
    this.hidden = config.hiddenSize();
    int vocab = config.vocabSize();
    String embedKey = "model.text_model.embed_tokens.weight";
    boolean int8 = weights.int8();
    this.tied = config.tieWordEmbeddings();
    // Tied, the lm_head multiplies the embeddings as stored: (hidden, vocab), a token's embedding
    // a column. Stored (vocab, hidden), the lm_head would multiply them transposed, which
    // TensorFlow's CPU matmul re-lays out at every call (a decode step 1.3x longer).
    if (int8) {
      this.embedTokens = null;
    } else if (tied) {
      this.embedTokens = weights.readTransposed(tf, embedKey, vocab, hidden);
    } else {
      this.embedTokens = weights.read(tf, embedKey, vocab, hidden);
    }
    this.int8Embed = int8 ? weights.readInt8(tf, embedKey, false, vocab, hidden) : null;
    for (int i = 0; i < config.numHiddenLayers(); i++) {
      layers.add(new TextDecoderLayer<>(tf, weights, "model.text_model.layers." + i + ".", config));
    }
    this.norm =
        new RmsNorm<>(tf, weights, "model.text_model.norm.weight", hidden, config.rmsNormEps());
    if (int8) {
      this.lmHead = null;
      this.int8LmHead =
          tied ? int8Embed : weights.readInt8(tf, "lm_head.weight", true, hidden, vocab);
    } else {
      this.lmHead =
          tied ? embedTokens : weights.readTransposed(tf, "lm_head.weight", vocab, hidden);
      this.int8LmHead = null;
    }
    this.productSplits = weights.productSplits();
    this.rotaryEmb = new TextRotaryEmbedding(tf, config);
    this.config = config;
  }

  int numLayers() {
    return layers.size();
  }

  /** Token ids (batch, seq) -> embeddings (batch, seq, hidden), unscaled. */
  Operand<T> embed(Operand<TInt32> inputIds) {
    if (int8Embed != null) {
      @SuppressWarnings("unchecked") // int8 weights compute in float32: T is TFloat32
      Operand<T> rows = (Operand<T>) int8Embed.gather(tf, inputIds);
      return rows;
    }
    if (tied) {
      Operand<T> columns = tf.gather(embedTokens, inputIds, tf.constant(1)); // (hidden, B, L)
      return tf.linalg.transpose(columns, tf.constant(new int[] {1, 2, 0})); // (B, L, hidden)
    }
    return tf.gather(embedTokens, inputIds, tf.constant(0));
  }

  /**
   * @param embeddings (batch, seq, hidden)
   * @param positionIds (batch, seq): RoPE positions, separate from the cache slots
   * @param mask additive (batch, 1, seq, keys), see {@link #causalMask} and {@link #cacheMask}
   * @param caches null for a plain forward, else one per layer, row b's one token written at {@code
   *     slots[b]}
   * @param slots (batch), with caches
   */
  Output<T> forward(
      Operand<T> embeddings,
      Operand<TInt32> positionIds,
      Operand<T> mask,
      List<TextAttention.KvCache<T>> caches,
      Operand<TInt32> slots) {
    Operand<TInt32> batch = DynamicShape.dim(tf, embeddings, 0);
    Operand<TInt32> seq = DynamicShape.dim(tf, embeddings, 1);
    TextAttention.Inputs<T> in =
        TextAttention.inputs(
            tf,
            config,
            dtype,
            batch,
            seq,
            rotaryEmb.forward(positionIds),
            mask,
            caches == null ? null : caches.get(0),
            slots,
            productSplits);
    // the layers run on rows (B * L, hidden): their Linears need no reshape
    Operand<T> h = tf.reshape(embeddings, tf.constant(new int[] {-1, hidden}));
    List<TextAttention.KvCache<T>> written = new ArrayList<>(layers.size());
    for (int i = 0; i < layers.size(); i++) {
      TextAttention.Output<T> out =
          layers.get(i).forward(h, in, caches == null ? null : caches.get(i));
      h = out.hidden();
      written.add(out.cache());
    }
    Operand<T> normed = tf.reshape(norm.forward(h), DynamicShape.of(tf, batch, seq, hidden));
    return new Output<>(normed, written);
  }

  /**
   * (rows, hidden) -> (rows, vocab); {@code fewRows} when there is one row a sequence (see {@link
   * Linear#forward(Operand, boolean)}).
   */
  Operand<T> lmHead(Operand<T> hiddenRows, boolean fewRows) {
    if (int8LmHead != null) {
      return SplitProduct.multiply(
          tf, hiddenRows, int8LmHead, hidden, config.vocabSize(), productSplits, fewRows);
    }
    return SplitProduct.multiply(tf, hiddenRows, lmHead, hidden, productSplits);
  }

  /**
   * The additive mask of a full forward: (batch, seq) 0/1 attention mask -> (batch, 1, seq, seq), 0
   * where key k &lt;= query q and the key is real, finfo(dtype).min elsewhere (never -inf, so fully
   * masked pad rows stay finite).
   */
  Operand<T> causalMask(Operand<TInt32> attentionMask) {
    Operand<TInt32> seq = DynamicShape.dim(tf, attentionMask, 1);
    Operand<TInt32> index = tf.range(tf.constant(0), seq, tf.constant(1)); // (L)
    Operand<TBool> causal =
        tf.math.lessEqual(
            tf.expandDims(index, tf.constant(0)), tf.expandDims(index, tf.constant(1))); // (q, k)
    Operand<TBool> keyReal =
        tf.reshape(tf.math.equal(attentionMask, tf.constant(1)), keyShape(attentionMask));
    Operand<TBool> allowed = tf.math.logicalAnd(causal, keyReal); // (B, 1, L, L)
    return additive(allowed);
  }

  /**
   * A decode step's mask over the cache slots: (batch, capacity) 0/1 -> (batch, 1, 1, capacity).
   */
  Operand<T> cacheMask(Operand<TInt32> slotMask) {
    Operand<TBool> real = tf.reshape(tf.math.equal(slotMask, tf.constant(1)), keyShape(slotMask));
    return additive(real);
  }

  /** 0 where allowed, finfo(dtype).min elsewhere, in the dtype. */
  private Operand<T> additive(Operand<TBool> allowed) {
    return tf.select(
        allowed,
        ComputeDtype.scalar(tf, 0, dtype),
        ComputeDtype.scalar(tf, ComputeDtype.of(dtype).lowest(), dtype));
  }

  private Operand<TInt32> keyShape(Operand<TInt32> mask) {
    return DynamicShape.of(tf, DynamicShape.dim(tf, mask, 0), 1, 1, DynamicShape.dim(tf, mask, 1));
  }
}
