package io.github.idefics3spark.job;

import io.github.idefics3spark.spark.InferenceOption;
import io.github.idefics3spark.spark.InferenceOption.EntryPoint;
import java.util.ArrayList;
import java.util.List;

/**
 * One setting of {@code caption}, {@code vqa}, {@code eval} or {@code score} ({@link #appliesTo}):
 * its name (the command-line option without the dashes, and the key in a {@code --conf} file), the
 * placeholder shown in help, and its help text.
 *
 * <p>Options are listed once, here; {@link JobConfig} gives each its type, default and checks. The
 * settings of how the model runs ({@code --batch-size}, {@code --temperature}...) are declared in
 * {@link InferenceOption}, shared with the SQL functions and the ML Transformer, and take their
 * key, placeholder and help from there.
 */
public enum JobOption {
  // input
  BENCHMARK(
      "benchmark",
      "NAME",
      "eval and score: the benchmark, which decides the columns read, the prompts and the"
          + " scoring: "
          + Benchmarks.choices().replace("|", ", ")
          + ". Required."),
  INPUT(
      "input",
      "PATH",
      "Input: a folder of images and documents (PDF, TIFF), a manifest (.parquet, .jsonl, .csv) or Hugging Face dataset"
          + " Parquet (a file, a folder of files or a glob). A local path or a file:, hdfs: or"
          + " s3a: URI. Required."),
  INPUT_FORMAT(
      "input-format",
      InputFormat.choices(),
      "How to read --input. auto (default): .jsonl/.json/.csv are manifests; Parquet with"
          + " struct<bytes, path> image columns is hf-parquet, other Parquet a manifest; any other"
          + " folder holds images."),
  GLOB(
      "glob",
      "PATTERN",
      "Folder input: only files whose name matches this Hadoop glob, e.g. '*.{jpg,png}'."
          + " Default: the usual image extensions (jpg, jpeg, png, gif, bmp, webp, tif, tiff)"
          + " and pdf, any case."),
  RECURSIVE(
      "recursive",
      "true|false",
      "Folder input: also read sub-folders (default true); ids keep the sub-folder path."),
  ID_COLUMN(
      "id-column",
      "NAME",
      "Manifest and Parquet input: the column that identifies a row (unique, not null). Default:"
          + " id, or the dataset's own (questionId for DocVQA, question_id for TextVQA, index"
          + " for MMStar, pid for MathVista)."),
  IMAGE_COLUMNS(
      "image-columns",
      "NAME[,NAME...]",
      "Manifest and Parquet input: the image columns, in prompt order. Each holds a path"
          + " (relative paths are resolved against the manifest's folder), bytes, an HF image"
          + " struct<bytes, path>, or an array of those; null entries are skipped. Default:"
          + " manifests: image, images, image_path, image_paths, image_1, image_2, ...;"
          + " Parquet: every struct<bytes, path> column (MathVista: decoded_image)."),
  QUESTION_COLUMN(
      "question-column",
      "NAME",
      "The column whose text replaces {question} in the prompt template. Default: question"
          + " (prompt in a manifest without question; query for MathVista)."),
  ALLOW_PATH_PREFIX(
      "allow-path-prefix",
      "PREFIX[,PREFIX...]",
      "Image paths a row names may also lie under these folders (paths or URIs, in the scheme of"
          + " the paths they allow). Default: only under the input's folder (a manifest's, a"
          + " Parquet input's); a path elsewhere, after resolving relative paths and .. (and,"
          + " for local paths, symbolic links), becomes an UNREADABLE_IMAGE error row."),
  DPI(
      "dpi",
      "N",
      "PDF input: render each page at N dots per inch (default 144, Docling's page scale 2.0)."
          + " Each page of a PDF and each frame of a TIFF is one request."),
  LIMIT("limit", "N", "Read only the first N input rows (default: all)."),
  PARTITIONS(
      "partitions",
      "N",
      "Repartition the input rows into N Spark partitions before inference (default: as read)."),

