package io.github.idefics3spark.idefics3;

/**
 * How an {@link Idefics3Model} runs: threads, batching, decoding and image resolution.
 *
 * @param intraOpThreads TensorFlow threads for one operation; the cores the task owns (0: all)
 * @param batchSize requests decoded together at most
 * @param maxNewTokens new tokens per answer at most
 * @param doSample false: greedy decoding; true: sampling with the three settings below
 * @param temperature sampling temperature, above 0
 * @param topK sampling keeps the k most likely tokens; 0 keeps all
 * @param topP sampling keeps the smallest set of tokens reaching this probability; 1 keeps all
 * @param seed the same seed, batch and settings give the same sampled tokens
 * @param longestEdge an image's longest side is first resized to this ({@code size.longest_edge} of
 *     preprocessor_config.json); 0 keeps the checkpoint's value. Lower it to trade detail for
 *     speed: frames grow with the square of it
 * @param imageSplitting true: tiles plus a global image (the checkpoint's default); false: one
 *     squashed frame per image, much faster and coarser
 * @param maxImagePixels images with more pixels are refused before decoding (decompression bombs)
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
    long maxImagePixels) {

  /** Greedy decoding of up to 64 tokens, batches of 8, the checkpoint's image resolution. */
  public static final ModelSettings DEFAULTS =
      new ModelSettings(0, 8, 64, false, 1f, 0, 1f, 0L, 0, true, 178_956_970L);

  public ModelSettings {
    require(intraOpThreads >= 0, "intra_op_threads", intraOpThreads, ">= 0 (0: all cores)");
    require(batchSize >= 1, "batch_size", batchSize, ">= 1");
    require(maxNewTokens >= 1, "max_new_tokens", maxNewTokens, ">= 1");
    require(temperature > 0, "temperature", temperature, "> 0");
    require(topK >= 0, "top_k", topK, ">= 0 (0: no limit)");
    require(topP > 0 && topP <= 1, "top_p", topP, "in (0, 1]");
    require(longestEdge >= 0, "longest_edge", longestEdge, ">= 0 (0: the checkpoint's)");
    require(maxImagePixels >= 1, "max_image_pixels", maxImagePixels, ">= 1");
  }

  private static void require(boolean ok, String setting, Object value, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(
          "setting " + setting + " is " + value + ", expected " + expected);
    }
  }

  public ModelSettings withIntraOpThreads(int value) {
    return new ModelSettings(
        value,
        batchSize,
        maxNewTokens,
        doSample,
        temperature,
        topK,
        topP,
        seed,
        longestEdge,
        imageSplitting,
        maxImagePixels);
  }

  public ModelSettings withBatchSize(int value) {
    return new ModelSettings(
        intraOpThreads,
        value,
        maxNewTokens,
        doSample,
        temperature,
        topK,
        topP,
        seed,
        longestEdge,
        imageSplitting,
        maxImagePixels);
  }

  public ModelSettings withMaxNewTokens(int value) {
    return new ModelSettings(
        intraOpThreads,
        batchSize,
        value,
        doSample,
        temperature,
        topK,
        topP,
        seed,
        longestEdge,
        imageSplitting,
        maxImagePixels);
  }

  /** Sampling instead of greedy decoding. */
  public ModelSettings withSampling(float temperature, int topK, float topP, long seed) {
    return new ModelSettings(
        intraOpThreads,
        batchSize,
        maxNewTokens,
        true,
        temperature,
        topK,
        topP,
        seed,
        longestEdge,
        imageSplitting,
        maxImagePixels);
  }

  public ModelSettings withLongestEdge(int value) {
    return new ModelSettings(
        intraOpThreads,
        batchSize,
        maxNewTokens,
        doSample,
        temperature,
        topK,
        topP,
        seed,
        value,
        imageSplitting,
        maxImagePixels);
  }

  public ModelSettings withImageSplitting(boolean value) {
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
        value,
        maxImagePixels);
  }

  public ModelSettings withMaxImagePixels(long value) {
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
        value);
  }
}
