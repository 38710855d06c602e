package io.github.idefics3spark.job;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;

/**
 * A column a benchmark needs: its name as in the dataset, its kind of type, what it holds, and
 * whether {@code score} needs it too (the prompt's and the images' columns it does not).
 */
record BenchmarkColumn(String name, String kind, String meaning, boolean forScoring) {
  static BenchmarkColumn any(String name, String meaning) {
    return new BenchmarkColumn(name, "any", meaning, true);
  }

  static BenchmarkColumn string(String name, String meaning) {
    return new BenchmarkColumn(name, "string", meaning, true);
  }

  static BenchmarkColumn strings(String name, String meaning) {
    return new BenchmarkColumn(name, "array<string>", meaning, true);
  }

  /** VQA gold answers: strings, or structs whose {@code answer} field is the string. */
  static BenchmarkColumn answers(String name, String meaning) {
    return new BenchmarkColumn(name, ANSWERS, meaning, true);
  }

  static final String ANSWERS = "array<string> or array<struct<answer: string, ...>>";

  static BenchmarkColumn number(String name, String meaning) {
    return new BenchmarkColumn(name, "a number", meaning, true);
  }

  static BenchmarkColumn struct(String name, String meaning) {
    return new BenchmarkColumn(name, "a struct", meaning, true);
  }

  /** The {@code question} string most benchmarks ask, needed for the prompt only. */
  static final BenchmarkColumn QUESTION = string("question", "the question").promptOnly();

  static BenchmarkColumn image(String name, String meaning) {
    return new BenchmarkColumn(name, "image", meaning, false);
  }

  /** The same column, needed for the prompt only. */
  BenchmarkColumn promptOnly() {
    return new BenchmarkColumn(name, kind, meaning, false);
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
      case ANSWERS ->
          type instanceof ArrayType a
              && (a.elementType().equals(DataTypes.StringType)
                  || a.elementType() instanceof StructType s
                      && Arrays.asList(s.fieldNames()).contains("answer")
                      && s.apply("answer").dataType().equals(DataTypes.StringType));
      case "a number" -> type instanceof NumericType;
      case "a struct" -> type instanceof StructType;
      case "image" ->
          HfLayout.isImageStruct(type)
              || type.equals(DataTypes.StringType)
              || type.equals(DataTypes.BinaryType);
      default -> true;
    };
  }

  /**
   * The columns {@code score} needs in predictions, from those {@code eval} needs in the dataset
   * ({@code evalColumns}): the dataset's columns but the images and the prompt's, named as the job
   * passes them through ({@code answer} as {@code input_answer}: {@link PassThrough}), the id
   * column left out (predictions may hold it as {@code id}), and {@link BenchmarkRows#RESPONSE}.
   */
  static List<BenchmarkColumn> scoreColumns(List<BenchmarkColumn> evalColumns, String idColumn) {
    List<BenchmarkColumn> columns = new ArrayList<>();
    for (BenchmarkColumn n : evalColumns) {
      if (n.forScoring() && !n.name().equals(idColumn)) {
        columns.add(new BenchmarkColumn(PassThrough.name(n.name()), n.kind(), n.meaning(), true));
      }
    }
    columns.add(
        string(BenchmarkRows.RESPONSE, "the model's raw answer (null where inference failed)"));
    return columns;
  }
}