  // prompt
  PROMPT_TEMPLATE(
      "prompt-template",
      "TEXT",
      "The user text of every row; {question} is replaced by the row's question. Default:"
          + " caption: '"
          + escaped(Task.CAPTION.defaultPrompt())
          + "'; vqa: '"
          + escaped(Task.VQA.defaultPrompt())
          + "'; document: '"
          + escaped(Task.DOCUMENT.defaultPrompt())
          + "'. \\n in a conf file or on the command line is a new line."),
  ASSISTANT_PREFIX(
      "assistant-prefix",
      "TEXT",
      "Text the answer starts with (the model continues it), e.g. 'Answer:'. Default: none."),
  PROMPT_STYLE(
      "prompt-style",
      PromptStyle.choices(),
      "eval: whose prompts ask the benchmark's questions. lmms-eval (default): lmms-eval's"
          + " default prompts, images first; smolvlm: SmolVLM's own, VLMEvalKit's smolvlm.py"
          + " (its instructions, MMMU's images labelled first, 'Answer:' starting multiple-choice"
          + " answers), for every benchmark but vqav2."),
  MC_SCORING(
      "mc-scoring",
      McScoring.choices(),
      "eval of a multiple-choice benchmark (mmmu's multiple-choice questions, mmstar, ai2d,"
          + " scienceqa_img): generate (default, as lmms-eval) generates the answer;"
          + " likelihood ranks the option letters by the model's log-probability of each right"
          + " after the prompt (one forward per question), answers the most likely letter and"
          + " writes every option's log-probability (option_logprobs)."),

  // output
  OUTPUT("output", "PATH", "Output Parquet folder: a local path or a file:, hdfs: or s3a: URI."),
  MODE(
      "mode",
      OutputMode.choices(),
      "overwrite: replace the output; append: add rows; resume (default): skip ids already in"
          + " the output, so a rerun after a failure finishes the work without duplicates."),
  RETRY_ERRORS(
      "retry-errors",
      "all|KIND[,KIND...]",
      "With --mode resume: answer again the error rows already in the output, all of them (the"
          + " option alone, or all) or those of these error kinds (PROMPT_TOO_LONG,"
          + " UNREADABLE_IMAGE, ...); their old rows are replaced. Default: an error row counts as"
          + " done."),
  PREVIEW("preview", "N", "At the end, print N output rows on standard output (default 0)."),
  FORMATS(
      "formats",
      "markdown[,html,json]",
      "document: the conversions of each page's DocTags written beside its doctags column, among"
          + " markdown, html and json (default markdown)."),
  KEEP_HEADERS_FOOTERS(
      "keep-headers-footers",
      "true|false",
      "document: keep page headers and footers in the Markdown and HTML (default false: dropped,"
          + " as docling-core exports); JSON always holds them."),
  CROP_PICTURES(
      "crop-pictures",
      "true|false",
      "document: write each picture's crop (its <loc_N> box scaled to the page image) as a PNG"
          + " file under --pictures-output, DOCUMENT/page-P-picture-K.png; the page row's"
          + " pictures column lists them (default false)."),
  PICTURES_OUTPUT(
      "pictures-output",
      "PATH",
      "document: where --crop-pictures writes (local, file:, hdfs:, s3a:). Default: the output"
          + " path followed by -pictures, beside it."),
  ASSEMBLE(
      "assemble",
      "true|false",
      "document: after the pages, join each document's pages in page order into one document:"
          + " one Parquet row per document under --assemble-output/documents and one Markdown file"
          + " per document under --assemble-output/markdown (default false)."),
  ASSEMBLE_OUTPUT(
      "assemble-output",
      "PATH",
      "document: the folder --assemble writes, replaced if there (local, file:, hdfs:, s3a:)."
          + " Default: the output path followed by -documents, beside it."),

