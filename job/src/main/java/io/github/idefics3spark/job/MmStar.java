package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.MmstarScore;
import io.github.idefics3spark.python.PythonStr;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * MMStar, Lin-Chen/MMStar: the MMStar score by category and subcategory, as the official {@code
 * mmstar.py} (MMStar-Benchmark/MMStar {@code eval/vlmeval/evaluate/}) scores it ({@link
 * MmstarScore}: the first-letter rule, fixed denominators); the prompt is lmms-eval's {@code
 * mmstar/_default_template_yaml} and {@code mmstar_doc_to_text}: {@code {question.strip()}\nAnswer
 * with the option's letter from the given choices directly}.
 */
final class MmStar implements Benchmark {

  /** lmms-eval's MMStar {@code post_prompt}, without a final period as in its yaml. */
  private static final String POST_PROMPT =
      "\nAnswer with the option's letter from the given choices directly";

  /** What precedes the options in an MMStar question. */
  private static final String OPTIONS = "Options:";

  /** What lmms-eval's MMStar task removes from questions ({@code replace_prompt}). */
  private static final String YES_NO = " Please answer yes or no.";

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "mmstar",
          "MMStar",
          "Lin-Chen/MMStar",
          "index",
          List.of("image"),
          32,
          List.of(
              BenchmarkColumn.any("index", "the question id"),
              BenchmarkColumn.string("question", "the question with its options").promptOnly(),
              BenchmarkColumn.image("image", "the image"),
              BenchmarkColumn.string("answer", "the gold option letter"),
              BenchmarkColumn.string("category", "the category"),
              BenchmarkColumn.string("l2_category", "the subcategory")),
          List.of("question"));

  @Override
  public BenchmarkLayout layout() {
    return LAYOUT;
  }

  /** {@link SmolVlmPrompts#MMSTAR_PROMPT}. */
  @Override
  public SmolVlmPrompts.Prompt smolVlmPrompt() {
    return SmolVlmPrompts.MMSTAR_PROMPT;
  }

  @Override
  public String prompt(Row row) {
    return prompt(BenchmarkRows.question(row));
  }

  /** The stripped question without " Please answer yes or no.", then the instruction. */
  static String prompt(String question) {
    return PythonStr.strip(question).replace(YES_NO, "") + POST_PROMPT;
  }

  @Override
  public boolean multipleChoice() {
    return true;
  }

  @Override
  public List<String> optionLetters(Row row) {
    return optionLetters(BenchmarkRows.question(row));
  }

  /**
   * The letters the question's options go by: after its last {@code Options:}, A, B, C... as long
   * as each stands there as {@code X:} (MMStar writes {@code Options: A: ..., B: ...}); A to D,
   * MMStar's usual four, when the question has no {@code Options:}.
   */
  static List<String> optionLetters(String question) {
    int at = question.lastIndexOf(OPTIONS);
    if (at < 0) {
      return LmmsEvalPrompts.letters(4);
    }
    String options = " " + question.substring(at + OPTIONS.length());
    int count = 0;
    while (count < 26
        && Pattern.compile("[\\s,]" + (char) ('A' + count) + ":").matcher(options).find()) {
      count++;
    }
    return LmmsEvalPrompts.letters(count);
  }

  /** Refuses categories and subcategories MMStar does not have. */
  @Override
  public void checkValues(Dataset<Row> source) {
    for (Row row : source.select("category", "l2_category").distinct().collectAsList()) {
      List<String> l2 = MmstarScore.CATEGORIES.get(row.getString(0));
      if (l2 == null || !l2.contains(row.getString(1))) {
        throw new IllegalArgumentException(
            "category '"
                + row.getString(0)
                + "' with l2_category '"
                + row.getString(1)
                + "' is not one of MMStar's: "
                + MmstarScore.CATEGORIES);
      }
    }
  }

  /**
   * The letter MMStar's rule reads: the first character, the second after {@code (}, the eighth
   * after {@code option }, the fifteenth after {@code the answer is } (upper-cased; null when the
   * answer is too short).
   */
  static String letter(String prediction) {
    String p = prediction.strip().toLowerCase(Locale.ROOT).replace('\n', ' ');
    int at = 0;
    if (p.startsWith("(")) {
      at = 1;
    } else if (p.startsWith("option ")) {
      at = 7;
    } else if (p.startsWith("the answer is ")) {
      at = 14;
    }
    int[] cps = p.codePoints().toArray();
    return at < cps.length ? new String(cps, at, 1).toUpperCase(Locale.ROOT) : null;
  }

  /**
   * The official rule per question ({@link MmstarScore}), the final score (correct / 1500), each
   * category's (correct / 250) and subcategory's (correct / questions). The parsed answer is the
   * letter read ({@link #letter}).
   */
  @Override
  public BenchmarkScores score(BenchmarkRows r, ObjectNode metrics) {
    MmstarScore score = new MmstarScore();
    Map<String, BenchmarkScores.Scored> byId = new LinkedHashMap<>();
    for (Row row : r.rows()) {
      String id = r.id(row);
      String prediction = r.response(row);
      String gold = BenchmarkRows.string(row, BenchmarkRows.ANSWER);
      if (gold == null) {
        byId.put(id, new BenchmarkScores.Scored(letter(prediction), null));
        continue;
      }
      boolean correct;
      try {
        correct =
            score.add(
                prediction,
                gold,
                BenchmarkRows.string(row, "category"),
                BenchmarkRows.string(row, "l2_category"));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("MMStar question " + id + ": " + e.getMessage(), e);
      }
      byId.put(id, new BenchmarkScores.Scored(letter(prediction), correct ? 1.0 : 0.0));
    }
    metrics.put("metric", "MMStar score");
    metrics.put(
        "scorer",
        "MMStar-Benchmark/MMStar eval/vlmeval/evaluate/mmstar.py: fixed denominators, 250 per"
            + " category and 1500 overall, whatever number of questions was scored");
    metrics.put("scored", score.count());
    Map<String, Double> scores = score.scores();
    metrics.put("overall", scores.get("final score"));
    int correct = (int) Math.round(score.finalScore() * MmstarScore.BENCHMARK_SIZE);
    metrics.put("correct", correct);
    metrics.put("accuracy_on_scored", score.count() == 0 ? 0 : (double) correct / score.count());
    ObjectNode categories = BenchmarkScores.JSON.objectNode();
    ObjectNode subcategories = BenchmarkScores.JSON.objectNode();
    scores.forEach(
        (name, value) -> {
          if (name.equals("final score")) {
            return;
          }
          if (MmstarScore.CATEGORIES.containsKey(name)) {
            categories.put(name, value);
          } else {
            subcategories.put(name, value);
          }
        });
    metrics.set("by_category", categories);
    metrics.set("by_l2_category", subcategories);
    return new BenchmarkScores(byId, metrics, null);
  }
}
