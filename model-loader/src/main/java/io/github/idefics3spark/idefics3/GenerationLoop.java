package io.github.idefics3spark.idefics3;

import io.github.idefics3spark.tf.DynamicShape;
import io.github.idefics3spark.tf.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.tensorflow.ConcreteFunction;
import org.tensorflow.Operand;
import org.tensorflow.Signature;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.ReduceAny;
import org.tensorflow.op.core.TensorStridedSliceUpdate;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * The decode loop of generation, as one functional While op: every step after the prefill runs
 * inside the graph, the KV caches are loop state written in place at the step's slot, and the loop
 * ends as soon as every row has produced a stop token or {@code max_new_tokens} are out.
 *
 * <p>Like transformers' GenerationMixin: each step appends 1 to every row's mask, the RoPE position
 * of a row's new token is its count of real tokens so far (cumsum(mask) - 1), finished rows emit
 * the pad id, and a row finishes on any of the stop ids. The loop body cannot capture outer
 * tensors: it re-reads every weight through its own handle ({@link Weights#read}).
 */
final class GenerationLoop<T extends TNumber> {

  /** What the loop carries from step to step, in the While op's order. */
  record State<T extends TNumber>(
      Operand<TInt32> step, // () the index in tokens of the token this step writes
      Operand<TInt32> token, // (B) the token chosen at the previous step
      Operand<TBool> finished, // (B)
      Operand<TInt32> tokens, // (B, max_new)
      Operand<TInt32> lengths, // (B) tokens generated per row, the stop token included
      Operand<TInt32> slotMask, // (B, capacity) 1 on cache slots that hold real tokens
      Operand<TInt32> position, // (B) RoPE position of `token`
      Operand<TInt32> slot, // () cache slot of `token`
      Operand<TInt32> maxNewTokens, // ()
      Operand<TInt32> eosTokenIds, // (E)
      Operand<TInt32> padTokenId, // ()
      NextToken.Sampling sampling,
      List<TextAttention.KvCache<T>> caches) {

    List<Operand<?>> asList() {
      List<Operand<?>> list =
          new ArrayList<>(
              List.of(
                  step,
                  token,
                  finished,
                  tokens,
                  lengths,
                  slotMask,
                  position,
                  slot,
                  maxNewTokens,
                  eosTokenIds,
                  padTokenId,
                  sampling.doSample(),
                  sampling.temperature(),
                  sampling.topK(),
                  sampling.topP(),
                  sampling.seed()));
      for (TextAttention.KvCache<T> cache : caches) {
        list.add(cache.keys());
        list.add(cache.values());
      }
      return list;
    }

    @SuppressWarnings("unchecked")
    static <T extends TNumber> State<T> of(List<? extends Operand<?>> list, int layers) {
      List<TextAttention.KvCache<T>> caches = new ArrayList<>(layers);
      for (int i = 0; i < layers; i++) {
        caches.add(
            new TextAttention.KvCache<>(
                (Operand<T>) list.get(16 + 2 * i), (Operand<T>) list.get(17 + 2 * i)));
      }
      return new State<>(
          (Operand<TInt32>) list.get(0),
          (Operand<TInt32>) list.get(1),
          (Operand<TBool>) list.get(2),
          (Operand<TInt32>) list.get(3),
          (Operand<TInt32>) list.get(4),
          (Operand<TInt32>) list.get(5),
          (Operand<TInt32>) list.get(6),
          (Operand<TInt32>) list.get(7),
          (Operand<TInt32>) list.get(8),
          (Operand<TInt32>) list.get(9),
          (Operand<TInt32>) list.get(10),
          new NextToken.Sampling(
              (Operand<TBool>) list.get(11),
              (Operand<TFloat32>) list.get(12),
              (Operand<TInt32>) list.get(13),
              (Operand<TFloat32>) list.get(14),
              (Operand<TInt64>) list.get(15)),
          caches);
    }

    /** Placeholders for every loop variable, in a function body. */
    static <T extends TNumber> State<T> placeholders(Ops tf, int layers, Class<T> dtype) {
      List<Operand<?>> list = new ArrayList<>();
      Class<?>[] types = {
        TInt32.class, TInt32.class, TBool.class, TInt32.class, TInt32.class, TInt32.class,
        TInt32.class, TInt32.class, TInt32.class, TInt32.class, TInt32.class, TBool.class,
        TFloat32.class, TInt32.class, TFloat32.class, TInt64.class
      };
      for (Class<?> type : types) {
        @SuppressWarnings("unchecked")
        Class<? extends TType> t = (Class<? extends TType>) type;
        list.add(tf.placeholder(t));
      }
      for (int i = 0; i < 2 * layers; i++) {
        list.add(tf.placeholder(dtype));
      }
      return of(list, layers);
    }
  }

  private final Idefics3Config config;
  private final Weights<T> weights;
  private final NextToken nextToken;
  private final Consumer<ConcreteFunction> keep;

  GenerationLoop(
      Idefics3Config config,
      Weights<T> weights,
      NextToken nextToken,
      Consumer<ConcreteFunction> keep) {
    this.config = config;
    this.weights = weights;
    this.nextToken = nextToken;
    this.keep = keep;
  }

  /** Runs the loop from {@code initial} (the state after the prefill) to its final state. */
  State<T> run(Ops tf, State<T> initial) {
    int layers = initial.caches().size();
    ConcreteFunction cond =
        ConcreteFunction.create(
            body ->
                signature(
                    "generate_cond",
                    State.placeholders(body, layers, weights.dtype()),
                    null,
                    body));
    ConcreteFunction step =
        ConcreteFunction.create(
            body -> {
              State<T> in = State.placeholders(body, layers, weights.dtype());
              return signature("generate_step", in, step(body, in), body);
            });
    keep.accept(cond);
    keep.accept(step);
    List<Operand<?>> out = new ArrayList<>();
    tf.whileOp(initial.asList(), cond, step).forEach(out::add);
    return State.of(out, layers);
  }

  /** One decode step: feed each row's last token at its slot, choose the next one. */
  private State<T> step(Ops tf, State<T> s) {
    TextModel<T> text = new TextModel<>(tf, weights, config.text());
    Operand<TInt32> batch = DynamicShape.dim(tf, s.token(), 0);

    // The token being fed occupies cache slot `slot` in every row.
    Operand<TInt32> slotMask =
        setColumn(
            tf, s.slotMask(), s.slot(), tf.fill(DynamicShape.of(tf, batch, 1), tf.constant(1)));
    Operand<TInt32> fed = tf.expandDims(s.token(), tf.constant(1)); // (B, 1)
    TextModel.Output<T> out =
        text.forward(
            text.embed(fed),
            tf.expandDims(s.position(), tf.constant(1)), // (B, 1)
            text.cacheMask(slotMask), // (B, 1, 1, capacity)
            s.caches(),
            s.slot());
    Operand<T> hidden =
        tf.reshape(out.hidden(), DynamicShape.of(tf, batch, config.text().hiddenSize())); // (B, H)
    Operand<TFloat32> logits = tf.dtypes.cast(text.lmHead(hidden), TFloat32.class); // (B, V)
    Operand<TInt32> chosen = nextToken.choose(tf, logits, s.sampling(), s.step());

    // Finished rows emit pad; a row finishes on any stop id.
    Operand<TInt32> next =
        tf.select(s.finished(), tf.fill(tf.shape(chosen), s.padTokenId()), chosen); // (B)
    Operand<TInt32> tokens =
        setColumn(tf, s.tokens(), s.step(), tf.expandDims(next, tf.constant(1)));
    Operand<TInt32> lengths =
        tf.math.add(s.lengths(), tf.dtypes.cast(tf.math.logicalNot(s.finished()), TInt32.class));
    Operand<TBool> finished = tf.math.logicalOr(s.finished(), isStop(tf, next, s.eosTokenIds()));

    Operand<TInt32> one = tf.constant(1);
    return new State<>(
        tf.math.add(s.step(), one),
        next,
        finished,
        tokens,
        lengths,
        slotMask,
        tf.math.add(s.position(), one),
        tf.math.add(s.slot(), one),
        s.maxNewTokens(),
        s.eosTokenIds(),
        s.padTokenId(),
        s.sampling(),
        out.caches());
  }

  /**
   * Whether each token (B) is one of the stop ids (E): (B) bool; false for every row when E = 0.
   */
  static Operand<TBool> isStop(Ops tf, Operand<TInt32> token, Operand<TInt32> eosTokenIds) {
    Operand<TBool> matches =
        tf.math.equal(
            tf.expandDims(token, tf.constant(1)), tf.expandDims(eosTokenIds, tf.constant(0)));
    return tf.reduceAny(matches, tf.constant(1), ReduceAny.keepDims(false)); // (B)
  }

  /** matrix[:, column] = values (B, 1), in place. */
  static Operand<TInt32> setColumn(
      Ops tf, Operand<TInt32> matrix, Operand<TInt32> column, Operand<TInt32> values) {
    Operand<TInt32> zero = tf.constant(0);
    return tf.tensorStridedSliceUpdate(
        matrix,
        DynamicShape.of(tf, zero, column),
        DynamicShape.of(tf, zero, tf.math.add(column, tf.constant(1))),
        tf.constant(new int[] {1, 1}),
        values,
        TensorStridedSliceUpdate.beginMask(1L),
        TensorStridedSliceUpdate.endMask(1L));
  }

  /**
   * The signature of a loop function over the state {@code in}: the step's outputs are {@code out}
   * (each wrapped in an identity, as a function output cannot be an input); the condition's single
   * output is "keep going": step &lt; max_new_tokens and some row unfinished.
   */
  private static Signature signature(String key, State<?> in, State<?> out, Ops tf) {
    Signature.Builder builder = Signature.builder().key(key);
    List<Operand<?>> inputs = in.asList();
    for (int i = 0; i < inputs.size(); i++) {
      builder.input(String.format("v%03d", i), inputs.get(i));
    }
    if (out == null) {
      Operand<TBool> running =
          tf.math.logicalAnd(
              tf.math.less(in.step(), in.maxNewTokens()),
              tf.math.logicalNot(tf.reduceAll(in.finished(), tf.constant(0))));
      return builder.output("running", running).build();
    }
    List<Operand<?>> outputs = out.asList();
    for (int i = 0; i < outputs.size(); i++) {
      builder.output(String.format("v%03d", i), identity(tf, outputs.get(i)));
    }
    return builder.build();
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Operand<?> identity(Ops tf, Operand<?> operand) {
    return tf.identity((Operand) operand);
  }
}
