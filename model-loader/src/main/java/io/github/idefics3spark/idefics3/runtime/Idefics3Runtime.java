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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

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
 * (shared by every {@link #withSettings} view), waiting {@link
 * ModelSettings#imageDecodeTimeoutMs()} at most: past it the decode is cancelled (interrupted) and
 * the request answered with a {@code TOO_LARGE} error. Java's image readers may ignore the
 * interrupt; such a decode keeps its thread until it ends, so stuck decodes hold at most {@link
 * #DECODE_THREADS} threads, and once all are held later images wait in the queue and time out in
 * turn instead of starting more threads.
 */
public final class Idefics3Runtime implements AutoCloseable {
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

  private Idefics3Runtime(Idefics3Package pkg, ModelSettings settings) {
    this(pkg, Idefics3Processor.load(pkg.checkpoint()), settings, true, decodeThreads());
  }

  private Idefics3Runtime(
      Idefics3Package pkg,
      Idefics3Processor processor,
      ModelSettings settings,
      boolean ownsPackage,
      ThreadPoolExecutor decodeThreads) {
    this.pkg = pkg;
    this.decodeThreads = decodeThreads;
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
    return new Idefics3Runtime(pkg, processor, settings, false, decodeThreads);
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

  public Idefics3Checkpoint checkpoint() {
    return pkg.checkpoint();
  }

  /** The package folder this model was loaded from. */
  public Path packageDir() {
    return pkg.dir();
  }

  /** The chat template, tokenizer and image-token expansion of the checkpoint. */
  public Idefics3Processor processor() {
    return processor;
  }

  /**
   * Answers the requests, in order, in batches of at most {@link ModelSettings#batchSize()}. Put
   * requests of similar prompt length together: a batch is padded to its longest prompt.
   */
  public List<Idefics3Answer> answer(List<Idefics3Request> requests) {
    List<Idefics3Answer> answers = new ArrayList<>(requests.size());
    for (int start = 0; start < requests.size(); start += settings.batchSize()) {
      int end = Math.min(requests.size(), start + settings.batchSize());
      answers.addAll(answerBatch(requests.subList(start, end)));
    }
    return answers;
  }

  /** One request's model inputs, or the answer that says why there are none. */
  private record Prepared(
      EncodedPrompt prompt,
      List<Idefics3ImageProcessor.Frames> frames,
      long nanos,
      Idefics3Answer failure) {}

  private List<Idefics3Answer> answerBatch(List<Idefics3Request> batch) {
    // 1. per request: decode, frames, prompt ids; failures are answered at once
    Prepared[] prepared = new Prepared[batch.size()];
    List<Integer> ready = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      prepared[i] = prepare(batch.get(i));
      if (prepared[i].failure() == null) {
        ready.add(i);
      }
    }
    Idefics3Answer[] answers = new Idefics3Answer[batch.size()];
    for (int i = 0; i < batch.size(); i++) {
      answers[i] = prepared[i].failure();
    }
    if (ready.isEmpty()) {
      return Arrays.asList(answers);
    }

    // 2. the vision encoder over every real frame of the batch, in image-token order
    long encodeStart = System.nanoTime();
    int frames = 0;
    for (int i : ready) {
      for (Idefics3ImageProcessor.Frames image : prepared[i].frames()) {
        frames += image.count();
      }
    }
    float[] features = new float[0];
    if (frames > 0) {
      int frameValues = 3 * frameSide * frameSide;
      float[] pixels = new float[Math.multiplyExact(frames, frameValues)]; // (frames, 3, T, T)
      int offset = 0;
      for (int i : ready) {
        for (Idefics3ImageProcessor.Frames image : prepared[i].frames()) {
          image.writePixelValues(pixels, offset);
          offset += image.count() * frameValues;
        }
      }
      boolean[] mask = new boolean[frames * frameSide * frameSide]; // frames are never padded
      Arrays.fill(mask, true);
      features = pkg.encodeImages(pixels, mask, frames); // (frames, image_seq_len, hidden)
    }
    long encodeNanos = System.nanoTime() - encodeStart;

    // 3. the decode loop over the left-padded prompts, one session call
    long generateStart = System.nanoTime();
    List<EncodedPrompt> prompts = new ArrayList<>(ready.size());
    for (int i : ready) {
      prompts.add(prepared[i].prompt());
    }
    PromptBatch padded = processor.pad(prompts);
    Idefics3Package.Generation generated =
        pkg.generate(padded.inputIds(), padded.attentionMask(), features, generation);
    long generateNanos = System.nanoTime() - generateStart;

    // 4. detokenise
    for (int row = 0; row < ready.size(); row++) {
      int i = ready.get(row);
      int[] tokens = generated.row(row);
      String text = processor.tokenizer().decode(tokens, !settings.keepSpecialTokens()).strip();
      int requestFrames =
          prepared[i].frames().stream().mapToInt(Idefics3ImageProcessor.Frames::count).sum();
      answers[i] =
          new Idefics3Answer(
              text,
              tokens,
              prepared[i].prompt().length(),
              requestFrames,
              prepared[i].nanos(),
              encodeNanos,
              generateNanos,
              null,
              null);
    }
    return Arrays.asList(answers);
  }

  private Prepared prepare(Idefics3Request request) {
    long start = System.nanoTime();
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
          start);
    }
    List<Idefics3ImageProcessor.Frames> frames = new ArrayList<>(request.images().size());
    List<ImageGrid> grids = new ArrayList<>(request.images().size());
    int frameCount = 0;
    for (int i = 0; i < request.images().size(); i++) {
      try {
        Idefics3ImageProcessor.Frames imageFrames = decodeAndProcess(request.images().get(i));
        frames.add(imageFrames);
        grids.add(new ImageGrid(imageFrames.rows(), imageFrames.cols()));
        frameCount += imageFrames.count();
      } catch (ImageDecodeException e) {
        String which = request.images().size() == 1 ? "the image" : "image " + (i + 1);
        return failed(kindOf(e), which + ": " + e.getMessage(), 0, 0, start);
      }
    }
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
    if (prompt.length() + settings.maxNewTokens() > context) {
      return failed(
          Idefics3Answer.ErrorKind.PROMPT_TOO_LONG,
          "the prompt is "
              + prompt.length()
              + " tokens ("
              + frameCount
              + " image frames) and max_new_tokens "
              + settings.maxNewTokens()
              + " more would pass the model's context of "
              + context
              + " tokens (text_config.max_position_embeddings); lower longest_edge, turn"
              + " image_splitting off, shorten the text or lower max_new_tokens",
          prompt.length(),
          frameCount,
          start);
    }
    return new Prepared(prompt, frames, System.nanoTime() - start, null);
  }

  /** The characters of the request's text: every text item of its messages and its prefix. */
  private static long textLength(Idefics3Request request) {
    long chars = request.assistantPrefix() == null ? 0 : request.assistantPrefix().length();
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
   * The frames of one encoded image: its size checked, then decoded and resized on the decode pool
   * within the time limit (in this thread when there is none).
   */
  private Idefics3ImageProcessor.Frames decodeAndProcess(byte[] encoded) {
    long maxBytes = settings.maxImageBytes();
    if (maxBytes > 0 && encoded.length > maxBytes) {
      throw new ImageDecodeException(
          ImageDecodeException.Reason.TOO_LARGE,
          "it is "
              + encoded.length
              + " bytes encoded, more than the limit of "
              + maxBytes
              + " (max_image_bytes); shrink the image or raise max_image_bytes (0: no limit)");
    }
    long timeoutMs = settings.imageDecodeTimeoutMs();
    if (timeoutMs == 0) {
      return imageProcessor.process(decoder.decode(encoded));
    }
    Future<Idefics3ImageProcessor.Frames> decoding =
        decodeThreads.submit(() -> imageProcessor.process(decoder.decode(encoded)));
    try {
      return decoding.get(timeoutMs, TimeUnit.MILLISECONDS);
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
        null, List.of(), nanos, Idefics3Answer.failed(kind, message, promptTokens, frames, nanos));
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
