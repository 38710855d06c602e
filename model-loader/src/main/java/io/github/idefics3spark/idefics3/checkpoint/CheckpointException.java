package io.github.idefics3spark.idefics3.checkpoint;

/** A Hugging Face checkpoint folder that cannot be used as it is; the message names what to fix. */
public final class CheckpointException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CheckpointException(String message) {
    super(message);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }
}
