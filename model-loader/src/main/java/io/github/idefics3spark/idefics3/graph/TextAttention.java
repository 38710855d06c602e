package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.ComputeDtype;
import io.github.idefics3spark.tf.DynamicShape;
import io.github.idefics3spark.tf.Weights;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.index.Indices;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TNumber;

/**
 * LlamaAttention: causal grouped-query attention with half-split RoPE, optionally writing its keys
 * and values into a KV cache.
 *
 * <p>Query head h reads key/value head {@code floor(h / (heads / kv_heads))}: the queries of one
 * group are stacked along the sequence axis so each group is one batched matmul against its own
 * keys, without repeating the keys in memory.
 */
final class TextAttention<T extends TNumber> {
  private final Ops tf;
  private final Class<T> dtype;
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final Linear<T> qProj; // (heads * hd, hidden)
  private final Linear<T> kProj; // (kv_heads * hd, hidden)
  private final Linear<T> vProj; // (kv_heads * hd, hidden)
  private final Linear<T> oProj; // (hidden, heads * hd)

  /** A KV cache of one layer: keys and values, each (batch, kv_heads, capacity, hd). */
  record KvCache<T extends TNumber>(Operand<T> keys, Operand<T> values) {}

  /** The attention output and the keys and values it attended to (the updated cache). */
  record Output<T extends TNumber>(Operand<T> hidden, KvCache<T> cache) {}

  TextAttention(Ops tf, Weights<T> weights, String prefix, Idefics3Config.Text config) {
    this.tf = tf;
    this.dtype = weights.dtype();
    this.heads = config.numAttentionHeads();
    this.kvHeads = config.numKeyValueHeads();
    this.headDim = config.headDim();
    int hidden = config.hiddenSize();
    this.qProj = new Linear<>(tf, weights, prefix + "q_proj.", hidden, heads * headDim, false);
    this.kProj = new Linear<>(tf, weights, prefix + "k_proj.", hidden, kvHeads * headDim, false);
    this.vProj = new Linear<>(tf, weights, prefix + "v_proj.", hidden, kvHeads * headDim, false);
    this.oProj = new Linear<>(tf, weights, prefix + "o_proj.", heads * headDim, hidden, false);
  }

  /**
   * @param x (batch, seq, hidden)
   * @param rope cos and sin, each (batch, seq, hd)
   * @param mask additive, (batch, 1, seq, keys): 0 where allowed, finfo(dtype).min elsewhere
   * @param cache null to attend to this sequence's own keys (keys = seq); else the cache to write
   *     this step's keys into, row b at {@code slots[b]}, and attend over whole (keys = capacity);
   *     with a cache, seq is 1
   * @param slots (batch) each row's cache index for its token (ignored without a cache)
   */
  Output<T> forward(
      Operand<T> x,
      TextRotaryEmbedding.CosSin rope,
      Operand<T> mask,
      KvCache<T> cache,
      Operand<TInt32> slots) {
    Operand<TInt32> batch = DynamicShape.dim(tf, x, 0);
    Operand<TInt32> seq = DynamicShape.dim(tf, x, 1);
    // cos and sin are computed in fp32 and rounded to the dtype, as the reference does
    Operand<T> cos = tf.dtypes.cast(tf.expandDims(rope.cos(), tf.constant(1)), dtype); // (B,1,L,hd)
    Operand<T> sin = tf.dtypes.cast(tf.expandDims(rope.sin(), tf.constant(1)), dtype);

    Operand<T> q = rotate(splitHeads(qProj.forward(x), heads, batch, seq), cos, sin);
    Operand<T> k = rotate(splitHeads(kProj.forward(x), kvHeads, batch, seq), cos, sin);
    Operand<T> v = splitHeads(vProj.forward(x), kvHeads, batch, seq); // (B, kv, L, hd)

    KvCache<T> attended =
        cache == null
            ? new KvCache<>(k, v)
            : new KvCache<>(write(cache.keys(), k, slots), write(cache.values(), v, slots));
    Operand<TInt32> keys = DynamicShape.dim(tf, attended.keys(), 2);

    // Group the queries by kv head: (B, heads, L, hd) -> (B, kv, group * L, hd).
    int group = heads / kvHeads;
    Operand<T> grouped =
        tf.reshape(
            q, DynamicShape.of(tf, batch, kvHeads, tf.math.mul(seq, tf.constant(group)), headDim));
    Operand<T> scores = product(grouped, attended.keys(), true, cache != null); // (B,kv,gL,keys)
    scores =
        tf.reshape(scores, DynamicShape.of(tf, batch, heads, seq, keys)); // (B, heads, L, keys)
    Operand<T> probs = EagerAttention.weights(tf, scores, mask, headDim);
    probs =
        tf.reshape(
            probs, DynamicShape.of(tf, batch, kvHeads, tf.math.mul(seq, tf.constant(group)), keys));
    Operand<T> context =
        product(probs, attended.values(), false, cache != null); // (B, kv, group * L, hd)
    context = tf.reshape(context, DynamicShape.of(tf, batch, heads, seq, headDim));
    context =
        tf.linalg.transpose(context, tf.constant(new int[] {0, 2, 1, 3})); // (B, L, heads, hd)
    context = tf.reshape(context, DynamicShape.of(tf, batch, seq, heads * headDim));
    return new Output<>(oProj.forward(context), attended);
  }