  // model
  MODEL(
      "model",
      "URI",
      "A model package made by convert, or a Hugging Face Idefics3/SmolVLM checkpoint folder"
          + " (converted once per executor on first use): a local path, a file:, hdfs: or s3a:"
          + " URI, or the name of a folder shipped with --archives. Required."),
  MODEL_CACHE(InferenceOption.MODEL_CACHE),
  VERIFY_PACKAGE(InferenceOption.VERIFY_PACKAGE),
  SPLIT_PRODUCTS(InferenceOption.SPLIT_PRODUCTS),
  BATCH_SIZE(InferenceOption.BATCH_SIZE),
  MAX_NEW_TOKENS(InferenceOption.MAX_NEW_TOKENS),
  TEMPERATURE(InferenceOption.TEMPERATURE),
  TOP_K(InferenceOption.TOP_K),
  TOP_P(InferenceOption.TOP_P),
  SEED(InferenceOption.SEED),
  LONGEST_EDGE(InferenceOption.LONGEST_EDGE),
  IMAGE_SPLITTING(InferenceOption.IMAGE_SPLITTING),
  MAX_IMAGE_PIXELS(InferenceOption.MAX_IMAGE_PIXELS),
  MAX_IMAGE_BYTES(InferenceOption.MAX_IMAGE_BYTES),
  IMAGE_DECODE_TIMEOUT_MS(InferenceOption.IMAGE_DECODE_TIMEOUT_MS),
  MAX_QUESTION_CHARS(InferenceOption.MAX_QUESTION_CHARS),
  IMAGE_CACHE_MB(InferenceOption.IMAGE_CACHE_MB),
  CONTINUOUS_BATCHING(InferenceOption.CONTINUOUS_BATCHING),
  INTRA_OP_THREADS(InferenceOption.INTRA_OP_THREADS);

  private final String key;
  private final String valueLabel;
  private final String help;
  private final InferenceOption shared;

  JobOption(String key, String valueLabel, String help) {
    this.key = key;
    this.valueLabel = valueLabel;
    this.help = help;
    this.shared = null;
  }

  /** A setting the job shares with the SQL functions and the ML Transformer, as declared there. */
  JobOption(InferenceOption shared) {
    if (!shared.takenBy(EntryPoint.JOB)) {
      throw new IllegalArgumentException(shared.key() + " is not declared a job option");
    }
    this.key = shared.key();
    this.valueLabel = shared.valueLabel();
    this.help = shared.help();
    this.shared = shared;
  }

  /**
   * The declaration of a setting shared with the SQL functions and the ML Transformer (type,
   * default, range, help), or null for an option of the job alone.
   */
  public InferenceOption shared() {
    return shared;
  }

  /** The name without dashes: the key in a {@code --conf} file. */
  public String key() {
    return key;
  }

  /** The command-line form, {@code --key}. */
  public String option() {
    return "--" + key;
  }

  /** What the value looks like, for help. */
  public String valueLabel() {
    return valueLabel;
  }

  public String help() {
    return help;
  }

