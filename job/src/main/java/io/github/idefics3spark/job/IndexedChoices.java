package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.size;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.LetterExactMatch;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Multiple-choice questions whose gold {@code answer} is the index of one of the row's choices,
 * asked with a letter per choice and scored by exact match with the gold letter, as lmms-eval's
 * AI2D ({@code options}) and ScienceQA-IMG ({@code choices}) tasks are: the letters a question
 * offers, the check of the answers before inference, and the loop that scores them. Each benchmark
 * brings its official gold-letter rule ({@link GoldLetter}), what its match reads in a response and
 * the match itself ({@link LetterExactMatch}).
 *
 * @param column the column holding the choices, in letter order
 * @param displayName the benchmark's name in messages
 * @param scorer the {@code scorer} the metrics name: the official code and its rule
 */
record IndexedChoices(String column, String displayName, String scorer) {

  /** The benchmark's gold letter of a gold {@code answer} among {@code choices} choices. */
  interface GoldLetter {
    /**
     * @param answer the {@code answer} column's value, not null
     * @throws IllegalArgumentException when it is not the index of one of the choices
     */
    String letter(Object answer, int choices);
  }

  /** A letter per choice. */
  List<String> letters(Row row) {
    return LmmsEvalPrompts.letters(BenchmarkRows.strings(row, column).size());
  }

  /** Refuses an answer that is not the index of one of the question's choices. */
  void checkAnswers(Dataset<Row> source, GoldLetter gold) {
    for (Row row : source.select(col("answer"), size(col(column))).distinct().collectAsList()) {
      if (row.isNullAt(0)) {
        continue;
      }
      gold.letter(row.get(0), row.isNullAt(1) ? 0 : Math.max(0, row.getInt(1)));
    }
  }

  /**
   * The official match per question, 1 or 0; {@code overall} is lmms-eval's {@code exact_match}.
   * The parsed answer is the response as {@code parse} leaves it, what is compared with the letter.
   */
  BenchmarkScores score(
      BenchmarkRows r,
      ObjectNode metrics,
      LetterExactMatch match,
      UnaryOperator<String> parse,
      GoldLetter gold) {
    Map<String, BenchmarkScores.Scored> byId = new LinkedHashMap<>();
    for (Row row : r.rows()) {
      String id = r.id(row);
      String response = r.response(row);
      String parsed = parse.apply(response);
      Object answer =
          BenchmarkRows.has(row, BenchmarkRows.ANSWER) ? row.getAs(BenchmarkRows.ANSWER) : null;
      if (answer == null) {
        byId.put(id, new BenchmarkScores.Scored(parsed, null));
        continue;
      }
      String letter;
      try {
        letter = gold.letter(answer, BenchmarkRows.strings(row, column).size());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            displayName + " question " + id + ": " + e.getMessage(), e);
      }
      byId.put(id, new BenchmarkScores.Scored(parsed, match.add(response, letter)));
    }
    metrics.put("metric", "accuracy");
    metrics.put("scorer", scorer);
    metrics.put("scored", match.count());
    if (match.count() == 0) {
      metrics.putNull("overall");
    } else {
      metrics.put("overall", match.accuracy());
    }
    return new BenchmarkScores(byId, metrics, null);
  }
}
