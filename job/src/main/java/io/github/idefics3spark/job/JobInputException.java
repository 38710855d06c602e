package io.github.idefics3spark.job;

/**
 * A job's input cannot be read as asked: a missing path, a missing column, ids that are null or
 * repeated. The message names what was found, what was expected and the setting to change.
 */
public final class JobInputException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public JobInputException(String message) {
    super(message);
  }

  public JobInputException(String message, Throwable cause) {
    super(message, cause);
  }
}
