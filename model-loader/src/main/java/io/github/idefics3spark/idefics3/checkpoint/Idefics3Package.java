package io.github.idefics3spark.idefics3.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.idefics3spark.idefics3.graph.Idefics3Graph;
import io.github.idefics3spark.idefics3.runtime.GenerationSettings;
import io.github.idefics3spark.safetensors.CheckpointTensors;
import io.github.idefics3spark.tf.ComputeDtype;
import io.github.idefics3spark.tf.Int8Kernel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.BooleanDataBuffer;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.ndarray.buffer.FloatDataBuffer;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.GPUOptions;
import org.tensorflow.proto.GraphOptions;
import org.tensorflow.proto.RewriterConfig;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TType;

/**
 * A converted Idefics3 model package: writes it from a Hugging Face checkpoint and loads it once,
 * then runs its signatures. Safe to share between threads (one TensorFlow session serves concurrent
 * calls).
 *
 * <pre>
 * my-model/
 *   saved_model.pb, variables/   the graph of {@link Idefics3Graph} and the weights
 *   assets/                      the checkpoint's json files (and chat template), unchanged
 *   idefics3-spark.json          manifest: format version, source sha256s, dtype, signatures
 * </pre>
 */
public final class Idefics3Package implements AutoCloseable {
  /** The package layout version this code writes and reads: {@link PackageFiles#FORMAT_VERSION}. */
  public static final int FORMAT_VERSION = PackageFiles.FORMAT_VERSION;

  /** The manifest's file name: {@link PackageFiles#MANIFEST}. */
  public static final String MANIFEST = PackageFiles.MANIFEST;

  /**
   * The most parts convert's {@code --split-products} and the job's {@code split-products} take:
   * the cores of one executor's task.
   */
  public static final int MAX_PRODUCT_SPLITS = 64;

  /**
   * Float32 bytes of weights per group while converting (see {@link Idefics3Graph#saveParts}): a
   * group is held about twice while it is filled (as read, and as stored), and each costs a session
   * over the weights-only graph (tens of milliseconds).
   */
  static final long LOAD_GROUP_BYTES = 64L << 20;

  /** Files of a checkpoint copied unchanged into assets/ when present. */
  static final List<String> ASSET_FILES =
      List.of(
          "config.json",
          "generation_config.json",
          "preprocessor_config.json",
          "processor_config.json",
          "tokenizer.json",
          "tokenizer_config.json",
          "special_tokens_map.json",
          "added_tokens.json",
          "chat_template.json",
          "chat_template.jinja");

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final Path dir;
  private final SavedModelBundle bundle;
  private final Idefics3Checkpoint checkpoint;
  private final JsonNode manifest;

  private Idefics3Package(
      Path dir, SavedModelBundle bundle, Idefics3Checkpoint checkpoint, JsonNode manifest) {
    this.dir = dir;
    this.bundle = bundle;
    this.checkpoint = checkpoint;
    this.manifest = manifest;
  }

  /**
   * Converts the checkpoint folder {@code source} into a package at {@code target} (which must not
   * exist or be empty): builds the graph from config.json, streams the weights into checkpoint
   * parts a group at a time (never all in memory), exports the SavedModel with the parts as its
   * checkpoint, copies the json assets and writes the manifest. TensorFlow chooses the converting
   * session's threads: for a JVM that converts and goes (the convert command); one that loads a
   * package next converts with {@link #write(Path, Path, ComputeDtype, int)}.
   *
   * @return the number of parameters written
   */
  public static long write(Path source, Path target) throws IOException {
    return write(source, target, ComputeDtype.FP32);
  }

  /**
   * Like {@link #write(Path, Path)}, storing the weights and computing in {@code dtype} (bf16 or
   * fp16 for GPU executors; fp32, the default, for CPU). Tensors of another dtype in the checkpoint
   * are converted (rounded to nearest even).
   */
  public static long write(Path source, Path target, ComputeDtype dtype) throws IOException {
    return write(source, target, dtype, 0);
  }

  /**
   * Like {@link #write(Path, Path, ComputeDtype)}, in a session with the threads of a package
   * loaded with {@code intraOpThreads} ({@link #convertSession}): for a JVM that loads a package
   * after converting (an executor given a checkpoint as its model), whose TensorFlow thread pools
   * the first session makes.
   */
  public static long write(Path source, Path target, ComputeDtype dtype, int intraOpThreads)
      throws IOException {
    return write(source, target, dtype, intraOpThreads, 1);
  }

  /**
   * Like {@link #write(Path, Path, ComputeDtype, int)}, the graph's large products split into
   * {@code productSplits} parts that inter-op threads run at once (convert's {@code
   * --split-products}, for CPU executors whose tasks own several cores; 1: not split). The manifest
   * records it: {@link #load} gives such a package's operations its threads divided among the
   * parts.
   */
  public static long write(
      Path source, Path target, ComputeDtype dtype, int intraOpThreads, int productSplits)
      throws IOException {
    return write(
        source, target, dtype, productSplits, convertSession(intraOpThreads), LOAD_GROUP_BYTES);
  }

