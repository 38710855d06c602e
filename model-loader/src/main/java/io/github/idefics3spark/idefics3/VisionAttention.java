package io.github.idefics3spark.idefics3;

import io.github.idefics3spark.tf.Weights;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.train.BatchMatMul;
import org.tensorflow.types.TFloat32;

/** Idefics3VisionAttention (SigLIP): bidirectional multi-head attention with biases. */
final class VisionAttention {
  private final Ops tf;
  private final int heads;
  private final int headDim;
  private final int hidden;
  private final int patches;
  private final Linear qProj; // (hidden, hidden) + bias
  private final Linear kProj;
  private final Linear vProj;
  private final Linear outProj;

  VisionAttention(Ops tf, Weights weights, String prefix, Idefics3Config.Vision config) {
    this.tf = tf;
    this.heads = config.numAttentionHeads();
    this.headDim = config.headDim();
    this.hidden = config.hiddenSize();
    int side = config.imageSize() / config.patchSize();
    this.patches = side * side;
    this.qProj = new Linear(tf, weights, prefix + "q_proj.", hidden, hidden, true);
    this.kProj = new Linear(tf, weights, prefix + "k_proj.", hidden, hidden, true);
    this.vProj = new Linear(tf, weights, prefix + "v_proj.", hidden, hidden, true);
    this.outProj = new Linear(tf, weights, prefix + "out_proj.", hidden, hidden, true);
  }

  /**
   * @param x (frames, patches, hidden)
   * @param keyBias (frames, 1, 1, patches): 0 for real patches, finfo(fp32).min for padded ones
   * @return (frames, patches, hidden)
   */
  Operand<TFloat32> forward(Operand<TFloat32> x, Operand<TFloat32> keyBias) {
    Operand<TFloat32> q = splitHeads(qProj.forward(x)); // (F, heads, P, hd)
    Operand<TFloat32> k = splitHeads(kProj.forward(x));
    Operand<TFloat32> v = splitHeads(vProj.forward(x));
    Operand<TFloat32> scores =
        tf.math.mul(
            tf.train.batchMatMul(q, k, TFloat32.class, BatchMatMul.adjY(true)),
            tf.constant((float) Math.pow(headDim, -0.5))); // (F, heads, P, P)
    Operand<TFloat32> weightsOfKeys = tf.nn.softmax(tf.math.add(scores, keyBias));
    Operand<TFloat32> context =
        tf.train.batchMatMul(weightsOfKeys, v, TFloat32.class); // (F, heads, P, hd)
    context =
        tf.linalg.transpose(context, tf.constant(new int[] {0, 2, 1, 3})); // (F, P, heads, hd)
    context = tf.reshape(context, tf.constant(new int[] {-1, patches, hidden})); // (F, P, hidden)
    return outProj.forward(context);
  }

  /** (F, P, hidden) -> (F, heads, P, hd). */
  private Operand<TFloat32> splitHeads(Operand<TFloat32> x) {
    Operand<TFloat32> split = tf.reshape(x, tf.constant(new int[] {-1, patches, heads, headDim}));
    return tf.linalg.transpose(split, tf.constant(new int[] {0, 2, 1, 3}));
  }
}
