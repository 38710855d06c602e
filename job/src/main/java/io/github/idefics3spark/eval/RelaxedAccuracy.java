package io.github.idefics3spark.eval;

import io.github.idefics3spark.python.PythonStr;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * ChartQA's relaxed accuracy as lmms-eval scores it: EvolvingLMMs-Lab/lmms-eval {@code
 * lmms_eval/tasks/chartqa/utils.py} {@code relaxed_correctness} (taken from Qwen-VL's {@code
 * evaluate_vqa.py}, after the ChartQA paper and pix2struct), with {@code max_relative_change} 0.05.
 *
 * <p>Prediction and target are each read as Python's {@code float(text)} ({@link PythonFloat}:
 * surrounding whitespace allowed, no thousands commas, no units); a text ending in {@code %} is
 * read as {@code float(text.rstrip("%")) / 100}, so {@code 50%} equals {@code 0.5}. When the
 * prediction is a number and the target a non-zero number (a float that is truthy: NaN counts, 0
 * does not), the prediction is correct when {@code |prediction - target| / |target| <= 0.05}, in
 * doubles as Python computes it. Otherwise the texts must be equal after Python's {@code lower()},
 * nothing stripped. The benchmark score is the mean over questions of 1.0 or 0.0, overall and per
 * {@code type} ({@code human_test}, {@code augmented_test}).
 */
public final class RelaxedAccuracy {

  /** lmms-eval's {@code max_relative_change} default. */
  public static final double MAX_RELATIVE_CHANGE = 0.05;

  private final ScoreTally tally = new ScoreTally();

  /** Whether {@code prediction} is correct for {@code target} under the relaxed rule. */
  public static boolean isCorrect(String prediction, String target) {
    OptionalDouble p = toFloat(prediction);
    OptionalDouble t = toFloat(target);
    if (p.isPresent() && t.isPresent() && t.getAsDouble() != 0.0) {
      double relativeChange =
          Math.abs(p.getAsDouble() - t.getAsDouble()) / Math.abs(t.getAsDouble());
      return relativeChange <= MAX_RELATIVE_CHANGE;
    }
    return PythonStr.lower(prediction).equals(PythonStr.lower(target));
  }

  /** lmms-eval's {@code _to_float}: a trailing {@code %} divides by 100; empty on ValueError. */
  static OptionalDouble toFloat(String text) {
    if (text.endsWith("%")) {
      OptionalDouble v = PythonFloat.parse(PythonStr.rstrip(text, "%"));
      return v.isPresent() ? OptionalDouble.of(v.getAsDouble() / 100.0) : v;
    }
    return PythonFloat.parse(text);
  }

  /**
   * Scores one question and adds it to the overall mean and its type's. The response is stripped
   * first, as lmms-eval's {@code ConfigurableTask.process_results} ({@code lmms_eval/api/task.py})
   * strips every generated text before the task's {@code chartqa_process_results}.
   *
   * @param response the model's answer as generated
   * @param type the dataset's {@code type}: {@code human_test} or {@code augmented_test}
   * @return 1.0 or 0.0
   */
  public double add(String response, String target, String type) {
    double score = isCorrect(PythonStr.strip(response), target) ? 1.0 : 0.0;
    tally.add(score, List.of(type));
    return score;
  }

  /** The number of questions added. */
  public int count() {
    return tally.count();
  }

  /** lmms-eval's {@code relaxed_overall}: the mean over all questions. */
  public double overall() {
    return tally.mean();
  }

  /** The mean per {@code type}, in first-seen order. */
  public Map<String, Double> byType() {
    return tally.groupMeans();
  }

  /** The number of questions per {@code type}, in first-seen order. */
  public Map<String, Integer> countsByType() {
    return tally.groupCounts();
  }
}
