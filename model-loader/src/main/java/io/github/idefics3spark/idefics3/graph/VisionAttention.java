package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.ComputeDtype;
import io.github.idefics3spark.tf.Weights;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TNumber;

/**
 * Idefics3VisionAttention (SigLIP): bidirectional multi-head attention with biases. In a package
 * converted with {@code --split-products N} its products are split ({@link SplitProduct}) and its
 * heads run as N groups, one chain of scores, softmax and context each, that inter-op threads run
 * at once.
 */
final class VisionAttention<T extends TNumber> {
  private final Ops tf;
  private final int heads;
  private final int headDim;
  private final int hidden;
  private final int patches;
  private final Linear<T> qProj; // (hidden, hidden) + bias
  private final Linear<T> kProj;
  private final Linear<T> vProj;
  private final Linear<T> outProj;
  private final int splits;

  VisionAttention(Ops tf, Weights<T> weights, String prefix, Idefics3Config.Vision config) {
    this.tf = tf;
    this.heads = config.numAttentionHeads();
    this.headDim = config.headDim();
    this.hidden = config.hiddenSize();
    int side = config.imageSize() / config.patchSize();
    this.patches = side * side;
    this.qProj = new Linear<>(tf, weights, prefix + "q_proj.", hidden, hidden, true, true);
    this.kProj = new Linear<>(tf, weights, prefix + "k_proj.", hidden, hidden, true, true);
    this.vProj = new Linear<>(tf, weights, prefix + "v_proj.", hidden, hidden, true, true);
    this.outProj = new Linear<>(tf, weights, prefix + "out_proj.", hidden, hidden, true, true);
    this.splits = weights.productSplits();
  }

  /**
   * @param x (frames, patches, hidden)
   * @param keyBias (frames, 1, 1, patches): 0 for real patches, finfo(dtype).min for padded ones
   * @return (frames, patches, hidden)
   */
  Operand<T> forward(Operand<T> x, Operand<T> keyBias) {
    Operand<T> q = splitHeads(qProj.forward(x)); // (F, heads, P, hd)
    Operand<T> k = splitHeads(kProj.forward(x));
    Operand<T> v = splitHeads(vProj.forward(x));
    List<Operand<T>> qs = headGroups(q); // (F, group's heads, P, hd) each
    List<Operand<T>> ks = headGroups(k);
    List<Operand<T>> vs = headGroups(v);
    List<Operand<T>> contexts = new ArrayList<>();
    for (int g = 0; g < qs.size(); g++) {
      Operand<T> scores = ComputeDtype.batchMatMul(tf, qs.get(g), ks.get(g), true); // (F, h, P, P)
      Operand<T> weightsOfKeys = EagerAttention.weights(tf, scores, keyBias, headDim);
      contexts.add(ComputeDtype.batchMatMul(tf, weightsOfKeys, vs.get(g), false)); // (F, h, P, hd)
    }
    Operand<T> context =
        contexts.size() == 1
            ? contexts.get(0)
            : tf.concat(contexts, tf.constant(1)); // (F, heads, P, hd)
    context =
        tf.linalg.transpose(context, tf.constant(new int[] {0, 2, 1, 3})); // (F, P, heads, hd)
    context = tf.reshape(context, tf.constant(new int[] {-1, patches, hidden})); // (F, P, hidden)
    return outProj.forward(context);
  }

  /** (F, heads, P, hd) -> the split's groups of heads, in order (one group when not split). */
  private List<Operand<T>> headGroups(Operand<T> x) {
    return splits == 1 ? List.of(x) : SplitProduct.blocks(tf, x, 1, heads, splits);
  }

  /** (F, P, hidden) -> (F, heads, P, hd). */
  private Operand<T> splitHeads(Operand<T> x) {
    Operand<T> split = tf.reshape(x, tf.constant(new int[] {-1, patches, heads, headDim}));
    return tf.linalg.transpose(split, tf.constant(new int[] {0, 2, 1, 3}));
  }
}