  /**
   * Like {@link #write(Path, Path, ComputeDtype, int)}, in sessions with the options {@code
   * session}, filling and saving {@code groupBytes} a time.
   */
  static long write(
      Path source, Path target, ComputeDtype dtype, ConfigProto session, long groupBytes)
      throws IOException {
    return write(source, target, dtype, 1, session, groupBytes);
  }

  private static long write(
      Path source,
      Path target,
      ComputeDtype dtype,
      int productSplits,
      ConfigProto session,
      long groupBytes)
      throws IOException {
    if (productSplits < 1) {
      throw new IllegalArgumentException(
          "--split-products "
              + productSplits
              + " with --dtype "
              + dtype.flag()
              + ": give 1 or more");
    }
    Idefics3Checkpoint checkpoint = Idefics3Checkpoint.read(source);
    if (Files.exists(target)) {
      try (Stream<Path> entries = Files.list(target)) {
        if (entries.findAny().isPresent()) {
          throw new IOException(
              "package folder " + target + " is not empty; choose a new folder or remove it");
        }
      }
    }
    Files.createDirectories(target);
    try {
      return writeInto(source, target, checkpoint, dtype, productSplits, session, groupBytes);
    } catch (IOException | RuntimeException e) {
      deleteTree(target); // no half-written package is left behind
      throw e;
    }
  }

  private static long writeInto(
      Path source,
      Path target,
      Idefics3Checkpoint checkpoint,
      ComputeDtype dtype,
      int productSplits,
      ConfigProto session,
      long groupBytes)
      throws IOException {
    long parameters;
    List<Path> sources = new ArrayList<>();
    Path variables = target.resolve("variables");
    Path parts = target.resolve("variables-parts");
    try (Idefics3Graph graph = Idefics3Graph.build(checkpoint.config(), dtype, productSplits);
        CheckpointTensors tensors = CheckpointTensors.open(source)) {
      // Each group of weights is filled in a session of its own and written to a checkpoint
      // part, so the weights are never all in memory at once; the parts become the package's
      // checkpoint once the SavedModel is exported.
      Files.createDirectories(parts);
      List<String> prefixes = graph.saveParts(tensors, parts, groupBytes, session);
      parameters = graph.weights().parameterCount();
      sources.addAll(tensors.files());
      Path index = source.resolve("model.safetensors.index.json");
      if (Files.isRegularFile(index)) {
        sources.add(index);
      }
      graph.weights().addSaver();
      try (Session exporting = new Session(graph.graph(), session)) {
        graph.weights().clear(exporting);
        SavedModelBundle.Exporter exporter =
            SavedModelBundle.exporter(target.toString()).withSession(exporting);
        for (Signature signature : graph.signatures().values()) {
          exporter.withFunction(SessionFunction.create(signature, exporting));
        }
        exporter.export(); // the graph, and the cleared variables: replaced by the parts below
        try (Stream<Path> saved = Files.list(variables)) {
          for (Path file : saved.toList()) {
            Files.delete(file);
          }
        }
        graph.weights().mergeSaved(exporting, prefixes, variables.resolve("variables").toString());
      }
      deleteTree(parts);
      checkVariablesWritten(target);

      Path assets = Files.createDirectories(target.resolve("assets"));
      for (String name : ASSET_FILES) {
        Path file = source.resolve(name);
        if (Files.isRegularFile(file)) {
          Files.copy(file, assets.resolve(name));
          sources.add(file);
        }
      }
      PackageFiles.writeManifest(target, source, sources, graph, parameters);
    }
    return parameters;
  }

  /**
   * The session options of a loaded package: {@code intraOpThreads} for one operation, and as many
   * inter-op threads as the JVM has processors.
   *
   * <p>TensorFlow runs the operations of every session call on an inter-op pool, and splits an
   * operation over an intra-op pool; both are one per process, made with the first session's
   * options whatever later sessions ask for. The tasks of a Spark executor share one loaded model
   * and call it at the same time. With one inter-op thread, as the package was loaded before, the
   * tasks' calls largely took turns on it: two threads with one intra-op thread each (local[2]'s
   * tasks) answered tools/bench/job.sh's 64 rows in 116-119 s, against 61-64 s with two inter-op
   * threads (the README's "Throughput and the cost of Spark"). Within one call the extra threads
   * also run independent operations together (a layer's q, k and v products).
   *
   * @param intraOpThreads TensorFlow threads for one operation; 0 lets TensorFlow choose both
   * @param visibleGpus as {@link #load(Path, int, String)} takes them
   */
  static ConfigProto sessionConfig(int intraOpThreads, String visibleGpus) {
    return ConfigProto.newBuilder()
        .setIntraOpParallelismThreads(intraOpThreads)
        .setInterOpParallelismThreads(
            intraOpThreads == 0 ? 0 : Runtime.getRuntime().availableProcessors())
        // On a GPU, take memory as needed rather than all of it up front.
        .setGpuOptions(
            GPUOptions.newBuilder().setAllowGrowth(true).setVisibleDeviceList(visibleGpus))
        .build();
  }

