package io.github.idefics3spark.eval;

import io.github.idefics3spark.python.PythonStr;
import java.util.List;
import java.util.regex.Pattern;

/**
 * TextVQA accuracy as the TextVQA authors' evaluator computes it: facebookresearch/mmf {@code
 * mmf/utils/m4c_evaluators.py} (read at b0ffc7f; the file is unchanged since 2dc099a, 2020), {@code
 * TextVQAAccuracyEvaluator} with its {@code EvalAIAnswerProcessor}, the rule of the TextVQA
 * leaderboard (EvalAI) and of lmms-eval's {@code textvqa}.
 *
 * <p>The prediction and each of the 10 gold answers always go through {@link #process}, whether or
 * not the gold answers agree. Then for each of the 10 processed gold answers, {@code acc = min(1,
 * (number of the <em>other</em> 9 equal to the processed prediction) / 3)}; the question's accuracy
 * is the mean of the 10 (the official code computes this for each distinct processed answer and
 * looks the prediction up, 0 when absent: the same sums in the same order). The overall accuracy is
 * the mean over questions; {@link #overall} gives it in percent.
 *
 * <p>VQA v2's {@code vqaEval.py} ({@link VqaAccuracy}) differs: it processes only when the gold
 * answers disagree, so {@code two} against ten {@code 2} scores 0 there and 1 here, and it neither
 * lower-cases first nor drops every comma and question mark nor splits {@code 's}.
 *
 * <p>The tables (contractions, number words, articles, punctuation) are the same as {@code
 * vqaEval.py}'s, entry for entry, and are shared with {@link VqaAccuracy}. Python 3 semantics:
 * {@code \d} is any Unicode decimal digit, case mapping and whitespace are Python's ({@link
 * PythonStr}), and at most 32 periods are removed ({@code re.UNICODE} passed as {@code sub}'s
 * count, as in {@code vqaEval.py}).
 */
public final class TextVqaAccuracy {

  /** The number of gold answers the evaluator takes per question (it asserts it). */
  public static final int GOLD_ANSWERS = 10;

  /** {@code (?<=\d)(\,)+(?=\d)}: commas between digits. */
  private static final Pattern COMMA_STRIP =
      Pattern.compile("(?<=\\p{Nd}),+(?=\\p{Nd})", Pattern.UNICODE_CHARACTER_CLASS);

  private final ScoreTally tally = new ScoreTally();

  /**
   * One question's accuracy in [0, 1]: the mean over the 10 processed gold answers of min(1,
   * matches among the other 9 / 3), matches counted against the processed prediction.
   *
   * @throws IllegalArgumentException when there are not 10 gold answers
   */
  public static double score(String prediction, List<String> answers) {
    if (answers.size() != GOLD_ANSWERS) {
      throw new IllegalArgumentException(
          "TextVQA's evaluator takes "
              + GOLD_ANSWERS
              + " gold answers per question, found "
              + answers.size()
              + " (prediction '"
              + prediction
              + "')");
    }
    String predicted = process(prediction);
    List<String> gold = answers.stream().map(TextVqaAccuracy::process).toList();
    double sum = 0;
    for (int i = 0; i < gold.size(); i++) {
      int matching = 0;
      for (int j = 0; j < gold.size(); j++) {
        if (j != i && gold.get(j).equals(predicted)) {
          matching++;
        }
      }
      sum += Math.min(1, (double) matching / 3);
    }
    return sum / gold.size();
  }

  /**
   * {@code EvalAIAnswerProcessor}: lower-case; delete every comma and question mark; {@code 's}
   * becomes {@code 's}; strip; newlines and tabs to spaces, strip; {@link #processPunctuation};
   * {@link VqaAccuracy#processDigitArticle} (number words to digits, articles dropped, contractions
   * restored).
   */
  public static String process(String answer) {
    String s = PythonStr.lower(answer);
    s = PythonStr.strip(s.replace(",", "").replace("?", "").replace("'s", " 's"));
    s = PythonStr.strip(s.replace('\n', ' ').replace('\t', ' '));
    return VqaAccuracy.processDigitArticle(processPunctuation(s));
  }

  /**
   * The processor's {@code process_punctuation}: each mark of the punctuation list is deleted when
   * it touches a space in the input (or the input has commas between digits), otherwise replaced by
   * a space; then up to 32 periods not followed by a digit are deleted.
   */
  public static String processPunctuation(String inText) {
    boolean commasBetweenDigits = COMMA_STRIP.matcher(inText).find();
    String outText = inText;
    for (String p : VqaAccuracy.PUNCT) {
      boolean touchesSpace = inText.contains(p + " ") || inText.contains(" " + p);
      outText = outText.replace(p, touchesSpace || commasBetweenDigits ? "" : " ");
    }
    return VqaAccuracy.stripPeriods(outText);
  }

  /** Scores one question, tallies it, returns it (0 to 1). */
  public double add(String prediction, List<String> answers) {
    double s = score(prediction, answers);
    tally.add(s);
    return s;
  }

  /** The overall accuracy in percent, {@code 100 * sum / count} (0 when none). */
  public double overall() {
    return tally.count() == 0 ? 0 : 100 * tally.sum() / tally.count();
  }

  /** The number of questions tallied. */
  public int count() {
    return tally.count();
  }
}
