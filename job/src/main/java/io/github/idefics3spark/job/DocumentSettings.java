package io.github.idefics3spark.job;

import io.github.idefics3spark.doctags.ExportOptions;
import java.io.Serializable;
import java.util.List;

/**
 * What the {@code document} command makes of each page's DocTags, beside the {@code doctags} and
 * {@code markdown} columns always written: the optional HTML and JSON columns, whether page headers
 * and footers stay in the exports, where picture crops go, and where {@code --assemble} writes the
 * documents. Serializable: it travels to the executors with the page conversion.
 *
 * @param html write the {@code html} column
 * @param json write the {@code json} column
 * @param keepHeadersFooters keep page headers and footers in Markdown and HTML
 * @param picturesOutput the folder picture crops are written under, or null for no crops
 * @param assembleOutput the folder of the assembled documents, or null for no assembly
 * @param maxNewTokensGiven whether --max-new-tokens was set; if not, its default ({@link
 *     #MAX_NEW_TOKENS}) is lowered to fit the model's context ({@link
 *     ModelContext#fitDocumentMaxNewTokens})
 */
public record DocumentSettings(
    boolean html,
    boolean json,
    boolean keepHeadersFooters,
    String picturesOutput,
    String assembleOutput,
    boolean maxNewTokensGiven)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Docling's {@code max_new_tokens} for SmolDocling and granite-docling. */
  public static final int MAX_NEW_TOKENS = 8192;

  /**
   * Docling's stop strings: the end of the DocTags and the end-of-turn tokens of SmolDocling and
   * granite-docling. Each is an added token of those tokenizers, so the runtime stops on its id
   * ({@link io.github.idefics3spark.idefics3.runtime.ModelSettings#stopTokens}); a tokenizer
   * without it simply never produces it.
   */
  public static final List<String> STOP_TOKENS =
      List.of("</doctag>", "<end_of_utterance>", "<|end_of_text|>");

  /** The formats {@code --formats} names. */
  static final List<String> FORMATS = List.of("markdown", "html", "json");

  /** Markdown only, headers and footers dropped, no crops, no assembly. */
  public static final DocumentSettings DEFAULTS =
      new DocumentSettings(false, false, false, null, null, false);

  /** The export options of Markdown and HTML. */
  public ExportOptions exportOptions() {
    return keepHeadersFooters ? new ExportOptions(true) : ExportOptions.DEFAULT;
  }

  /** Whether picture crops are written. */
  public boolean cropPictures() {
    return picturesOutput != null;
  }

  /** Whether the pages are joined into documents. */
  public boolean assemble() {
    return assembleOutput != null;
  }
}