  /** The help text as {@code task}'s {@code --help} shows it. */
  public String help(Task task) {
    if (task == Task.DOCUMENT && this == MAX_NEW_TOKENS) {
      return "New tokens per page at most (default "
          + DocumentSettings.MAX_NEW_TOKENS
          + ", as Docling; lowered to what the model's context leaves after a page's image and"
          + " prompt tokens, with a note, when the default does not fit). A page cut at the limit"
          + " is converted as far as it goes, with a warning.";
    }
    if (task == Task.EVAL) {
      switch (this) {
        case INPUT:
          return "The benchmark's Hugging Face dataset Parquet files as published, one split: a"
              + " file, a folder of files or a glob (DocVQA/validation-*.parquet). A local path or"
              + " a file:, hdfs: or s3a: URI. Required.";
        case OUTPUT:
          return "Output folder (local, file:, hdfs:, s3a:): answers/ (the inference output,"
              + " Parquet), predictions/ (Parquet: each answer with its parsed answer and score),"
              + " metrics.json, and submission.json for a split without gold answers.";
        case MODE:
          return "What to do with answers already in the output's answers/: resume (default)"
              + " answers only the questions not there yet, overwrite answers all again, append"
              + " adds rows. Predictions and metrics are always written anew from answers/.";
        case ALLOW_PATH_PREFIX:
          return "An image struct without bytes is read from its path, which must lie under the"
              + " input's folder or these folders (paths or URIs, in the scheme of the paths they"
              + " allow); elsewhere, after resolving relative paths, .. and, for local paths,"
              + " symbolic links, the question gets an UNREADABLE_IMAGE error row.";
        case LIMIT:
          return "Answer only the first N questions (default: all); the scores cover those.";
        case MAX_NEW_TOKENS:
          return "New tokens per answer at most (default: the benchmark's; 32, MMMU 128,"
              + " MathVista 64).";
        default:
          break;
      }
    }
    if (task == Task.SCORE) {
      switch (this) {
        case INPUT:
          return "The predictions Parquet to score: eval's OUTPUT/answers or OUTPUT/predictions,"
              + " or another tool's with the same columns (the dataset's columns, its answer as"
              + " input_answer, the model's raw answer as answer). A file, a folder or a glob;"
              + " local, file:, hdfs:, s3a:. Required.";
        case OUTPUT:
          return "Output folder: predictions/ (Parquet), metrics.json, and submission.json for a"
              + " split without gold answers; replaced if there.";
        default:
          break;
      }
    }
    return help;
  }

  /** Whether {@code task} takes this option. */
  public boolean appliesTo(Task task) {
    return switch (this) {
      case BENCHMARK -> task.isBenchmark();
      case MC_SCORING -> task == Task.EVAL;
      case FORMATS,
          KEEP_HEADERS_FOOTERS,
          CROP_PICTURES,
          PICTURES_OUTPUT,
          ASSEMBLE,
          ASSEMBLE_OUTPUT ->
          task == Task.DOCUMENT;
      case INPUT, OUTPUT -> true;
      case INPUT_FORMAT,
          GLOB,
          RECURSIVE,
          ID_COLUMN,
          IMAGE_COLUMNS,
          QUESTION_COLUMN,
          DPI,
          PROMPT_TEMPLATE,
          ASSISTANT_PREFIX,
          PREVIEW ->
          !task.isBenchmark();
      case PROMPT_STYLE -> task == Task.EVAL;
      default -> task.usesModel(); // ALLOW_PATH_PREFIX among them: eval reads image paths too
    };
  }

  /** The options {@code task} takes, in order. */
  public static List<JobOption> of(Task task) {
    List<JobOption> options = new ArrayList<>();
    for (JobOption option : values()) {
      if (option.appliesTo(task)) {
        options.add(option);
      }
    }
    return options;
  }

  /** The heading {@code --help} lists the option under. */
  public String section() {
    if (compareTo(PROMPT_TEMPLATE) < 0) {
      return "Input";
    }
    if (compareTo(OUTPUT) < 0) {
      return "Prompt";
    }
    if (compareTo(MODEL) < 0) {
      return "Output";
    }
    return "Model";
  }

  /** Whether the option may stand alone on the command line, meaning true. */
  public boolean isFlag() {
    return this == RECURSIVE
        || this == IMAGE_SPLITTING
        || this == KEEP_HEADERS_FOOTERS
        || this == CROP_PICTURES
        || this == ASSEMBLE;
  }

  /**
   * What the option means when it stands alone on the command line (followed by another option or
   * nothing), or null when it needs a value: {@code true} for flags, {@code all} for {@code
   * --retry-errors}.
   */
  public String aloneValue() {
    return isFlag() ? "true" : this == RETRY_ERRORS ? RetryErrors.ALL_VALUE : null;
  }

  /** The option whose key is {@code key}, or null. */
  public static JobOption forKey(String key) {
    for (JobOption option : values()) {
      if (option.key.equals(key)) {
        return option;
      }
    }
    return null;
  }

  private static String escaped(String text) {
    return text.replace("\n", "\\n");
  }
}
