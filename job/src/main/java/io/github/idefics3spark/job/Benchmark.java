package io.github.idefics3spark.job;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;

/**
 * The benchmarks {@code eval} runs and {@code score} scores, each with the Hugging Face dataset
 * layout it reads (shared/spec/benchmarks.md), the columns it needs, and its default answer length.
 * Prompts are built by {@link io.github.idefics3spark.eval.BenchmarkPrompts}, answers scored by
 * {@link BenchmarkScoring}.
 */
public enum Benchmark {
  /** lmms-lab/DocVQA, config DocVQA: ANLS, by question type. */
  DOCVQA(
      "docvqa",
      "DocVQA",
      "lmms-lab/DocVQA (config DocVQA)",
      "questionId",
      List.of("image"),
      32,
      List.of(
          Needed.any("questionId", "the question id"),
          Needed.string("question", "the question").promptOnly(),
          Needed.image("image", "the document page"),
          Needed.strings("answers", "the gold answers (null on the test split)"),
          Needed.strings("question_types", "the question types ANLS is broken down by"))),
  /** lmms-lab/DocVQA, config InfographicVQA: ANLS, by answer type, evidence and operation. */
  INFOGRAPHICVQA(
      "infographicvqa",
      "InfographicVQA",
      "lmms-lab/DocVQA (config InfographicVQA)",
      "questionId",
      List.of("image"),
      32,
      List.of(
          Needed.any("questionId", "the question id"),
          Needed.string("question", "the question").promptOnly(),
          Needed.image("image", "the infographic"),
          Needed.strings("answers", "the gold answers (null on the test split)"))),
  /** lmms-lab/textvqa: VQA accuracy (the official VQA script's). */
  TEXTVQA(
      "textvqa",
      "TextVQA",
      "lmms-lab/textvqa",
      "question_id",
      List.of("image"),
      32,
      List.of(
          Needed.any("question_id", "the question id"),
          Needed.string("question", "the question").promptOnly(),
          Needed.image("image", "the photo"),
          Needed.strings("answers", "the 10 gold answers (null on the test split)"))),
  /** MMMU/MMMU: accuracy, by discipline and category; interleaved images. */
  MMMU(
      "mmmu",
      "MMMU",
      "MMMU/MMMU",
      "id",
      List.of("image_1", "image_2", "image_3", "image_4", "image_5", "image_6", "image_7"),
      128,
      List.of(
          Needed.string("id", "the question id, <split>_<Category>_<n>, which names the category"),
          Needed.string("question", "the question, with <image N> where image N goes").promptOnly(),
          Needed.string("options", "the options, a Python list literal"),
          Needed.string("question_type", "multiple-choice or open"),
          Needed.string("answer", "the gold answer: an option letter, a value or a list literal"),
          Needed.image("image_1", "the first image (image_2 ... image_7 when present)"))),
  /** Lin-Chen/MMStar: the official score, by category and subcategory. */
  MMSTAR(
      "mmstar",
      "MMStar",
      "Lin-Chen/MMStar",
      "index",
      List.of("image"),
      32,
      List.of(
          Needed.any("index", "the question id"),
          Needed.string("question", "the question with its options").promptOnly(),
          Needed.image("image", "the image"),
          Needed.string("answer", "the gold option letter"),
          Needed.string("category", "the category"),
          Needed.string("l2_category", "the subcategory"))),
  /** AI4Math/MathVista: accuracy, by the official metadata fields. */
  MATHVISTA(
      "mathvista",
      "MathVista",
      "AI4Math/MathVista",
      "pid",
      List.of("decoded_image"),
      64,
      List.of(
          Needed.any("pid", "the problem id"),
          Needed.string("question", "the question").promptOnly(),
          Needed.image("decoded_image", "the image"),
          Needed.strings("choices", "the choices of a multiple-choice question (else null)"),
          Needed.string("unit", "the answer's unit (empty or null when none)").promptOnly(),
          Needed.number("precision", "the decimals of a float answer"),
          Needed.string("question_type", "multi_choice or free_form"),
          Needed.string("answer_type", "text, integer, float or list"),
          Needed.string("answer", "the gold answer (null on the test split)"),
          Needed.struct("metadata", "category, context, grade, language, skills, source, task")));

