package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.udf;

import io.github.idefics3spark.spark.InferenceSchema;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;

/**
 * The request rows of {@code eval}: a benchmark's Hugging Face Parquet rows turned into questions
 * with the benchmark's prompt ({@link Benchmark#prompt}), its images, {@code task} the benchmark's
 * name, {@code image_markers} true where the benchmark places each image where the text names it
 * (MMMU), {@code mc_options} the option letters under {@code --mc-scoring likelihood} (null for a
 * question answered by generation), and every other dataset column passed through for scoring
 * ({@code answer} as {@code input_answer}, {@code question} as {@code input_question}).
 */
final class BenchmarkRequests {
  private BenchmarkRequests() {}

  /**
   * Refuses a table that lacks a column the benchmark needs, or has it with another type, naming
   * the column, what it holds, and the columns found.
   */
  static void checkColumns(
      Dataset<Row> table, List<BenchmarkColumn> needed, Benchmark benchmark, String inputName) {
    List<String> problems = new ArrayList<>();
    for (BenchmarkColumn n : needed) {
      if (!Arrays.asList(table.columns()).contains(n.name())) {
        problems.add("no column '" + n.name() + "' (" + n.meaning() + ")");
      } else if (!n.accepts(table.schema().apply(n.name()).dataType())) {
        problems.add(
            "column '"
                + n.name()
                + "' is "
                + table.schema().apply(n.name()).dataType().simpleString()
                + ", expected "
                + (n.isImage() ? "an image: struct<bytes: binary, path: string>" : n.kind())
                + " ("
                + n.meaning()
                + ")");
      }
    }
    if (!problems.isEmpty()) {
      throw new JobInputException(
          inputName
              + " is not "
              + benchmark.layout().displayName()
              + " data as "
              + benchmark.layout().name()
              + " reads it ("
              + benchmark.layout().dataset()
              + "): "
              + String.join("; ", problems)
              + ". Columns found: "
              + RequestRows.columnList(table));
    }
  }

  /**
   * The requests of {@code source}, whose columns {@link #checkColumns} accepted: a projection of
   * it (the prompt built by a UDF over the text columns), so counting or selecting ids reads no
   * image.
   *
   * @param base where relative image paths are resolved
   * @param limit the first rows only; 0 for all
   * @param mcScoring likelihood: each multiple-choice question's letters in {@code mc_options}
   */
  static Dataset<Row> build(
      Dataset<Row> source,
      Benchmark benchmark,
      String base,
      String inputName,
      long limit,
      McScoring mcScoring) {
    checkValues(source, benchmark, inputName);
    List<String> present = Arrays.asList(source.columns());
    List<String> images =
        benchmark.layout().imageColumns().stream().filter(present::contains).toList();
    Set<String> consumed = new HashSet<>(images);
    consumed.add(benchmark.layout().idColumn());
    List<Column> promptInputs = new ArrayList<>();
    for (String name : benchmark.layout().promptColumns()) {
      if (present.contains(name)) {
        promptInputs.add(RequestRows.column(name).as(name));
      }
    }
    UserDefinedFunction prompt = udf(new Prompter(benchmark), DataTypes.StringType);

    List<Column> columns = new ArrayList<>();
    columns.add(
        RequestRows.column(benchmark.layout().idColumn())
            .cast(DataTypes.StringType)
            .as(InferenceSchema.ID));
    columns.add(RequestRows.images(source, images, base, inputName).as(InferenceSchema.IMAGES));
    columns.add(
        prompt.apply(struct(promptInputs.toArray(Column[]::new))).as(InferenceSchema.QUESTION));
    columns.add(lit(null).cast(DataTypes.StringType).as(InferenceSchema.ASSISTANT_PREFIX));
    columns.add(lit(benchmark.layout().name()).as(InferenceSchema.TASK));
    if (benchmark.imageMarkers()) {
      columns.add(lit(true).as(InferenceSchema.IMAGE_MARKERS));
    }
    if (mcScoring == McScoring.LIKELIHOOD) {
      UserDefinedFunction letters =
          udf(new OptionLetters(benchmark), DataTypes.createArrayType(DataTypes.StringType));
      columns.add(
          letters
              .apply(struct(promptInputs.toArray(Column[]::new)))
              .as(InferenceSchema.MC_OPTIONS));
    }
    for (String name : source.columns()) {
      if (!consumed.contains(name)) {
        columns.add(RequestRows.column(name).as(PassThrough.name(name)));
      }
    }
    Dataset<Row> requests = source.select(columns.toArray(Column[]::new));
    return limit > 0 ? requests.limit((int) Math.min(Integer.MAX_VALUE, limit)) : requests;
  }

  /**
   * Refuses values the benchmark's scorer cannot take ({@link Benchmark#checkValues}), before any
   * inference, naming the input.
   */
  static void checkValues(Dataset<Row> source, Benchmark benchmark, String inputName) {
    try {
      benchmark.checkValues(source);
    } catch (IllegalArgumentException e) {
      throw new JobInputException(inputName + ": " + e.getMessage(), e);
    }
  }

  /**
   * The option letters of one question ({@link Benchmark#optionLetters}), from the same columns as
   * its prompt; null for a question answered by generation.
   */
  static final class OptionLetters implements UDF1<Row, String[]> {
    private static final long serialVersionUID = 1L;

    private final Benchmark benchmark;

    OptionLetters(Benchmark benchmark) {
      this.benchmark = benchmark;
    }

    @Override
    public String[] call(Row row) {
      if (BenchmarkRows.string(row, "question") == null) {
        return null;
      }
      List<String> letters = benchmark.optionLetters(row);
      return letters.isEmpty() ? null : letters.toArray(String[]::new);
    }
  }

  /**
   * The user text of one question ({@link Benchmark#prompt}), from the dataset's text columns (a
   * struct of those of {@link Benchmark#promptColumns} present); null without a question.
   */
  static final class Prompter implements UDF1<Row, String> {
    private static final long serialVersionUID = 1L;

    private final Benchmark benchmark;

    Prompter(Benchmark benchmark) {
      this.benchmark = benchmark;
    }

    @Override
    public String call(Row row) {
      if (BenchmarkRows.string(row, "question") == null) {
        return null; // answered as a BAD_PROMPT error row
      }
      return benchmark.prompt(row);
    }
  }
}
