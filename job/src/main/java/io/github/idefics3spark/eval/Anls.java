package io.github.idefics3spark.eval;

import io.github.idefics3spark.python.PythonStr;
import java.util.List;
import java.util.Map;

/**
 * ANLS (Average Normalized Levenshtein Similarity), the DocVQA and InfographicVQA metric, as the
 * Robust Reading Competition's evaluation script computes it (the copy read: QwenLM/Qwen-VL {@code
 * eval_mm/infographicsvqa_eval.py}, {@code evaluate_method}; lmms-eval's {@code anls} metric is the
 * same code).
 *
 * <p>For each gold answer: both strings are stripped, lower-cased and their whitespace runs
 * collapsed to one space; the Levenshtein distance between the two normalised strings is divided by
 * the longer of the two <em>raw</em> lengths ({@code max(len(gold.upper()), len(pred.upper()))}, in
 * code points, 0 when both are empty). The question's score is {@code 1 -} the smallest such ratio
 * over the gold answers, set to 0 when below the threshold (0.5; exactly 0.5 is kept). The overall
 * score is the mean over questions, and each question type's score the mean over the questions
 * listing it (a question with several types counts in each).
 *
 * <p>Use one instance per evaluation: {@link #add} scores a question and tallies it.
 */
public final class Anls {

  /** The RRC script's default {@code --anls_threshold}. */
  public static final double DEFAULT_THRESHOLD = 0.5;

  private final double threshold;
  private final ScoreTally tally = new ScoreTally();

  /** A tally with the official threshold, 0.5. */
  public Anls() {
    this(DEFAULT_THRESHOLD);
  }

  /** A tally whose question scores below {@code threshold} count as 0. */
  public Anls(double threshold) {
    this.threshold = threshold;
  }

  /** One question's ANLS with the official threshold. */
  public static double score(String prediction, List<String> answers) {
    return score(prediction, answers, DEFAULT_THRESHOLD);
  }

  /** One question's ANLS: 1 - the smallest normalised distance to a gold answer, thresholded. */
  public static double score(String prediction, List<String> answers, double threshold) {
    if (answers.isEmpty()) {
      throw new IllegalArgumentException(
          "ANLS needs at least one gold answer, found none (prediction '" + prediction + "')");
    }
    String normalisedPrediction = normalise(prediction);
    int predictionLength = PythonStr.len(PythonStr.upper(prediction));
    double smallest = Double.POSITIVE_INFINITY;
    for (String answer : answers) {
      int distance = Levenshtein.distance(normalise(answer), normalisedPrediction);
      int length = Math.max(PythonStr.len(PythonStr.upper(answer)), predictionLength);
      double value = length == 0 ? 0.0 : (double) distance / (double) length;
      smallest = Math.min(smallest, value);
    }
    double result = 1 - smallest;
    return result < threshold ? 0 : result;
  }

  /** {@code " ".join(s.strip().lower().split())}: what ANLS compares. */
  public static String normalise(String s) {
    return String.join(" ", PythonStr.split(PythonStr.lower(PythonStr.strip(s))));
  }

  /** Scores one question, tallies it overall and under each of its question types, returns it. */
  public double add(String prediction, List<String> answers, List<String> questionTypes) {
    double s = score(prediction, answers, threshold);
    tally.add(s, questionTypes);
    return s;
  }

  /** Tallies a question score computed elsewhere (by {@link #score}) under its question types. */
  public void addScore(double questionScore, List<String> questionTypes) {
    tally.add(questionScore, questionTypes);
  }

  /** The overall ANLS: total score / number of questions (0 when none). */
  public double overall() {
    return tally.mean();
  }

  /** The number of questions tallied. */
  public int count() {
    return tally.count();
  }

  /** ANLS per question type, in first-seen order. */
  public Map<String, Double> byType() {
    return tally.groupMeans();
  }

  /** Number of questions per question type, in first-seen order. */
  public Map<String, Integer> countByType() {
    return tally.groupCounts();
  }
}