  /** The column holding the model's raw answer in predictions. */
  public static final String RESPONSE = "answer";

  private final String benchmarkName;
  private final String displayName;
  private final String dataset;
  private final String idColumn;
  private final List<String> imageColumns;
  private final int maxNewTokens;
  private final List<Needed> needed;

  Benchmark(
      String name,
      String displayName,
      String dataset,
      String idColumn,
      List<String> imageColumns,
      int maxNewTokens,
      List<Needed> needed) {
    this.benchmarkName = name;
    this.displayName = displayName;
    this.dataset = dataset;
    this.idColumn = idColumn;
    this.imageColumns = imageColumns;
    this.maxNewTokens = maxNewTokens;
    this.needed = needed;
  }

  /** The name on the command line and in the output's {@code task} column: {@code mmmu}. */
  public String benchmarkName() {
    return benchmarkName;
  }

  public String displayName() {
    return displayName;
  }

  /** The Hugging Face dataset whose Parquet layout is read. */
  public String dataset() {
    return dataset;
  }

  /** The dataset's id column. */
  public String idColumn() {
    return idColumn;
  }

  /** The image columns, in prompt order; those present are read, nulls skipped. */
  public List<String> imageColumns() {
    return imageColumns;
  }

  /** The default of {@code --max-new-tokens} for this benchmark. */
  public int maxNewTokens() {
    return maxNewTokens;
  }

  /** The benchmark named {@code name} (any case), or null. */
  public static Benchmark forName(String name) {
    for (Benchmark b : values()) {
      if (b.benchmarkName.equals(name.toLowerCase(Locale.ROOT))) {
        return b;
      }
    }
    return null;
  }

  /** The names, {@code docvqa|infographicvqa|...}. */
  public static String choices() {
    return Arrays.stream(values()).map(b -> b.benchmarkName).collect(Collectors.joining("|"));
  }

  /** A column the benchmark needs: its name as in the dataset, its kind of type, what it holds. */
  record Needed(String name, String kind, String meaning, boolean forScoring) {
    static Needed any(String name, String meaning) {
      return new Needed(name, "any", meaning, true);
    }

    static Needed string(String name, String meaning) {
      return new Needed(name, "string", meaning, true);
    }

    static Needed strings(String name, String meaning) {
      return new Needed(name, "array<string>", meaning, true);
    }

    static Needed number(String name, String meaning) {
      return new Needed(name, "a number", meaning, true);
    }

    static Needed struct(String name, String meaning) {
      return new Needed(name, "a struct", meaning, true);
    }

    static Needed image(String name, String meaning) {
      return new Needed(name, "image", meaning, false);
    }

    /** The same column, needed for the prompt only. */
    Needed promptOnly() {
      return new Needed(name, kind, meaning, false);
    }

    boolean isImage() {
      return kind.equals("image");
    }

    /** Whether a column of {@code type} fits. */
    boolean accepts(DataType type) {
      return switch (kind) {
        case "string" -> type.equals(DataTypes.StringType);
        case "array<string>" ->
            type instanceof ArrayType a && a.elementType().equals(DataTypes.StringType);
        case "a number" -> type instanceof NumericType;
        case "a struct" -> type instanceof StructType;
        case "image" ->
            HfParquetInput.isImageStruct(type)
                || type.equals(DataTypes.StringType)
                || type.equals(DataTypes.BinaryType);
        default -> true;
      };
    }
  }

  /** The columns {@code eval} needs in the dataset's Parquet. */
  List<Needed> evalColumns() {
    return needed;
  }

  /**
   * The columns {@code score} needs in predictions: the dataset's columns but the images, named as
   * the job passes them through ({@code answer} as {@code input_answer}, {@code question} as {@code
   * input_question}), the id as {@code id} (or the dataset's id column), and {@link #RESPONSE}.
   */
  List<Needed> scoreColumns() {
    List<Needed> columns = new ArrayList<>();
    for (Needed n : needed) {
      if (n.forScoring() && !n.name().equals(idColumn)) {
        columns.add(new Needed(RequestRows.passThroughName(n.name()), n.kind(), n.meaning(), true));
      }
    }
    columns.add(Needed.string(RESPONSE, "the model's raw answer (null where inference failed)"));
    return columns;
  }
}
