package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.Ai2dExactMatch;
import io.github.idefics3spark.python.PythonStr;
import java.util.List;
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

  /** The options, indexed by the gold answer; the official scorer, lmms-eval's. */
  private static final IndexedChoices OPTIONS =
      new IndexedChoices(
          "options",
          "AI2D",
          "lmms-eval ai2d task (75571cf): tasks/ai2d/utils.py MultiChoiceRegexFilter, the answer"
              + " stripped, api/metrics.py exact_match (ignore_case, ignore_punctuation) with the"
              + " option letter");

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "ai2d",
          "AI2D",
          "lmms-lab/ai2d",
          RowPositions.DOC_ID,
          List.of("image"),
          16,
          List.of(
              RowPositions.COLUMN,
              BenchmarkColumn.QUESTION,
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
  public String prompt(Row row) {
    return prompt(BenchmarkRows.question(row), BenchmarkRows.strings(row, "options"));
  }

  /** The question, each option after its letter ({@code A. }) on its own line, the instruction. */
  static String prompt(String question, List<String> options) {
    return LmmsEvalPrompts.withLetteredOptions(question, options);
  }

  @Override
  public boolean multipleChoice() {
    return true;
  }

  /** A letter per option. */
  @Override
  public List<String> optionLetters(Row row) {
    return OPTIONS.letters(row);
  }

  /** Refuses an answer that is not the index of one of the question's options. */
  @Override
  public void checkValues(Dataset<Row> source) {
    OPTIONS.checkAnswers(source, Ai2d::target);
  }

  /** {@link Ai2dExactMatch#target} of the answer, the option's index as a string. */
  private static String target(Object answer, int options) {
    return Ai2dExactMatch.target(answer.toString(), options);
  }

  /**
   * The official match per question ({@link Ai2dExactMatch}, {@link IndexedChoices#score}). The
   * parsed answer is the response filtered and stripped, what is compared with the letter.
   */
  @Override
  public BenchmarkScores score(BenchmarkRows r, ObjectNode metrics) {
    return OPTIONS.score(
        r,
        metrics,
        new Ai2dExactMatch(),
        response -> PythonStr.strip(Ai2dExactMatch.filter(response)),
        Ai2d::target);
  }
}
