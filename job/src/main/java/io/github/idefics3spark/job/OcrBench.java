package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.OcrBenchScore;
import io.github.idefics3spark.python.PythonStr;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * OCRBench, echo840/OCRBench (test split, 1000 questions: {@code dataset}, {@code question}, {@code
 * question_type}, {@code answer} a list, {@code image}): the count of correct questions as
 * lmms-eval's {@code ocrbench/utils.py} scores them ({@link OcrBenchScore}: any gold answer a
 * substring of the response, spaces removed for HME100k, lower-cased otherwise), per category, the
 * Text Recognition group and the final score out of 1000; the prompt is lmms-eval's {@code
 * ocrbench.yaml} default and {@code ocrbench_doc_to_text}: the question stripped.
 *
 * <p>The dataset has no id column: the id is lmms-eval's {@code doc_id} ({@link RowPositions}).
 */
final class OcrBench implements Benchmark {

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "ocrbench",
          "OCRBench",
          "echo840/OCRBench",
          RowPositions.DOC_ID,
          List.of("image"),
          128,
          List.of(
              RowPositions.COLUMN,
              BenchmarkColumn.string("dataset", "the source dataset: HME100k is compared apart"),
              BenchmarkColumn.QUESTION,
              BenchmarkColumn.string("question_type", "the category, one of OCRBench's ten"),
              BenchmarkColumn.image("image", "the image"),
              BenchmarkColumn.strings("answer", "the gold answers")),
          List.of("question"));

  @Override
  public BenchmarkLayout layout() {
    return LAYOUT;
  }

  /** {@link SmolVlmPrompts#OCRBENCH_PROMPT}. */
  @Override
  public SmolVlmPrompts.Prompt smolVlmPrompt() {
    return SmolVlmPrompts.OCRBENCH_PROMPT;
  }

  @Override
  public String prompt(Row row) {
    return prompt(BenchmarkRows.question(row));
  }

  /** {@code f"{pre_prompt}{question.strip()}{post_prompt}"}, both empty by default. */
  static String prompt(String question) {
    return PythonStr.strip(question);
  }

  /** Refuses a {@code question_type} outside OCRBench's ten categories. */
  @Override
  public void checkValues(Dataset<Row> source) {
    for (Row row : source.select("question_type").distinct().collectAsList()) {
      OcrBenchScore.checkCategory(row.getString(0));
    }
  }

  /**
   * The official verdict per question ({@link OcrBenchScore}), 1 or 0; {@code overall} is
   * lmms-eval's {@code ocrbench_accuracy} (final score / 1000), {@code final_score} and {@code
   * text_recognition} the counts its report prints, {@code by_category} each category's count,
   * {@code by_group} the report's five groups. The parsed answer is the response stripped.
   */
  @Override
  public BenchmarkScores score(BenchmarkRows r, ObjectNode metrics) {
    OcrBenchScore score = new OcrBenchScore();
    Map<String, BenchmarkScores.Scored> byId = new LinkedHashMap<>();
    for (Row row : r.rows()) {
      String id = r.id(row);
      String response = r.response(row);
      String parsed = PythonStr.strip(response);
      if (BenchmarkRows.list(row, BenchmarkRows.ANSWER) == null) {
        byId.put(id, new BenchmarkScores.Scored(parsed, null));
        continue;
      }
      List<String> answers = BenchmarkRows.strings(row, BenchmarkRows.ANSWER);
      int s;
      try {
        s =
            score.add(
                response,
                answers,
                BenchmarkRows.string(row, "dataset"),
                BenchmarkRows.string(row, "question_type"));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("OCRBench question " + id + ": " + e.getMessage(), e);
      }
      byId.put(id, new BenchmarkScores.Scored(parsed, (double) s));
    }
    metrics.put("metric", "OCRBench score");
    metrics.put(
        "scorer",
        "lmms-eval lmms_eval/tasks/ocrbench/utils.py ocrbench_process_results and"
            + " ocrbench_aggregate_accuracy (75571cf): any answer a substring of the stripped"
            + " response, spaces removed for HME100k, fullwidth folded and lower-cased otherwise;"
            + " correct counts per category, out of 1000");
    metrics.put("scored", score.count());
    if (score.count() == 0) {
      metrics.putNull("overall");
      return new BenchmarkScores(byId, metrics, null);
    }
    metrics.put("overall", score.accuracy());
    metrics.put("final_score", score.finalScore());
    metrics.put("text_recognition", score.textRecognition());
    ObjectNode categories = BenchmarkScores.JSON.objectNode();
    score.byCategory().forEach(categories::put);
    metrics.set("by_category", categories);
    ObjectNode groups = BenchmarkScores.JSON.objectNode();
    groups.put("Text Recognition", score.textRecognition());
    for (String category : OcrBenchScore.CATEGORIES) {
      if (!OcrBenchScore.RECOGNITION.contains(category)) {
        groups.put(category, score.byCategory().get(category));
      }
    }
    metrics.set("by_group", groups);
    return new BenchmarkScores(byId, metrics, null);
  }
}
