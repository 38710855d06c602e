package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.RelaxedAccuracy;
import io.github.idefics3spark.python.PythonStr;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * ChartQA, lmms-lab/ChartQA (test split, 2500 questions: {@code type}, {@code question}, {@code
 * answer}, {@code image}): relaxed accuracy as lmms-eval's {@code chartqa/utils.py} scores it
 * ({@link RelaxedAccuracy}: numbers within 5% of the target, else the same lower-cased text),
 * overall and on the human and augmented splits; the prompt is lmms-eval's {@code chartqa.yaml}
 * default and {@code chartqa_doc_to_text}: {@code {question}\nAnswer the question with a single
 * word.}
 *
 * <p>The dataset has no id column: the id is lmms-eval's {@code doc_id}, the row's position in the
 * split (the Parquet files in path order, rows in file order), added by {@link #withIds}.
 */
final class ChartQa implements Benchmark {

  /** lmms-eval's ChartQA default {@code post_prompt}. */
  static final String POST_PROMPT = "\nAnswer the question with a single word.";

  /** The {@code type} of the human-written questions; lmms-eval counts every other as augmented. */
  static final String HUMAN = "human_test";

  static final String AUGMENTED = "augmented_test";

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "chartqa",
          "ChartQA",
          "lmms-lab/ChartQA",
          RowPositions.DOC_ID,
          List.of("image"),
          16,
          List.of(
              RowPositions.COLUMN,
              BenchmarkColumn.string("type", "the split: human_test or augmented_test"),
              BenchmarkColumn.QUESTION,
              BenchmarkColumn.image("image", "the chart"),
              BenchmarkColumn.string("answer", "the gold answer")),
          List.of("question"));

  @Override
  public BenchmarkLayout layout() {
    return LAYOUT;
  }

  /** {@link SmolVlmPrompts#CHARTQA_PROMPT}. */
  @Override
  public SmolVlmPrompts.Prompt smolVlmPrompt() {
    return SmolVlmPrompts.CHARTQA_PROMPT;
  }

  @Override
  public String prompt(Row row) {
    return prompt(BenchmarkRows.question(row));
  }

  /** {@code f"{question}\nAnswer the question with a single word."}. */
  static String prompt(String question) {
    return question + POST_PROMPT;
  }

  /** Refuses a {@code type} other than ChartQA's two splits. */
  @Override
  public void checkValues(Dataset<Row> source) {
    for (Row row : source.select("type").distinct().collectAsList()) {
      String type = row.getString(0);
      if (!HUMAN.equals(type) && !AUGMENTED.equals(type)) {
        throw new IllegalArgumentException(
            "type '" + type + "' is not one of ChartQA's: " + HUMAN + ", " + AUGMENTED);
      }
    }
  }

  /**
   * Relaxed correctness per question ({@link RelaxedAccuracy}), 1 or 0; {@code overall} is
   * lmms-eval's {@code relaxed_overall}, {@code by_type} its {@code relaxed_human_split} ({@code
   * human_test}) and {@code relaxed_augmented_split} (every other type, as lmms-eval counts). The
   * parsed answer is the answer stripped, as lmms-eval's harness hands it to the rule.
   */
  @Override
  public BenchmarkScores score(BenchmarkRows r, ObjectNode metrics) {
    RelaxedAccuracy accuracy = new RelaxedAccuracy();
    Map<String, BenchmarkScores.Scored> byId = new LinkedHashMap<>();
    for (Row row : r.rows()) {
      String id = r.id(row);
      String prediction = r.response(row);
      String gold = BenchmarkRows.string(row, BenchmarkRows.ANSWER);
      if (gold == null) {
        byId.put(id, new BenchmarkScores.Scored(PythonStr.strip(prediction), null));
        continue;
      }
      String type = HUMAN.equals(BenchmarkRows.string(row, "type")) ? HUMAN : AUGMENTED;
      double score = accuracy.add(prediction, gold, type);
      byId.put(id, new BenchmarkScores.Scored(PythonStr.strip(prediction), score));
    }
    metrics.put("metric", "relaxed accuracy");
    metrics.put(
        "scorer",
        "lmms-eval lmms_eval/tasks/chartqa/utils.py relaxed_correctness (75571cf): numbers within"
            + " 5% of the target (a trailing % divides by 100), else the same text lower-cased;"
            + " the answer stripped first, as lmms_eval/api/task.py does");
    metrics.put("scored", accuracy.count());
    if (accuracy.count() == 0) {
      metrics.putNull("overall");
      return new BenchmarkScores(byId, metrics, null);
    }
    metrics.put("overall", accuracy.overall());
    ObjectNode types = BenchmarkScores.JSON.objectNode();
    Map<String, Integer> counts = accuracy.countsByType();
    for (String type : List.of(HUMAN, AUGMENTED)) {
      if (counts.containsKey(type)) {
        types.set(type, BenchmarkScores.group(accuracy.byType().get(type), counts.get(type)));
      }
    }
    metrics.set("by_type", types);
    return new BenchmarkScores(byId, metrics, null);
  }
}
