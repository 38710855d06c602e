package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.size;
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
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The request rows of {@code eval}: a benchmark's Hugging Face Parquet rows turned into questions
 * with the benchmark's prompt ({@link Benchmark#prompt}), its images, {@code task} the benchmark's
 * name, {@code image_markers} true where the benchmark places each image where the text names it
 * (MMMU) or, with SmolVLM's prompts, {@code image_slots} and {@code assistant_prefix} ({@link
 * SmolVlmPrompts}), {@code mc_options} the option letters under {@code --mc-scoring likelihood}
 * (null for a question answered by generation), and every other dataset column passed through for
 * scoring ({@code answer} as {@code input_answer}, {@code question} as {@code input_question}).
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
   * @param style whose prompts: lmms-eval's ({@link Benchmark#prompt}) or SmolVLM's ({@link
   *     Benchmark#smolVlmPrompt}, which the configuration checked the benchmark has)
   * @param base where relative image paths are resolved
   * @param limit the first rows only; 0 for all
   * @param mcScoring likelihood: each multiple-choice question's letters in {@code mc_options}
   */
  static Dataset<Row> build(
      Dataset<Row> source,
      Benchmark benchmark,
      PromptStyle style,
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
    Column imageArray = RequestRows.images(source, images, base, inputName);

    List<Column> columns = new ArrayList<>();
    columns.add(
        RequestRows.column(benchmark.layout().idColumn())
            .cast(DataTypes.StringType)
            .as(InferenceSchema.ID));
    columns.add(imageArray.as(InferenceSchema.IMAGES));
    if (style == PromptStyle.SMOLVLM) {
      SmolVlmPrompts.Prompt smolVlm = benchmark.smolVlmPrompt();
      checkColumns(source, smolVlm.columns(), benchmark, inputName);
      checkSmolVlmPrompts(source, benchmark, smolVlm, inputName);
      UserDefinedFunction turn = udf(new SmolVlmTurns(smolVlm), SmolVlmTurns.TYPE);
      Column t = turn.apply(textColumns(smolVlm.columnNames(), present), size(imageArray));
      columns.add(t.getField(InferenceSchema.QUESTION).as(InferenceSchema.QUESTION));
      columns.add(
          t.getField(InferenceSchema.ASSISTANT_PREFIX).as(InferenceSchema.ASSISTANT_PREFIX));
      columns.add(lit(benchmark.layout().name()).as(InferenceSchema.TASK));
      columns.add(t.getField(InferenceSchema.IMAGE_SLOTS).as(InferenceSchema.IMAGE_SLOTS));
    } else {
      UserDefinedFunction prompt = udf(new Prompter(benchmark), DataTypes.StringType);
      columns.add(
          prompt
              .apply(textColumns(benchmark.layout().promptColumns(), present))
              .as(InferenceSchema.QUESTION));
      columns.add(lit(null).cast(DataTypes.StringType).as(InferenceSchema.ASSISTANT_PREFIX));
      columns.add(lit(benchmark.layout().name()).as(InferenceSchema.TASK));
      if (benchmark.imageMarkers()) {
        columns.add(lit(true).as(InferenceSchema.IMAGE_MARKERS));
      }
    }
    if (mcScoring == McScoring.LIKELIHOOD) {
      UserDefinedFunction letters =
          udf(new OptionLetters(benchmark), DataTypes.createArrayType(DataTypes.StringType));
      columns.add(
          letters
              .apply(textColumns(benchmark.layout().promptColumns(), present))
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

  /** A struct of those of {@code names} the dataset has, each under its name. */
  private static Column textColumns(List<String> names, List<String> present) {
    List<Column> inputs = new ArrayList<>();
    for (String name : names) {
      if (present.contains(name)) {
        inputs.add(RequestRows.column(name).as(name));
      }
    }
    return struct(inputs.toArray(Column[]::new));
  }

  /**
   * Refuses, before any inference, a question VLMEvalKit's SmolVLM code could not prompt (an MMMU
   * {@code <image x} that names no image, an MMStar question without its options), naming its id;
   * only the text columns are read.
   */
  static void checkSmolVlmPrompts(
      Dataset<Row> source, Benchmark benchmark, SmolVlmPrompts.Prompt smolVlm, String inputName) {
    List<String> present = Arrays.asList(source.columns());
    String id = benchmark.layout().idColumn();
    Dataset<Row> texts =
        source.select(
            RequestRows.column(id).cast(DataTypes.StringType),
            textColumns(smolVlm.columnNames(), present));
    for (Row row : texts.collectAsList()) {
      Row text = row.getStruct(1);
      if (BenchmarkRows.string(text, smolVlm.columnNames().get(0)) == null) {
        continue; // answered as a BAD_PROMPT error row
      }
      try {
        smolVlm.rule().turn(text, 1);
      } catch (IllegalArgumentException e) {
        throw new JobInputException(
            inputName
                + ": question "
                + row.getString(0)
                + " cannot be asked with --prompt-style smolvlm ("
                + SmolVlmPrompts.SOURCE
                + ", "
                + smolVlm.method()
                + "): "
                + e.getMessage()
                + "; fix the row or use --prompt-style lmms-eval",
            e);
      }
    }
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
      if (BenchmarkRows.question(row) == null) {
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
      if (BenchmarkRows.question(row) == null) {
        return null; // answered as a BAD_PROMPT error row
      }
      return benchmark.prompt(row);
    }
  }

  /**
   * One question's SmolVLM turn ({@link SmolVlmPrompts.Turn}) as a struct of {@code question},
   * {@code assistant_prefix} and {@code image_slots}, from the text columns of {@link
   * SmolVlmPrompts.Prompt#columns} and the row's image count; null without a question text.
   */
  static final class SmolVlmTurns implements UDF2<Row, Integer, Row> {
    private static final long serialVersionUID = 1L;

    static final StructType TYPE =
        new StructType()
            .add(InferenceSchema.QUESTION, DataTypes.StringType, true)
            .add(InferenceSchema.ASSISTANT_PREFIX, DataTypes.StringType, true)
            .add(
                InferenceSchema.IMAGE_SLOTS,
                DataTypes.createArrayType(DataTypes.IntegerType, true),
                true);

    private final SmolVlmPrompts.Rule rule;
    private final String textColumn;

    /** The prompt's rule, and its first column, without which there is no question. */
    SmolVlmTurns(SmolVlmPrompts.Prompt prompt) {
      this.rule = prompt.rule();
      this.textColumn = prompt.columnNames().get(0);
    }

    @Override
    public Row call(Row row, Integer imageCount) {
      if (BenchmarkRows.string(row, textColumn) == null) {
        return null; // answered as a BAD_PROMPT error row
      }
      SmolVlmPrompts.Turn turn = rule.turn(row, imageCount == null ? 0 : Math.max(0, imageCount));
      return RowFactory.create(turn.text(), turn.assistantPrefix(), turn.slots());
    }
  }
}
