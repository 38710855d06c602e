package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;

import io.github.idefics3spark.eval.BenchmarkPrompts;
import io.github.idefics3spark.eval.MmmuScore;
import io.github.idefics3spark.eval.PythonLiteral;
import io.github.idefics3spark.spark.InferenceSchema;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

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
   * The requests of {@code source}, whose columns {@link #checkColumns} accepted.
   *
   * @param base where relative image paths are resolved
   */
  static Dataset<Row> build(
      Dataset<Row> source, Benchmark benchmark, String base, String inputName, long limit) {
    if (benchmark == Benchmark.MMMU) {
      checkMmmuOptions(source, inputName);
    }
    List<String> present = Arrays.asList(source.columns());
    List<String> images = benchmark.imageColumns().stream().filter(present::contains).toList();
    Set<String> consumed = new HashSet<>(images);
    consumed.add(benchmark.idColumn());
    List<Column> columns = new ArrayList<>();
    columns.add(
        RequestRows.column(benchmark.idColumn()).cast(DataTypes.StringType).as(InferenceSchema.ID));
    columns.add(RequestRows.images(source, images, base, inputName).as(InferenceSchema.IMAGES));
    for (String name : source.columns()) {
      if (!consumed.contains(name)) {
        columns.add(RequestRows.column(name).as(RequestRows.passThroughName(name)));
      }
    }
    Dataset<Row> selected = source.select(columns.toArray(Column[]::new));
    if (limit > 0) {
      selected = selected.limit((int) Math.min(Integer.MAX_VALUE, limit));
    }
    Prompter prompter = new Prompter(benchmark, selected.schema());
    return selected.map(prompter, Encoders.row(prompter.requestSchema()));
  }

  /** MMMU's options are Python list literals: one that is not is named before any inference. */
  private static void checkMmmuOptions(Dataset<Row> source, String inputName) {
    List<Row> rows =
        source
            .select(col("id"), col("options"))
            .where(col("question_type").equalTo("multiple-choice"))
            .collectAsList();
    for (Row row : rows) {
      if (row.isNullAt(1)) {
        throw new JobInputException(
            inputName + ": multiple-choice question " + row.get(0) + " has no options (null)");
      }
      try {
        PythonLiteral.stringList(row.getString(1));
      } catch (IllegalArgumentException e) {
        throw new JobInputException(
            inputName + ": the options of question " + row.get(0) + " are " + e.getMessage(), e);
      }
    }
  }

  /** Adds question, assistant_prefix, task (and MMMU's image_markers) after id and images. */
  private static final class Prompter implements MapFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final Benchmark benchmark;
    private final StructType selected;

    Prompter(Benchmark benchmark, StructType selected) {
      this.benchmark = benchmark;
      this.selected = selected;
    }

    private boolean markers() {
      return benchmark == Benchmark.MMMU;
    }

    StructType requestSchema() {
      List<StructField> fields = new ArrayList<>();
      fields.add(selected.fields()[0]);
      fields.add(selected.fields()[1]);
      fields.add(DataTypes.createStructField(InferenceSchema.QUESTION, DataTypes.StringType, true));
      fields.add(
          DataTypes.createStructField(
              InferenceSchema.ASSISTANT_PREFIX, DataTypes.StringType, true));
      fields.add(DataTypes.createStructField(InferenceSchema.TASK, DataTypes.StringType, false));
      if (markers()) {
        fields.add(
            DataTypes.createStructField(
                InferenceSchema.IMAGE_MARKERS, DataTypes.BooleanType, false));
      }
      fields.addAll(Arrays.asList(selected.fields()).subList(2, selected.fields().length));
      return DataTypes.createStructType(fields);
    }

    @Override
    public Row call(Row row) {
      int added = markers() ? 4 : 3;
      Object[] values = new Object[row.length() + added];
      values[0] = row.get(0);
      values[1] = row.get(1);
      values[2] = prompt(row);
      values[3] = null;
      values[4] = benchmark.benchmarkName();
      if (markers()) {
        values[5] = true;
      }
      for (int i = 2; i < row.length(); i++) {
        values[i + added] = row.get(i);
      }
      return RowFactory.create(values);
    }

    private Object value(Row row, String datasetColumn) {
      String name = RequestRows.passThroughName(datasetColumn);
      if (!Arrays.asList(selected.fieldNames()).contains(name)) {
        return null;
      }
      return row.get(selected.fieldIndex(name));
    }

    private String string(Row row, String datasetColumn) {
      Object value = value(row, datasetColumn);
      return value == null ? null : value.toString();
    }

    private List<String> strings(Row row, String datasetColumn) {
      String name = RequestRows.passThroughName(datasetColumn);
      if (!Arrays.asList(selected.fieldNames()).contains(name)) {
        return null;
      }
      int i = selected.fieldIndex(name);
      return row.isNullAt(i) ? null : row.getList(i);
    }

    private String prompt(Row row) {
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
