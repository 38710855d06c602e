package io.github.idefics3spark.eval;

import io.github.idefics3spark.python.PythonStr;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The MMStar score as its official evaluation computes it: MMStar-Benchmark/MMStar {@code
 * eval/vlmeval/evaluate/mmstar.py}, {@code MMStar_eval}.
 *
 * <p>Answer and prediction are lower-cased, stripped, and their newlines turned into spaces. The
 * prediction is correct when its first character is the answer, or it starts with {@code (} and its
 * second character is the answer, or with {@code option } and its eighth, or with {@code the answer
 * is } and its fifteenth (characters are code points; an empty prediction is wrong). Each of the 6
 * categories scores {@code correct / 250} and the final score is {@code correct / 1500}: fixed
 * denominators, the benchmark's sizes, whatever number of questions was scored. Each of the 18
 * subcategories ({@code l2_category}) scores {@code correct / questions seen}.
 *
 * <p>lmms-eval's MMStar task differs: it extracts a letter with its own multiple-choice parser and
 * reports the mean of the 18 subcategory accuracies, not correct / 1500 (equal only when every
 * subcategory has the same size, as in the full benchmark, and the parsers agree).
 */
public final class MmstarScore {

  /** The benchmark's categories and subcategories, in the official script's order. */
  public static final Map<String, List<String>> CATEGORIES = categories();

  /** The official per-category denominator. */
  public static final double CATEGORY_SIZE = 250.0;

  /** The official final-score denominator. */
  public static final double BENCHMARK_SIZE = 1500.0;

  private final Map<String, int[]> byL2 =
      new LinkedHashMap<>(); // "category(l2)" -> {correct, seen}

  /** An empty tally over the official categories. */
  public MmstarScore() {
    CATEGORIES.forEach((c, l2s) -> l2s.forEach(l2 -> byL2.put(key(c, l2), new int[2])));
  }

  private static Map<String, List<String>> categories() {
    Map<String, List<String>> c = new LinkedHashMap<>();
    c.put(
        "coarse perception",
        List.of("image scene and topic", "image style & quality", "image emotion"));
    c.put("fine-grained perception", List.of("object counting", "recognition", "localization"));
    c.put(
        "instance reasoning",
        List.of(
            "single-instance reasoning",
            "cross-instance attribute reasoning",
            "cross-instance relation reasoning"));
    c.put(
        "logical reasoning",
        List.of("code & sequence reasoning", "diagram reasoning", "common reasoning"));
    c.put(
        "science & technology",
        List.of(
            "biology & chemistry & physics",
            "electronics & energy & mechanical eng.",
            "geography & earth science & agriculture"));
    c.put(
        "math",
        List.of("geometry", "numeric commonsense and calculation", "statistical reasoning"));
    return Collections.unmodifiableMap(c);
  }

  private static String key(String category, String l2Category) {
    return category + "(" + l2Category + ")";
  }

  /** The official rule for one question (a null prediction is wrong, as pandas' NaN is). */
  public static boolean isCorrect(String prediction, String answer) {
    if (prediction == null || answer == null) {
      return false;
    }
    String a = normalise(answer);
    int[] p = normalise(prediction).codePoints().toArray();
    String predicted = new String(p, 0, p.length);
    if (p.length == 0) {
      return false;
    }
    if (a.equals(charAt(p, 0))) {
      return true;
    }
    if (p[0] == '(') {
      return p.length > 1 && a.equals(charAt(p, 1));
    }
    if (predicted.startsWith("option ")) {
      return p.length > 7 && a.equals(charAt(p, 7));
    }
    if (predicted.startsWith("the answer is ")) {
      return p.length > 14 && a.equals(charAt(p, 14));
    }
    return false;
  }

  private static String charAt(int[] codePoints, int i) {
    return new String(codePoints, i, 1);
  }

  /** {@code s.lower().strip().replace('\n', ' ')}. */
  private static String normalise(String s) {
    return PythonStr.strip(PythonStr.lower(s)).replace('\n', ' ');
  }

  /**
   * Scores one question and tallies it under its category and subcategory.
   *
   * @throws IllegalArgumentException for a category or subcategory the benchmark does not have (the
   *     official script fails there too)
   */
  public boolean add(String prediction, String answer, String category, String l2Category) {
    boolean correct = isCorrect(prediction, answer);
    addResult(correct, category, l2Category);
    return correct;
  }

  /** Tallies a result computed elsewhere (by {@link #isCorrect}). */
  public void addResult(boolean correct, String category, String l2Category) {
    int[] counts = byL2.get(key(category, l2Category));
    if (counts == null) {
      throw new IllegalArgumentException(
          "MMStar has no category '"
              + category
              + "' with l2_category '"
              + l2Category
              + "'; expected one of "
              + CATEGORIES);
    }
    counts[1]++;
    if (correct) {
      counts[0]++;
    }
  }

  /** The final score: correct answers / 1500. */
  public double finalScore() {
    int correct = 0;
    for (int[] c : byL2.values()) {
      correct += c[0];
    }
    return correct / BENCHMARK_SIZE;
  }

  /** A category's score: its correct answers / 250. */
  public double categoryScore(String category) {
    List<String> l2s = CATEGORIES.get(category);
    if (l2s == null) {
      throw new IllegalArgumentException(
          "MMStar has no category '" + category + "'; expected one of " + CATEGORIES.keySet());
    }
    int correct = 0;
    for (String l2 : l2s) {
      correct += byL2.get(key(category, l2))[0];
    }
    return correct / CATEGORY_SIZE;
  }

  /**
   * The official score table: {@code final score}, then each category followed by its subcategories
   * as {@code category(l2_category)} (subcategories with no question are left out: the official
   * script divides by zero there).
   */
  public Map<String, Double> scores() {
    Map<String, Double> out = new LinkedHashMap<>();
    out.put("final score", finalScore());
    CATEGORIES.forEach(
        (c, l2s) -> {
          out.put(c, categoryScore(c));
          for (String l2 : l2s) {
            int[] counts = byL2.get(key(c, l2));
            if (counts[1] > 0) {
              out.put(key(c, l2), (double) counts[0] / (double) counts[1]);
            }
          }
        });
    return out;
  }

  /** The number of questions tallied. */
  public int count() {
    int seen = 0;
    for (int[] c : byL2.values()) {
      seen += c[1];
    }
    return seen;
  }
}
