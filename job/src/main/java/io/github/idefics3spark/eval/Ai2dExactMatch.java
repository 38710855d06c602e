package io.github.idefics3spark.eval;

import io.github.idefics3spark.python.PythonStr;
import java.math.BigInteger;
import java.util.Optional;

/**
 * AI2D's accuracy as lmms-eval scores it (EvolvingLMMs-Lab/lmms-eval {@code
 * lmms_eval/tasks/ai2d/ai2d.yaml}): the {@code flexible-extract} filter ({@code utils.py} {@code
 * MultiChoiceRegexFilter}), the harness's strip ({@code lmms_eval/api/task.py} {@code
 * process_results}), then {@code exact_match} ({@code lmms_eval/api/metrics.py} {@code
 * exact_match_hf_evaluate}) with {@code ignore_case} and {@code ignore_punctuation} against the
 * gold option letter ({@code ai2d_doc_to_target}, {@code mcq}: {@code chr(ord("A") +
 * int(answer))}).
 *
 * <p>The filter: a response matching {@code ^\s*([A-Z])\.} becomes that letter, any other stays as
 * it is. Both texts are then lower-cased (Python's {@code lower}), the 32 ASCII punctuation marks
 * of {@code string.punctuation} removed, and compared; numpy's string arrays drop trailing NUL
 * characters, so {@code A\0} equals {@code A}. So {@code B. moon}, {@code (b)} and {@code b!} are
 * B; {@code A) sun}, {@code Answer: A} and the full-width {@code Ａ} are no letter.
 */
public final class Ai2dExactMatch implements LetterExactMatch {

  private static final String PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

  private final ScoreTally tally = new ScoreTally();

  /** The {@code flexible-extract} filter: the letter of a response starting {@code X.}, else it. */
  public static String filter(String response) {
    int i = 0;
    while (i < response.length() && PythonStr.isSpace(response.codePointAt(i))) {
      i += Character.charCount(response.codePointAt(i));
    }
    if (i + 1 < response.length()
        && response.charAt(i) >= 'A'
        && response.charAt(i) <= 'Z'
        && response.charAt(i + 1) == '.') {
      return response.substring(i, i + 1);
    }
    return response;
  }

  /**
   * The gold letter of {@code answer}, the option's index as a string ({@code "0"} is A), read as
   * Python's {@code int} and indexing the letters of the {@code options} options as Python does
   * (negative from the end).
   *
   * @throws IllegalArgumentException when the answer is not an integer or no option's index
   */
  public static String target(String answer, int options) {
    Optional<BigInteger> parsed = PythonFloat.parseInt(answer);
    if (parsed.isEmpty()
        || parsed.get().compareTo(BigInteger.valueOf(options)) >= 0
        || parsed.get().compareTo(BigInteger.valueOf(-options)) < 0) {
      throw new IllegalArgumentException(
          "answer '" + answer + "' is not the index of one of the " + options + " options");
    }
    int index = parsed.get().intValue();
    return String.valueOf((char) ('A' + (index < 0 ? index + options : index)));
  }

  /** Whether the response, filtered and stripped, matches the gold letter as exact_match does. */
  public static boolean isCorrect(String response, String goldLetter) {
    return normalise(PythonStr.strip(filter(response))).equals(normalise(goldLetter));
  }

  /** {@code exact_match}'s ignore_case and ignore_punctuation, and numpy's trailing-NUL drop. */
  static String normalise(String s) {
    String lower = PythonStr.lower(s);
    StringBuilder out = new StringBuilder(lower.length());
    for (int i = 0; i < lower.length(); i++) {
      char c = lower.charAt(i);
      if (PUNCTUATION.indexOf(c) < 0) {
        out.append(c);
      }
    }
    int end = out.length();
    while (end > 0 && out.charAt(end - 1) == '\0') {
      end--;
    }
    return out.substring(0, end);
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

  /** The mean of the scores: lmms-eval's {@code exact_match} for the {@code ai2d} task. */
  @Override
  public double accuracy() {
    return tally.mean();
  }
}
