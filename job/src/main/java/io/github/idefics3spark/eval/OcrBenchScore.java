package io.github.idefics3spark.eval;

import io.github.idefics3spark.python.PythonStr;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * OCRBench's score as lmms-eval computes it: EvolvingLMMs-Lab/lmms-eval {@code
 * lmms_eval/tasks/ocrbench/utils.py} (75571cf) {@code ocrbench_process_results} and {@code
 * ocrbench_aggregate_accuracy}, after OCRBench's own substring rule.
 *
 * <p>A question scores 1 when any gold answer is a substring of the response, else 0. The response
 * is stripped (the harness, then the task). For the {@code HME100k} dataset (handwritten
 * mathematical expressions) both texts are stripped, newlines turned into spaces and every space
 * removed, case kept; for every other dataset both have fullwidth ASCII ({@code U+FF01..U+FF5E})
 * folded to ASCII and the ideographic space to a space, then are lower-cased, stripped and their
 * newlines turned into spaces. The benchmark score is the number of correct questions per {@code
 * question_type} (ten categories), the six recognition categories summed as Text Recognition, and
 * the final score, the sum of all, out of 1000; lmms-eval's {@code ocrbench_accuracy} is that final
 * score divided by 1000.
 */
public final class OcrBenchScore {

  /** The dataset whose answers are compared with spaces removed and case kept. */
  public static final String HME100K = "HME100k";

  /** The six categories summed as Text Recognition (total 300). */
  public static final List<String> RECOGNITION =
      List.of(
          "Regular Text Recognition",
          "Irregular Text Recognition",
          "Artistic Text Recognition",
          "Handwriting Recognition",
          "Digit String Recognition",
          "Non-Semantic Text Recognition");

  /** Every {@code question_type}, in the order of utils.py's {@code OCRBench_score}. */
  public static final List<String> CATEGORIES =
      List.of(
          "Regular Text Recognition",
          "Irregular Text Recognition",
          "Artistic Text Recognition",
          "Handwriting Recognition",
          "Digit String Recognition",
          "Non-Semantic Text Recognition",
          "Scene Text-centric VQA",
          "Doc-oriented VQA",
          "Key Information Extraction",
          "Handwritten Mathematical Expression Recognition");

  /** The denominator of lmms-eval's {@code ocrbench_accuracy}: OCRBench's 1000 questions. */
  public static final int TOTAL = 1000;

  private final Map<String, Integer> correct = new LinkedHashMap<>();
  private int count;

  /** Every category at 0 correct. */
  public OcrBenchScore() {
    for (String category : CATEGORIES) {
      correct.put(category, 0);
    }
  }

  /**
   * Whether any of {@code answers} is in {@code response} under the rule of {@code dataset}.
   *
   * @param response the model's answer as generated (stripped here)
   */
  public static boolean isCorrect(String response, List<String> answers, String dataset) {
    String prediction = PythonStr.strip(response);
    boolean hme = HME100K.equals(dataset);
    String predict = hme ? withoutSpaces(prediction) : folded(prediction);
    for (String answer : answers) {
      if (predict.contains(hme ? withoutSpaces(answer) : folded(answer))) {
        return true;
      }
    }
    return false;
  }

  /** {@code text.strip().replace("\n", " ").replace(" ", "")}. */
  static String withoutSpaces(String text) {
    return PythonStr.strip(text).replace("\n", " ").replace(" ", "");
  }

  /** {@code _fold_fullwidth_ascii(text).lower().strip().replace("\n", " ")}. */
  static String folded(String text) {
    return PythonStr.strip(PythonStr.lower(foldFullwidthAscii(text))).replace("\n", " ");
  }

  /** utils.py's {@code _fold_fullwidth_ascii}: U+FF01..U+FF5E to ASCII, U+3000 to a space. */
  static String foldFullwidthAscii(String text) {
    StringBuilder out = new StringBuilder(text.length());
    text.codePoints()
        .forEach(
            cp -> {
              if (cp >= 0xFF01 && cp <= 0xFF5E) {
                out.appendCodePoint(cp - 0xFEE0);
              } else if (cp == 0x3000) {
                out.append(' ');
              } else {
                out.appendCodePoint(cp);
              }
            });
    return out.toString();
  }

  /**
   * Scores one question and adds it to its category.
   *
   * @param questionType one of {@link #CATEGORIES}
   * @return 1 or 0
   * @throws IllegalArgumentException for a {@code question_type} outside OCRBench's ten, which
   *     utils.py cannot aggregate
   */
  public int add(String response, List<String> answers, String dataset, String questionType) {
    checkCategory(questionType);
    int score = isCorrect(response, answers, dataset) ? 1 : 0;
    correct.merge(questionType, score, Integer::sum);
    count++;
    return score;
  }

  /** Refuses a {@code question_type} that is not one of OCRBench's ten categories. */
  public static void checkCategory(String questionType) {
    if (!CATEGORIES.contains(questionType)) {
      throw new IllegalArgumentException(
          "question_type '"
              + questionType
              + "' is not one of OCRBench's categories: "
              + String.join(", ", CATEGORIES));
    }
  }

  /** The number of questions added. */
  public int count() {
    return count;
  }

  /** The correct questions per category, all ten in utils.py's order. */
  public Map<String, Integer> byCategory() {
    return new LinkedHashMap<>(correct);
  }

  /** utils.py's {@code recognition_score}: the six recognition categories summed. */
  public int textRecognition() {
    return RECOGNITION.stream().mapToInt(correct::get).sum();
  }

  /** utils.py's {@code Final_score}: every category summed, out of 1000. */
  public int finalScore() {
    return correct.values().stream().mapToInt(Integer::intValue).sum();
  }

  /** lmms-eval's {@code ocrbench_accuracy}: {@code Final_score / 1000}. */
  public double accuracy() {
    return finalScore() / (double) TOTAL;
  }
}
