package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.ComputeDtype;
import io.github.idefics3spark.tf.DynamicShape;
import io.github.idefics3spark.tf.Weights;
import java.util.ArrayList;
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
  private final int heads;
  private final int headDim;
  private final int splits; // --split-products: the rows' blocks that attend at once; 1: one
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
    this.heads = config.numAttentionHeads();
    int kvHeads = config.numKeyValueHeads();
    this.headDim = config.headDim();
    this.splits = weights.productSplits();
    int hidden = config.hiddenSize();
    // not split by --split-products: q, k and v already run beside each other, and splitting q
    // and o as well measured within the runs' spread (README, "The second core")
    this.qProj = new Linear<>(tf, weights, prefix + "q_proj.", hidden, heads * headDim, false);
    this.kProj = new Linear<>(tf, weights, prefix + "k_proj.", hidden, kvHeads * headDim, false);
    this.vProj = new Linear<>(tf, weights, prefix + "v_proj.", hidden, kvHeads * headDim, false);
    this.oProj = new Linear<>(tf, weights, prefix + "o_proj.", heads * headDim, hidden, false);
  }

  /**
   * What every layer's attention takes in one forward besides its hidden states, computed once a
   * forward rather than once a layer (a decode step runs every op of 30 layers again for one token
   * a row, so each op a layer saved is 30 fewer a step): RoPE's cos and sin, the mask, the shapes
   * the heads are split and grouped by and, with caches, where each row's token goes in them.
   *
   * @param cos (B, 1, L, hd) in the dtype; sin the same
   * @param mask additive, (B, 1, L, keys): 0 where allowed, finfo(dtype).min elsewhere
   * @param queryShape (B, L, heads, hd), the queries split into heads
   * @param keyShape (B, L, kv, hd), the keys and values split into heads
   * @param groupedShape (B, kv, group * L, hd), the queries grouped by kv head
   * @param groupedScoresShape (-1, kv, group * L, keys): any block of the rows
   * @param scoresShape (-1, heads, L, keys): any block of the rows
   * @param contextShape (B, heads, L, hd)
   * @param cacheRows with caches: the (B * kv) rows of a cache seen as (B * kv * capacity, hd) that
   *     each row's token is written to, [b * kv + h] = (b * kv + h) * capacity + slots[b]; else
   *     null
   * @param cacheShape with caches: (4) B, kv, capacity, hd; else null
   * @param rowBlocks with {@code --split-products N}: (N) the sizes of the blocks of the B rows
   *     that attend at once; else null
   */
  record Inputs<T extends TNumber>(
      Operand<T> cos,
      Operand<T> sin,
      Operand<T> mask,
      Operand<TInt32> queryShape,
      Operand<TInt32> keyShape,
      Operand<TInt32> groupedShape,
      Operand<TInt32> groupedScoresShape,
      Operand<TInt32> scoresShape,
      Operand<TInt32> contextShape,
      Operand<TInt32> cacheRows,
      Operand<TInt32> cacheShape,
      Operand<TInt32> rowBlocks) {

    boolean decoding() {
      return cacheRows != null;
    }
  }

  /**
   * The {@link Inputs} of one forward over B rows of L tokens.
   *
   * @param rope cos and sin in fp32, each (B, L, hd)
   * @param mask additive, (B, 1, L, keys)
   * @param cache null for a plain forward (keys = L); else any layer's cache (all have the shape
   *     (B, kv, capacity, hd); keys = capacity), with L = 1
   * @param slots (B) each row's cache index for its token (ignored without a cache)
   * @param splits the package's {@code --split-products}
   */
  static <T extends TNumber> Inputs<T> inputs(
      Ops tf,
      Idefics3Config.Text config,
      Class<T> dtype,
      Operand<TInt32> batch,
      Operand<TInt32> seq,
      TextRotaryEmbedding.CosSin rope,
      Operand<T> mask,
      KvCache<T> cache,
      Operand<TInt32> slots,
      int splits) {
    int heads = config.numAttentionHeads();
    int kvHeads = config.numKeyValueHeads();
    int headDim = config.headDim();
    Operand<TInt32> zero = tf.constant(0);
    Operand<TInt32> one = tf.constant(1);
    // cos and sin are computed in fp32 and rounded to the dtype, as the reference does
    Operand<T> cos = tf.dtypes.cast(tf.expandDims(rope.cos(), one), dtype); // (B, 1, L, hd)
    Operand<T> sin = tf.dtypes.cast(tf.expandDims(rope.sin(), one), dtype);
    Operand<TInt32> cacheShape = cache == null ? null : tf.shape(cache.keys());
    Operand<TInt32> keys = cache == null ? seq : tf.stridedSlice(cacheShape, Indices.at(2));
    Operand<TInt32> groupedSeq = tf.math.mul(seq, tf.constant(heads / kvHeads));
    Operand<TInt32> cacheRows = null;
    if (cache != null) {
      Operand<TInt32> rowHeads =
          tf.math.add(
              tf.expandDims(tf.math.mul(tf.range(zero, batch, one), tf.constant(kvHeads)), one),
              tf.expandDims(tf.range(zero, tf.constant(kvHeads), one), zero)); // (B, kv): b*kv+h
      cacheRows =
          tf.reshape(
              tf.math.add(tf.math.mul(rowHeads, keys), tf.expandDims(slots, one)),
              tf.constant(new int[] {-1})); // (B * kv)
    }
    return new Inputs<>(
        cos,
        sin,
        mask,
        DynamicShape.of(tf, batch, seq, heads, headDim),
        DynamicShape.of(tf, batch, seq, kvHeads, headDim),
        DynamicShape.of(tf, batch, kvHeads, groupedSeq, headDim),
        DynamicShape.of(tf, -1, kvHeads, groupedSeq, keys),
        DynamicShape.of(tf, -1, heads, seq, keys),
        DynamicShape.of(tf, batch, heads, seq, headDim),
        cacheRows,
        cacheShape,
        splits > 1 ? SplitProduct.blockSizes(tf, batch, splits) : null);
  }

  /**
   * @param x (B * L, hidden): the rows of (B, L, hidden)
   * @param in this forward's {@link Inputs}
   * @param cache null to attend to this sequence's own keys (keys = L); else the cache to write
   *     this step's keys into, row b at its slot, and attend over whole (keys = capacity)
   * @return (B * L, hidden) and the keys and values attended to
   */
  Output<T> forward(Operand<T> x, Inputs<T> in, KvCache<T> cache) {
    boolean step = cache != null; // a decode step: x holds one row a sequence
    Operand<T> q = rotate(splitHeads(qProj.forward(x, step), in.queryShape()), in);
    Operand<T> k = rotate(splitHeads(kProj.forward(x, step), in.keyShape()), in);
    Operand<T> v = splitHeads(vProj.forward(x, step), in.keyShape()); // (B, kv, L, hd)

    KvCache<T> attended =
        cache == null
            ? new KvCache<>(k, v)
            : new KvCache<>(write(cache.keys(), k, in), write(cache.values(), v, in));

    // Group the queries by kv head: (B, heads, L, hd) -> (B, kv, group * L, hd).
    Operand<T> grouped = tf.reshape(q, in.groupedShape());
    Operand<T> context; // (B, kv, group * L, hd)
    if (in.rowBlocks() == null) {
      context = attend(grouped, attended.keys(), attended.values(), in.mask(), in);
    } else {
      // --split-products: the blocks of rows attend at once, each reading its own rows of the keys
      // and values (blocks along the first axis are views of them, not copies)
      List<Operand<T>> queries = rowBlocks(grouped, in);
      List<Operand<T>> keys = rowBlocks(attended.keys(), in);
      List<Operand<T>> values = rowBlocks(attended.values(), in);
      List<Operand<T>> masks = rowBlocks(in.mask(), in);
      List<Operand<T>> contexts = new ArrayList<>(splits);
      for (int i = 0; i < splits; i++) {
        contexts.add(attend(queries.get(i), keys.get(i), values.get(i), masks.get(i), in));
      }
      context = tf.concat(contexts, tf.constant(0));
    }
    context = tf.reshape(context, in.contextShape()); // (B, heads, L, hd)
    context =
        tf.linalg.transpose(context, tf.constant(new int[] {0, 2, 1, 3})); // (B, L, heads, hd)
    context = tf.reshape(context, tf.constant(new int[] {-1, heads * headDim})); // (B * L, .)
    return new Output<>(oProj.forward(context, step), attended);
  }

  /**
   * softmax(q k^T * hd^-0.5 + mask) v over some of the rows (all of them, or a block).
   *
   * @param grouped (b, kv, group * L, hd), the queries grouped by kv head
   * @param keys (b, kv, keys, hd); values the same
   * @param mask (b, 1, L, keys)
   * @return (b, kv, group * L, hd)
   */
  private Operand<T> attend(
      Operand<T> grouped, Operand<T> keys, Operand<T> values, Operand<T> mask, Inputs<T> in) {
    Operand<T> scores = product(grouped, keys, true, in.decoding()); // (b, kv, gL, keys)
    scores = tf.reshape(scores, in.scoresShape()); // (b, heads, L, keys)
    Operand<T> probs = EagerAttention.weights(tf, scores, mask, headDim);
    probs = tf.reshape(probs, in.groupedScoresShape()); // (b, kv, gL, keys)
    return product(probs, values, false, in.decoding());
  }

  /** x cut along its first axis, the rows, into the blocks {@link Inputs#rowBlocks} gives. */
  private List<Operand<T>> rowBlocks(Operand<T> x, Inputs<T> in) {
    return SplitProduct.blocks(tf, x, 0, in.rowBlocks(), splits);
  }

  /** x @ y (y transposed when adjY), with the kernel for a decode step's few rows when decoding. */
  private Operand<T> product(Operand<T> x, Operand<T> y, boolean adjY, boolean decoding) {
    return decoding
        ? ComputeDtype.fewRowsBatchMatMul(tf, x, y, adjY)
        : ComputeDtype.batchMatMul(tf, x, y, adjY);
  }

  /** (B * L, n * hd) -> (B, n, L, hd), shape being (B, L, n, hd). */
  private Operand<T> splitHeads(Operand<T> x, Operand<TInt32> shape) {
    return tf.linalg.transpose(tf.reshape(x, shape), tf.constant(new int[] {0, 2, 1, 3}));
  }

  /** Half-split RoPE: x * cos + rotate_half(x) * sin, rotate_half(x) = concat(-x2, x1). */
  private Operand<T> rotate(Operand<T> x, Inputs<T> in) {
    int half = headDim / 2;
    Operand<T> x1 = tf.stridedSlice(x, Indices.ellipsis(), Indices.sliceTo(half));
    Operand<T> x2 = tf.stridedSlice(x, Indices.ellipsis(), Indices.sliceFrom(half));
    Operand<T> rotated = tf.concat(List.of(tf.math.neg(x2), x1), tf.constant(-1));
    return tf.math.add(tf.math.mul(x, in.cos()), tf.math.mul(rotated, in.sin()));
  }

  /**
   * cache[b, :, slots[b], :] = update[b, :, 0, :] for every row b ({@link Inputs#cacheRows}), each
   * row at its own slot, so rows that started at different times share a batch.
   *
   * <p>The write goes into the cache's own buffer (InplaceUpdate over the cache seen as rows of
   * hd), not a copy: the While op holds its loop variables while the step runs, so a copying update
   * (TensorScatterUpdate) cannot take over the buffer and copied every layer's whole cache every
   * step, which made a step's cost grow with the cache's capacity. The old cache has no other
   * reader in the step, and the caches the loop starts from are the loop's own (padded or scattered
   * in the graph), never a tensor the caller fed.
   */
  private Operand<T> write(Operand<T> cache, Operand<T> update, Inputs<T> in) {
    Operand<T> flat = tf.reshape(cache, tf.constant(new int[] {-1, headDim}));
    Operand<T> values = tf.reshape(update, tf.constant(new int[] {-1, headDim})); // (B * kv, hd)
    return tf.reshape(tf.inplaceUpdate(flat, in.cacheRows(), values), in.cacheShape());
  }
}
