package io.github.idefics3spark.idefics3.runtime;

import java.io.Serializable;
import java.util.List;

/**
 * How an {@link Idefics3Runtime} runs: threads, batching, decoding and image resolution.
 *
 * <p>Serializable, so it travels inside a Spark task. Made with {@link #builder()} (from the
 * defaults) or {@link #toBuilder()} (from these settings): {@code
 * ModelSettings.builder().maxNewTokens(32).batchSize(4).build()}.
 *
 * @param intraOpThreads TensorFlow threads for one operation; the cores the task owns (0: all)
 * @param batchSize requests decoded together at most
 * @param maxNewTokens new tokens per answer at most
 * @param doSample false: greedy decoding; true: sampling with the three settings below
 * @param temperature sampling temperature, above 0
 * @param topK sampling keeps the k most likely tokens; 0 keeps all
 * @param topP sampling keeps the smallest set of tokens reaching this probability; 1 keeps all
 * @param seed the same seed, requests in the same order and settings give the same sampled tokens
 *     (a row's draws depend on the rows batched or slotted with it, as in transformers)
 * @param longestEdge an image's longest side is first resized to this ({@code size.longest_edge} of
 *     preprocessor_config.json); 0 keeps the checkpoint's value. Lower it to trade detail for
 *     speed: frames grow with the square of it
 * @param imageSplitting true: tiles plus a global image (the checkpoint's default); false: one
 *     squashed frame per image, much faster and coarser
 * @param maxImagePixels images with more pixels are refused before decoding (decompression bombs)
 * @param maxImageBytes encoded images larger than this many bytes are refused before they are read
 *     or decoded; 0: no limit
 * @param imageDecodeTimeoutMs decoding and resizing one image taking longer is that request's
 *     error; 0: no limit
 * @param maxQuestionChars a request whose text is longer than this many characters is refused
 *     before tokenisation
 * @param imageCacheMb MiB of vision features kept per partition (or per {@link
 *     Idefics3Runtime#answer} call) so that requests sharing an image encode it once ({@link
 *     ImageFeatureCache}); 0: every request decodes and encodes its own images
 * @param continuousBatching true: generating requests share {@code batchSize} slots, each request
 *     taking a slot as soon as one frees ({@link ContinuousBatch}; packages converted since it
 *     exists); false: each batch decodes until its longest answer ends
 * @param keepSpecialTokens false: answers are decoded without special tokens ({@code
 *     skip_special_tokens=True}); true: with them, as Docling decodes DocTags, whose {@code
 *     <loc_N>}, {@code <otsl>}... are special tokens of SmolDocling's tokenizer
 * @param stopTokens tokens that end an answer besides generation_config.json's eos ids (Docling's
 *     stop strings, such as {@code </doctag>}); each that the tokenizer has as a single token (an
 *     added token) joins the eos ids, the others are ignored. Empty by default
 */
