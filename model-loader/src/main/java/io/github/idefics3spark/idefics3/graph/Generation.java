package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.tf.ComputeDtype;
import io.github.idefics3spark.tf.DynamicShape;
import io.github.idefics3spark.tf.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.tensorflow.ConcreteFunction;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.index.Indices;
import org.tensorflow.op.Operands;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.ReduceAny;
import org.tensorflow.op.core.Stack;
import org.tensorflow.op.core.TensorStridedSliceUpdate;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * Generation, as transformers' {@code GenerationMixin.generate} does it for this model, built into
 * the graph: the prefill over the whole prompt chooses the first token, then every further step
 * runs inside one While op (lowered into the executor's loop: {@link #LOWER_TO_EXECUTOR_LOOP})
 * whose state ({@link Var}, by name) carries the KV caches, written in place at each row's own
 * slot; the loop ends as soon as enough rows have produced a stop token or reached their own {@code
 * max_new_tokens}, or the call's steps are out.
 *
 * <p>Two uses. {@link #generate} is a whole batch in one call: prefill, then the loop until every
 * row is finished. {@link #prefillSlots} and {@link #decodeSlots} are continuous batching: the
 * batch is a set of slots, each a row of the caches; a call decodes until one more row finishes,
 * the caller answers it and puts the next request's prefilled cache into its slot, and the next
 * call goes on. A row attends only to its own cache row, so each row's tokens are those it gets
 * alone.
 *
 * <p>Like the reference: each step appends 1 to a row's mask, the RoPE position of a row's new
 * token is its count of real tokens so far (cumsum(mask) - 1), finished rows emit the pad id, and a
 * row finishes on any of the stop ids. The loop body cannot capture outer tensors: it re-reads
 * every weight through its own handle ({@link Weights#read}).
 */
final class Generation<T extends TNumber> {

  /**
   * The loop variables before the caches, in the While op's order, each with its type; the caches
   * follow, keys then values of each layer.
   */
  enum Var {
    /** () the column of tokens this step writes. */
    STEP(TInt32.class),
    /** (B) the token chosen at the previous step. */
    TOKEN(TInt32.class),
    /** (B) whether each row has produced a stop token or reached its max_new_tokens. */
    FINISHED(TBool.class),
    /** (B, steps) the tokens of this call, pad after a row finishes. */
    TOKENS(TInt32.class),
    /** (B) tokens generated per row, the stop token included. */
    LENGTHS(TInt32.class),
    /** (B, capacity) 1 on cache slots that hold real tokens. */
    SLOT_MASK(TInt32.class),
    /** (B) RoPE position of TOKEN. */
    POSITION(TInt32.class),
    /** (B) cache slot of TOKEN, each row's own. */
    SLOT(TInt32.class),
    /** (B) each row's limit on LENGTHS. */
    MAX_NEW_TOKENS(TInt32.class),
    /** () the loop ends when STEP reaches it: the columns of TOKENS. */
    STEPS(TInt32.class),
    /** () the loop ends when this many rows are finished. */
    FINISHED_LIMIT(TInt32.class),
    /** (E) */
    EOS_TOKEN_IDS(TInt32.class),
    PAD_TOKEN_ID(TInt32.class),
    DO_SAMPLE(TBool.class),
    TEMPERATURE(TFloat32.class),
    TOP_K(TInt32.class),
    TOP_P(TFloat32.class),
    /** (2) */
    SEED(TInt64.class);

    private final Class<? extends TType> type;

    Var(Class<? extends TType> type) {
      this.type = type;
    }

    /** The name of the loop functions' argument. */
    String argument() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The settings of one call, as graph inputs: what the loop reads but never changes. */
  record Settings(
      Operand<TInt32> maxNewTokens, // (B)
      Operand<TInt32> steps, // ()
      Operand<TInt32> finishedLimit, // ()
      Operand<TInt32> eosTokenIds, // (E)
      Operand<TInt32> padTokenId, // ()
      NextToken.Sampling sampling) {}

  /** What the loop carries from step to step. */
  record State<T extends TNumber>(
      Operand<TInt32> step,
      Operand<TInt32> token,
      Operand<TBool> finished,
      Operand<TInt32> tokens,
      Operand<TInt32> lengths,
      Operand<TInt32> slotMask,
      Operand<TInt32> position,
      Operand<TInt32> slot,
      Settings settings,
      List<TextAttention.KvCache<T>> caches) {

    Operand<?> get(Var var) {
      NextToken.Sampling sampling = settings.sampling();
      return switch (var) {
        case STEP -> step;
        case TOKEN -> token;
        case FINISHED -> finished;
        case TOKENS -> tokens;
        case LENGTHS -> lengths;
        case SLOT_MASK -> slotMask;
        case POSITION -> position;
        case SLOT -> slot;
        case MAX_NEW_TOKENS -> settings.maxNewTokens();
        case STEPS -> settings.steps();
        case FINISHED_LIMIT -> settings.finishedLimit();
        case EOS_TOKEN_IDS -> settings.eosTokenIds();
        case PAD_TOKEN_ID -> settings.padTokenId();
        case DO_SAMPLE -> sampling.doSample();
        case TEMPERATURE -> sampling.temperature();
        case TOP_K -> sampling.topK();
        case TOP_P -> sampling.topP();
        case SEED -> sampling.seed();
      };
    }

    /** The While op's loop variables: {@link Var} in order, then keys and values per layer. */
    List<Operand<?>> asList() {
      List<Operand<?>> list = new ArrayList<>();
      for (Var var : Var.values()) {
        list.add(get(var));
      }
      for (TextAttention.KvCache<T> cache : caches) {
        list.add(cache.keys());
        list.add(cache.values());
      }
      return list;
    }

    /** The state whose loop variables are {@code list}, in the order of {@link #asList}. */
    static <T extends TNumber> State<T> of(List<? extends Operand<?>> list, int layers) {
      int first = Var.values().length;
      List<TextAttention.KvCache<T>> caches = new ArrayList<>(layers);
      for (int i = 0; i < layers; i++) {
        caches.add(
            new TextAttention.KvCache<>(
                State.<T>cast(list.get(first + 2 * i)),
                State.<T>cast(list.get(first + 2 * i + 1))));
      }
      Settings settings =
          new Settings(
              at(list, Var.MAX_NEW_TOKENS),
              at(list, Var.STEPS),
              at(list, Var.FINISHED_LIMIT),
              at(list, Var.EOS_TOKEN_IDS),
              at(list, Var.PAD_TOKEN_ID),
              new NextToken.Sampling(
                  at(list, Var.DO_SAMPLE),
                  at(list, Var.TEMPERATURE),
                  at(list, Var.TOP_K),
                  at(list, Var.TOP_P),
                  at(list, Var.SEED)));
      return new State<>(
          at(list, Var.STEP),
          at(list, Var.TOKEN),
          at(list, Var.FINISHED),
          at(list, Var.TOKENS),
          at(list, Var.LENGTHS),
          at(list, Var.SLOT_MASK),
          at(list, Var.POSITION),
          at(list, Var.SLOT),
          settings,
          caches);
    }

    /** Placeholders for every loop variable, in a function body. */
    static <T extends TNumber> State<T> placeholders(Ops tf, int layers, Class<T> dtype) {
      List<Operand<?>> list = new ArrayList<>();
      for (Var var : Var.values()) {
        list.add(tf.placeholder(var.type));
      }
      for (int i = 0; i < 2 * layers; i++) {
        list.add(tf.placeholder(dtype));
      }
      return of(list, layers);
    }

    /** The loop variable {@code var} of {@code list}, checked against its declared type. */
    private static <U extends TType> Operand<U> at(List<? extends Operand<?>> list, Var var) {
      Operand<?> operand = list.get(var.ordinal());
      if (!var.type.isAssignableFrom(operand.type())) {
        throw new IllegalStateException(
            "loop variable "
                + var
                + " is "
                + operand.type().getSimpleName()
                + ", expected "
                + var.type.getSimpleName());
      }
      return cast(operand);
    }

    @SuppressWarnings("unchecked")
    private static <U extends TType> Operand<U> cast(Operand<?> operand) {
      return (Operand<U>) operand;
    }
  }

  private final Idefics3Config config;
  private final Weights<T> weights;
  private final NextToken nextToken;
  private final Consumer<ConcreteFunction> keep;

  /**
   * @param keep receives every function the graph must keep alive (the loop's, the sampler's)
   */
  Generation(Idefics3Config config, Weights<T> weights, Consumer<ConcreteFunction> keep) {
    this.config = config;
    this.weights = weights;
    this.nextToken = new NextToken(keep);
    this.keep = keep;
  }

  /** What a prefill leaves: each row's first token and its caches, with room after the prompt. */
  record Prefill<T extends TNumber>(
      Operand<TInt32> first, // (B)
      List<TextAttention.KvCache<T>> caches) {} // (B, kv, P + room, hd) each

  /**
   * The prompt's forward: its keys and values with {@code room} empty slots after them, and the
   * first token chosen from its last position (draw 0 of the seed when sampling).
   *
   * @param embeddings (B, P, H) the prompt's embeddings, images merged in
   * @param attentionMask (B, P) 1 on real tokens, 0 on left padding
   * @param room () slots to add after the prompt's P
   */
  Prefill<T> prefill(
      Ops tf,
      Operand<T> embeddings,
      Operand<TInt32> attentionMask,
      NextToken.Sampling sampling,
      Operand<TInt32> room) {
    // Positions: cumsum(mask) - 1 (1 on padding).
    TextModel<T> text = new TextModel<>(tf, weights, config.text());
    Operand<TBool> real = tf.math.equal(attentionMask, tf.constant(1));
    Operand<TInt32> positions =
        tf.select(
            real,
            tf.math.sub(tf.math.cumsum(attentionMask, tf.constant(1)), tf.constant(1)),
            tf.onesLike(attentionMask)); // (B, P)
    TextModel.Output<T> out =
        text.forward(embeddings, positions, text.causalMask(attentionMask), null, null);
    Operand<T> last =
        tf.stridedSlice(out.hidden(), Indices.all(), Indices.at(-1), Indices.all()); // (B, H)
    Operand<TFloat32> lastLogits =
        tf.dtypes.cast(text.lmHead(last, true), TFloat32.class); // (B, V)
    Operand<TInt32> first = nextToken.choose(tf, lastLogits, sampling, tf.constant(0));

    Operand<TInt32> zero = tf.constant(0);
    Operand<TInt32> padding =
        tf.reshape(
            tf.stack(List.of(zero, zero, zero, zero, zero, room, zero, zero)),
            tf.constant(new int[] {4, 2})); // pad the slot axis (2) by room at its end
    Operand<T> zeroFill = ComputeDtype.scalar(tf, 0, weights.dtype());
    List<TextAttention.KvCache<T>> caches = new ArrayList<>();
    for (TextAttention.KvCache<T> kv : out.caches()) {
      caches.add(
          new TextAttention.KvCache<>(
              tf.pad(kv.keys(), padding, zeroFill), tf.pad(kv.values(), padding, zeroFill)));
    }
    return new Prefill<>(first, caches);
  }

  /**
   * Generates from a left-padded batch whose image features are already merged into its embeddings,
   * every row up to {@code maxNewTokens}: the final state, whose tokens (B, max_new) and lengths
   * (B) are the answer.
   *
   * @param embeddings (B, P, H) the prompt's embeddings, images merged in
   * @param attentionMask (B, P) 1 on real tokens, 0 on left padding
   * @param maxNewTokens () at least 1
   */
  State<T> generate(
      Ops tf,
      Operand<T> embeddings,
      Operand<TInt32> attentionMask,
      Operand<TInt32> maxNewTokens,
      Operand<TInt32> eosTokenIds,
      Operand<TInt32> padTokenId,
      NextToken.Sampling sampling) {
    Prefill<T> prefill = prefill(tf, embeddings, attentionMask, sampling, maxNewTokens);

    // The loop's starting state: the first token written, every row's slot after its prompt.
    Operand<TInt32> batch = DynamicShape.dim(tf, attentionMask, 0);
    Operand<TInt32> promptLength = DynamicShape.dim(tf, attentionMask, 1);
    Operand<TInt32> rowShape = tf.shape(prefill.first()); // (1): B
    Settings settings =
        new Settings(
            tf.fill(rowShape, maxNewTokens),
            maxNewTokens,
            batch,
            eosTokenIds,
            padTokenId,
            sampling);
    Operand<TInt32> slotMask =
        tf.concat(
            List.of(
                attentionMask, tf.zeros(DynamicShape.of(tf, batch, maxNewTokens), TInt32.class)),
            tf.constant(1)); // (B, P + max_new)
    Operand<TInt32> tokens =
        setColumn(
            tf,
            tf.fill(DynamicShape.of(tf, batch, maxNewTokens), padTokenId),
            tf.constant(0),
            tf.expandDims(prefill.first(), tf.constant(1))); // (B, max_new)
    Operand<TInt32> lengths = tf.fill(rowShape, tf.constant(1));
    State<T> initial =
        new State<>(
            tf.constant(1),
            prefill.first(),
            finished(tf, tf.fill(rowShape, tf.constant(false)), prefill.first(), lengths, settings),
            tokens,
            lengths,
            slotMask,
            tf.sum(attentionMask, tf.constant(1)), // the first token's position: real tokens so far
            tf.fill(rowShape, promptLength),
            settings,
            prefill.caches());
    return loop(tf, "generate", initial);
  }

  /**
   * One call of continuous batching: decodes the slots of {@code initial} (its STEP 0, its TOKENS
   * (B, steps) of pad) until {@code FINISHED_LIMIT} rows are finished or {@code STEPS} steps are
   * out.
   */
  State<T> decodeSlots(Ops tf, State<T> initial) {
    return loop(tf, "decode_slots", initial);
  }

  /**
   * The While op's attribute that has TensorFlow lower the loop, when a session first runs it, into
   * its executor's own control flow (Enter, Merge, Switch, NextIteration, Exit) with the step
   * inlined, as TensorFlow's Python {@code while_v2} marks its loops outside XLA. Left functional,
   * the While kernel calls the step as a function every step; lowered, the executor also runs the
   * ops of the next steps that do not wait for this one's token (the weights' reads, shapes) while
   * it finishes, up to the default 10 steps ahead. The stored graph keeps the functional op, so a
   * package converted before this attribute runs as before.
   */
  static final String LOWER_TO_EXECUTOR_LOOP = "_lower_using_switch_merge";

  /**
   * The decode loop: one step per new token while STEP &lt; STEPS and fewer than FINISHED_LIMIT
   * rows are finished; its functions are named {@code name + "_cond"} and {@code name + "_step"}.
   */
  private State<T> loop(Ops tf, String name, State<T> initial) {
    int layers = initial.caches().size();
    ConcreteFunction cond =
        ConcreteFunction.create(
            body ->
                signature(
                    name + "_cond", State.placeholders(body, layers, weights.dtype()), null, body));
    ConcreteFunction step =
        ConcreteFunction.create(
            body -> {
              State<T> in = State.placeholders(body, layers, weights.dtype());
              return signature(name + "_step", in, step(body, in), body);
            });
    keep.accept(cond);
    keep.accept(step);
    Operation loop =
        tf.scope()
            .opBuilder("While", "StatefulWhile")
            .addInputList(Operands.asOutputs(initial.asList()))
            .setAttr("cond", cond)
            .setAttr("body", step)
            .setAttr(LOWER_TO_EXECUTOR_LOOP, true)
            .build();
    List<Operand<?>> out = new ArrayList<>();
    for (int i = 0; i < loop.numOutputs(); i++) {
      out.add(loop.output(i));
    }
    return State.of(out, layers);
  }

  /** One decode step: feed each row's last token at its own slot, choose the next one. */
  private State<T> step(Ops tf, State<T> s) {
    TextModel<T> text = new TextModel<>(tf, weights, config.text());
    Operand<TInt32> batch = DynamicShape.dim(tf, s.token(), 0);

    // The token being fed occupies cache slot slot[b] of row b.
    Operand<TInt32> rows = tf.range(tf.constant(0), batch, tf.constant(1)); // (B)
    Operand<TInt32> slotMask =
        tf.tensorScatterNdUpdate(
            s.slotMask(),
            tf.stack(List.of(rows, s.slot()), Stack.axis(1L)), // (B, 2): [b, slot[b]]
            tf.onesLike(s.slot()));
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
    Operand<TFloat32> logits = tf.dtypes.cast(text.lmHead(hidden, true), TFloat32.class); // (B, V)
    Operand<TInt32> chosen = nextToken.choose(tf, logits, s.settings().sampling(), s.step());

    // Finished rows emit pad; a row finishes on any stop id or at its max_new_tokens.
    Operand<TInt32> next =
        tf.select(
            s.finished(), tf.fill(tf.shape(chosen), s.settings().padTokenId()), chosen); // (B)
    Operand<TInt32> tokens =
        setColumn(tf, s.tokens(), s.step(), tf.expandDims(next, tf.constant(1)));
    Operand<TInt32> lengths =
        tf.math.add(s.lengths(), tf.dtypes.cast(tf.math.logicalNot(s.finished()), TInt32.class));
    Operand<TBool> finished = finished(tf, s.finished(), next, lengths, s.settings());

    // A row that goes on feeds next at its next slot; a finished one stays where it is.
    Operand<TInt32> one = tf.constant(1);
    return new State<>(
        tf.math.add(s.step(), one),
        next,
        finished,
        tokens,
        lengths,
        slotMask,
        tf.math.add(s.position(), one),
        tf.math.add(s.slot(), tf.dtypes.cast(tf.math.logicalNot(finished), TInt32.class)),
        s.settings(),
        out.caches());
  }

  /** (B): already finished, or {@code token} is a stop id, or {@code lengths} reached the limit. */
  private static Operand<TBool> finished(
      Ops tf,
      Operand<TBool> before,
      Operand<TInt32> token,
      Operand<TInt32> lengths,
      Settings settings) {
    return tf.math.logicalOr(
        tf.math.logicalOr(before, isStop(tf, token, settings.eosTokenIds())),
        tf.math.greaterEqual(lengths, settings.maxNewTokens()));
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
   * The signature of a loop function over the state {@code in}, its arguments named after {@link
   * Var} and the layers' caches: the step's outputs are {@code out} (each wrapped in an identity,
   * as a function output cannot be an input); the condition's single output is "keep going": STEP
   * &lt; STEPS and fewer than FINISHED_LIMIT rows finished.
   */
  private static Signature signature(String key, State<?> in, State<?> out, Ops tf) {
    Signature.Builder builder = Signature.builder().key(key);
    List<String> names = new ArrayList<>();
    for (Var var : Var.values()) {
      names.add(var.argument());
    }
    for (int i = 0; i < in.caches().size(); i++) {
      names.add("layer_" + i + "_keys");
      names.add("layer_" + i + "_values");
    }
    List<Operand<?>> inputs = in.asList();
    for (int i = 0; i < inputs.size(); i++) {
      builder.input(names.get(i), inputs.get(i));
    }
    if (out == null) {
      Operand<TInt32> finishedRows =
          tf.sum(tf.dtypes.cast(in.finished(), TInt32.class), tf.constant(0));
      Operand<TBool> running =
          tf.math.logicalAnd(
              tf.math.less(in.step(), in.settings().steps()),
              tf.math.less(finishedRows, in.settings().finishedLimit()));
      return builder.output("running", running).build();
    }
    List<Operand<?>> outputs = out.asList();
    for (int i = 0; i < outputs.size(); i++) {
      builder.output(names.get(i), identity(tf, outputs.get(i)));
    }
    return builder.build();
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Operand<?> identity(Ops tf, Operand<?> operand) {
    return tf.identity((Operand) operand);
  }
}