  /**
   * The options of a converting session: the threads of {@link #sessionConfig} for the same
   * intra-op threads, so that a JVM which converts a checkpoint and then loads its package (an
   * executor given a checkpoint as its model) has the thread pools the package's session asks for.
   * The first session of a process makes them: with TensorFlow's defaults, as converting had, an
   * intra-op pool of every CPU the process may run on, shared by the executor's tasks however many
   * cores each has. No GPU: converting assigns and saves variables on the CPU, and a GPU device
   * made here would fix the process's GPU memory options (all memory at once, every GPU visible)
   * before the package's session could set its own. No Grappler: its rewrites would run over the
   * whole model (functions included) for every new feed, at about half a second each.
   *
   * @param intraOpThreads as {@link #sessionConfig} takes them; 0 lets TensorFlow choose
   */
  static ConfigProto convertSession(int intraOpThreads) {
    return sessionConfig(intraOpThreads, "").toBuilder()
        .putDeviceCount("GPU", 0)
        .setGraphOptions(
            GraphOptions.newBuilder()
                .setRewriteOptions(RewriterConfig.newBuilder().setDisableMetaOptimizer(true)))
        .build();
  }

  /** Loads a package written by {@link #write}; {@code intraOpThreads} 0 lets TensorFlow choose. */
  public static Idefics3Package load(Path dir, int intraOpThreads) throws IOException {
    return load(dir, intraOpThreads, "");
  }

  /**
   * Loads a package written by {@link #write} onto the given GPUs, once its graph passed {@link
   * PackageFiles#checkGraph}: TensorFlow runs a package's restore and init ops while loading it.
   * The other files are checked against the manifest by {@link PackageFiles#verify}, which callers
   * run first (a package used in place, a copy, a cache hit).
   *
   * @param intraOpThreads TensorFlow threads for one operation; 0 lets TensorFlow choose (the
   *     inter-op threads are the JVM's processors: {@link #sessionConfig}). A package converted
   *     with {@code --split-products N} runs N parts of a product at once, so its operations get
   *     {@code intraOpThreads / N} threads (at least 1): the same cores in all.
   * @param visibleGpus the GPU ids the session may use, comma-separated as TensorFlow's {@code
   *     gpu_options.visible_device_list} takes them (a Spark task's GPU addresses); empty: every
   *     GPU the process sees. Ignored by the CPU build.
   */
  public static Idefics3Package load(Path dir, int intraOpThreads, String visibleGpus)
      throws IOException {
    JsonNode manifest = PackageFiles.readManifest(dir);
    int productSplits = productSplits(manifest);
    if (!visibleGpus.isEmpty() && productSplits > 1) {
      throw new IOException(
          "model package "
              + dir
              + " splits its products in "
              + productSplits
              + " (convert --split-products), a package for CPU executors whose tasks own several"
              + " cores: on GPU "
              + visibleGpus
              + " the split doubles the kernel launches and saves nothing; convert the"
              + " checkpoint without --split-products for GPU executors");
    }
    boolean int8 = ComputeDtype.INT8.flag().equals(manifest.path("dtype").asText());
    if (!visibleGpus.isEmpty() && int8) {
      throw new IOException(
          "model package "
              + dir
              + " is int8 (convert --dtype int8), a package for CPU executors: its decode steps"
              + " multiply through a CPU-only kernel and its prefill casts the int8 matrices to"
              + " float32, which on GPU "
              + visibleGpus
              + " costs time and saves nothing; convert the checkpoint with --dtype bf16 (or"
              + " fp16) for GPU executors");
    }
    // TensorFlow runs the graph's restore and init ops while loading: check them first.
    PackageFiles.checkGraph(dir, manifest);
    if (int8) {
      Int8Kernel.load(); // the graph's decode steps use its op
    }
    Idefics3Checkpoint checkpoint = Idefics3Checkpoint.read(dir.resolve("assets"));
    if (visibleGpus.isEmpty()) {
      checkFitsInMemory(dir, checkpoint.config(), manifest);
    }
    SavedModelBundle bundle =
        SavedModelBundle.loader(dir.toString())
            .withTags(SavedModelBundle.DEFAULT_TAG)
            .withConfigProto(
                sessionConfig(operationThreads(intraOpThreads, productSplits), visibleGpus))
            .load();
    return new Idefics3Package(dir, bundle, checkpoint, manifest);
  }

