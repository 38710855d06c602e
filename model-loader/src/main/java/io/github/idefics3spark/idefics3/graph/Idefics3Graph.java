package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.CheckpointException;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.safetensors.CheckpointTensors;
import io.github.idefics3spark.tf.ComputeDtype;
import io.github.idefics3spark.tf.DynamicShape;
import io.github.idefics3spark.tf.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.ConcreteFunction;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.FloatDataBuffer;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gather;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.StridedSlice;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * Transformers' Idefics3ForConditionalGeneration (vision tower, connector, {@link InputsMerger},
 * Llama text model and lm_head, and its generate) as one TensorFlow graph with four named
 * signatures; the weights are resource variables named by their Hugging Face keys (see {@link
 * Weights}), left empty.
 *
 * <ul>
 *   <li>{@value #ENCODE_IMAGES}: pixel_values (frames, C, T, T) f32, pixel_attention_mask (frames,
 *       T, T) bool -&gt; image_features (frames, image_seq_len, text hidden) f32. Pass real frames
 *       only (the reference drops all-padding frames before the vision tower).
 *   <li>{@value #LOGITS}: input_ids, attention_mask, position_ids (batch, seq) i32, image_features
 *       (frames, image_seq_len, hidden) f32 -&gt; logits (batch, seq, vocab) f32. The rows of
 *       image_features replace, in order (batch-major), the image_token_id positions.
 *   <li>{@value #GENERATE}: input_ids, attention_mask (batch, seq) i32 left-padded, image_features,
 *       max_new_tokens () i32 (at least 1), eos_token_ids (E) i32, pad_token_id () i32, do_sample
 *       () bool, temperature () f32, top_k () i32 (0: off), top_p () f32 (1: off), seed (2) i64
 *       -&gt; tokens (batch, max_new_tokens) i32 padded with pad_token_id after a row finishes,
 *       lengths (batch) i32 (generated tokens, the stop token included).
 *   <li>{@value #SCORE_OPTIONS}: input_ids, attention_mask (batch, seq) i32 left-padded,
 *       image_features, option_ids, option_mask (batch, options, option_len) i32 -&gt;
 *       option_logprobs (batch, options) f32: each option's log-probability as the continuation of
 *       its prompt (the sum of its tokens' log-softmax, option_mask 1 on real tokens), all options
 *       of a row from one forward (see {@link #buildScoreOptions}).
 * </ul>
 */
public final class Idefics3Graph implements AutoCloseable {
  public static final String ENCODE_IMAGES = "encode_images";
  public static final String LOGITS = "logits";
  public static final String GENERATE = "generate";
  public static final String SCORE_OPTIONS = "score_options";
  public static final String PREFILL_SLOTS = "prefill_slots";
  public static final String DECODE_SLOTS = "decode_slots";

  /** Elements read from a checkpoint per file read while loading weights (1 MB of fp32). */
  private static final int LOAD_CHUNK = 1 << 18;

  private final Idefics3Config config;
  private final Graph graph;
  private final ComputeDtype dtype;
  private final Weights<? extends TNumber> weights;
  private final Map<String, Signature> signatures = new LinkedHashMap<>();
  private final List<ConcreteFunction> functions = new ArrayList<>();

  private Idefics3Graph(Idefics3Config config, ComputeDtype dtype, int productSplits) {
    this.config = config;
    this.dtype = dtype;
    this.graph = new Graph();
    this.weights = new Weights<>(graph, dtype.type(), dtype.int8(), productSplits);
  }

  /** Builds the whole graph for {@code config} in fp32; the caller closes it. */
  public static Idefics3Graph build(Idefics3Config config) {
    return build(config, ComputeDtype.FP32);
  }

  /**
   * Builds the whole graph for {@code config}, weights and compute in {@code dtype} (signature
   * inputs and outputs stay fp32); the caller closes it.
   */
  public static Idefics3Graph build(Idefics3Config config, ComputeDtype dtype) {
    return build(config, dtype, 1);
  }

  /**
   * Builds the whole graph as {@link #build(Idefics3Config, ComputeDtype)} does, its large products
   * split into {@code productSplits} parts that inter-op threads run at once (convert's {@code
   * --split-products}; 1: not split); the caller closes it.
   */
  public static Idefics3Graph build(Idefics3Config config, ComputeDtype dtype, int productSplits) {
    Idefics3Graph model = new Idefics3Graph(config, dtype, productSplits);
    try {
      model.buildAll(model.weights);
      return model;
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  public Idefics3Config config() {
    return config;
  }

  public Graph graph() {
    return graph;
  }

  public Weights<? extends TNumber> weights() {
    return weights;
  }

  /** The dtype weights are stored and computed in. */
  public ComputeDtype dtype() {
    return dtype;
  }

  private <T extends TNumber> void buildAll(Weights<T> typed) {
    buildEncodeImages(typed);
    buildLogits(typed);
    Generation<T> generation = new Generation<>(config, typed, functions::add);
    buildGenerate(typed, generation);
    buildPrefillSlots(typed, generation);
    buildDecodeSlots(typed, generation);
    buildScoreOptions(typed);
  }

  /**
   * The signatures by name: {@value #ENCODE_IMAGES}, {@value #LOGITS}, {@value #GENERATE}, {@value
   * #SCORE_OPTIONS}.
   */
  public Map<String, Signature> signatures() {
    return signatures;
  }

  /**
   * Writes the checkpoint's weights (converted to float32, then to the graph's dtype and layout)
   * into checkpoint parts {@code dir/part-N}, in the bundle format the saver writes, group by
   * group: each group of at least {@code groupBytes} (the last may be smaller) is filled and saved
   * in a session of its own, over a graph that holds the weights alone, and the session closed; so
   * one group of weights is in memory at a time, and each session is cheap to start. Fails naming a
   * missing tensor, an unexpected one, or a shape that disagrees with config.json.
   *
   * @param groupBytes convert's 64 MB ({@code Idefics3Package.LOAD_GROUP_BYTES}) unless a test
   *     wants many groups
   * @param options the sessions' options
   * @return the parts' prefixes, for {@link Weights#mergeSaved}
   */
  public List<String> saveParts(
      CheckpointTensors checkpoint, Path dir, long groupBytes, ConfigProto options)
      throws IOException {
    List<String> unexpected = new ArrayList<>();
    for (String key : checkpoint.keys()) {
      boolean known = weights.has(key);
      boolean ignorable =
          key.endsWith("rotary_emb.inv_freq")
              || (key.equals("lm_head.weight") && config.text().tieWordEmbeddings());
      if (!known && !ignorable) {
        unexpected.add(key);
      }
    }
    if (!unexpected.isEmpty()) {
      throw new CheckpointException(
          "the checkpoint holds tensors an Idefics3 model does not have: "
              + unexpected
              + "; is config.json from the same checkpoint as the safetensors?");
    }
    Map<String, TFloat32> group = new LinkedHashMap<>();
    try (Graph weightsOnly = new Graph()) {
      PartWriter parts = new PartWriter(weightsOnly, weights.declaredIn(weightsOnly), options, dir);
      fillGroups(checkpoint, groupBytes, group, parts);
      return parts.prefixes();
    } finally {
      group.values().forEach(TFloat32::close);
    }
  }

  /**
   * Fills a group of weights in a session of its own over {@code graph} (the weights alone), saves
   * them as the checkpoint part {@code dir/part-N} and closes the session.
   */
  private record PartWriter(
      Graph graph, Weights<?> weights, ConfigProto options, Path dir, List<String> prefixes) {

    PartWriter(Graph graph, Weights<?> weights, ConfigProto options, Path dir) {
      this(graph, weights, options, dir, new ArrayList<>());
    }

    /** Writes {@code group} (closed and emptied) as the next part; nothing if it is empty. */
    void write(Map<String, TFloat32> group) {
      if (group.isEmpty()) {
        return;
      }
      List<String> keys = List.copyOf(group.keySet());
      String prefix = dir.resolve("part-" + prefixes.size()).toString();
      try (Session session = new Session(graph, options)) {
        try {
          weights.fill(session, group);
        } finally {
          group.values().forEach(TFloat32::close);
          group.clear();
        }
        weights.save(session, keys, prefix);
      }
      prefixes.add(prefix);
    }
  }

  /** Streams each tensor into {@code group}, filling the variables whenever it is big enough. */
  private void fillGroups(
      CheckpointTensors checkpoint, long groupBytes, Map<String, TFloat32> group, PartWriter parts)
      throws IOException {
    long inGroup = 0;
    for (Weights.Variable variable : weights.variables()) {
      String key = variable.key();
      if (!checkpoint.has(key)) {
        throw new CheckpointException(
            "the checkpoint has no tensor "
                + key
                + " (expected shape "
                + variable.checkpointShape()
                + " from config.json)");
      }
      Shape found = Shape.of(checkpoint.info(key).shape());
      if (!found.equals(variable.checkpointShape())) {
        throw new CheckpointException(
            "tensor "
                + key
                + " has shape "
                + found
                + " but config.json gives "
                + variable.checkpointShape()
                + "; the config and the weights disagree");
      }
      TFloat32 value = TFloat32.tensorOf(found);
      group.put(key, value);
      inGroup += found.size() * Float.BYTES;
      FloatDataBuffer data = value.asRawTensor().data().asFloats();
      checkpoint.streamFloats(
          key, LOAD_CHUNK, (offset, chunk, length) -> data.offset(offset).write(chunk, 0, length));
      if (inGroup >= groupBytes) {
        parts.write(group);
        inGroup = 0;
      }
    }
    parts.write(group);
  }

  private <T extends TNumber> void buildEncodeImages(Weights<T> weights) {
    Ops tf = Ops.create(graph).withSubScope(ENCODE_IMAGES);
    Idefics3Config.Vision vision = config.vision();
    long side = vision.imageSize();
    Placeholder<TFloat32> pixelValues =
        tf.withName("pixel_values")
            .placeholder(
                TFloat32.class, Placeholder.shape(Shape.of(-1, vision.numChannels(), side, side)));
    Placeholder<TBool> pixelMask =
        tf.withName("pixel_attention_mask")
            .placeholder(TBool.class, Placeholder.shape(Shape.of(-1, side, side)));

    VisionTransformer<T> tower =
        new VisionTransformer<>(tf, weights, "model.vision_model.", vision);
    Connector<T> connector = new Connector<>(tf, weights, config);
    Operand<T> pixels = tf.dtypes.cast(pixelValues, weights.dtype());
    Operand<TFloat32> features =
        tf.dtypes.cast(connector.forward(tower.forward(pixels, pixelMask)), TFloat32.class);

    signatures.put(
        ENCODE_IMAGES,
        Signature.builder()
            .key(ENCODE_IMAGES)
            .input("pixel_values", pixelValues)
            .input("pixel_attention_mask", pixelMask)
            .output("image_features", tf.withName("image_features").identity(features))
            .build());
  }

  private <T extends TNumber> void buildLogits(Weights<T> weights) {
    Ops tf = Ops.create(graph).withSubScope(LOGITS);
    Placeholder<TInt32> inputIds = tokenPlaceholder(tf, "input_ids");
    Placeholder<TInt32> attentionMask = tokenPlaceholder(tf, "attention_mask");
    Placeholder<TInt32> positionIds = tokenPlaceholder(tf, "position_ids");
    Placeholder<TFloat32> imageFeatures = featuresPlaceholder(tf);

    TextModel<T> text = new TextModel<>(tf, weights, config.text());
    Operand<T> embeddings =
        new InputsMerger(tf, config).forward(inputIds, text.embed(inputIds), imageFeatures);
    TextModel.Output<T> out =
        text.forward(embeddings, positionIds, text.causalMask(attentionMask), null, null);
    int hidden = config.text().hiddenSize();
    Operand<T> rows = tf.reshape(out.hidden(), tf.constant(new int[] {-1, hidden}));
    Operand<TFloat32> logits =
        tf.reshape(
            tf.dtypes.cast(text.lmHead(rows, false), TFloat32.class),
            DynamicShape.of(
                tf,
                DynamicShape.dim(tf, inputIds, 0),
                DynamicShape.dim(tf, inputIds, 1),
                config.text().vocabSize()));

    signatures.put(
        LOGITS,
        Signature.builder()
            .key(LOGITS)
            .input("input_ids", inputIds)
            .input("attention_mask", attentionMask)
            .input("position_ids", positionIds)
            .input("image_features", imageFeatures)
            .output("logits", tf.withName("logits").identity(logits))
            .build());
  }

  private <T extends TNumber> void buildGenerate(Weights<T> weights, Generation<T> generation) {
    Ops tf = Ops.create(graph).withSubScope(GENERATE);
    Placeholder<TInt32> inputIds = tokenPlaceholder(tf, "input_ids");
    Placeholder<TInt32> attentionMask = tokenPlaceholder(tf, "attention_mask");
    Placeholder<TFloat32> imageFeatures = featuresPlaceholder(tf);
    Placeholder<TInt32> maxNewTokens = scalar(tf, "max_new_tokens", TInt32.class);
    Placeholder<TInt32> eosTokenIds = vector(tf, "eos_token_ids", TInt32.class);
    Placeholder<TInt32> padTokenId = scalar(tf, "pad_token_id", TInt32.class);
    NextToken.Sampling sampling = samplingPlaceholders(tf);

    TextModel<T> text = new TextModel<>(tf, weights, config.text());
    Operand<T> embeddings =
        new InputsMerger(tf, config).forward(inputIds, text.embed(inputIds), imageFeatures);
    Generation.State<T> done =
        generation.generate(
            tf, embeddings, attentionMask, maxNewTokens, eosTokenIds, padTokenId, sampling);

    Signature.Builder builder =
        Signature.builder()
            .key(GENERATE)
            .input("input_ids", inputIds)
            .input("attention_mask", attentionMask)
            .input("image_features", imageFeatures)
            .input("max_new_tokens", maxNewTokens)
            .input("eos_token_ids", eosTokenIds)
            .input("pad_token_id", padTokenId);
    sampling.addInputs(builder);
    signatures.put(
        GENERATE,
        builder
            .output("tokens", tf.withName("tokens").identity(done.tokens()))
            .output("lengths", tf.withName("lengths").identity(done.lengths()))
            .build());
  }

  /**
   * Continuous batching, first half: the prompts' forward, each row's first token and its caches
   * grown to {@code capacity} slots, for {@value #DECODE_SLOTS} to put into free slots.
   */
  private <T extends TNumber> void buildPrefillSlots(Weights<T> weights, Generation<T> generation) {
    Ops tf = Ops.create(graph).withSubScope(PREFILL_SLOTS);
    Placeholder<TInt32> inputIds = tokenPlaceholder(tf, "input_ids");
    Placeholder<TInt32> attentionMask = tokenPlaceholder(tf, "attention_mask");
    Placeholder<TFloat32> imageFeatures = featuresPlaceholder(tf);
    Placeholder<TInt32> capacity = scalar(tf, "capacity", TInt32.class);
    NextToken.Sampling sampling = samplingPlaceholders(tf);

    TextModel<T> text = new TextModel<>(tf, weights, config.text());
    Operand<T> embeddings =
        new InputsMerger(tf, config).forward(inputIds, text.embed(inputIds), imageFeatures);
    Operand<TInt32> room = tf.math.sub(capacity, DynamicShape.dim(tf, inputIds, 1));
    Generation.Prefill<T> prefill =
        generation.prefill(tf, embeddings, attentionMask, sampling, room);

    Signature.Builder builder =
        Signature.builder()
            .key(PREFILL_SLOTS)
            .input("input_ids", inputIds)
            .input("attention_mask", attentionMask)
            .input("image_features", imageFeatures)
            .input("capacity", capacity);
    sampling.addInputs(builder);
    builder.output("token", tf.withName("token").identity(prefill.first()));
    addCacheOutputs(tf, builder, "", prefill.caches());
    signatures.put(PREFILL_SLOTS, builder.build());
  }

  /**
   * Continuous batching, second half: puts the caches of {@value #PREFILL_SLOTS} into the slots
   * {@code insert_rows} (the batch's caches grown or cut to {@code capacity} first), then decodes
   * every slot until one more row finishes ({@code finished_limit}) or {@code steps} are out, and
   * returns the slots' state and caches for the next call.
   */
  private <T extends TNumber> void buildDecodeSlots(Weights<T> weights, Generation<T> generation) {
    Ops tf = Ops.create(graph).withSubScope(DECODE_SLOTS);
    int layers = config.text().numHiddenLayers();
    Placeholder<TInt32> capacity = scalar(tf, "capacity", TInt32.class);
    Placeholder<TInt32> insertRows = vector(tf, "insert_rows", TInt32.class);
    List<Placeholder<T>> caches = cachePlaceholders(tf, "", layers, weights.dtype());
    List<Placeholder<T>> inserted = cachePlaceholders(tf, "insert_", layers, weights.dtype());
    Placeholder<TInt32> token = vector(tf, "token", TInt32.class);
    Placeholder<TBool> finished = vector(tf, "finished", TBool.class);
    Placeholder<TInt32> lengths = vector(tf, "lengths", TInt32.class);
    Placeholder<TInt32> slotMask = tokenPlaceholder(tf, "slot_mask");
    Placeholder<TInt32> position = vector(tf, "position", TInt32.class);
    Placeholder<TInt32> slot = vector(tf, "slot", TInt32.class);
    Placeholder<TInt32> maxNewTokens = vector(tf, "max_new_tokens", TInt32.class);
    Placeholder<TInt32> steps = scalar(tf, "steps", TInt32.class);
    Placeholder<TInt32> finishedLimit = scalar(tf, "finished_limit", TInt32.class);
    Placeholder<TInt32> eosTokenIds = vector(tf, "eos_token_ids", TInt32.class);
    Placeholder<TInt32> padTokenId = scalar(tf, "pad_token_id", TInt32.class);
    NextToken.Sampling sampling = samplingPlaceholders(tf);

    // Grow every cache with zeros or cut it to capacity (itself when it is that size already), then
    // overwrite the inserted rows whole: (B, kv, capacity, hd).
    Operand<TInt32> rowIndices = tf.expandDims(insertRows, tf.constant(1)); // (k, 1)
    List<TextAttention.KvCache<T>> slots = new ArrayList<>(layers);
    for (int i = 0; i < layers; i++) {
      slots.add(
          new TextAttention.KvCache<>(
              tf.tensorScatterNdUpdate(
                  resized(tf, caches.get(2 * i), capacity, weights.dtype()),
                  rowIndices,
                  inserted.get(2 * i)),
              tf.tensorScatterNdUpdate(
                  resized(tf, caches.get(2 * i + 1), capacity, weights.dtype()),
                  rowIndices,
                  inserted.get(2 * i + 1))));
    }
    Operand<TInt32> batch = DynamicShape.dim(tf, token, 0);
    Generation.State<T> initial =
        new Generation.State<>(
            tf.constant(0),
            token,
            finished,
            tf.fill(DynamicShape.of(tf, batch, steps), padTokenId),
            lengths,
            slotMask,
            position,
            slot,
            new Generation.Settings(
                maxNewTokens, steps, finishedLimit, eosTokenIds, padTokenId, sampling),
            slots);
    Generation.State<T> done = generation.decodeSlots(tf, initial);

    Signature.Builder builder =
        Signature.builder()
            .key(DECODE_SLOTS)
            .input("capacity", capacity)
            .input("insert_rows", insertRows);
    for (int i = 0; i < 2 * layers; i++) {
      builder.input(cacheName("", i), caches.get(i));
      builder.input(cacheName("insert_", i), inserted.get(i));
    }
    builder
        .input("token", token)
        .input("finished", finished)
        .input("lengths", lengths)
        .input("slot_mask", slotMask)
        .input("position", position)
        .input("slot", slot)
        .input("max_new_tokens", maxNewTokens)
        .input("steps", steps)
        .input("finished_limit", finishedLimit)
        .input("eos_token_ids", eosTokenIds)
        .input("pad_token_id", padTokenId);
    sampling.addInputs(builder);
    builder
        .output("tokens", tf.withName("tokens").identity(done.tokens()))
        .output("token", tf.withName("token_out").identity(done.token()))
        .output("finished", tf.withName("finished_out").identity(done.finished()))
        .output("lengths", tf.withName("lengths_out").identity(done.lengths()))
        .output("slot_mask", tf.withName("slot_mask_out").identity(done.slotMask()))
        .output("position", tf.withName("position_out").identity(done.position()))
        .output("slot", tf.withName("slot_out").identity(done.slot()));
    addCacheOutputs(tf, builder, "", done.caches());
    signatures.put(DECODE_SLOTS, builder.build());
  }

  /**
   * A cache (B, kv, slots, hd) with {@code capacity} slots: zeros added at the end, or the end cut
   * off (slots past every row's last); the cache itself when it has that many.
   */
  private static <T extends TNumber> Operand<T> resized(
      Ops tf, Operand<T> cache, Operand<TInt32> capacity, Class<T> dtype) {
    Operand<TInt32> zero = tf.constant(0);
    Operand<TInt32> grow =
        tf.math.maximum(tf.math.sub(capacity, DynamicShape.dim(tf, cache, 2)), zero);
    Operand<TInt32> padding =
        tf.reshape(
            tf.stack(List.of(zero, zero, zero, zero, zero, grow, zero, zero)),
            tf.constant(new int[] {4, 2}));
    Operand<T> grown = tf.pad(cache, padding, ComputeDtype.scalar(tf, 0, dtype));
    long allButSlots = 0b1011; // axes 0, 1 and 3 are taken whole
    return tf.stridedSlice(
        grown,
        DynamicShape.of(tf, zero, zero, zero, zero),
        DynamicShape.of(tf, zero, zero, capacity, zero),
        tf.constant(new int[] {1, 1, 1, 1}),
        StridedSlice.beginMask(0b1111L),
        StridedSlice.endMask(allButSlots));
  }

  /** "layer_I_keys" / "layer_I_values" of cache tensor {@code index} (keys then values). */
  public static String cacheName(String prefix, int index) {
    return prefix + "layer_" + index / 2 + (index % 2 == 0 ? "_keys" : "_values");
  }

  private static <T extends TNumber> List<Placeholder<T>> cachePlaceholders(
      Ops tf, String prefix, int layers, Class<T> dtype) {
    List<Placeholder<T>> list = new ArrayList<>(2 * layers);
    for (int i = 0; i < 2 * layers; i++) {
      list.add(
          tf.withName(cacheName(prefix, i))
              .placeholder(dtype, Placeholder.shape(Shape.of(-1, -1, -1, -1))));
    }
    return list;
  }

  private static <T extends TNumber> void addCacheOutputs(
      Ops tf, Signature.Builder builder, String prefix, List<TextAttention.KvCache<T>> caches) {
    for (int i = 0; i < caches.size(); i++) {
      TextAttention.KvCache<T> kv = caches.get(i);
      String keys = cacheName(prefix, 2 * i);
      String values = cacheName(prefix, 2 * i + 1);
      builder.output(keys, tf.withName(keys + "_out").identity(kv.keys()));
      builder.output(values, tf.withName(values + "_out").identity(kv.values()));
    }
  }

  private static NextToken.Sampling samplingPlaceholders(Ops tf) {
    return new NextToken.Sampling(
        scalar(tf, "do_sample", TBool.class),
        scalar(tf, "temperature", TFloat32.class),
        scalar(tf, "top_k", TInt32.class),
        scalar(tf, "top_p", TFloat32.class),
        tf.withName("seed").placeholder(TInt64.class, Placeholder.shape(Shape.of(2))));
  }

  /**
   * Every option's log-probability after its prompt from one forward: the prompt (B, P) and, after
   * it, every option's tokens (B, K x O) run together, each option's tokens seeing the prompt's
   * real tokens and their own option's earlier tokens only (a tree of continuations sharing one
   * prefill), at positions that continue the prompt's (real tokens so far, as generate numbers
   * them). The first token of an option is scored at the prompt's last position, token j at option
   * token j - 1; each is transformers' log-softmax of the lm_head logits in fp32, summed over the
   * option's real tokens. Equal, up to rounding, to a separate forward of prompt + option per
   * option.
   */
  private <T extends TNumber> void buildScoreOptions(Weights<T> weights) {
    Ops tf = Ops.create(graph).withSubScope(SCORE_OPTIONS);
    Placeholder<TInt32> inputIds = tokenPlaceholder(tf, "input_ids");
    Placeholder<TInt32> attentionMask = tokenPlaceholder(tf, "attention_mask");
    Placeholder<TFloat32> imageFeatures = featuresPlaceholder(tf);
    Placeholder<TInt32> optionIds = optionPlaceholder(tf, "option_ids");
    Placeholder<TInt32> optionMask = optionPlaceholder(tf, "option_mask");

    Operand<TInt32> batch = DynamicShape.dim(tf, inputIds, 0);
    Operand<TInt32> promptLen = DynamicShape.dim(tf, inputIds, 1);
    Operand<TInt32> options = DynamicShape.dim(tf, optionIds, 1);
    Operand<TInt32> optionLen = DynamicShape.dim(tf, optionIds, 2);
    Operand<TInt32> flat = tf.math.mul(options, optionLen); // K x O
    Operand<TInt32> one = tf.constant(1);
    Operand<TInt32> zero = tf.constant(0);

    // The sequence: prompt then the options one after another, (B, S), S = P + K x O.
    Operand<TInt32> ids =
        tf.concat(List.of(inputIds, tf.reshape(optionIds, DynamicShape.of(tf, batch, flat))), one);
    Operand<TInt32> keyMask =
        tf.concat(
            List.of(attentionMask, tf.reshape(optionMask, DynamicShape.of(tf, batch, flat))), one);
    // Positions: the prompt's as generate's prefill (cumsum(mask) - 1, 1 on padding); option token
    // j at (real prompt tokens) + j.
    Operand<TInt32> promptPositions =
        tf.select(
            tf.math.equal(attentionMask, one),
            tf.math.sub(tf.math.cumsum(attentionMask, one), one),
            tf.onesLike(attentionMask)); // (B, P)
    Operand<TInt32> flatIndex = tf.range(zero, flat, one); // (K x O)
    Operand<TInt32> within =
        tf.math.sub(
            flatIndex,
            tf.math.mul(tf.math.floorDiv(flatIndex, optionLen), optionLen)); // j of each token
    Operand<TInt32> optionPositions =
        tf.math.add(
            tf.expandDims(tf.sum(attentionMask, one), one),
            tf.expandDims(within, zero)); // (B, KxO)
    Operand<TInt32> positions = tf.concat(List.of(promptPositions, optionPositions), one);

    // The tree mask: key k is seen from query q when it is real, k <= q, and k is in the prompt or
    // in q's own option. group: 0 in the prompt, 1 + option index after it.
    Operand<TInt32> seq = tf.math.add(promptLen, flat);
    Operand<TInt32> index = tf.range(zero, seq, one); // (S)
    Operand<TInt32> group =
        tf.math.maximum(
            zero,
            tf.math.add(one, tf.math.floorDiv(tf.math.sub(index, promptLen), optionLen))); // (S)
    Operand<TBool> inPrompt = tf.math.less(index, promptLen); // (S)
    Operand<TBool> causal =
        tf.math.lessEqual(tf.expandDims(index, zero), tf.expandDims(index, one)); // (q, k)
    Operand<TBool> sameGroup =
        tf.math.equal(tf.expandDims(group, zero), tf.expandDims(group, one)); // (q, k)
    Operand<TBool> visible =
        tf.math.logicalAnd(
            causal, tf.math.logicalOr(tf.expandDims(inPrompt, zero), sameGroup)); // (q, k)
    Operand<TBool> keyReal =
        tf.reshape(tf.math.equal(keyMask, one), DynamicShape.of(tf, batch, 1, 1, seq));
    Operand<TBool> allowed = tf.math.logicalAnd(visible, keyReal); // (B, 1, S, S)
    Operand<T> mask =
        tf.select(
            allowed,
            ComputeDtype.scalar(tf, 0, weights.dtype()),
            ComputeDtype.scalar(tf, dtype.lowest(), weights.dtype()));

    TextModel<T> text = new TextModel<>(tf, weights, config.text());
    Operand<T> embeddings =
        new InputsMerger(tf, config).forward(ids, text.embed(ids), imageFeatures);
    Operand<T> hidden = text.forward(embeddings, positions, mask, null, null).hidden(); // (B, S, H)

    // The position that predicts each option token: the prompt's last for j = 0, else the token
    // before it.
    Operand<TInt32> before =
        tf.select(
            tf.math.equal(within, zero),
            tf.fill(tf.shape(within), tf.math.sub(promptLen, one)),
            tf.math.sub(tf.math.add(promptLen, flatIndex), one)); // (K x O)
    Operand<T> predicting = tf.gather(hidden, before, one); // (B, K x O, H)
    int hiddenSize = config.text().hiddenSize();
    Operand<TFloat32> logits =
        tf.dtypes.cast(
            text.lmHead(tf.reshape(predicting, tf.constant(new int[] {-1, hiddenSize})), false),
            TFloat32.class); // (B x K x O, V)
    Operand<TFloat32> logSoftmax = tf.nn.logSoftmax(logits);
    Operand<TFloat32> tokenLogprobs =
        tf.gather(
            logSoftmax,
            tf.reshape(optionIds, tf.constant(new int[] {-1, 1})),
            one,
            Gather.batchDims(1L)); // (B x K x O, 1)
    Operand<TFloat32> masked =
        tf.math.mul(
            tf.reshape(tokenLogprobs, DynamicShape.of(tf, batch, options, optionLen)),
            tf.dtypes.cast(optionMask, TFloat32.class));
    Operand<TFloat32> optionLogprobs = tf.sum(masked, tf.constant(2)); // (B, K)

    signatures.put(
        SCORE_OPTIONS,
        Signature.builder()
            .key(SCORE_OPTIONS)
            .input("input_ids", inputIds)
            .input("attention_mask", attentionMask)
            .input("image_features", imageFeatures)
            .input("option_ids", optionIds)
            .input("option_mask", optionMask)
            .output("option_logprobs", tf.withName("option_logprobs").identity(optionLogprobs))
            .build());
  }

  private static Placeholder<TInt32> tokenPlaceholder(Ops tf, String name) {
    return tf.withName(name).placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1)));
  }

  private static Placeholder<TInt32> optionPlaceholder(Ops tf, String name) {
    return tf.withName(name).placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1, -1)));
  }

  private Placeholder<TFloat32> featuresPlaceholder(Ops tf) {
    return tf.withName("image_features")
        .placeholder(
            TFloat32.class,
            Placeholder.shape(Shape.of(-1, config.imageSeqLen(), config.text().hiddenSize())));
  }

  private static <T extends TType> Placeholder<T> scalar(Ops tf, String name, Class<T> type) {
    return tf.withName(name).placeholder(type, Placeholder.shape(Shape.scalar()));
  }

  private static <T extends TType> Placeholder<T> vector(Ops tf, String name, Class<T> type) {
    return tf.withName(name).placeholder(type, Placeholder.shape(Shape.of(-1)));
  }

  @Override
  public void close() {
    for (ConcreteFunction function : functions) {
      function.close();
    }
    graph.close();
  }
}
