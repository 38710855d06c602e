package io.github.idefics3spark.eval;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Running sums of per-question scores, overall and per group, added in arrival order as the
 * official scripts' loops add them, so the means come out bit for bit the same (floating-point sums
 * depend on their order).
 *
 * <p>A question can belong to several groups (DocVQA question types, MathVista skills); it is added
 * to each group once per time the group is listed, as the RRC script's loop over {@code
 * question_types} does. Groups keep the order in which they were first seen.
 */
public final class ScoreTally {

  private double sum;
  private int count;
  private final Map<String, double[]> groups = new LinkedHashMap<>(); // group -> {sum, count}

  /** Adds one question's score to the overall sums and to each listed group. */
  public void add(double score, Iterable<String> groupNames) {
    sum += score;
    count++;
    for (String group : groupNames) {
      double[] s = groups.computeIfAbsent(group, g -> new double[2]);
      s[0] += score;
      s[1] += 1;
    }
  }

  /** Adds one question's score to the overall sums only. */
  public void add(double score) {
    add(score, Collections.emptyList());
  }

  /** The sum of all scores, in the order they were added. */
  public double sum() {
    return sum;
  }

  /** The number of questions added. */
  public int count() {
    return count;
  }

  /** The mean score, {@code sum / count}; 0 when nothing was added. */
  public double mean() {
    return count == 0 ? 0 : sum / count;
  }

  /** Each group's mean score, {@code group sum / group count}, in first-seen order. */
  public Map<String, Double> groupMeans() {
    Map<String, Double> means = new LinkedHashMap<>();
    groups.forEach((g, s) -> means.put(g, s[0] / s[1]));
    return means;
  }

  /** Each group's sum of scores, in first-seen order. */
  public Map<String, Double> groupSums() {
    Map<String, Double> sums = new LinkedHashMap<>();
    groups.forEach((g, s) -> sums.put(g, s[0]));
    return sums;
  }

  /** Each group's number of questions, in first-seen order. */
  public Map<String, Integer> groupCounts() {
    Map<String, Integer> counts = new LinkedHashMap<>();
    groups.forEach((g, s) -> counts.put(g, (int) s[1]));
    return counts;
  }
}
