package io.github.idefics3spark.job;

/**
 * A job's command line or configuration file is wrong: an unknown key or a value of the wrong kind.
 * The message names the setting, what was found and what is expected. Raised before any Spark work.
 */
public final class JobConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public JobConfigException(String message) {
    super(message);
  }

  public JobConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
