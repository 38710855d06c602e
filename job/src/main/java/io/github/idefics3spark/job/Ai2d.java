package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.size;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.Ai2dExactMatch;
import io.github.idefics3spark.python.PythonStr;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * AI2D, lmms-lab/ai2d (test split, 3088 questions: {@code question}, {@code options}, {@code
 * answer} the option's index, {@code image}): accuracy as lmms-eval's {@code ai2d} task scores it
 * ({@link Ai2dExactMatch}: the {@code flexible-extract} filter, then exact match with the option
 * letter ignoring case and punctuation); the prompt is lmms-eval's {@code ai2d.yaml} default and
 * {@code ai2d_doc_to_text} ({@code mcq}): {@code {question}\nA. {option 1}\nB. {option
 * 2}...\nAnswer with the option's letter from the given choices directly.}
 *
 * <p>The dataset has no id column: the id is lmms-eval's {@code doc_id} ({@link RowPositions}).
 */
final class Ai2d implements Benchmark {

  /** lmms-eval's AI2D default {@code post_prompt}. */
  static final String POST_PROMPT =
      "\nAnswer with the option's letter from the given choices directly.";

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "ai2d",
          "AI2D",
          "lmms-lab/ai2d",
          RowPositions.DOC_ID,
          List.of("image"),
          16,
          List.of(
              BenchmarkColumn.any(
                  RowPositions.DOC_ID, "the row's position in the split (added when absent)"),
              BenchmarkColumn.string("question", "the question").promptOnly(),
              BenchmarkColumn.strings("options", "the options, in letter order"),
              BenchmarkColumn.image("image", "the diagram"),
              BenchmarkColumn.string("answer", "the gold option's index: 0 is A")),
          List.of("question", "options"));

  @Override
  public BenchmarkLayout layout() {
    return LAYOUT;
  }

  /** {@link SmolVlmPrompts#AI2D_PROMPT}. */
  @Override
  public SmolVlmPrompts.Prompt smolVlmPrompt() {
    return SmolVlmPrompts.AI2D_PROMPT;
  }

  @Override
  public Dataset<Row> withIds(Dataset<Row> source) {
    return RowPositions.withDocIds(source);
  }

  @Override
  public String prompt(Row row) {
    return prompt(BenchmarkRows.string(row, "question"), BenchmarkRows.strings(row, "options"));
  }

  /** The question, each option after its letter ({@code A. }) on its own line, the instruction. */
  static String prompt(String question, List<String> options) {
    StringBuilder text = new StringBuilder(question).append('\n');
    return text.append(LmmsEvalPrompts.lettered(options)).append(POST_PROMPT).toString();
  }

  @Override
  public boolean multipleChoice() {
    return true;
  }

  /** A letter per option. */
  @Override
  public List<String> optionLetters(Row row) {
    List<String> options = BenchmarkRows.strings(row, "options");
    return options == null ? List.of() : LmmsEvalPrompts.letters(options.size());
  }

  /** Refuses an answer that is not the index of one of the question's options. */
  @Override
  public void checkValues(Dataset<Row> source) {
    for (Row row : source.select(col("answer"), size(col("options"))).distinct().collectAsList()) {
      if (row.isNullAt(0)) {
        continue;
      }
      Ai2dExactMatch.target(row.getString(0), row.isNullAt(1) ? 0 : Math.max(0, row.getInt(1)));
    }
  }

  /**
   * The official match per question ({@link Ai2dExactMatch}), 1 or 0; {@code overall} is
   * lmms-eval's {@code exact_match}. The parsed answer is the response filtered and stripped, what
   * is compared with the letter.
   */
  @Override
  public BenchmarkScores score(BenchmarkRows r, ObjectNode metrics) {
    Ai2dExactMatch match = new Ai2dExactMatch();
    Map<String, BenchmarkScores.Scored> byId = new LinkedHashMap<>();
    for (Row row : r.rows()) {
      String id = r.id(row);
      String response = r.response(row);
      String parsed = PythonStr.strip(Ai2dExactMatch.filter(response));
      String answer = BenchmarkRows.string(row, BenchmarkRows.ANSWER);
      if (answer == null) {
        byId.put(id, new BenchmarkScores.Scored(parsed, null, null, null));
        continue;
      }
      String gold;
      try {
        gold = Ai2dExactMatch.target(answer, BenchmarkRows.strings(row, "options").size());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("AI2D question " + id + ": " + e.getMessage(), e);
      }
      byId.put(id, new BenchmarkScores.Scored(parsed, match.add(response, gold), null, null));
    }
    metrics.put("metric", "accuracy");
    metrics.put(
        "scorer",
        "lmms-eval ai2d task (75571cf): tasks/ai2d/utils.py MultiChoiceRegexFilter, the answer"
            + " stripped, api/metrics.py exact_match (ignore_case, ignore_punctuation) with the"
            + " option letter");
    metrics.put("scored", match.count());
    if (match.count() == 0) {
      metrics.putNull("overall");
    } else {
      metrics.put("overall", match.accuracy());
    }
    return new BenchmarkScores(byId, metrics, null);
  }
}
