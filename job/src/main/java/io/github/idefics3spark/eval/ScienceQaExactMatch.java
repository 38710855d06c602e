package io.github.idefics3spark.eval;

import io.github.idefics3spark.python.PythonStr;

/**
 * ScienceQA-IMG's accuracy as lmms-eval scores it (EvolvingLMMs-Lab/lmms-eval 75571cf {@code
 * lmms_eval/tasks/scienceqa/scienceqa_img.yaml}: no filters, {@code process_results} is {@code
 * utils.py} {@code sqa_process_results}, aggregated by {@code mean}): the gold letter is {@code
 * sqa_doc_to_target}, {@code chr(ord("A") + i)} for the {@code answer}-th choice; the response,
 * stripped (by the harness, {@code lmms_eval/api/task.py}, and again by the task), scores 1 when
 * its lower case (Python's {@code lower}) equals the lower-cased letter, or when it is at least two
 * characters, the first upper case (Python's {@code isupper}) and the second a period, and the
 * first lower-cased is the letter; otherwise 0.
 *
 * <p>So {@code b}, {@code B. moon} and {@code B.A} are B; {@code b.}, {@code (B)}, {@code B)},
 * {@code Answer: B}, {@code B!} and the full-width {@code Ｂ} are not.
 */
public final class ScienceQaExactMatch implements LetterExactMatch {

  private final ScoreTally tally = new ScoreTally();

  /**
   * The gold letter ({@code sqa_doc_to_target}) of choice {@code answer} of {@code choices}
   * choices, indexed as Python indexes a list (negative from the end).
   *
   * @throws IllegalArgumentException when {@code answer} is not the index of one of the choices
   */
  public static String target(long answer, int choices) {
    if (answer >= choices || answer < -choices) {
      throw new IllegalArgumentException(
          "answer " + answer + " is not the index of one of the " + choices + " choices");
    }
    int index = (int) (answer < 0 ? answer + choices : answer);
    return String.valueOf((char) ('A' + index));
  }

  /** The response as {@code sqa_process_results} reads it: stripped as Python strips. */
  public static String parse(String response) {
    return PythonStr.strip(response);
  }

  /** Whether the response matches the gold letter as {@code sqa_process_results} decides. */
  public static boolean isCorrect(String response, String goldLetter) {
    String target = PythonStr.lower(PythonStr.strip(goldLetter));
    String pred = parse(response);
    if (PythonStr.lower(pred).equals(target)) {
      return true;
    }
    // pattern: ^[A-Z]\. .*  (as the source says; it tests isupper and a period)
    if (pred.codePointCount(0, pred.length()) >= 2) {
      int first = pred.codePointAt(0);
      int second = pred.codePointAt(Character.charCount(first));
      if (Character.isUpperCase(first) && second == '.') {
        return PythonStr.lower(new String(Character.toChars(first))).equals(target);
      }
    }
    return false;
  }

  /** Scores one question and adds it to the accuracy; returns 1.0 or 0.0. */
  @Override
  public double add(String response, String goldLetter) {
    double score = isCorrect(response, goldLetter) ? 1.0 : 0.0;
    tally.add(score);
    return score;
  }

  /** The number of questions added. */
  @Override
  public int count() {
    return tally.count();
  }

  /** The mean of the scores: lmms-eval's {@code exact_match} for the {@code scienceqa_img} task. */
  @Override
  public double accuracy() {
    return tally.mean();
  }
}
