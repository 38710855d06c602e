package io.github.idefics3spark.image;

/**
 * Encoded image bytes that cannot be turned into pixels; the message says what was found and what
 * to do, and {@link #reason()} says which kind of problem it is (for a job's error summary).
 */
public final class ImageDecodeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What went wrong, coarsely. */
  public enum Reason {
    /** Zero bytes. */
    EMPTY,
    /** The bytes are no format the decoder knows. */
    UNKNOWN_FORMAT,
    /** The data ends before the image does. */
    TRUNCATED,
    /** The data is malformed, or uses a feature the decoder does not support. */
    CORRUPT,
    /** More pixels than the configured limit (a decompression bomb, or a very large image). */
    TOO_MANY_PIXELS,
    /** Decoding needed more memory than there was: the row fails, the executor lives on. */
    TOO_LARGE
  }

  private final Reason reason;

  public ImageDecodeException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public ImageDecodeException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
