package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.size;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.ScienceQaExactMatch;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * ScienceQA-IMG, lmms-lab/ScienceQA config {@code ScienceQA-IMG} (test split, 2017 questions:
 * {@code question}, {@code choices}, {@code answer} the choice's index, {@code hint}, {@code
 * image}): accuracy as lmms-eval's {@code scienceqa_img} task scores it ({@link
 * ScienceQaExactMatch}); the prompt is lmms-eval's {@code scienceqa_img.yaml} default and {@code
 * sqa_doc_to_text}: {@code Context: {hint}\n} when the hint is not empty, then {@code
 * {question}\nA. {choice 1}\nB. {choice 2}...\nAnswer with the option's letter from the given
 * choices directly.}
 *
 * <p>The dataset has no id column: the id is lmms-eval's {@code doc_id} ({@link RowPositions}).
 */
final class ScienceQaImg implements Benchmark {

  /** lmms-eval's ScienceQA default {@code post_prompt}. */
  static final String POST_PROMPT =
      "\nAnswer with the option's letter from the given choices directly.";

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "scienceqa_img",
          "ScienceQA-IMG",
          "lmms-lab/ScienceQA",
          RowPositions.DOC_ID,
          List.of("image"),
          16,
          List.of(
              BenchmarkColumn.any(
                  RowPositions.DOC_ID, "the row's position in the split (added when absent)"),
              BenchmarkColumn.string("question", "the question").promptOnly(),
              BenchmarkColumn.string("hint", "the context, empty when none").promptOnly(),
              BenchmarkColumn.strings("choices", "the choices, in letter order"),
              BenchmarkColumn.image("image", "the picture"),
              BenchmarkColumn.number("answer", "the gold choice's index: 0 is A")),
          List.of("hint", "question", "choices"));

  @Override
  public BenchmarkLayout layout() {
    return LAYOUT;
  }

  /** {@link SmolVlmPrompts#SCIENCEQA_PROMPT}. */
  @Override
  public SmolVlmPrompts.Prompt smolVlmPrompt() {
    return SmolVlmPrompts.SCIENCEQA_PROMPT;
  }

  @Override
  public Dataset<Row> withIds(Dataset<Row> source) {
    return RowPositions.withDocIds(source);
  }

  @Override
  public String prompt(Row row) {
    return prompt(
        BenchmarkRows.string(row, "hint"),
        BenchmarkRows.string(row, "question"),
        BenchmarkRows.strings(row, "choices"));
  }

  /**
   * {@code sqa_doc_to_text}: the hint as {@code Context: {hint}\n} when not empty (a null hint is
   * Python's {@code None}, printed as it), the question, each choice after its letter ({@code A. })
   * on its own line, the instruction.
   */
  static String prompt(String hint, String question, List<String> choices) {
    String context = hint == null ? "None" : hint.isEmpty() ? "" : "Context: " + hint + "\n";
    StringBuilder text = new StringBuilder(context).append(question).append('\n');
    return text.append(LmmsEvalPrompts.lettered(choices)).append(POST_PROMPT).toString();
  }

  @Override
  public boolean multipleChoice() {
    return true;
  }

  /** A letter per choice. */
  @Override
  public List<String> optionLetters(Row row) {
    List<String> choices = BenchmarkRows.strings(row, "choices");
    return choices == null ? List.of() : LmmsEvalPrompts.letters(choices.size());
  }

  /** Refuses an answer that is not the index of one of the question's choices. */
  @Override
  public void checkValues(Dataset<Row> source) {
    for (Row row : source.select(col("answer"), size(col("choices"))).distinct().collectAsList()) {
      if (row.isNullAt(0)) {
        continue;
      }
      target(((Number) row.get(0)).doubleValue(), row.isNullAt(1) ? 0 : Math.max(0, row.getInt(1)));
    }
  }

  /** The gold letter of choice {@code answer}, refusing an index that is not a whole number. */
  private static String target(double answer, int choices) {
    if (answer != Math.rint(answer) || Double.isInfinite(answer)) {
      throw new IllegalArgumentException(
          "answer " + answer + " is not the index of one of the " + choices + " choices");
    }
    return ScienceQaExactMatch.target((long) answer, choices);
  }

  /**
   * The official match per question ({@link ScienceQaExactMatch}), 1 or 0; {@code overall} is
   * lmms-eval's {@code exact_match}. The parsed answer is the response stripped, what is compared
   * with the letter.
   */
  @Override
  public BenchmarkScores score(BenchmarkRows r, ObjectNode metrics) {
    ScienceQaExactMatch match = new ScienceQaExactMatch();
    Map<String, BenchmarkScores.Scored> byId = new LinkedHashMap<>();
    for (Row row : r.rows()) {
      String id = r.id(row);
      String response = r.response(row);
      String parsed = ScienceQaExactMatch.parse(response);
      Double answer = BenchmarkRows.number(row, BenchmarkRows.ANSWER);
      if (answer == null) {
        byId.put(id, new BenchmarkScores.Scored(parsed, null, null, null));
        continue;
      }
      String gold;
      try {
        gold = target(answer, BenchmarkRows.strings(row, "choices").size());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "ScienceQA-IMG question " + id + ": " + e.getMessage(), e);
      }
      byId.put(id, new BenchmarkScores.Scored(parsed, match.add(response, gold), null, null));
    }
    metrics.put("metric", "accuracy");
    metrics.put(
        "scorer",
        "lmms-eval scienceqa_img task (75571cf): tasks/scienceqa/utils.py sqa_process_results"
            + " (exact_match: the stripped answer is the choice letter, any case, or starts with"
            + " the upper-case letter and a period)");
    metrics.put("scored", match.count());
    if (match.count() == 0) {
      metrics.putNull("overall");
    } else {
      metrics.put("overall", match.accuracy());
    }
    return new BenchmarkScores(byId, metrics, null);
  }
}
