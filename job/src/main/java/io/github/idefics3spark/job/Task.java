package io.github.idefics3spark.job;

/**
 * What a job does: the subcommand, its default prompt and a one-line description for {@code
 * --help}. {@code document} is a caption of each page with the document models' prompt, read as
 * DocTags ({@link PageConversion}). {@code eval} builds each benchmark's prompts itself ({@link
 * Benchmark#prompt}); {@code score} runs no model.
 */
public enum Task {
  CAPTION(
      "caption",
      "Describe this image.",
      "describe every image (one row per image or manifest row)"),
  VQA(
      "vqa",
      "{question}\nAnswer the question using a single word or phrase.",
      "answer each row's question about its images (DocVQA, TextVQA, benchmark Parquet,"
          + " manifests)"),
  DOCUMENT(
      "document",
      "Convert this page to docling.",
      "convert page images to DocTags (SmolDocling, granite-docling) and from DocTags to"
          + " Markdown, HTML or JSON, one row per page; --assemble joins each document's pages"),
  EVAL(
      "eval",
      "{question}",
      "run a benchmark on its Hugging Face Parquet: its prompts, the model's answers, the"
          + " official scores (predictions Parquet, metrics JSON)"),
  SCORE(
      "score",
      "{question}",
      "score a benchmark's predictions Parquet (eval's or another tool's with the same"
          + " columns) without a model");

  /** Where {@code --prompt-template} puts the row's question. */
  public static final String QUESTION_PLACEHOLDER = "{question}";

  private final String command;
  private final String defaultPrompt;
  private final String description;

  Task(String command, String defaultPrompt, String description) {
    this.command = command;
    this.defaultPrompt = defaultPrompt;
    this.description = description;
  }

  /** The subcommand and the value of the output's {@code task} column. */
  public String command() {
    return command;
  }

  /** The prompt template used when {@code --prompt-template} is not set. */
  public String defaultPrompt() {
    return defaultPrompt;
  }

  public String description() {
    return description;
  }

  /** Whether the command runs the model (all but {@code score}). */
  public boolean usesModel() {
    return this != SCORE;
  }

  /** Whether the command reads a benchmark's data ({@code eval} and {@code score}). */
  public boolean isBenchmark() {
    return this == EVAL || this == SCORE;
  }

  /** The task named by a subcommand, or null. */
  public static Task forCommand(String command) {
    for (Task task : values()) {
      if (task.command.equals(command)) {
        return task;
      }
    }
    return null;
  }
}
