package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.tf.DynamicShape;
import java.util.List;
import java.util.function.Consumer;
import org.tensorflow.ConcreteFunction;
import org.tensorflow.Operand;
import org.tensorflow.Signature;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gather;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.math.Cumsum;
import org.tensorflow.op.nn.TopK;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * The choice of the next token from the last position's logits: greedy (argmax, first index on
 * ties) or sampling, in transformers' order: temperature, top-k, top-p, then a categorical draw.
 *
 * <p>Sampling is stateless: the draw of step t uses the seed {@code (seed[0], seed[1] + t)}, so a
 * seed reproduces a batch's tokens exactly. The two paths are the branches of an If op, so greedy
 * decoding never sorts the vocabulary.
 */
final class NextToken {

  /** The sampling settings, as graph inputs. */
  record Sampling(
      Operand<TBool> doSample,
      Operand<TFloat32> temperature,
      Operand<TInt32> topK,
      Operand<TFloat32> topP,
      Operand<TInt64> seed) {

    /** Adds the five settings to a signature as its inputs of the same names. */
    void addInputs(Signature.Builder builder) {
      builder
          .input("do_sample", doSample)
          .input("temperature", temperature)
          .input("top_k", topK)
          .input("top_p", topP)
          .input("seed", seed);
    }
  }

  private final ConcreteFunction greedy;
  private final ConcreteFunction sample;

  /** Builds the two branch functions; register them with {@code keep} so they outlive the graph. */
  NextToken(Consumer<ConcreteFunction> keep) {
    this.greedy = ConcreteFunction.create(NextToken::greedyBranch);
    this.sample = ConcreteFunction.create(NextToken::sampleBranch);
    keep.accept(greedy);
    keep.accept(sample);
  }

  /** Logits (batch, vocab) -> token ids (batch), at decode step {@code step}. */
  Operand<TInt32> choose(
      Ops tf, Operand<TFloat32> logits, Sampling sampling, Operand<TInt32> step) {
    List<Operand<?>> inputs =
        List.of(
            logits,
            sampling.temperature(),
            sampling.topK(),
            sampling.topP(),
            sampling.seed(),
            step);
    @SuppressWarnings("unchecked")
    Operand<TInt32> token =
        (Operand<TInt32>)
            tf.ifOp(sampling.doSample(), inputs, List.of(TInt32.class), sample, greedy)
                .output()
                .get(0);
    return token;
  }

  private static Signature greedyBranch(Ops tf) {
    Inputs in = new Inputs(tf);
    Operand<TInt32> token = tf.math.argMax(in.logits, tf.constant(1), TInt32.class); // (B)
    return in.signature("next_token_greedy", token);
  }

  private static Signature sampleBranch(Ops tf) {
    Inputs in = new Inputs(tf);
    Operand<TFloat32> scaled = tf.math.div(in.logits, in.temperature); // (B, V)
    Operand<TInt32> vocab = DynamicShape.dim(tf, in.logits, 1);
    Operand<TInt32> k =
        tf.select(tf.math.greater(in.topK, tf.constant(0)), tf.math.minimum(in.topK, vocab), vocab);
    // The k best, sorted descending: (B, k) values and their token ids.
    TopK<TFloat32, TInt32> top = tf.nn.topK(scaled, k, new TopK.Options[0]);
    Operand<TFloat32> values = top.values();
    Operand<TInt32> ids = top.indices();
    // top-p: keep a token while the probability mass before it is below top_p (the best one
    // always); top_p >= 1 keeps all, as transformers then skips the warper.
    Operand<TFloat32> before =
        tf.math.cumsum(tf.nn.softmax(values), tf.constant(1), Cumsum.exclusive(true));
    Operand<TBool> keep =
        tf.math.logicalOr(
            tf.math.less(before, in.topP), tf.math.greaterEqual(in.topP, tf.constant(1f)));
    Operand<TFloat32> filtered =
        tf.select(keep, values, tf.constant(Float.NEGATIVE_INFINITY)); // (B, k)
    Operand<TInt64> stepSeed =
        tf.math.add(
            in.seed, tf.stack(List.of(tf.constant(0L), tf.dtypes.cast(in.step, TInt64.class))));
    Operand<TInt32> rank =
        tf.random.statelessMultinomial(filtered, tf.constant(1), stepSeed, TInt32.class); // (B, 1)
    Operand<TInt32> token =
        tf.reshape(
            tf.gather(ids, rank, tf.constant(1), Gather.batchDims(1L)),
            tf.constant(new int[] {-1})); // (B)
    return in.signature("next_token_sample", token);
  }

  /** The branch functions' inputs, in the If op's order. */
  private static final class Inputs {
    final Placeholder<TFloat32> logits;
    final Placeholder<TFloat32> temperature;
    final Placeholder<TInt32> topK;
    final Placeholder<TFloat32> topP;
    final Placeholder<TInt64> seed;
    final Placeholder<TInt32> step;

    Inputs(Ops tf) {
      logits = tf.placeholder(TFloat32.class);
      temperature = tf.placeholder(TFloat32.class);
      topK = tf.placeholder(TInt32.class);
      topP = tf.placeholder(TFloat32.class);
      seed = tf.placeholder(TInt64.class);
      step = tf.placeholder(TInt32.class);
    }

    Signature signature(String key, Operand<TInt32> token) {
      return Signature.builder()
          .key(key)
          .input("logits", logits)
          .input("temperature", temperature)
          .input("top_k", topK)
          .input("top_p", topP)
          .input("seed", seed)
          .input("step", step)
          .output("token", token)
          .build();
    }
  }
}
