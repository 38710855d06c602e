package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.ScienceQaExactMatch;
import java.util.List;
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

  /** The choices, indexed by the gold answer; the official scorer, lmms-eval's. */
  private static final IndexedChoices CHOICES =
      new IndexedChoices(
          "choices",
          "ScienceQA-IMG",
          "lmms-eval scienceqa_img task (75571cf): tasks/scienceqa/utils.py sqa_process_results"
              + " (exact_match: the stripped answer is the choice letter, any case, or starts with"
              + " the upper-case letter and a period)");

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "scienceqa_img",
          "ScienceQA-IMG",
          "lmms-lab/ScienceQA",
          RowPositions.DOC_ID,
          List.of("image"),
          16,
          List.of(
              RowPositions.COLUMN,
              BenchmarkColumn.QUESTION,
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
  public String prompt(Row row) {
    return prompt(
        BenchmarkRows.string(row, "hint"),
        BenchmarkRows.question(row),
        BenchmarkRows.strings(row, "choices"));
  }

  /**
   * {@code sqa_doc_to_text}: the hint as {@code Context: {hint}\n} when not empty (a null hint is
   * Python's {@code None}, printed as it), the question, each choice after its letter ({@code A. })
   * on its own line, the instruction.
   */
  static String prompt(String hint, String question, List<String> choices) {
    String context = hint == null ? "None" : hint.isEmpty() ? "" : "Context: " + hint + "\n";
    return context + LmmsEvalPrompts.withLetteredOptions(question, choices);
  }

  @Override
  public boolean multipleChoice() {
    return true;
  }

  /** A letter per choice. */
  @Override
  public List<String> optionLetters(Row row) {
    return CHOICES.letters(row);
  }

  /** Refuses an answer that is not the index of one of the question's choices. */
  @Override
  public void checkValues(Dataset<Row> source) {
    CHOICES.checkAnswers(source, ScienceQaImg::target);
  }

  /** The gold letter of choice {@code answer}, refusing an index that is not a whole number. */
  private static String target(Object answer, int choices) {
    double index = ((Number) answer).doubleValue();
    if (index != Math.rint(index) || Double.isInfinite(index)) {
      throw new IllegalArgumentException(
          "answer " + index + " is not the index of one of the " + choices + " choices");
    }
    return ScienceQaExactMatch.target((long) index, choices);
  }

  /**
   * The official match per question ({@link ScienceQaExactMatch}, {@link IndexedChoices#score}).
   * The parsed answer is the response stripped, what is compared with the letter.
   */
  @Override
  public BenchmarkScores score(BenchmarkRows r, ObjectNode metrics) {
    return CHOICES.score(
        r, metrics, new ScienceQaExactMatch(), ScienceQaExactMatch::parse, ScienceQaImg::target);
  }
}
