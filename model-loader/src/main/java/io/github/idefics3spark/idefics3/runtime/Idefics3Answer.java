package io.github.idefics3spark.idefics3.runtime;

/**
 * The model's answer to one {@link Idefics3Request}, or why there is none.
 *
 * <p>Timings are wall-clock nanoseconds. Preprocessing is the request's own; image encoding and
 * generation run once for a whole batch, so every request of the batch carries the batch's time.
 *
 * @param text the generated text, special tokens removed and surrounding white space stripped, or
 *     the most likely of the request's options; null when {@code error} is set
 * @param tokens the generated token ids, the stop token included when there was one (the chosen
 *     option's, when options were scored)
 * @param promptTokens tokens of the prompt, image tokens included
 * @param frames image frames (tiles and global images) of the request's images, as the vision
 *     encoder reads them (once for requests sharing an image)
 * @param preprocessNanos decoding, resizing, normalising and tokenising this request (a shared
 *     image's decode counted for each request that waited for it; none for a cached image)
 * @param encodeNanos the vision encoder and connector, for the batch (its images not cached)
 * @param generateNanos the decode loop, for the batch
 * @param optionLogprobs for a request with options: each option's log-probability after the prompt,
 *     in the request's order (the answer is the first of the largest); null otherwise. Its batch's
 *     single forward counts as {@code generateNanos}
 * @param errorKind null on success
 * @param error what went wrong and what to change, null on success
 */
public record Idefics3Answer(
    String text,
    int[] tokens,
    int promptTokens,
    int frames,
    long preprocessNanos,
    long encodeNanos,
    long generateNanos,
    double[] optionLogprobs,
    ErrorKind errorKind,
    String error) {

  /** A generated answer (or an error): no option log-probabilities. */
  public Idefics3Answer(
      String text,
      int[] tokens,
      int promptTokens,
      int frames,
      long preprocessNanos,
      long encodeNanos,
      long generateNanos,
      ErrorKind errorKind,
      String error) {
    this(
        text,
        tokens,
        promptTokens,
        frames,
        preprocessNanos,
        encodeNanos,
        generateNanos,
        null,
        errorKind,
        error);
  }

  /** Why a request got no answer; a job counts its errors by these. */
  public enum ErrorKind {
    /** The image bytes were empty: nothing to decode. */
    EMPTY_IMAGE,
    /** The bytes are not an image format the decoder reads. */
    UNKNOWN_IMAGE_FORMAT,
    /** The image data ends early or is damaged. */
    CORRUPT_IMAGE,
    /** More pixels than the decompression-bomb limit allows. */
    TOO_MANY_PIXELS,
    /** Decoding the image needed more memory than the executor had; the others went on. */
    TOO_LARGE,
    /** The conversation and the images do not fit together, or the template refused it. */
    BAD_PROMPT,
    /** The prompt and the new tokens do not fit the model's context. */
    PROMPT_TOO_LONG,
    /**
     * The model failed on this request even alone (an error of TensorFlow, or out of memory); the
     * others went on.
     */
    MODEL_FAILURE
  }

  public boolean ok() {
    return error == null;
  }

  public int generatedTokens() {
    return tokens == null ? 0 : tokens.length;
  }

  static Idefics3Answer failed(
      ErrorKind kind, String error, int promptTokens, int frames, long preprocessNanos) {
    return new Idefics3Answer(null, null, promptTokens, frames, preprocessNanos, 0, 0, kind, error);
  }
}
