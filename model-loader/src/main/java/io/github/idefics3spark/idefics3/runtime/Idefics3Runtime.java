package io.github.idefics3spark.idefics3.runtime;

import io.github.idefics3spark.idefics3.checkpoint.CheckpointException;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.checkpoint.PreprocessorConfig;
import io.github.idefics3spark.idefics3.processor.ChatMessage;
import io.github.idefics3spark.idefics3.processor.EncodedPrompt;
import io.github.idefics3spark.idefics3.processor.Idefics3ImageProcessor;
import io.github.idefics3spark.idefics3.processor.Idefics3Processor;
import io.github.idefics3spark.idefics3.processor.ImageGrid;
import io.github.idefics3spark.idefics3.processor.PromptBatch;
import io.github.idefics3spark.idefics3.processor.PromptException;
import io.github.idefics3spark.image.ImageDecodeException;
import io.github.idefics3spark.image.ImageDecoder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An Idefics3 model ready to answer: a converted package loaded once, with its image processor,
 * chat template and tokenizer. Turns {@link Idefics3Request}s into {@link Idefics3Answer}s. (The
 * batch runtime around the graph; transformers' {@code Idefics3Model} is the graph's backbone, see
 * {@code graph.Idefics3Graph}.)
 *
 * <p>Safe to share between threads: the TensorFlow session serves concurrent calls, and the
 * processors hold no per-call state. Load it once per JVM (an executor) and close it at the end.
 *
 * <p>A request that cannot be answered (an unreadable image, images that do not match the
 * conversation, a prompt longer than the context) gets an answer with its error set; the other
 * requests of the call are answered as usual.
 *
 * <p>Per request, before any work: a text longer than {@link ModelSettings#maxQuestionChars()} and
 * an encoded image larger than {@link ModelSettings#maxImageBytes()} are refused. Each image is
 * decoded and resized on one of at most {@link #DECODE_THREADS} threads of the loaded package
 * (shared by every {@link #withSettings} view), the next batch's while the session runs the current
 * one ({@link #prepare}); once its batch is answered the wait is {@link
 * ModelSettings#imageDecodeTimeoutMs()} at most: past it the decode is cancelled (interrupted) and
 * the request answered with a {@code TOO_LARGE} error.
 *
 * <p>Generating requests share {@link ModelSettings#batchSize()} slots ({@link ContinuousBatch},
 * {@link #answering}): each takes a slot as soon as one frees, rather than waiting for the longest
 * answer of its batch; packages converted before the slot signatures, or {@link
 * ModelSettings#continuousBatching()} off, decode in static batches.
 *
 * <p>Requests sharing an image (the same bytes) decode and encode it once: within a batch always,
 * across batches through an {@link ImageFeatureCache} ({@link ModelSettings#imageCacheMb()} per
 * {@link #answer(List)} call, or the caller's, one per partition); 0 MiB turns both off. The vision
 * encoder reads each frame on its own, so a cached image's features are the ones it would get (up
 * to the float rounding of another batch shape; greedy tokens matched on the fixtures). Java's
 * image readers may ignore the interrupt; such a decode keeps its thread until it ends, so stuck
 * decodes hold at most {@link #DECODE_THREADS} threads, and once all are held later images wait in
 * the queue and time out in turn instead of starting more threads.
 */
public final class Idefics3Runtime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Idefics3Runtime.class);

  /** The most threads decoding images at once for one loaded package: the cores, at least 2. */
  public static final int DECODE_THREADS = Math.max(2, Runtime.getRuntime().availableProcessors());

  private final Idefics3Package pkg;
  private final Idefics3Processor processor;
  private final Idefics3ImageProcessor imageProcessor;
  private final ImageDecoder decoder;
  private final ModelSettings settings;
  private final GenerationSettings generation;
  private final int frameSide;
  private final boolean ownsPackage;
  private final ThreadPoolExecutor decodeThreads;
  private final AtomicLong framesEncoded;
  private final AtomicLong slotPrefills = new AtomicLong();
  private final AtomicLong modelFailures = new AtomicLong();

  /** What changes an image's pixels besides its bytes, for {@link ImageFeatureCache} keys. */
  private final String processorKey;

  private Idefics3Runtime(Idefics3Package pkg, ModelSettings settings) {
    this(
        pkg,
        Idefics3Processor.load(pkg.checkpoint()),
        settings,
        true,
        decodeThreads(),
        new AtomicLong());
  }

  private Idefics3Runtime(
      Idefics3Package pkg,
      Idefics3Processor processor,
      ModelSettings settings,
      boolean ownsPackage,
      ThreadPoolExecutor decodeThreads,
      AtomicLong framesEncoded) {
    this.pkg = pkg;
    this.decodeThreads = decodeThreads;
    this.framesEncoded = framesEncoded;
    this.settings = settings;
    this.ownsPackage = ownsPackage;
    Idefics3Checkpoint checkpoint = pkg.checkpoint();
    this.processor = processor;
    PreprocessorConfig preprocessor = checkpoint.preprocessor();
    if (settings.longestEdge() > 0) {
      preprocessor = preprocessor.withLongestEdge(settings.longestEdge());
    }
    preprocessor = preprocessor.withImageSplitting(settings.imageSplitting());
    this.imageProcessor = new Idefics3ImageProcessor(preprocessor);
    this.processorKey =
        "longest_edge="
            + preprocessor.longestEdge()
            + " splitting="
            + preprocessor.doImageSplitting();
    this.frameSide = checkpoint.config().vision().imageSize();
    if (imageProcessor.frameSide() != frameSide) {
      throw new CheckpointException(
          "preprocessor_config.json: max_image_size.longest_edge is "
              + imageProcessor.frameSide()
              + " but the vision encoder reads frames of "
              + frameSide
              + " (config.json vision_config.image_size); the files come from different"
              + " checkpoints");
    }
    this.decoder = new ImageDecoder(settings.maxImagePixels(), "max_image_pixels");
    int pad =
        processor
            .padTokenId()
            .orElse(GenerationSettings.greedy(checkpoint.generation(), 1).padTokenId());
    int[] eos = eosTokenIds(processor, settings.stopTokens());
    GenerationSettings greedy =
        new GenerationSettings(settings.maxNewTokens(), eos, pad, false, 1f, 0, 1f, 0L);
    this.generation =
        settings.doSample()
            ? greedy.sampling(
                settings.temperature(), settings.topK(), settings.topP(), settings.seed())
            : greedy;
  }

  /**
   * The ids that end an answer: the processor's (generation_config.json's eos_token_id) and those
   * of the {@code stopTokens} the tokenizer has as one token, in that order, each once. A stop
   * string that is a single added token (SmolDocling's {@code </doctag>}) is matched exactly by its
   * id; one the tokenizer splits into several tokens is not supported and left out.
   */
  static int[] eosTokenIds(Idefics3Processor processor, List<String> stopTokens) {
    LinkedHashSet<Integer> ids = new LinkedHashSet<>(processor.eosTokenIds());
    for (String token : stopTokens) {
      processor.tokenizer().tokenId(token).ifPresent(ids::add);
    }
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Loads the package at {@code packageDir} (made by {@code convert}) with these settings. */
  public static Idefics3Runtime load(Path packageDir, ModelSettings settings) throws IOException {
    return load(packageDir, settings, "");
  }

  /**
   * Loads the package onto the given GPUs ({@code visibleGpus}: comma-separated GPU ids, as a Spark
   * task's GPU addresses; empty for every GPU the process sees, or on CPU).
   */
  public static Idefics3Runtime load(Path packageDir, ModelSettings settings, String visibleGpus)
      throws IOException {
    Idefics3Package pkg = Idefics3Package.load(packageDir, settings.intraOpThreads(), visibleGpus);
    try {
      return new Idefics3Runtime(pkg, settings);
    } catch (RuntimeException e) {
      pkg.close();
      throw e;
    }
  }

  public ModelSettings settings() {
    return settings;
  }

  /**
   * This loaded model run with other settings (batch size, decoding, image resolution), at no load
   * cost: the returned model shares this one's package (graph, weights, TensorFlow session) and
   * processor. Closing it does nothing; close this model once neither is used any more.
   *
   * @throws IllegalArgumentException when {@code settings} asks for other intra-op threads than the
   *     session was loaded with
   */
  public Idefics3Runtime withSettings(ModelSettings settings) {
    if (settings.intraOpThreads() != this.settings.intraOpThreads()) {
      throw new IllegalArgumentException(
          "setting intra_op_threads is "
              + settings.intraOpThreads()
              + " but the loaded session runs "
              + this.settings.intraOpThreads()
              + "; load the package again for other threads");
    }
    return new Idefics3Runtime(pkg, processor, settings, false, decodeThreads, framesEncoded);
  }

  /**
   * The bounded decode pool: {@link #DECODE_THREADS} daemon threads at most, which end after a
   * minute idle; the queue holds the images waiting for one.
   */
  private static ThreadPoolExecutor decodeThreads() {
    AtomicInteger count = new AtomicInteger();
    ThreadFactory factory =
        task -> {
          Thread thread = new Thread(task, "idefics3-image-decode-" + count.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        };
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            DECODE_THREADS,
            DECODE_THREADS,
            60,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            factory);
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /** Threads now running an image decode (busy threads of the pool), for tests and monitoring. */
  public int decodeThreadsBusy() {
    return decodeThreads.getActiveCount();
  }

  /**
   * Frames the vision encoder has read since the package was loaded, by this model and every {@link
   * #withSettings} view of it, for tests and monitoring.
   */
  public long framesEncoded() {
    return framesEncoded.get();
  }

  /**
   * {@code prefill_slots} calls by this view so far: with continuous batching, requests are
   * prefilled when they find free slots, those admitted together in one call.
   */
  public long slotPrefills() {
    return slotPrefills.get();
  }

  /**
   * Session calls by this view that failed on a batch or on the slots, after which each of their
   * requests was answered alone (a request that fails alone too gets a {@code MODEL_FAILURE}
   * answer): 0 unless a model call failed.
   */
  public long modelFailures() {
    return modelFailures.get();
  }

  public Idefics3Checkpoint checkpoint() {
    return pkg.checkpoint();
  }

  /** The package folder this model was loaded from. */
  public Path packageDir() {
    return pkg.dir();
  }

  /** Into how many parts the package's large products are split (convert's --split-products). */
  public int productSplits() {
    return pkg.productSplits();
  }

  /**
   * Whether the package can rank options by likelihood ({@link Idefics3Request#options}): it was
   * converted with the {@code score_options} signature.
   */
  public boolean canScoreOptions() {
    return pkg.canScoreOptions();
  }

  /** The chat template, tokenizer and image-token expansion of the checkpoint. */
  public Idefics3Processor processor() {
    return processor;
  }

  /**
   * Answers the requests, in order, in batches of at most {@link ModelSettings#batchSize()}. Put
   * requests of similar prompt length together: a batch is padded to its longest prompt. Requests
   * of the call that share an image encode it once, within {@link ModelSettings#imageCacheMb()}.
   */
  public List<Idefics3Answer> answer(List<Idefics3Request> requests) {
    int images = 0;
    for (Idefics3Request request : requests) {
      images += request.images().size();
    }
    // one image cannot be shared: no hashing (a SQL function's call)
    int megabytes = images < 2 ? 0 : settings.imageCacheMb();
    return answer(requests, ImageFeatureCache.ofMegabytes(megabytes));
  }

  /**
   * Answers the requests, in order, in batches of at most {@link ModelSettings#batchSize()},
   * reusing and filling {@code cache}. Requests that rank options and requests that generate go in
   * batches of their own kind. The next batch's images are decoded and resized on the decode pool
   * while the session runs the current one.
   */
  public List<Idefics3Answer> answer(List<Idefics3Request> requests, ImageFeatureCache cache) {
    List<List<Integer>> batches = new ArrayList<>();
    for (boolean scoring : new boolean[] {false, true}) {
      List<Integer> kind = new ArrayList<>();
      for (int i = 0; i < requests.size(); i++) {
        if (requests.get(i).scoresOptions() == scoring) {
          kind.add(i);
        }
      }
      for (int start = 0; start < kind.size(); start += settings.batchSize()) {
        batches.add(kind.subList(start, Math.min(kind.size(), start + settings.batchSize())));
      }
    }
    record Batch(List<Integer> positions, PreparedBatch prepared) {}
    Iterator<List<Integer>> pending = batches.iterator();
    Idefics3Answer[] answers = new Idefics3Answer[requests.size()];
    answerAll(
        () -> {
          if (!pending.hasNext()) {
            return null;
          }
          List<Integer> positions = pending.next();
          return new Batch(positions, prepare(pick(requests, positions), cache));
        },
        Batch::prepared,
        (batch, batchAnswers) -> {
          for (int j = 0; j < batch.positions().size(); j++) {
            answers[batch.positions().get(j)] = batchAnswers.get(j);
          }
        });
    return Arrays.asList(answers);
  }

  /**
   * Answers batches made by {@link #prepare}, one after another, and hands each to {@code answered}
   * with its answers (in its requests' order) once all of them are answered: {@link #answering} run
   * to the end.
   *
   * @param next the next batch, or null when there are no more; taking it should {@link #prepare}
   *     it, so that its images decode while the model works
   * @param preparedOf the prepared batch of a batch, null for one with nothing to ask
   */
  public <B> void answerAll(
      Supplier<B> next,
      Function<B, PreparedBatch> preparedOf,
      BiConsumer<B, List<Idefics3Answer>> answered) {
    try (Answering<B> answering = answering(next, preparedOf, answered)) {
      while (answering.advance()) {
        // each advance hands at least one batch to answered
      }
    }
  }

  /**
   * Batches made by {@link #prepare} answered a step at a time, for a caller that hands answers on
   * as they come (a partition's iterator). With a package that has continuous batching ({@link
   * Idefics3Package#canDecodeSlots}) and {@link ModelSettings#continuousBatching()} on, the
   * generating requests of every batch share {@link ModelSettings#batchSize()} slots ({@link
   * ContinuousBatch}): a request takes a slot as soon as one frees, and a batch is taken from
   * {@code next} as soon as the slots could use its requests, so batches may be answered out of
   * order, and the slots stay full across all of them. Otherwise each batch is answered on its own,
   * the next one taken (and so prepared) while it runs.
   *
   * <p>When the model fails on a batch, each of its requests is tried alone; one that fails alone
   * gets a {@code MODEL_FAILURE} answer and the others go on. Each such failure is logged (WARN,
   * with its cause) and counted ({@link Answering#modelFailures}). A package without a signature
   * the requests need (options scored by an older package) stops the call: IllegalStateException.
   *
   * @param next the next batch, or null when there are no more; taking it should {@link #prepare}
   *     it, so that its images decode while the model works
   * @param preparedOf the prepared batch of a batch, null for one with nothing to ask
   * @param answered receives each batch with its answers, in its requests' order
   */
  public <B> Answering<B> answering(
      Supplier<B> next,
      Function<B, PreparedBatch> preparedOf,
      BiConsumer<B, List<Idefics3Answer>> answered) {
    return new Answering<>(next, preparedOf, answered);
  }

  /**
   * Batches being answered (see {@link #answering}); close it to free the slots' caches if it is
   * left before the end.
   */
  public final class Answering<B> implements AutoCloseable {
    private final Supplier<B> next;
    private final Function<B, PreparedBatch> preparedOf;
    private final BiConsumer<B, List<Idefics3Answer>> answered;
    private final boolean slotted;
    private ContinuousBatch<Slotted<B>> slots;
    private B upcoming;
    private boolean started;
    private long handed; // batches handed to answered
    private long failures; // model calls that failed, their requests then answered alone

    private Answering(
        Supplier<B> next,
        Function<B, PreparedBatch> preparedOf,
        BiConsumer<B, List<Idefics3Answer>> answered) {
      this.next = next;
      this.preparedOf = preparedOf;
      this.answered = answered;
      this.slotted = settings.continuousBatching() && pkg.canDecodeSlots();
      this.slots = slotted ? newSlots() : null;
    }

    /**
     * Works until at least one more batch is handed to {@code answered}; false once every batch has
     * been (nothing was left).
     */
    public boolean advance() {
      if (!started) {
        upcoming = next.get();
        started = true;
      }
      long before = handed;
      if (!slotted) {
        if (upcoming == null) {
          return false;
        }
        B current = upcoming;
        upcoming = next.get(); // its images decode while this one runs
        PreparedBatch prepared = preparedOf.apply(current);
        hand(current, prepared == null ? List.of() : answerOrAlone(prepared));
        return true;
      }
      while (handed == before) {
        // take batches while the slots would run short of requests
        while (upcoming != null && slots.queued() < slots.free()) {
          B current = upcoming;
          upcoming = next.get(); // its images decode on the pool from now on
          stage(current);
        }
        if (slots.idle()) {
          if (upcoming == null) {
            close();
            return handed > before;
          }
          continue;
        }
        try {
          slots.step(upcoming != null, this::done);
        } catch (RuntimeException failure) {
          // each request in the slots or queued, alone
          List<ContinuousBatch.Entry<Slotted<B>>> stranded = slots.drain();
          failed("the continuous-batching slots (" + stranded.size() + " requests)", failure);
          slotPrefills.addAndGet(slots.prefillCalls());
          slots = newSlots();
          for (ContinuousBatch.Entry<Slotted<B>> entry : stranded) {
            OpenBatch<B> open = entry.key().open();
            int index = entry.key().index();
            open.staged.answers()[index] =
                answerAlone(open.prepared.requests.get(index), open.prepared.cache);
            finishOne(open);
          }
        }
      }
      return true;
    }

    private ContinuousBatch<Slotted<B>> newSlots() {
      return new ContinuousBatch<>(pkg, processor, generation, settings.batchSize());
    }

    private void hand(B batch, List<Idefics3Answer> answers) {
      handed++;
      answered.accept(batch, answers);
    }

    /**
     * Encodes the batch's images, answers its failures and option scores at once and queues its
     * generating requests for the slots.
     */
    private void stage(B batch) {
      PreparedBatch prepared = preparedOf.apply(batch);
      if (prepared == null) {
        hand(batch, List.of());
        return;
      }
      Staged staged;
      try {
        staged = Idefics3Runtime.this.stage(prepared);
        scoreOptions(staged);
      } catch (IllegalStateException packageTooOld) {
        throw packageTooOld;
      } catch (RuntimeException failure) {
        LOG.warn(
            "the model failed on taking a batch of {} requests into the slots; answering it as a"
                + " batch of its own: {}",
            prepared.requests.size(),
            failure.toString(),
            failure);
        hand(batch, answerOrAlone(prepared));
        return;
      } finally {
        prepared.release();
      }
      OpenBatch<B> open = new OpenBatch<>(batch, prepared, staged);
      if (open.missing == 0) {
        hand(batch, Arrays.asList(staged.answers()));
        return;
      }
      for (int i : staged.generating()) {
        slots.add(
            new ContinuousBatch.Entry<>(
                new Slotted<>(open, i),
                staged.prepared()[i].prompt(),
                staged.featuresOf(List.of(i)),
                maxNewTokens(prepared.requests.get(i))));
      }
    }

    private void done(Slotted<B> at, int[] tokens, long nanos) {
      OpenBatch<B> open = at.open();
      open.staged.answers()[at.index()] =
          generated(open.staged, at.index(), tokens, open.staged.encodeNanos(), nanos);
      finishOne(open);
    }

    private void finishOne(OpenBatch<B> open) {
      open.missing--;
      if (open.missing == 0) {
        hand(open.batch, Arrays.asList(open.staged.answers()));
      }
    }

    /** The batch's answers; when the model fails on it, each request's alone. */
    private List<Idefics3Answer> answerOrAlone(PreparedBatch batch) {
      try {
        return answer(batch);
      } catch (IllegalStateException packageTooOld) {
        throw packageTooOld; // a signature the requests need is missing: no request can do better
      } catch (RuntimeException batchFailure) {
        failed("a batch of " + batch.requests.size() + " requests", batchFailure);
        List<Idefics3Answer> answers = new ArrayList<>(batch.requests.size());
        for (Idefics3Request request : batch.requests) {
          answers.add(answerAlone(request, batch.cache));
        }
        return answers;
      }
    }

    /**
     * Counts and logs a model call that failed on {@code what}, whose requests are then answered
     * one by one: slower, and a sign of something to fix (memory, most often), which the answers
     * themselves do not show when each request succeeds alone.
     */
    private void failed(String what, RuntimeException failure) {
      modelFailures.incrementAndGet();
      failures++;
      LOG.warn(
          "the model failed on {}; answering each of its requests alone: {}",
          what,
          failure.toString(),
          failure);
    }

    /**
     * Model calls of this answering that failed on a batch or on the slots, after which each of
     * their requests was answered alone ({@link Idefics3Runtime#modelFailures} counts those of
     * every answering of this view).
     */
    public long modelFailures() {
      return failures;
    }

    @Override
    public void close() {
      if (slots != null) {
        slotPrefills.addAndGet(slots.prefillCalls());
        slots.close();
        slots = newSlots(); // empty: closing it again frees nothing twice
      }
    }
  }

  /** One request answered on its own, or a {@code MODEL_FAILURE} answer naming the failure. */
  private Idefics3Answer answerAlone(Idefics3Request request, ImageFeatureCache cache) {
    try {
      return answer(prepare(List.of(request), cache)).get(0);
    } catch (IllegalStateException packageTooOld) {
      throw packageTooOld;
    } catch (RuntimeException e) {
      return Idefics3Answer.failed(
          Idefics3Answer.ErrorKind.MODEL_FAILURE,
          "the model failed on this request: " + e,
          0,
          0,
          0);
    }
  }

  /** A staged batch whose generating requests are not all answered yet. */
  private static final class OpenBatch<B> {
    final B batch;
    final PreparedBatch prepared;
    final Staged staged;
    int missing;

    OpenBatch(B batch, PreparedBatch prepared, Staged staged) {
      this.batch = batch;
      this.prepared = prepared;
      this.staged = staged;
      this.missing = staged.generating().size();
    }
  }

  /** A request of an open batch, by its index in the batch, as the slots know it. */
  private record Slotted<B>(OpenBatch<B> open, int index) {}

  /** The request's limit on new tokens: its own, or the settings'. */
  private int maxNewTokens(Idefics3Request request) {
    return request.maxNewTokens() > 0 ? request.maxNewTokens() : settings.maxNewTokens();
  }

  private static List<Idefics3Request> pick(List<Idefics3Request> requests, List<Integer> at) {
    List<Idefics3Request> picked = new ArrayList<>(at.size());
    for (int i : at) {
      picked.add(requests.get(i));
    }
    return picked;
  }

  /**
   * Starts a batch: checks each request's text and image sizes, finds its images in {@code cache}
   * and submits the decoding and resizing of the others to the decode pool, then returns at once.
   * {@link #answer(PreparedBatch)} runs it; prepare the next batch before answering this one so
   * that its images decode while the session works. Requests of the batch sharing an image (same
   * bytes) share one decode and one encode unless {@code cache} is disabled.
   */
  public PreparedBatch prepare(List<Idefics3Request> batch, ImageFeatureCache cache) {
    PreparedBatch prepared = new PreparedBatch(List.copyOf(batch), cache);
    Map<String, Image> shared = new HashMap<>();
    for (Idefics3Request request : prepared.requests) {
      long start = System.nanoTime();
      List<Image> images = new ArrayList<>(request.images().size());
      long chars = textLength(request);
      if (chars <= settings.maxQuestionChars()) {
        for (byte[] encoded : request.images()) {
          images.add(image(encoded, cache, shared));
        }
      }
      prepared.images.add(images);
      prepared.prepareNanos.add(System.nanoTime() - start);
    }
    return prepared;
  }

  /**
   * A batch of requests whose images are decoding on the pool: made by {@link #prepare}, answered
   * by {@link #answer(PreparedBatch)} once.
   */
  public static final class PreparedBatch {
    private final List<Idefics3Request> requests;
    private final ImageFeatureCache cache;
    private final List<List<Image>> images = new ArrayList<>();
    private final List<Long> prepareNanos = new ArrayList<>();

    private PreparedBatch(List<Idefics3Request> requests, ImageFeatureCache cache) {
      this.requests = requests;
      this.cache = cache;
    }

    /** The requests, in order. */
    public List<Idefics3Request> requests() {
      return requests;
    }

    /** Hands the batch's finished decodes to the cache's decode table, once it is answered. */
    private void release() {
      for (List<Image> own : images) {
        for (Image image : own) {
          if (image.key != null && image.decode != null) {
            cache.decoded(image.key, image.decode);
          }
        }
      }
    }
  }

  /**
   * One image of a batch: its cache key (null when images are not reused), and what became of it:
   * its cached features, or its decode and then its frames and features, or why it has none.
   */
  private static final class Image {
    final byte[] encoded;
    final String key;
    Future<Timed> decode;
    ImageDecodeException failure;
    boolean resolved;
    ImageFeatureCache.Entry entry;
    Idefics3ImageProcessor.Frames frames;
    long decodeNanos;

    Image(byte[] encoded, String key) {
      this.encoded = encoded;
      this.key = key;
    }

    int frameCount() {
      return entry != null ? entry.frames() : frames.count();
    }

    ImageGrid grid() {
      return entry != null
          ? new ImageGrid(entry.rows(), entry.cols())
          : new ImageGrid(frames.rows(), frames.cols());
    }
  }

  /** Frames and the time the pool took to make them. */
  private record Timed(Idefics3ImageProcessor.Frames frames, long nanos) {}

  /** The batch's image for {@code encoded}: shared with the batch's others of the same bytes. */
  private Image image(byte[] encoded, ImageFeatureCache cache, Map<String, Image> shared) {
    long maxBytes = settings.maxImageBytes();
    if (maxBytes > 0 && encoded.length > maxBytes) {
      Image refused = new Image(encoded, null);
      refused.failure =
          new ImageDecodeException(
              ImageDecodeException.Reason.TOO_LARGE,
              "it is "
                  + encoded.length
                  + " bytes encoded, more than the limit of "
                  + maxBytes
                  + " (max_image_bytes); shrink the image or raise max_image_bytes (0: no"
                  + " limit)");
      return refused;
    }
    if (!cache.enabled()) {
      Image image = new Image(encoded, null);
      image.decode = submitDecode(encoded);
      return image;
    }
    String key = ImageFeatureCache.key(encoded, processorKey);
    Image image = shared.get(key);
    if (image != null) {
      return image;
    }
    image = new Image(encoded, key);
    shared.put(key, image);
    if (!cache.contains(key)) {
      image.decode = inFlight(cache, key);
      if (image.decode == null) {
        image.decode = submitDecode(encoded);
        cache.decoding(key, image.decode);
      }
    }
    return image;
  }

  /** The decode of {@code key} another batch started (this runtime's, hence of Timed), or null. */
  @SuppressWarnings("unchecked")
  private static Future<Timed> inFlight(ImageFeatureCache cache, String key) {
    return (Future<Timed>) cache.decoding(key);
  }

  private Future<Timed> submitDecode(byte[] encoded) {
    return decodeThreads.submit(
        () -> {
          long start = System.nanoTime();
          Idefics3ImageProcessor.Frames frames = imageProcessor.process(decoder.decode(encoded));
          return new Timed(frames, System.nanoTime() - start);
        });
  }

  /** One request's model inputs, or the answer that says why there are none. */
  private record Prepared(
      EncodedPrompt prompt,
      List<String> optionTexts,
      int[][] options,
      List<Image> images,
      long nanos,
      Idefics3Answer failure) {}

  /**
   * Answers a batch made by {@link #prepare}: waits for its images, encodes those the cache lacks
   * (each distinct image once) and runs the decode loop over the requests that generate and one
   * {@code score_options} call over those that rank options.
   */
  public List<Idefics3Answer> answer(PreparedBatch batch) {
    Staged staged;
    try {
      staged = stage(batch);
    } finally {
      batch.release();
    }
    scoreOptions(staged);
    if (!staged.generating().isEmpty()) {
      generateTogether(staged, batch.requests);
    }
    return Arrays.asList(staged.answers());
  }

  /**
   * A batch after its images are encoded: each request's prompt and images, or its failure answer
   * already in {@code answers}; the ready ones split into those that rank options and those that
   * generate (by index in the batch); every image's features.
   */
  private record Staged(
      Prepared[] prepared,
      Idefics3Answer[] answers,
      List<Integer> scoring,
      List<Integer> generating,
      Map<Image, float[]> features,
      long encodeNanos) {

    /** The rows' image features in image-token order: (frames, image_seq_len, hidden). */
    float[] featuresOf(List<Integer> rows) {
      int total = 0;
      for (int i : rows) {
        for (Image image : prepared[i].images()) {
          total += features.get(image).length;
        }
      }
      float[] joined = new float[total];
      int at = 0;
      for (int i : rows) {
        for (Image image : prepared[i].images()) {
          float[] own = features.get(image);
          System.arraycopy(own, 0, joined, at, own.length);
          at += own.length;
        }
      }
      return joined;
    }
  }

  /**
   * Steps 1 and 2 of a batch: per request its images (cached, or decoded on the pool) and prompt
   * ids, failures answered at once; then the vision encoder over every frame of the images not
   * cached, each distinct image once.
   */
  private Staged stage(PreparedBatch batch) {
    int count = batch.requests.size();
    Prepared[] prepared = new Prepared[count];
    Idefics3Answer[] answers = new Idefics3Answer[count];
    List<Integer> ready = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      prepared[i] = prepare(batch, i);
      answers[i] = prepared[i].failure();
      if (prepared[i].failure() == null) {
        ready.add(i);
      }
    }

    long encodeStart = System.nanoTime();
    Map<Image, float[]> features = new IdentityHashMap<>();
    List<Image> toEncode = new ArrayList<>();
    for (int i : ready) {
      for (Image image : prepared[i].images()) {
        if (image.entry != null) {
          features.put(image, image.entry.features());
        } else if (!features.containsKey(image)) {
          features.put(image, null);
          toEncode.add(image);
        }
      }
    }
    // image by image: the frames of one image in Java at a time (the encoder takes them a frame or
    // two a session call anyway), not a whole batch of pages'
    int frameValues = 3 * frameSide * frameSide;
    for (Image image : toEncode) {
      int frames = image.frames.count();
      float[] pixels = new float[Math.multiplyExact(frames, frameValues)]; // (frames, 3, T, T)
      image.frames.writePixelValues(pixels, 0);
      boolean[] mask = new boolean[frames * frameSide * frameSide]; // frames are never padded
      Arrays.fill(mask, true);
      float[] own = pkg.encodeImages(pixels, mask, frames); // (frames, image_seq_len, hidden)
      framesEncoded.addAndGet(frames);
      features.put(image, own);
      if (image.key != null) {
        batch.cache.put(
            image.key,
            new ImageFeatureCache.Entry(image.frames.rows(), image.frames.cols(), frames, own));
      }
    }
    long encodeNanos = System.nanoTime() - encodeStart;

    List<Integer> scoring = new ArrayList<>();
    List<Integer> generating = new ArrayList<>();
    for (int i : ready) {
      (batch.requests.get(i).scoresOptions() ? scoring : generating).add(i);
    }
    return new Staged(prepared, answers, scoring, generating, features, encodeNanos);
  }

  /**
   * Step 4 without slots: the decode loop over the generating requests' left-padded prompts, one
   * session call, every row up to the batch's largest max_new_tokens (each answer cut at its own).
   */
  private void generateTogether(Staged staged, List<Idefics3Request> requests) {
    List<Integer> generating = staged.generating();
    int maxNew = 0;
    for (int i : generating) {
      maxNew = Math.max(maxNew, maxNewTokens(requests.get(i)));
    }
    GenerationSettings batchSettings =
        maxNew == generation.maxNewTokens() ? generation : generation.withMaxNewTokens(maxNew);
    long generateStart = System.nanoTime();
    PromptBatch padded = padded(staged.prepared(), generating);
    Idefics3Package.Generation generated =
        pkg.generate(
            padded.inputIds(),
            padded.attentionMask(),
            staged.featuresOf(generating),
            batchSettings);
    long generateNanos = System.nanoTime() - generateStart;
    for (int row = 0; row < generating.size(); row++) {
      int i = generating.get(row);
      int[] tokens = generated.row(row);
      int own = maxNewTokens(requests.get(i));
      if (tokens.length > own) {
        tokens = Arrays.copyOf(tokens, own);
      }
      staged.answers()[i] = generated(staged, i, tokens, staged.encodeNanos(), generateNanos);
    }
  }

  /** Request {@code i}'s answer from its generated tokens. */
  private Idefics3Answer generated(
      Staged staged, int i, int[] tokens, long encodeNanos, long generateNanos) {
    Prepared request = staged.prepared()[i];
    String text =
        settings.keepSpecialTokens()
            ? processor.decodeKeepingSpecialTokens(tokens).strip()
            : processor.tokenizer().decode(tokens, true).strip();
    int requestFrames = request.images().stream().mapToInt(Image::frameCount).sum();
    return new Idefics3Answer(
        text,
        tokens,
        request.prompt().length(),
        requestFrames,
        request.nanos(),
        encodeNanos,
        generateNanos,
        null,
        null);
  }

  /** The rows' prompts, left-padded to the longest. */
  private PromptBatch padded(Prepared[] prepared, List<Integer> rows) {
    List<EncodedPrompt> prompts = new ArrayList<>(rows.size());
    for (int i : rows) {
      prompts.add(prepared[i].prompt());
    }
    return processor.pad(prompts);
  }

  /**
   * Step 3, the requests that rank options: one {@code score_options} call over their left-padded
   * prompts, each row's options padded to the batch's most options and longest option (padding
   * masked out, and padded options dropped from the answer); the answer is the first most likely
   * option.
   */
  private void scoreOptions(Staged staged) {
    List<Integer> ready = staged.scoring();
    if (ready.isEmpty()) {
      return;
    }
    long scoreStart = System.nanoTime();
    Prepared[] prepared = staged.prepared();
    Idefics3Answer[] answers = staged.answers();
    long encodeNanos = staged.encodeNanos();
    PromptBatch padded = padded(prepared, ready);
    float[] features = staged.featuresOf(ready);
    int options = 0;
    int length = 0;
    for (int i : ready) {
      options = Math.max(options, prepared[i].options().length);
      for (int[] option : prepared[i].options()) {
        length = Math.max(length, option.length);
      }
    }
    int[][][] optionIds = new int[ready.size()][options][length];
    int[][][] optionMask = new int[ready.size()][options][length];
    for (int row = 0; row < ready.size(); row++) {
      int[][] own = prepared[ready.get(row)].options();
      for (int k = 0; k < options; k++) {
        int[] tokens = own[Math.min(k, own.length - 1)]; // padded options repeat the last
        System.arraycopy(tokens, 0, optionIds[row][k], 0, tokens.length);
        Arrays.fill(optionMask[row][k], 0, tokens.length, 1);
      }
    }
    float[][] scores =
        pkg.scoreOptions(
            padded.inputIds(), padded.attentionMask(), features, optionIds, optionMask);
    long scoreNanos = System.nanoTime() - scoreStart;
    for (int row = 0; row < ready.size(); row++) {
      int i = ready.get(row);
      int count = prepared[i].options().length;
      double[] logprobs = new double[count];
      int best = 0;
      for (int k = 0; k < count; k++) {
        logprobs[k] = scores[row][k];
        if (logprobs[k] > logprobs[best]) {
          best = k;
        }
      }
      int[] tokens = prepared[i].options()[best];
      int requestFrames = prepared[i].images().stream().mapToInt(Image::frameCount).sum();
      answers[i] =
          new Idefics3Answer(
              processor.tokenizer().decode(tokens, true).strip(),
              tokens,
              prepared[i].prompt().length(),
              requestFrames,
              prepared[i].nanos(),
              encodeNanos,
              scoreNanos,
              logprobs,
              null,
              null);
    }
  }

  /**
   * Each option's token ids as the answer after {@code prompt}, or null when one has none: after a
   * generation prompt that ends in a word or sign ({@code Assistant:}) the answer starts with the
   * space the model writes there, so option "A" is scored as the tokens of " A", those transformers
   * gives it at the end of {@code tokenizer(prompt + " A")}.
   */
  private int[][] optionTokens(Idefics3Request request, EncodedPrompt prompt) {
    String rendered = prompt.rendered();
    boolean spaced =
        rendered.isEmpty() || Character.isWhitespace(rendered.charAt(rendered.length() - 1));
    int[][] options = new int[request.options().size()][];
    for (int k = 0; k < options.length; k++) {
      String option = request.options().get(k);
      options[k] =
          option.isEmpty()
              ? new int[0]
              : processor.tokenizer().encodeContinuation(spaced ? option : " " + option);
      if (options[k].length == 0) {
        return null;
      }
    }
    return options;
  }

  /** Request {@code i} of the batch: its images resolved, its prompt encoded and checked. */
  private Prepared prepare(PreparedBatch batch, int i) {
    Idefics3Request request = batch.requests.get(i);
    long start = System.nanoTime();
    long earlier = batch.prepareNanos.get(i);
    long chars = textLength(request);
    if (chars > settings.maxQuestionChars()) {
      return failed(
          Idefics3Answer.ErrorKind.BAD_PROMPT,
          "the question is "
              + chars
              + " characters, more than the limit of "
              + settings.maxQuestionChars()
              + " (max_question_chars); shorten it or raise max_question_chars",
          0,
          0,
          start - earlier);
    }
    List<Image> images = batch.images.get(i);
    List<ImageGrid> grids = new ArrayList<>(images.size());
    int frameCount = 0;
    long decodeNanos = 0;
    for (int k = 0; k < images.size(); k++) {
      Image image = images.get(k);
      resolve(image, batch.cache);
      if (image.failure != null) {
        String which = images.size() == 1 ? "the image" : "image " + (k + 1);
        return failed(
            kindOf(image.failure),
            which + ": " + image.failure.getMessage(),
            0,
            0,
            start - earlier);
      }
      grids.add(image.grid());
      frameCount += image.frameCount();
      decodeNanos += image.decodeNanos;
    }
    // this request's own time: its checks (in prepare), its images' decodes, its prompt
    start = System.nanoTime() - earlier - decodeNanos;
    List<ChatMessage> messages = request.messages();
    boolean continueFinal = request.assistantPrefix() != null;
    if (continueFinal) {
      messages = new ArrayList<>(messages);
      messages.add(ChatMessage.assistant(ChatMessage.text(request.assistantPrefix())));
    }
    EncodedPrompt prompt;
    try {
      prompt = processor.encodePrompt(messages, grids, !continueFinal, continueFinal);
    } catch (PromptException e) {
      return failed(Idefics3Answer.ErrorKind.BAD_PROMPT, e.getMessage(), 0, frameCount, start);
    }
    int context = pkg.checkpoint().config().text().maxPositionEmbeddings();
    int[][] options = null;
    if (request.scoresOptions()) {
      if (continueFinal) {
        return failed(
            Idefics3Answer.ErrorKind.BAD_PROMPT,
            "the request has both an assistant prefix and options to score; options are scored"
                + " right after the generation prompt: drop the assistant prefix",
            prompt.length(),
            frameCount,
            start);
      }
      options = optionTokens(request, prompt);
      if (options == null) {
        return failed(
            Idefics3Answer.ErrorKind.BAD_PROMPT,
            "an option of " + request.options() + " has no tokens; every option needs text",
            prompt.length(),
            frameCount,
            start);
      }
      int longest = Arrays.stream(options).mapToInt(o -> o.length).max().orElse(0);
      if (prompt.length() + longest > context) {
        return failed(
            Idefics3Answer.ErrorKind.PROMPT_TOO_LONG,
            "the prompt is "
                + prompt.length()
                + " tokens ("
                + frameCount
                + " image frames) and its longest option "
                + longest
                + " more would pass the model's context of "
                + context
                + " tokens (text_config.max_position_embeddings); lower longest_edge, turn"
                + " image_splitting off or shorten the text",
            prompt.length(),
            frameCount,
            start);
      }
      return new Prepared(
          prompt, request.options(), options, images, System.nanoTime() - start, null);
    }
    int maxNew = maxNewTokens(request);
    if (prompt.length() + maxNew > context) {
      return failed(
          Idefics3Answer.ErrorKind.PROMPT_TOO_LONG,
          "the prompt is "
              + prompt.length()
              + " tokens ("
              + frameCount
              + " image frames) and max_new_tokens "
              + maxNew
              + " more would pass the model's context of "
              + context
              + " tokens (text_config.max_position_embeddings); lower longest_edge, turn"
              + " image_splitting off, shorten the text or lower max_new_tokens",
          prompt.length(),
          frameCount,
          start);
    }
    return new Prepared(prompt, null, null, images, System.nanoTime() - start, null);
  }

  /**
   * Settles the image once for the batch: its features from the cache, or its frames from its
   * decode (waiting {@link ModelSettings#imageDecodeTimeoutMs()} at most from now), or its failure.
   */
  private void resolve(Image image, ImageFeatureCache cache) {
    if (image.resolved) {
      return;
    }
    image.resolved = true;
    if (image.failure != null) {
      return;
    }
    if (image.key != null) {
      image.entry = cache.get(image.key);
      if (image.entry != null) {
        return;
      }
      if (image.decode == null) { // held when the batch was prepared, evicted since
        image.decode = submitDecode(image.encoded);
      }
    }
    try {
      Timed timed = awaitDecode(image.decode);
      image.frames = timed.frames();
      image.decodeNanos = timed.nanos();
    } catch (ImageDecodeException e) {
      image.failure = e;
    }
  }

  /** The characters of the request's text: its messages' text items, its prefix and options. */
  private static long textLength(Idefics3Request request) {
    long chars = request.assistantPrefix() == null ? 0 : request.assistantPrefix().length();
    for (String option : request.options()) {
      chars += option.length();
    }
    for (ChatMessage message : request.messages()) {
      for (ChatMessage.Content content : message.content()) {
        if (content instanceof ChatMessage.Text text) {
          chars += text.text().length();
        }
      }
    }
    return chars;
  }

  /**
   * The frames of a decode submitted to the pool, waiting {@link
   * ModelSettings#imageDecodeTimeoutMs()} at most (0: no limit): past it the decode is cancelled.
   */
  private Timed awaitDecode(Future<Timed> decoding) {
    long timeoutMs = settings.imageDecodeTimeoutMs();
    try {
      return timeoutMs == 0 ? decoding.get() : decoding.get(timeoutMs, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      decoding.cancel(true);
      throw new ImageDecodeException(
          ImageDecodeException.Reason.TOO_LARGE,
          "decoding and resizing it did not finish within "
              + timeoutMs
              + " ms (image_decode_timeout_ms; at most "
              + DECODE_THREADS
              + " images are decoded at once); raise image_decode_timeout_ms (0: no limit) or"
              + " lower longest_edge");
    } catch (CancellationException e) {
      throw new ImageDecodeException(
          ImageDecodeException.Reason.TOO_LARGE,
          "decoding and resizing it was cancelled: it did not finish within "
              + timeoutMs
              + " ms (image_decode_timeout_ms) for an earlier request of the same image");
    } catch (InterruptedException e) {
      decoding.cancel(true);
      Thread.currentThread().interrupt();
      throw new ImageDecodeException(
          ImageDecodeException.Reason.CORRUPT, "decoding it was interrupted", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException runtime) {
        throw runtime;
      }
      if (cause instanceof Error error) {
        throw error;
      }
      throw new ImageDecodeException(
          ImageDecodeException.Reason.CORRUPT, "decoding it failed: " + cause, cause);
    }
  }

  private static Prepared failed(
      Idefics3Answer.ErrorKind kind, String message, int promptTokens, int frames, long start) {
    long nanos = System.nanoTime() - start;
    return new Prepared(
        null,
        null,
        null,
        List.of(),
        nanos,
        Idefics3Answer.failed(kind, message, promptTokens, frames, nanos));
  }

  private static Idefics3Answer.ErrorKind kindOf(ImageDecodeException e) {
    return switch (e.reason()) {
      case EMPTY -> Idefics3Answer.ErrorKind.EMPTY_IMAGE;
      case UNKNOWN_FORMAT -> Idefics3Answer.ErrorKind.UNKNOWN_IMAGE_FORMAT;
      case TRUNCATED, CORRUPT -> Idefics3Answer.ErrorKind.CORRUPT_IMAGE;
      case TOO_MANY_PIXELS -> Idefics3Answer.ErrorKind.TOO_MANY_PIXELS;
      case TOO_LARGE -> Idefics3Answer.ErrorKind.TOO_LARGE;
    };
  }

  @Override
  public void close() {
    if (!ownsPackage) {
      return;
    }
    decodeThreads.shutdownNow();
    try {
      processor.close();
    } finally {
      pkg.close();
    }
  }
}
