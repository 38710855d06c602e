package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.ComputeDtype;
import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TNumber;

/** Idefics3VisionAttention (SigLIP): bidirectional multi-head attention with biases. */
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

  VisionAttention(Ops tf, Weights<T> weights, String prefix, Idefics3Config.Vision config) {
    this.tf = tf;
    this.heads = config.numAttentionHeads();
    this.headDim = config.headDim();
    this.hidden = config.hiddenSize();
    int side = config.imageSize() / config.patchSize();
    this.patches = side * side;
    this.qProj = new Linear<>(tf, weights, prefix + "q_proj.", hidden, hidden, true);
    this.kProj = new Linear<>(tf, weights, prefix + "k_proj.", hidden, hidden, true);
    this.vProj = new Linear<>(tf, weights, prefix + "v_proj.", hidden, hidden, true);
    this.outProj = new Linear<>(tf, weights, prefix + "out_proj.", hidden, hidden, true);
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
    Operand<T> scores = ComputeDtype.batchMatMul(tf, q, k, true); // (F, heads, P, P)
    Operand<T> weightsOfKeys = EagerAttention.weights(tf, scores, keyBias, headDim);
    Operand<T> context = ComputeDtype.batchMatMul(tf, weightsOfKeys, v, false); // (F, heads, P, hd)
    context =
        tf.linalg.transpose(context, tf.constant(new int[] {0, 2, 1, 3})); // (F, P, heads, hd)
    context = tf.reshape(context, tf.constant(new int[] {-1, patches, hidden})); // (F, P, hidden)
    return outProj.forward(context);
  }

  /** (F, P, hidden) -> (F, heads, P, hd). */
  private Operand<T> splitHeads(Operand<T> x) {
    Operand<T> split = tf.reshape(x, tf.constant(new int[] {-1, patches, heads, headDim}));
    return tf.linalg.transpose(split, tf.constant(new int[] {0, 2, 1, 3}));
  }
}