  /** x @ y (y transposed when adjY), with the kernel for a decode step's few rows when decoding. */
  private Operand<T> product(Operand<T> x, Operand<T> y, boolean adjY, boolean decoding) {
    return decoding
        ? ComputeDtype.fewRowsBatchMatMul(tf, x, y, adjY)
        : ComputeDtype.batchMatMul(tf, x, y, adjY);
  }

  /** (B, L, n * hd) -> (B, n, L, hd). */
  private Operand<T> splitHeads(Operand<T> x, int n, Operand<TInt32> batch, Operand<TInt32> seq) {
    Operand<T> split = tf.reshape(x, DynamicShape.of(tf, batch, seq, n, headDim));
    return tf.linalg.transpose(split, tf.constant(new int[] {0, 2, 1, 3}));
  }

  /** Half-split RoPE: x * cos + rotate_half(x) * sin, rotate_half(x) = concat(-x2, x1). */
  private Operand<T> rotate(Operand<T> x, Operand<T> cos, Operand<T> sin) {
    int half = headDim / 2;
    Operand<T> x1 = tf.stridedSlice(x, Indices.ellipsis(), Indices.sliceTo(half));
    Operand<T> x2 = tf.stridedSlice(x, Indices.ellipsis(), Indices.sliceFrom(half));
    Operand<T> rotated = tf.concat(List.of(tf.math.neg(x2), x1), tf.constant(-1));
    return tf.math.add(tf.math.mul(x, cos), tf.math.mul(rotated, sin));
  }

  /**
   * cache[b, :, slots[b], :] = update[b, :, 0, :] for every row b, each row at its own slot, so rows
   * that started at different times share a batch.
   *
   * <p>The write goes into the cache's own buffer (InplaceUpdate over the cache seen as rows of hd),
   * not a copy: the While op holds its loop variables while the step runs, so a copying update
   * (TensorScatterUpdate) cannot take over the buffer and copied every layer's whole cache every
   * step, which made a step's cost grow with the cache's capacity. The old cache has no other reader
   * in the step, and the caches the loop starts from are the loop's own (padded or scattered in the
   * graph), never a tensor the caller fed.
   */
  private Operand<T> write(Operand<T> cache, Operand<T> update, Operand<TInt32> slots) {
    Operand<TInt32> shape = tf.shape(cache); // (4): B, kv, capacity, hd
    Operand<TInt32> batch = tf.stridedSlice(shape, Indices.at(0));
    Operand<TInt32> capacity = tf.stridedSlice(shape, Indices.at(2));
    Operand<TInt32> zero = tf.constant(0);
    Operand<TInt32> one = tf.constant(1);
    // row (b * kv + h) * capacity + slots[b] of the cache as (B * kv * capacity, hd)
    Operand<TInt32> heads =
        tf.math.add(
            tf.expandDims(tf.math.mul(tf.range(zero, batch, one), tf.constant(kvHeads)), one),
            tf.expandDims(tf.range(zero, tf.constant(kvHeads), one), zero)); // (B, kv): b * kv + h
    Operand<TInt32> rows =
        tf.reshape(
            tf.math.add(tf.math.mul(heads, capacity), tf.expandDims(slots, one)),
            tf.constant(new int[] {-1})); // (B * kv)
    Operand<T> flat = tf.reshape(cache, tf.constant(new int[] {-1, headDim}));
    Operand<T> values = tf.reshape(update, tf.constant(new int[] {-1, headDim})); // (B * kv, hd)
    return tf.reshape(tf.inplaceUpdate(flat, rows, values), shape);
  }
}
