package io.github.idefics3spark.idefics3.processor;

/**
 * A request whose prompt cannot be built (wrong number of images, forbidden characters in user
 * text, a chat the template rejects); the message says what was found, what was expected, and what
 * to change. One bad request fails alone: callers turn it into that row's error.
 */
public final class PromptException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public PromptException(String message) {
    super(message);
  }

  public PromptException(String message, Throwable cause) {
    super(message, cause);
  }
}
