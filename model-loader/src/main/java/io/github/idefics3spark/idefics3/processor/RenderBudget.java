package io.github.idefics3spark.idefics3.processor;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.tree.Node;
import java.util.Set;

/**
 * The limits a chat template renders under. A template is the checkpoint's code and runs on every
 * executor for every request, so a hostile or broken one must end quickly and harmlessly: it may
 * read no file ({@link #FILE_TAGS} are disabled and the resource locator refuses), produce at most
 * {@link #MAX_OUTPUT_CHARS} characters, build no collection past {@link #MAX_COLLECTION_SIZE},
 * recurse no deeper than {@link #MAX_RECURSION}, and render at most {@link #MAX_NODES} template
 * nodes (every loop iteration renders its body's nodes again) within {@link #MAX_NANOS}.
 *
 * <p>Jinjava counts nodes through its node pre-processor ({@link #countNode}), on the rendering
 * thread, against the budget {@link #start} opened for that thread.
 */
final class RenderBudget {
  /** Tags that read other templates from files. */
  static final Set<String> FILE_TAGS = Set.of("include", "import", "from", "extends");

  /** 8 M characters: far past any prompt a context holds. */
  static final long MAX_OUTPUT_CHARS = 8L << 20;

  static final int MAX_COLLECTION_SIZE = 100_000;
  static final int MAX_RECURSION = 32;

  /** Idefics3's template renders a few hundred nodes for a long chat. */
  static final long MAX_NODES = 2_000_000;

  static final long MAX_NANOS = 10_000_000_000L;

  /** What to do about a template stopped by its budget. */
  static final String ADVICE =
      "; the checkpoint's chat template (chat_template.json, chat_template.jinja or"
          + " tokenizer_config.json) is broken or hostile: use the template the model was released"
          + " with";

  private static final ThreadLocal<long[]> CURRENT = new ThreadLocal<>();

  private RenderBudget() {}

  /** A template stopped by its budget. */
  static final class Exceeded extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Exceeded(String message) {
      super(message);
    }
  }

  /** Opens a budget for the renders on this thread. */
  static void start() {
    CURRENT.set(new long[] {0, System.nanoTime()});
  }

  static void end() {
    CURRENT.remove();
  }

  /** Counts one node about to render; throws when the nodes or the time are spent. */
  static void countNode(Node node, JinjavaInterpreter interpreter) {
    long[] budget = CURRENT.get();
    if (budget == null) {
      return;
    }
    if (++budget[0] > MAX_NODES) {
      throw new Exceeded(
          "it rendered more than "
              + MAX_NODES
              + " template nodes (line "
              + node.getLineNumber()
              + ")");
    }
    if ((budget[0] & 1023) == 0 && System.nanoTime() - budget[1] > MAX_NANOS) {
      throw new Exceeded(
          "it rendered for more than "
              + MAX_NANOS / 1_000_000_000L
              + " s (line "
              + node.getLineNumber()
              + ")");
    }
  }
}
