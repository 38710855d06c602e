package io.github.idefics3spark.eval;

import io.github.idefics3spark.python.PythonStr;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * MathVista's scoring: lupantech/MathVista {@code evaluation/calculate_score.py} ({@code
 * normalize_extracted_answer}, {@code get_most_similar}, {@code safe_equal}, and the accuracy
 * breakdowns of {@code main}).
 *
 * <p>An extracted answer (see {@link MathVistaExtraction}) is normalised by the question's type:
 * for multiple choice it is stripped, a letter in parentheses ({@code (b) ...}) is taken and
 * upper-cased, a letter naming an option becomes that option's text, and anything else becomes the
 * choice at the smallest edit distance (the first of equals); for an integer answer, {@code
 * str(int(float(x)))}; for a float answer, {@code str(round(float(x), int(precision)))}; for a
 * list, the text itself. What does not read as a number becomes no prediction (null), which is
 * wrong. The prediction is correct when it equals the gold answer string. Accuracy is {@code
 * correct / total}, overall and for each value of the metadata fields in {@link #TARGET_KEYS}
 * ({@code skills} is a list: a question counts under each skill it lists), sorted by accuracy, best
 * first.
 *
 * <p>lmms-eval's MathVista task differs in two ways: {@code safe_equal} compares {@code
 * str(prediction).strip()} with {@code str(answer).strip()}, and {@code precision} is passed to
 * {@code round} without {@code int()}.
 */
public final class MathVistaScore {

  /** The fields the official script breaks accuracy down by, in its order. */
  public static final List<String> TARGET_KEYS =
      List.of(
          "question_type",
          "answer_type",
          "language",
          "source",
          "category",
          "task",
          "context",
          "grade",
          "skills");

  private static final Pattern LETTER_IN_PARENS = Pattern.compile("\\(([a-zA-Z])\\)");

  private int correct;
  private int total;
  private final Map<String, ScoreTally> byKey = new LinkedHashMap<>();

  /** An empty tally. */
  public MathVistaScore() {
    TARGET_KEYS.forEach(k -> byKey.put(k, new ScoreTally()));
  }

  /**
   * {@code normalize_extracted_answer}: the prediction to compare with the gold answer, or null
   * when the extraction does not read as the answer type.
   *
   * @param precision the question's {@code precision} (decimals; used for float answers, null
   *     elsewhere: a float question without one gets no prediction, as in Python)
   * @param ignoreEmptyExtractions the official {@code --ignore_empty_extractions} flag (default
   *     off): a blank multiple-choice extraction gives no prediction instead of the closest choice
   */
  public static String normalizeExtractedAnswer(
      String extraction,
      List<String> choices,
      String questionType,
      String answerType,
      Double precision,
      boolean ignoreEmptyExtractions) {
    if ("multi_choice".equals(questionType)) {
      String e = extraction == null ? "None" : PythonStr.strip(extraction); // str(None)
      if (ignoreEmptyExtractions && e.isEmpty()) {
        return null;
      }
      Matcher letter = LETTER_IN_PARENS.matcher(e);
      if (letter.find()) {
        e = letter.group(1).toUpperCase(Locale.ROOT);
      }
      List<String> options = choices == null ? List.of() : choices;
      if (e.length() == 1 && e.charAt(0) >= 'A' && e.charAt(0) - 'A' < options.size()) {
        return options.get(e.charAt(0) - 'A');
      }
      return mostSimilar(e, options);
    }
    if ("integer".equals(answerType)) {
      OptionalDouble f =
          extraction == null ? OptionalDouble.empty() : PythonFloat.parse(extraction);
      if (f.isEmpty() || Double.isNaN(f.getAsDouble()) || Double.isInfinite(f.getAsDouble())) {
        return null; // float() fails, or int() of nan/inf raises
      }
      return new BigDecimal(f.getAsDouble()).toBigInteger().toString();
    }
    if ("float".equals(answerType)) {
      OptionalDouble f =
          extraction == null ? OptionalDouble.empty() : PythonFloat.parse(extraction);
      if (f.isEmpty() || precision == null || precision.isNaN() || precision.isInfinite()) {
        return null; // float() fails, or int(precision) raises
      }
      try {
        return PythonFloat.repr(PythonFloat.round(f.getAsDouble(), (int) precision.doubleValue()));
      } catch (ArithmeticException overflow) {
        return null;
      }
    }
    if ("list".equals(answerType)) {
      return extraction == null ? "None" : extraction;
    }
    throw new IllegalArgumentException(
        "MathVista's scorer normalises a "
            + questionType
            + " question only for answer_type integer, float or list, found '"
            + answerType
            + "' (the official script fails here too)");
  }

  /** {@code get_most_similar}: the choice at the smallest edit distance, the first of equals. */
  public static String mostSimilar(String prediction, List<String> choices) {
    if (choices.isEmpty()) {
      throw new IllegalArgumentException(
          "a multi_choice question needs choices to match '"
              + prediction
              + "' against, found none");
    }
    String best = choices.get(0);
    int bestDistance = Levenshtein.distance(prediction, best);
    for (String choice : choices.subList(1, choices.size())) {
      int d = Levenshtein.distance(prediction, choice);
      if (d < bestDistance) {
        best = choice;
        bestDistance = d;
      }
    }
    return best;
  }

  /** {@code safe_equal}: the prediction equals the gold answer (a null prediction never does). */
  public static boolean safeEqual(String prediction, String answer) {
    return prediction != null && prediction.equals(answer);
  }

  /**
   * Tallies one question under each target field's value.
   *
   * @param fields the question's values by field name ({@code question_type}, {@code answer_type},
   *     and the {@code metadata} fields); a missing or null field leaves the question out of that
   *     field's breakdown, as pandas leaves NaN out
   */
  public void add(boolean isCorrect, Map<String, List<String>> fields) {
    total++;
    if (isCorrect) {
      correct++;
    }
    for (String key : TARGET_KEYS) {
      List<String> values = fields.get(key);
      List<String> distinct = new ArrayList<>();
      if (values != null) {
        for (String v : new LinkedHashSet<>(values)) {
          if (v != null) {
            distinct.add(v);
          }
        }
      }
      byKey.get(key).add(isCorrect ? 1 : 0, distinct);
    }
  }

  /** Correct / total over all questions tallied (0 when none). */
  public double accuracy() {
    return total == 0 ? 0 : (double) correct / total;
  }

  /** The number of correct answers. */
  public int correct() {
    return correct;
  }

  /** The number of questions tallied. */
  public int total() {
    return total;
  }

  /** One value's row in a breakdown. */
  public record Group(String value, int correct, int total, double accuracy) {}

  /**
   * The breakdown by one of {@link #TARGET_KEYS}: each value's correct, total and accuracy, best
   * accuracy first (equal accuracies in first-seen order).
   */
  public List<Group> breakdown(String key) {
    ScoreTally tally = byKey.get(key);
    if (tally == null) {
      throw new IllegalArgumentException(
          "MathVista breaks accuracy down by " + TARGET_KEYS + ", not by '" + key + "'");
    }
    List<Group> rows = new ArrayList<>();
    Map<String, Integer> counts = tally.groupCounts();
    tally
        .groupSums()
        .forEach(
            (value, sum) -> {
              int n = counts.get(value);
              int c = (int) Math.round(sum);
              rows.add(new Group(value, c, n, (double) c / n));
            });
    rows.sort(Comparator.comparingDouble(Group::accuracy).reversed());
    return rows;
  }
}
