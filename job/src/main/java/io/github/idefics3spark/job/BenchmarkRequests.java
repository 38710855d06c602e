package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.udf;

import io.github.idefics3spark.eval.BenchmarkPrompts;
import io.github.idefics3spark.eval.MmmuScore;
import io.github.idefics3spark.eval.MmstarScore;
import io.github.idefics3spark.eval.PythonLiteral;
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
 * with the benchmark's prompt ({@link BenchmarkPrompts}), its images, {@code task} the benchmark's
 * name, MMMU's {@code image_markers} true (each image where the text names it), and every other
 * dataset column passed through for scoring ({@code answer} as {@code input_answer}, {@code
 * question} as {@code input_question}).
 */
final class BenchmarkRequests {
  private BenchmarkRequests() {}

  /**
   * Refuses a table that lacks a column the benchmark needs, or has it with another type, naming
   * the column, what it holds, and the columns found.
   */
  static void checkColumns(
      Dataset<Row> table, List<Benchmark.Needed> needed, Benchmark benchmark, String inputName) {
    List<String> problems = new ArrayList<>();
    for (Benchmark.Needed n : needed) {
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
              + benchmark.displayName()
              + " data as "
              + benchmark.benchmarkName()
              + " reads it ("
              + benchmark.dataset()
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
   */
  static Dataset<Row> build(
      Dataset<Row> source, Benchmark benchmark, String base, String inputName, long limit) {
    checkValues(source, benchmark, inputName);
    List<String> present = Arrays.asList(source.columns());
    List<String> images = benchmark.imageColumns().stream().filter(present::contains).toList();
    Set<String> consumed = new HashSet<>(images);
    consumed.add(benchmark.idColumn());
    List<Column> promptInputs = new ArrayList<>();
    for (String name : Prompter.INPUTS) {
      if (present.contains(name)) {
        promptInputs.add(RequestRows.column(name).as(name));
      }
    }
    UserDefinedFunction prompt = udf(new Prompter(benchmark), DataTypes.StringType);

    List<Column> columns = new ArrayList<>();
    columns.add(
        RequestRows.column(benchmark.idColumn()).cast(DataTypes.StringType).as(InferenceSchema.ID));
    columns.add(RequestRows.images(source, images, base, inputName).as(InferenceSchema.IMAGES));
    columns.add(
        prompt.apply(struct(promptInputs.toArray(Column[]::new))).as(InferenceSchema.QUESTION));
    columns.add(lit(null).cast(DataTypes.StringType).as(InferenceSchema.ASSISTANT_PREFIX));
    columns.add(lit(benchmark.benchmarkName()).as(InferenceSchema.TASK));
    if (benchmark == Benchmark.MMMU) {
      columns.add(lit(true).as(InferenceSchema.IMAGE_MARKERS));
    }
    for (String name : source.columns()) {
      if (!consumed.contains(name)) {
        columns.add(RequestRows.column(name).as(RequestRows.passThroughName(name)));
      }
    }
    Dataset<Row> requests = source.select(columns.toArray(Column[]::new));
    return limit > 0 ? requests.limit((int) Math.min(Integer.MAX_VALUE, limit)) : requests;
  }

  /**
   * Refuses values the benchmark's scorer cannot take, before any inference: MMMU ids that name no
   * category and options that are not a Python list, MMStar categories the benchmark lacks,
   * MathVista free-form questions whose answer type is not integer, float or list.
   */
  static void checkValues(Dataset<Row> source, Benchmark benchmark, String inputName) {
    switch (benchmark) {
      case MMMU -> {
        for (Row row :
            source.select(col("id"), col("options"), col("question_type")).collectAsList()) {
          String id = row.getString(0);
          try {
            MmmuScore.categoryOf(id);
          } catch (IllegalArgumentException e) {
            throw new JobInputException(inputName + ": " + e.getMessage(), e);
          }
          if (!MmmuScore.isMultipleChoice(row.getString(2))) {
            continue;
          }
          if (row.isNullAt(1)) {
            throw new JobInputException(
                inputName + ": multiple-choice question " + id + " has no options (null)");
          }
          try {
            PythonLiteral.stringList(row.getString(1));
          } catch (IllegalArgumentException e) {
            throw new JobInputException(
                inputName + ": the options of question " + id + " are " + e.getMessage(), e);
          }
        }
      }
      case MMSTAR -> {
        for (Row row : source.select("category", "l2_category").distinct().collectAsList()) {
          List<String> l2 = MmstarScore.CATEGORIES.get(row.getString(0));
          if (l2 == null || !l2.contains(row.getString(1))) {
            throw new JobInputException(
                inputName
                    + ": category '"
                    + row.getString(0)
                    + "' with l2_category '"
                    + row.getString(1)
                    + "' is not one of MMStar's: "
                    + MmstarScore.CATEGORIES);
          }
        }
      }
      case MATHVISTA -> {
        for (Row row : source.select("question_type", "answer_type").distinct().collectAsList()) {
          boolean multiChoice = "multi_choice".equals(row.getString(0));
          if (!multiChoice && !List.of("integer", "float", "list").contains(row.getString(1))) {
            throw new JobInputException(
                inputName
                    + ": a "
                    + row.getString(0)
                    + " question with answer_type '"
                    + row.getString(1)
                    + "': MathVista's scorer takes multi_choice questions, and free_form ones"
                    + " whose answer_type is integer, float or list");
          }
        }
      }
      default -> {}
    }
  }

  /** The user text of one question, from the dataset's text columns (a struct of those present). */
  static final class Prompter implements UDF1<Row, String> {
    private static final long serialVersionUID = 1L;

    /** The dataset columns prompts are built from. */
    static final List<String> INPUTS =
        List.of(
            "question", "question_type", "options", "unit", "choices", "answer_type", "precision");

    private final Benchmark benchmark;

    Prompter(Benchmark benchmark) {
      this.benchmark = benchmark;
    }

    private static Object value(Row row, String column) {
      return Arrays.asList(row.schema().fieldNames()).contains(column) ? row.getAs(column) : null;
    }

    private static String string(Row row, String column) {
      Object value = value(row, column);
      return value == null ? null : value.toString();
    }

    private static List<String> strings(Row row, String column) {
      if (value(row, column) == null) {
        return null;
      }
      return row.getList(row.fieldIndex(column));
    }

    @Override
    public String call(Row row) {
      String question = string(row, "question");
      if (question == null) {
        return null; // answered as a BAD_PROMPT error row
      }
      return switch (benchmark) {
        case DOCVQA, INFOGRAPHICVQA -> BenchmarkPrompts.docVqa(question);
        case TEXTVQA -> BenchmarkPrompts.textVqa(question);
        case MMMU -> {
          String type = string(row, "question_type");
          String options = string(row, "options");
          yield BenchmarkPrompts.mmmu(
              question,
              type,
              MmmuScore.isMultipleChoice(type) && options != null
                  ? PythonLiteral.stringList(options)
                  : List.of());
        }
        case MMSTAR -> BenchmarkPrompts.mmstar(question);
        case MATHVISTA -> {
          Object precision = value(row, "precision");
          yield BenchmarkPrompts.mathVista(
              question,
              string(row, "unit"),
              strings(row, "choices"),
              string(row, "question_type"),
              string(row, "answer_type"),
              precision instanceof Number n ? n.doubleValue() : null);
        }
      };
    }
  }
}