  /**
   * Refuses, before TensorFlow allocates anything, a package whose weights alone are more than this
   * machine's memory: they are all read into it when the package is loaded on a CPU.
   */
  private static void checkFitsInMemory(Path dir, Idefics3Config config, JsonNode manifest)
      throws IOException {
    ComputeDtype dtype;
    try {
      dtype = ComputeDtype.of(manifest.path("dtype").asText("fp32"));
    } catch (IllegalArgumentException e) {
      throw new IOException(dir + "/" + PackageFiles.MANIFEST + ": " + e.getMessage(), e);
    }
    long weightBytes = config.parameterCount() * dtype.bytes();
    long memory =
        ((com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean())
            .getTotalMemorySize();
    if (memory > 0 && weightBytes > memory) {
      throw new IOException(
          String.format(
              "model package %s holds %,d parameters in %s, %.1f GB of weights, but this machine"
                  + " has %.1f GB of memory: load it on executors with more memory, on a GPU,"
                  + " or convert it in a smaller dtype (--dtype bf16)",
              dir, config.parameterCount(), dtype.flag(), weightBytes / 1e9, memory / 1e9));
    }
  }

  /** The checkpoint's configs, read from assets/. */
  public Idefics3Checkpoint checkpoint() {
    return checkpoint;
  }

  public JsonNode manifest() {
    return manifest;
  }

  /** Into how many parts the package's large products are split (convert's --split-products). */
  public int productSplits() {
    return productSplits(manifest);
  }

  private static int productSplits(JsonNode manifest) {
    return manifest.path("product_splits").asInt(1); // 1 in packages converted before the option
  }

  /**
   * The intra-op threads an operation gets when a package split into {@code productSplits} parts is
   * loaded with {@code intraOpThreads}: its parts run at once, so each gets its share (at least 1);
   * 0 lets TensorFlow choose.
   */
  public static int operationThreads(int intraOpThreads, int productSplits) {
    return intraOpThreads == 0 ? 0 : Math.max(1, intraOpThreads / productSplits);
  }

  public Path dir() {
    return dir;
  }

  /** The loaded SavedModel (its graph and session), for callers that need more than below. */
  public SavedModelBundle bundle() {
    return bundle;
  }

  /**
   * Bytes of attention scores the vision encoder may hold at once: {@link #encodeImages} runs
   * {@value Idefics3Graph#ENCODE_IMAGES} on as many frames a call as keep one layer's (frames,
   * heads, patches, patches) fp32 scores within this, one frame at least. The encoder materialises
   * them (with the softmax beside them), where transformers' sdpa does not: a batch's frames in one
   * call held 490 MiB more at SmolVLM-256M's 8 frames of 512 px (50 MB of scores a frame; one frame
   * a call now), and would hold about 8 GB for Idefics3-8B's 8 pages of 17 frames (29 MB a frame;
   * two a call now). Frames are encoded independently, so the split changes no feature; on CPU one
   * frame a call is no slower (tools/bench/generate.sh).
   */
  static final long ENCODE_SCORES_BYTES = 64L << 20;

  /**
   * Runs {@value Idefics3Graph#ENCODE_IMAGES}, {@link #framesPerEncodeCall} frames a session call.
   *
   * @param pixelValues (frames, C, T, T) row-major
   * @param pixelMask (frames, T, T), true on real pixels
   * @return (frames, image_seq_len, text hidden) row-major
   */
  public float[] encodeImages(float[] pixelValues, boolean[] pixelMask, int frames) {
    return encodeImages(pixelValues, pixelMask, frames, framesPerEncodeCall());
  }

  /**
   * Frames {@link #encodeImages} passes to one session call: as many as keep the attention scores
   * within {@link #ENCODE_SCORES_BYTES}, at least one.
   */
  public int framesPerEncodeCall() {
    Idefics3Config.Vision vision = checkpoint.config().vision();
    long patches =
        (long) (vision.imageSize() / vision.patchSize())
            * (vision.imageSize() / vision.patchSize());
    long scoresPerFrame = vision.numAttentionHeads() * patches * patches * Float.BYTES;
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, ENCODE_SCORES_BYTES / scoresPerFrame));
  }

  /** {@link #encodeImages(float[], boolean[], int)} with {@code perCall} frames a session call. */
  float[] encodeImages(float[] pixelValues, boolean[] pixelMask, int frames, int perCall) {
    Idefics3Config config = checkpoint.config();
    int side = config.vision().imageSize();
    int frameValues = config.vision().numChannels() * side * side;
    int maskValues = side * side;
    if (pixelValues.length != (long) frames * frameValues
        || pixelMask.length != (long) frames * maskValues) {
      throw new IllegalArgumentException(
          "encode_images of "
              + frames
              + " frames expects "
              + (long) frames * frameValues
              + " pixel values and "
              + (long) frames * maskValues
              + " mask values (frames x "
              + config.vision().numChannels()
              + " x "
              + side
              + " x "
              + side
              + "), got "
              + pixelValues.length
              + " and "
              + pixelMask.length);
    }
    int frameFeatures = config.imageSeqLen() * config.text().hiddenSize();
    float[] features = new float[Math.multiplyExact(frames, frameFeatures)];
    FloatDataBuffer allPixels = DataBuffers.of(pixelValues, true, false);
    BooleanDataBuffer allMask = DataBuffers.of(pixelMask, true, false);
    for (int start = 0; start < frames; start += perCall) {
      int count = Math.min(perCall, frames - start);
      try (TFloat32 pixels =
              TFloat32.tensorOf(
                  Shape.of(count, config.vision().numChannels(), side, side),
                  allPixels.slice((long) start * frameValues, (long) count * frameValues));
          TBool mask =
              TBool.tensorOf(
                  Shape.of(count, side, side),
                  allMask.slice((long) start * maskValues, (long) count * maskValues));
          Result result =
              bundle
                  .function(Idefics3Graph.ENCODE_IMAGES)
                  .call(Map.of("pixel_values", pixels, "pixel_attention_mask", mask))) {
        TFloat32 out = (TFloat32) result.get("image_features").orElseThrow();
        out.asRawTensor()
            .data()
            .asFloats()
            .read(features, start * frameFeatures, count * frameFeatures);
      }
    }
    return features;
  }

  /**
   * Runs {@value Idefics3Graph#LOGITS}: a full forward with explicit positions.
   *
   * @param imageFeatures (frames, image_seq_len, hidden) row-major, rows in image-token order
   * @return (batch, seq, vocab) row-major
   */
  public float[] logits(
      int[][] inputIds, int[][] attentionMask, int[][] positionIds, float[] imageFeatures) {
    checkImageSlots(inputIds, imageFeatures);
    try (TInt32 ids = matrix(inputIds);
        TInt32 mask = matrix(attentionMask);
        TInt32 positions = matrix(positionIds);
        TFloat32 features = features(imageFeatures);
        Result result =
            bundle
                .function(Idefics3Graph.LOGITS)
                .call(
                    Map.of(
                        "input_ids", ids,
                        "attention_mask", mask,
                        "position_ids", positions,
                        "image_features", features))) {
      return floats(result, "logits");
    }
  }

  /** Generated tokens per row: {@code tokens[b]} has max_new_tokens entries, pad after the end. */
  public record Generation(int[][] tokens, int[] lengths) {

    /** Row b's tokens up to and including its stop token. */
    public int[] row(int b) {
      return java.util.Arrays.copyOf(tokens[b], lengths[b]);
    }
  }

  /**
   * Runs {@value Idefics3Graph#GENERATE}: the whole decode loop in one session call.
   *
   * @param inputIds left-padded prompts (batch, seq)
   * @param attentionMask 1 on real tokens, 0 on left padding
   * @param imageFeatures (frames, image_seq_len, hidden), rows in image-token order
   */
  public Generation generate(
      int[][] inputIds, int[][] attentionMask, float[] imageFeatures, GenerationSettings settings) {
    checkImageSlots(inputIds, imageFeatures);
    Map<String, Tensor> inputs = new HashMap<>();
    try (TInt32 ids = matrix(inputIds);
        TInt32 mask = matrix(attentionMask);
        TFloat32 features = features(imageFeatures);
        TInt32 maxNew = TInt32.scalarOf(settings.maxNewTokens());
        TInt32 eos = TInt32.vectorOf(settings.eosTokenIds());
        TInt32 pad = TInt32.scalarOf(settings.padTokenId());
        Sampling sampling = new Sampling(settings, 0L)) {
      inputs.put("input_ids", ids);
      inputs.put("attention_mask", mask);
      inputs.put("image_features", features);
      inputs.put("max_new_tokens", maxNew);
      inputs.put("eos_token_ids", eos);
      inputs.put("pad_token_id", pad);
      sampling.addTo(inputs);
      try (Result result = bundle.function(Idefics3Graph.GENERATE).call(inputs)) {
        int batch = inputIds.length;
        int[][] rows = rowsOf(result, "tokens", batch, settings.maxNewTokens());
        TInt32 lengths = (TInt32) result.get("lengths").orElseThrow();
        int[] rowLengths = new int[batch];
        for (int b = 0; b < batch; b++) {
          rowLengths[b] = lengths.getInt(b);
        }
        return new Generation(rows, rowLengths);
      }
    }
  }

  /**
   * Whether this package has {@value Idefics3Graph#PREFILL_SLOTS} and {@value
   * Idefics3Graph#DECODE_SLOTS}, continuous batching (packages converted since).
   */
  public boolean canDecodeSlots() {
    JsonNode signatures = manifest.path("signatures");
    return signatures.has(Idefics3Graph.PREFILL_SLOTS)
        && signatures.has(Idefics3Graph.DECODE_SLOTS);
  }

  /**
   * The KV caches of a batch of slots, keys and values per layer (rows, kv_heads, capacity,
   * head_dim), as a session call returned them; closing frees them.
   */
  public static final class SlotCaches implements AutoCloseable {
    private final List<Tensor> tensors; // keys then values of each layer
    private final AutoCloseable owner; // the call's Result, or the tensors themselves

    private SlotCaches(List<Tensor> tensors, AutoCloseable owner) {
      this.tensors = tensors;
      this.owner = owner;
    }

    private static SlotCaches of(Result result, int layers) {
      List<Tensor> tensors = new ArrayList<>(2 * layers);
      for (int i = 0; i < 2 * layers; i++) {
        tensors.add(result.get(Idefics3Graph.cacheName("", i)).orElseThrow());
      }
      return new SlotCaches(tensors, result);
    }

    /** Keys then values of each layer (the tests read them). */
    List<Tensor> tensors() {
      return Collections.unmodifiableList(tensors);
    }

    /** Caches of {@code rows} rows and no slots, of the same dtype and heads as these. */
    public SlotCaches emptyLike(int rows) {
      return emptyLike(rows, 0);
    }

    /** Caches of {@code rows} rows and {@code slots} slots, zeros, like these. */
    private SlotCaches emptyLike(int rows, int slots) {
      List<Tensor> empty = new ArrayList<>(tensors.size());
      for (Tensor like : tensors) {
        Shape shape = like.shape();
        empty.add(
            Tensor.of(((TType) like).type(), Shape.of(rows, shape.get(1), slots, shape.get(3))));
      }
      return new SlotCaches(empty, () -> empty.forEach(Tensor::close));
    }

    @Override
    public void close() {
      try {
        owner.close();
      } catch (Exception e) {
        throw new IllegalStateException("closing slot caches", e);
      }
    }
  }

  /** Prompts prefilled for free slots: each row's first token and its caches. */
  public record SlotPrefill(int[] firstTokens, SlotCaches caches) implements AutoCloseable {
    @Override
    public void close() {
      caches.close();
    }
  }

  /**
   * Runs {@value Idefics3Graph#PREFILL_SLOTS}: the prompts' forward, each row's first token (draw
   * {@code draw} of the seed when sampling) and its caches grown to {@code capacity} slots.
   *
   * @param inputIds left-padded prompts (rows, seq), seq &lt;= capacity
   * @param imageFeatures (frames, image_seq_len, hidden), rows in image-token order
   */
  public SlotPrefill prefillSlots(
      int[][] inputIds,
      int[][] attentionMask,
      float[] imageFeatures,
      int capacity,
      GenerationSettings settings,
      long draw) {
    checkImageSlots(inputIds, imageFeatures);
    Map<String, Tensor> inputs = new HashMap<>();
    try (TInt32 ids = matrix(inputIds);
        TInt32 mask = matrix(attentionMask);
        TFloat32 features = features(imageFeatures);
        TInt32 slots = TInt32.scalarOf(capacity);
        Sampling sampling = new Sampling(settings, draw)) {
      inputs.put("input_ids", ids);
      inputs.put("attention_mask", mask);
      inputs.put("image_features", features);
      inputs.put("capacity", slots);
      sampling.addTo(inputs);
      Result result = bundle.function(Idefics3Graph.PREFILL_SLOTS).call(inputs);
      TInt32 first = (TInt32) result.get("token").orElseThrow();
      int[] tokens = new int[inputIds.length];
      for (int b = 0; b < tokens.length; b++) {
        tokens[b] = first.getInt(b);
      }
      return new SlotPrefill(tokens, SlotCaches.of(result, layers()));
    }
  }

  /**
   * What {@value Idefics3Graph#DECODE_SLOTS} carries from call to call, per slot (row): arrays the
   * caller fills for the rows it inserts and {@link #decodeSlots} updates in place.
   *
   * @param token the token to feed next
   * @param finished whether the row is done (or empty)
   * @param lengths tokens generated so far, the first included
   * @param slotMask (rows, capacity) 1 on cache slots that hold real tokens
   * @param position the RoPE position of token
   * @param slot the cache slot token goes into
   * @param maxNewTokens the row's limit on lengths
   */
  public record SlotState(
      int[] token,
      boolean[] finished,
      int[] lengths,
      int[][] slotMask,
      int[] position,
      int[] slot,
      int[] maxNewTokens) {}

  /** A decode_slots call's tokens, (rows, steps) pad after a row finishes, and its caches. */
  public record SlotDecode(int[][] tokens, SlotCaches caches) {}

  /**
   * Runs {@value Idefics3Graph#DECODE_SLOTS}: puts {@code inserted}'s caches into the rows {@code
   * insertRows} of {@code caches} (grown to {@code capacity}), then decodes every unfinished row
   * until {@code finishedLimit} rows are finished or {@code steps} are out. {@code state} is
   * updated in place; the caller closes {@code caches} and {@code inserted} afterwards and passes
   * the returned caches to the next call.
   *
   * @param inserted null when no row is inserted
   * @param draw the seed's draw of this call's first step, when sampling
   */
  public SlotDecode decodeSlots(
      SlotCaches caches,
      SlotPrefill inserted,
      int[] insertRows,
      SlotState state,
      int capacity,
      int steps,
      int finishedLimit,
      GenerationSettings settings,
      long draw) {
    int rows = state.token().length;
    Map<String, Tensor> inputs = new HashMap<>();
    // no row inserted: zero rows, of the slots' shape (B, kv, capacity, hd) but B
    try (SlotCaches none = inserted == null ? caches.emptyLike(0, capacity) : null;
        TInt32 slots = TInt32.scalarOf(capacity);
        TInt32 rowsToInsert = TInt32.vectorOf(insertRows);
        TInt32 token = TInt32.vectorOf(state.token());
        TBool finished = TBool.vectorOf(state.finished());
        TInt32 lengths = TInt32.vectorOf(state.lengths());
        TInt32 slotMask = matrix(state.slotMask());
        TInt32 position = TInt32.vectorOf(state.position());
        TInt32 slot = TInt32.vectorOf(state.slot());
        TInt32 maxNew = TInt32.vectorOf(state.maxNewTokens());
        TInt32 stepLimit = TInt32.scalarOf(steps);
        TInt32 limit = TInt32.scalarOf(finishedLimit);
        TInt32 eos = TInt32.vectorOf(settings.eosTokenIds());
        TInt32 pad = TInt32.scalarOf(settings.padTokenId());
        Sampling sampling = new Sampling(settings, draw)) {
      SlotCaches insert = inserted == null ? none : inserted.caches();
      for (int i = 0; i < caches.tensors.size(); i++) {
        inputs.put(Idefics3Graph.cacheName("", i), caches.tensors.get(i));
        inputs.put(Idefics3Graph.cacheName("insert_", i), insert.tensors.get(i));
      }
      inputs.put("capacity", slots);
      inputs.put("insert_rows", rowsToInsert);
      inputs.put("token", token);
      inputs.put("finished", finished);
      inputs.put("lengths", lengths);
      inputs.put("slot_mask", slotMask);
      inputs.put("position", position);
      inputs.put("slot", slot);
      inputs.put("max_new_tokens", maxNew);
      inputs.put("steps", stepLimit);
      inputs.put("finished_limit", limit);
      inputs.put("eos_token_ids", eos);
      inputs.put("pad_token_id", pad);
      sampling.addTo(inputs);
      Result result = bundle.function(Idefics3Graph.DECODE_SLOTS).call(inputs);
      int[][] out = rowsOf(result, "tokens", rows, steps);
      int[][] nextSlotMask = rowsOf(result, "slot_mask", rows, capacity);
      TInt32 nextToken = (TInt32) result.get("token").orElseThrow();
      TBool nextFinished = (TBool) result.get("finished").orElseThrow();
      TInt32 nextLengths = (TInt32) result.get("lengths").orElseThrow();
      TInt32 nextPosition = (TInt32) result.get("position").orElseThrow();
      TInt32 nextSlot = (TInt32) result.get("slot").orElseThrow();
      for (int b = 0; b < rows; b++) {
        state.token()[b] = nextToken.getInt(b);
        state.finished()[b] = nextFinished.getBoolean(b);
        state.lengths()[b] = nextLengths.getInt(b);
        state.position()[b] = nextPosition.getInt(b);
        state.slot()[b] = nextSlot.getInt(b);
        state.slotMask()[b] = nextSlotMask[b];
      }
      return new SlotDecode(out, SlotCaches.of(result, layers()));
    }
  }

  /** The sampling inputs of a call, draw {@code draw} of the settings' seed. */
  private static final class Sampling implements AutoCloseable {
    private final TBool doSample;
    private final TFloat32 temperature;
    private final TInt32 topK;
    private final TFloat32 topP;
    private final TInt64 seed;

    Sampling(GenerationSettings settings, long draw) {
      doSample = TBool.scalarOf(settings.doSample());
      temperature = TFloat32.scalarOf(settings.temperature());
      topK = TInt32.scalarOf(settings.topK());
      topP = TFloat32.scalarOf(settings.topP());
      seed = TInt64.vectorOf(settings.seed(), draw);
    }

    void addTo(Map<String, Tensor> inputs) {
      inputs.put("do_sample", doSample);
      inputs.put("temperature", temperature);
      inputs.put("top_k", topK);
      inputs.put("top_p", topP);
      inputs.put("seed", seed);
    }

    @Override
    public void close() {
      doSample.close();
      temperature.close();
      topK.close();
      topP.close();
      seed.close();
    }
  }

  /** The int32 output {@code name} of shape (rows, width) as rows. */
  private static int[][] rowsOf(Result result, String name, int rows, int width) {
    TInt32 tensor = (TInt32) result.get(name).orElseThrow();
    int[] flat = new int[rows * width];
    tensor.asRawTensor().data().asInts().read(flat);
    int[][] out = new int[rows][];
    for (int b = 0; b < rows; b++) {
      out[b] = Arrays.copyOfRange(flat, b * width, (b + 1) * width);
    }
    return out;
  }

  private int layers() {
    return checkpoint.config().text().numHiddenLayers();
  }

  /** Whether this package has {@value Idefics3Graph#SCORE_OPTIONS} (packages converted since). */
  public boolean canScoreOptions() {
    return manifest.path("signatures").has(Idefics3Graph.SCORE_OPTIONS);
  }

  /**
   * Runs {@value Idefics3Graph#SCORE_OPTIONS}: every option's log-probability as the continuation
   * of its prompt, all options of a row from one forward over the prompt.
   *
   * @param inputIds left-padded prompts (batch, seq)
   * @param attentionMask 1 on real tokens, 0 on left padding
   * @param imageFeatures (frames, image_seq_len, hidden), rows in image-token order
   * @param optionIds (batch, options, option_len): each option's tokens, padded at the end
   * @param optionMask (batch, options, option_len): 1 on an option's tokens, 0 on padding
   * @return (batch, options): the sum of the option's tokens' log-softmax
   * @throws IllegalStateException when the package was converted before the signature existed
   */
  public float[][] scoreOptions(
      int[][] inputIds,
      int[][] attentionMask,
      float[] imageFeatures,
      int[][][] optionIds,
      int[][][] optionMask) {
    if (!canScoreOptions()) {
      throw new IllegalStateException(
          "model package "
              + dir
              + " has no "
              + Idefics3Graph.SCORE_OPTIONS
              + " signature (it was converted by an older build; its signatures: "
              + manifest.path("signatures").properties().stream().map(Map.Entry::getKey).toList()
              + "), which likelihood scoring of options (--mc-scoring likelihood) runs; convert"
              + " the checkpoint again (convert CHECKPOINT_DIR PACKAGE_DIR) and set --model to"
              + " the new package, or use --mc-scoring generate");
    }
    checkImageSlots(inputIds, imageFeatures);
    int batch = inputIds.length;
    int options = batch == 0 ? 0 : optionIds[0].length;
    int length = options == 0 ? 0 : optionIds[0][0].length;
    try (TInt32 ids = matrix(inputIds);
        TInt32 mask = matrix(attentionMask);
        TFloat32 features = features(imageFeatures);
        TInt32 optionTensor = cube(optionIds, options, length);
        TInt32 optionMaskTensor = cube(optionMask, options, length);
        Result result =
            bundle
                .function(Idefics3Graph.SCORE_OPTIONS)
                .call(
                    Map.of(
                        "input_ids", ids,
                        "attention_mask", mask,
                        "image_features", features,
                        "option_ids", optionTensor,
                        "option_mask", optionMaskTensor))) {
      TFloat32 scores = (TFloat32) result.get("option_logprobs").orElseThrow();
      float[][] out = new float[batch][options];
      for (int b = 0; b < batch; b++) {
        for (int k = 0; k < options; k++) {
          out[b][k] = scores.getFloat(b, k);
        }
      }
      return out;
    }
  }

  /** (batch, options, length) of equal-sized rows. */
  private static TInt32 cube(int[][][] values, int options, int length) {
    int[] flat = new int[values.length * options * length];
    int at = 0;
    for (int b = 0; b < values.length; b++) {
      if (values[b].length != options) {
        throw new IllegalArgumentException(
            "row "
                + b
                + " has "
                + values[b].length
                + " options, row 0 has "
                + options
                + ": pad them");
      }
      for (int[] option : values[b]) {
        if (option.length != length) {
          throw new IllegalArgumentException(
              "an option of row " + b + " has " + option.length + " tokens, expected " + length);
        }
        System.arraycopy(option, 0, flat, at, length);
        at += length;
      }
    }
    return TInt32.tensorOf(
        Shape.of(values.length, options, length), DataBuffers.of(flat, true, false));
  }

  /** Fails, naming both counts, unless the image tokens of the prompts match the feature rows. */
  private void checkImageSlots(int[][] inputIds, float[] imageFeatures) {
    Idefics3Config config = checkpoint.config();
    long slots = 0;
    for (int[] row : inputIds) {
      for (int id : row) {
        slots += id == config.imageTokenId() ? 1 : 0;
      }
    }
    long rows = imageFeatures.length / config.text().hiddenSize();
    if (slots != rows) {
      throw new IllegalArgumentException(
          "the prompts hold "
              + slots
              + " image tokens (id "
              + config.imageTokenId()
              + ") but the image features have "
              + rows
              + " rows ("
              + rows / config.imageSeqLen()
              + " frames x "
              + config.imageSeqLen()
              + "); each frame needs image_seq_len tokens in the prompt");
    }
  }

  private TFloat32 features(float[] imageFeatures) {
    Idefics3Config config = checkpoint.config();
    int perFrame = config.imageSeqLen() * config.text().hiddenSize();
    if (imageFeatures.length % perFrame != 0) {
      throw new IllegalArgumentException(
          "image features hold "
              + imageFeatures.length
              + " values, not a whole number of frames of "
              + config.imageSeqLen()
              + " x "
              + config.text().hiddenSize());
    }
    return TFloat32.tensorOf(
        Shape.of(imageFeatures.length / perFrame, config.imageSeqLen(), config.text().hiddenSize()),
        DataBuffers.of(imageFeatures, true, false));
  }

  private static TInt32 matrix(int[][] rows) {
    int width = rows.length == 0 ? 0 : rows[0].length;
    int[] flat = new int[rows.length * width];
    for (int b = 0; b < rows.length; b++) {
      if (rows[b].length != width) {
        throw new IllegalArgumentException(
            "row " + b + " has " + rows[b].length + " tokens, row 0 has " + width + ": pad them");
      }
      System.arraycopy(rows[b], 0, flat, b * width, width);
    }
    return TInt32.tensorOf(Shape.of(rows.length, width), DataBuffers.of(flat, true, false));
  }

  private static float[] floats(Result result, String name) {
    TFloat32 tensor = (TFloat32) result.get(name).orElseThrow();
    float[] out = new float[Math.toIntExact(tensor.shape().size())];
    tensor.asRawTensor().data().asFloats().read(out);
    return out;
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(path);
      }
    }
  }

  private static void checkVariablesWritten(Path target) throws IOException {
    Path index = target.resolve("variables").resolve("variables.index");
    if (!Files.isRegularFile(index) || Files.size(index) == 0) {
      throw new IOException(
          "export wrote no weights ("
              + index
              + " missing): the resource-variable saver ops were not used");
    }
  }

  @Override
  public void close() {
    bundle.close();
  }
}
