package io.github.idefics3spark.job;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;

/**
 * Typed reads of a benchmark's rows: the answers to score (each question's id and the model's raw
 * answer, {@link #RESPONSE}), and, through the static reads, any row's columns, absent ones read as
 * null (the prompt's columns as well as the scorer's).
 *
 * <p>Rows to score are the inference output's (or any predictions table with the same columns): the
 * dataset's columns as the job passes them through ({@code answer} as {@link #ANSWER}), the id, and
 * the model's raw answer (null where inference failed: scored as an empty answer, as the official
 * scripts score a missing one).
 *
 * @param rows the rows to score
 * @param idColumn the column holding each question's id
 */
record BenchmarkRows(List<Row> rows, String idColumn) {
  /** The column holding the model's raw answer in predictions. */
  static final String RESPONSE = "answer";

  /** The dataset's gold {@code answer} column as it passes through: {@code input_answer}. */
  static final String ANSWER = PassThrough.name("answer");

  String id(Row row) {
    return String.valueOf((Object) row.getAs(idColumn));
  }

  /** The raw answer, "" where inference failed. */
  String response(Row row) {
    String answer = row.getAs(RESPONSE);
    return answer == null ? "" : answer;
  }

  long failed() {
    return rows.stream().filter(row -> row.getAs(RESPONSE) == null).count();
  }

  static boolean has(Row row, String column) {
    return Arrays.asList(row.schema().fieldNames()).contains(column);
  }

  /** The {@code question} column ({@link BenchmarkColumn#QUESTION}), null when null or absent. */
  static String question(Row row) {
    return string(row, "question");
  }

  static String string(Row row, String column) {
    Object value = has(row, column) ? row.getAs(column) : null;
    return value == null ? null : value.toString();
  }

  /** A list of strings, empty when null or absent, its null elements left out. */
  static List<String> strings(Row row, String column) {
    if (!has(row, column) || row.isNullAt(row.fieldIndex(column))) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (Object o : row.getList(row.fieldIndex(column))) {
      if (o != null) {
        out.add(o.toString());
      }
    }
    return out;
  }

  /** A list as stored, null elements and all; null when null or absent. */
  static List<String> list(Row row, String column) {
    if (!has(row, column) || row.isNullAt(row.fieldIndex(column))) {
      return null;
    }
    return row.getList(row.fieldIndex(column));
  }

  static Double number(Row row, String column) {
    Object value = has(row, column) ? row.getAs(column) : null;
    return value instanceof Number n ? n.doubleValue() : null;
  }
}
