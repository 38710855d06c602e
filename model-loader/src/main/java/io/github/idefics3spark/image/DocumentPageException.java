package io.github.idefics3spark.image;

/**
 * A page of a PDF or a frame of a TIFF that cannot be rendered; the message says which page, what
 * was found and what to do, and {@link #problem()} says which kind of problem it is (for a job's
 * error summary).
 */
public final class DocumentPageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What went wrong, coarsely. */
  public enum Problem {
    /** The document is encrypted and does not open without a password. */
    ENCRYPTED,
    /** The document is malformed: it cannot be parsed, or the page cannot be read. */
    CORRUPT,
    /** The page asked for is not in the document (a document with no pages has none). */
    NO_SUCH_PAGE,
    /** The rendered page would have more pixels than the configured limit. */
    TOO_MANY_PIXELS,
    /** Rendering needed more memory than there was: the row fails, the executor lives on. */
    TOO_LARGE
  }

  private final Problem problem;

  public DocumentPageException(Problem problem, String message) {
    super(message);
    this.problem = problem;
  }

  public DocumentPageException(Problem problem, String message, Throwable cause) {
    super(message, cause);
    this.problem = problem;
  }

  public Problem problem() {
    return problem;
  }
}