public record ModelSettings(
    int intraOpThreads,
    int batchSize,
    int maxNewTokens,
    boolean doSample,
    float temperature,
    int topK,
    float topP,
    long seed,
    int longestEdge,
    boolean imageSplitting,
    long maxImagePixels,
    long maxImageBytes,
    long imageDecodeTimeoutMs,
    int maxQuestionChars,
    int imageCacheMb,
    boolean continuousBatching,
    boolean keepSpecialTokens,
    List<String> stopTokens)
    implements Serializable {

  private static final long serialVersionUID = 1L;

  /**
   * Greedy decoding of up to 64 tokens, batches of 8, the checkpoint's image resolution, 256 MiB of
   * reused image features.
   */
  public static final ModelSettings DEFAULTS =
      new ModelSettings(
          0,
          8,
          64,
          false,
          1f,
          0,
          1f,
          0L,
          0,
          true,
          178_956_970L,
          64L << 20,
          30_000L,
          100_000,
          256,
          true,
          false,
          List.of());

  public ModelSettings {
    stopTokens = List.copyOf(stopTokens);
    require(intraOpThreads >= 0, "intra_op_threads", intraOpThreads, ">= 0 (0: all cores)");
    require(batchSize >= 1, "batch_size", batchSize, ">= 1");
    require(maxNewTokens >= 1, "max_new_tokens", maxNewTokens, ">= 1");
    require(temperature > 0, "temperature", temperature, "> 0");
    require(topK >= 0, "top_k", topK, ">= 0 (0: no limit)");
    require(topP > 0 && topP <= 1, "top_p", topP, "in (0, 1]");
    require(longestEdge >= 0, "longest_edge", longestEdge, ">= 0 (0: the checkpoint's)");
    require(maxImagePixels >= 1, "max_image_pixels", maxImagePixels, ">= 1");
    require(maxImageBytes >= 0, "max_image_bytes", maxImageBytes, ">= 0 (0: no limit)");
    require(
        imageDecodeTimeoutMs >= 0,
        "image_decode_timeout_ms",
        imageDecodeTimeoutMs,
        ">= 0 (0: no limit)");
    require(maxQuestionChars >= 1, "max_question_chars", maxQuestionChars, ">= 1");
    require(
        imageCacheMb >= 0 && imageCacheMb <= 1 << 20,
        "image_cache_mb",
        imageCacheMb,
        "in [0, 1048576] (0: no reuse)");
  }

  private static void require(boolean ok, String setting, Object value, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(
          "setting " + setting + " is " + value + ", expected " + expected);
    }
  }

  /** A builder starting from {@link #DEFAULTS}. */
  public static Builder builder() {
    return DEFAULTS.toBuilder();
  }

  /** A builder starting from these settings. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /** Model settings made one field at a time; {@link #build} checks them. */
  public static final class Builder {
    private int intraOpThreads;
    private int batchSize;
    private int maxNewTokens;
    private boolean doSample;
    private float temperature;
    private int topK;
    private float topP;
    private long seed;
    private int longestEdge;
    private boolean imageSplitting;
    private long maxImagePixels;
    private long maxImageBytes;
    private long imageDecodeTimeoutMs;
    private int maxQuestionChars;
    private int imageCacheMb;
    private boolean continuousBatching;
    private boolean keepSpecialTokens;
    private List<String> stopTokens;

    private Builder(ModelSettings from) {
      intraOpThreads = from.intraOpThreads;
      batchSize = from.batchSize;
      maxNewTokens = from.maxNewTokens;
      doSample = from.doSample;
      temperature = from.temperature;
      topK = from.topK;
      topP = from.topP;
      seed = from.seed;
      longestEdge = from.longestEdge;
      imageSplitting = from.imageSplitting;
      maxImagePixels = from.maxImagePixels;
      maxImageBytes = from.maxImageBytes;
      imageDecodeTimeoutMs = from.imageDecodeTimeoutMs;
      maxQuestionChars = from.maxQuestionChars;
      imageCacheMb = from.imageCacheMb;
      continuousBatching = from.continuousBatching;
      keepSpecialTokens = from.keepSpecialTokens;
      stopTokens = from.stopTokens;
    }

    public Builder intraOpThreads(int value) {
      intraOpThreads = value;
      return this;
    }

    public Builder batchSize(int value) {
      batchSize = value;
      return this;
    }

    public Builder maxNewTokens(int value) {
      maxNewTokens = value;
      return this;
    }

    /** Sampling (true) or greedy decoding (false). */
    public Builder doSample(boolean value) {
      doSample = value;
      return this;
    }

    public Builder temperature(float value) {
      temperature = value;
      return this;
    }

    public Builder topK(int value) {
      topK = value;
      return this;
    }

    public Builder topP(float value) {
      topP = value;
      return this;
    }

    public Builder seed(long value) {
      seed = value;
      return this;
    }

    /** Sampling instead of greedy decoding, with these settings. */
    public Builder sampling(float temperature, int topK, float topP, long seed) {
      return doSample(true).temperature(temperature).topK(topK).topP(topP).seed(seed);
    }

    public Builder longestEdge(int value) {
      longestEdge = value;
      return this;
    }

    public Builder imageSplitting(boolean value) {
      imageSplitting = value;
      return this;
    }

    public Builder maxImagePixels(long value) {
      maxImagePixels = value;
      return this;
    }

    /** Encoded images larger than this many bytes are refused; 0: no limit. */
    public Builder maxImageBytes(long value) {
      maxImageBytes = value;
      return this;
    }

    /** Decoding and resizing one image may take this long at most; 0: no limit. */
    public Builder imageDecodeTimeoutMs(long value) {
      imageDecodeTimeoutMs = value;
      return this;
    }

    /** A request's text may hold this many characters at most. */
    public Builder maxQuestionChars(int value) {
      maxQuestionChars = value;
      return this;
    }

    /** MiB of image features reused per partition; 0: no reuse. */
    public Builder imageCacheMb(int value) {
      imageCacheMb = value;
      return this;
    }

    /** Whether generating requests share slots (true) or decode in static batches (false). */
    public Builder continuousBatching(boolean value) {
      continuousBatching = value;
      return this;
    }

    /** Whether answers keep their special tokens (DocTags: true). */
    public Builder keepSpecialTokens(boolean value) {
      keepSpecialTokens = value;
      return this;
    }

    /** Tokens that end an answer besides generation_config.json's eos ids. */
    public Builder stopTokens(List<String> value) {
      stopTokens = value;
      return this;
    }

    /**
     * The settings.
     *
     * @throws IllegalArgumentException naming the setting when one is out of range
     */
    public ModelSettings build() {
      return new ModelSettings(
          intraOpThreads,
          batchSize,
          maxNewTokens,
          doSample,
          temperature,
          topK,
          topP,
          seed,
          longestEdge,
          imageSplitting,
          maxImagePixels,
          maxImageBytes,
          imageDecodeTimeoutMs,
          maxQuestionChars,
          imageCacheMb,
          continuousBatching,
          keepSpecialTokens,
          stopTokens);
    }
  }
}
