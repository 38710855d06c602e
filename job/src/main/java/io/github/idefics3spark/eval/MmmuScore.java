package io.github.idefics3spark.eval;

import io.github.idefics3spark.eval.MmmuResponseParser.MultiChoiceAnswer;
import io.github.idefics3spark.eval.MmmuResponseParser.OpenAnswer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * MMMU's official evaluation: MMMU-Benchmark/MMMU {@code mmmu/utils/eval_utils.py} ({@code
 * eval_multi_choice}, {@code eval_open}, {@code evaluate}, {@code calculate_ins_level_acc}) and the
 * drivers {@code mmmu/main_parse_and_eval.py} and {@code mmmu/main_eval_only.py}.
 *
 * <p>A multiple-choice answer is correct when the parsed letter equals the gold letter (or one of
 * them). An open answer is correct when one of the parsed strings contains one of the normalised
 * gold strings, or one of the parsed numbers equals one of the gold numbers (both rounded to 2
 * decimals). A category's accuracy is {@code correct / questions}; a discipline's ("Overall-Art and
 * Design", ...) and the overall accuracy are instance-level: {@code sum(category accuracy *
 * questions) / sum(questions)} over the categories, computed in the official order so the float
 * result is the official one. The official scripts print accuracies rounded to 3 decimals ({@link
 * Result#rounded}).
 *
 * <p>Use one instance per evaluation: {@link #parseAndEvaluate} parses raw responses in the
 * official order (which the random guesses depend on) and tallies them; {@link #add} tallies
 * results judged elsewhere.
 */
public final class MmmuScore {

  /** The 30 categories (subjects) in the order of {@code CAT_SHORT2LONG}, which drivers follow. */
  public static final List<String> CATEGORIES =
      List.of(
          "Accounting",
          "Agriculture",
          "Architecture_and_Engineering",
          "Art",
          "Art_Theory",
          "Basic_Medical_Science",
          "Biology",
          "Chemistry",
          "Clinical_Medicine",
          "Computer_Science",
          "Design",
          "Diagnostics_and_Laboratory_Medicine",
          "Economics",
          "Electronics",
          "Energy_and_Power",
          "Finance",
          "Geography",
          "History",
          "Literature",
          "Manage",
          "Marketing",
          "Materials",
          "Math",
          "Mechanical_Engineering",
          "Music",
          "Pharmacy",
          "Physics",
          "Psychology",
          "Public_Health",
          "Sociology");

  /** The 6 disciplines and their categories, as {@code DOMAIN_CAT2SUB_CAT}, in its order. */
  public static final Map<String, List<String>> DOMAINS = domains();

  /**
   * The order the official driver parses questions in: by category in {@link #CATEGORIES} order,
   * then by the question number ending the id ({@code validation_Art_Theory_12}), as in the dataset
   * and in each category's {@code output.json}.
   */
  public static final Comparator<String> OFFICIAL_ORDER =
      Comparator.<String>comparingInt(id -> CATEGORIES.indexOf(categoryOf(id)))
          .thenComparingLong(MmmuScore::questionNumber)
          .thenComparing(Comparator.naturalOrder());

  private static final String MULTIPLE_CHOICE = "multiple-choice";

  private final Map<String, int[]> byCategory = new LinkedHashMap<>(); // {correct, questions}

  private static Map<String, List<String>> domains() {
    Map<String, List<String>> d = new LinkedHashMap<>();
    d.put("Art and Design", List.of("Art", "Art_Theory", "Design", "Music"));
    d.put("Business", List.of("Accounting", "Economics", "Finance", "Manage", "Marketing"));
    d.put("Science", List.of("Biology", "Chemistry", "Geography", "Math", "Physics"));
    d.put(
        "Health and Medicine",
        List.of(
            "Basic_Medical_Science",
            "Clinical_Medicine",
            "Diagnostics_and_Laboratory_Medicine",
            "Pharmacy",
            "Public_Health"));
    d.put(
        "Humanities and Social Science",
        List.of("History", "Literature", "Sociology", "Psychology"));
    d.put(
        "Tech and Engineering",
        List.of(
            "Agriculture",
            "Architecture_and_Engineering",
            "Computer_Science",
            "Electronics",
            "Energy_and_Power",
            "Materials",
            "Mechanical_Engineering"));
    return Collections.unmodifiableMap(d);
  }

  /**
   * The category of a question id, {@code "_".join(id.split("_")[1:-1])}: {@code
   * validation_Art_Theory_12} is in {@code Art_Theory}.
   *
   * @throws IllegalArgumentException when the id names none of the 30 categories
   */
  public static String categoryOf(String id) {
    String[] parts = id.split("_", -1);
    String category =
        parts.length < 3 ? "" : String.join("_", List.of(parts).subList(1, parts.length - 1));
    if (!CATEGORIES.contains(category)) {
      throw new IllegalArgumentException(
          "MMMU question id '"
              + id
              + "' does not name a category as <split>_<Category>_<number>; found '"
              + category
              + "', expected one of "
              + CATEGORIES);
    }
    return category;
  }

  private static long questionNumber(String id) {
    String last = id.substring(id.lastIndexOf('_') + 1);
    try {
      return Long.parseLong(last);
    } catch (NumberFormatException e) {
      return Long.MAX_VALUE;
    }
  }

  /**
   * Whether a {@code question_type} is multiple choice; the official scripts treat any other as
   * open.
   */
  public static boolean isMultipleChoice(String questionType) {
    return MULTIPLE_CHOICE.equals(questionType);
  }

  /** {@code eval_multi_choice}: the parsed letter equals the gold letter or one of them. */
  public static boolean evalMultiChoice(List<String> gold, String prediction) {
    return gold.contains(prediction);
  }

  /**
   * {@code eval_open}: a parsed string contains a normalised gold string, or a parsed number equals
   * a gold number.
   */
  public static boolean evalOpen(List<String> gold, OpenAnswer prediction) {
    List<Object> normAnswers = new ArrayList<>();
    for (String answer : gold) {
      normAnswers.addAll(MmmuResponseParser.normalizeStr(answer));
    }
    for (String pred : prediction.strings()) {
      for (Object normAns : normAnswers) {
        if (normAns instanceof String s && pred.contains(s)) {
          return true;
        }
      }
    }
    for (double pred : prediction.numbers()) {
      for (Object normAns : normAnswers) {
        if (normAns instanceof Double d && pred == d) { // Python float ==: NaN never, -0.0 == 0.0
          return true;
        }
      }
    }
    return false;
  }

  /** A question as the official {@code output.json} holds it. */
  public record Question(
      String id,
      String questionType,
      List<String> answers,
      List<String> allChoices,
      Map<String, String> index2ans,
      String response) {}

  /**
   * One question's outcome.
   *
   * @param parsed the parsed letter, or the parsed open answer as a Python-like list
   * @param randomGuess whether the letter was drawn at random (no option found in the response)
   */
  public record Judged(String id, String parsed, boolean randomGuess, boolean correct) {}

  /** A category's, discipline's or the overall result; {@code acc} is unrounded. */
  public record Result(int num, int correct, double acc) {

    /** The accuracy rounded to 3 decimals, as the official scripts print it. */
    public double rounded() {
      return PythonFloat.round(acc, 3);
    }
  }

  /**
   * {@code main_parse_and_eval.py} over all categories: sorts the questions into {@link
   * #OFFICIAL_ORDER}, parses each response with one parser seeded as the official module is, judges
   * it against its gold answers, tallies it, and returns the outcomes in that order.
   */
  public List<Judged> parseAndEvaluate(List<Question> questions) {
    List<Question> ordered = new ArrayList<>(questions);
    ordered.sort(Comparator.comparing(Question::id, OFFICIAL_ORDER));
    MmmuResponseParser parser = new MmmuResponseParser();
    List<Judged> judged = new ArrayList<>(ordered.size());
    for (Question q : ordered) {
      Judged j;
      if (isMultipleChoice(q.questionType())) {
        MultiChoiceAnswer a = parser.parseMultiChoice(q.response(), q.allChoices(), q.index2ans());
        j =
            new Judged(
                q.id(), a.letter(), a.randomGuess(), evalMultiChoice(q.answers(), a.letter()));
      } else {
        OpenAnswer a = MmmuResponseParser.parseOpen(q.response());
        j = new Judged(q.id(), a.toString(), false, evalOpen(q.answers(), a));
      }
      add(j.id(), j.correct());
      judged.add(j);
    }
    return judged;
  }

  /**
   * {@code main_eval_only.py}'s judging of one final prediction: a multiple-choice prediction is
   * compared as given, an open one is parsed with {@code parse_open_response} first.
   */
  public static boolean evalPrediction(String questionType, List<String> gold, String prediction) {
    return isMultipleChoice(questionType)
        ? evalMultiChoice(gold, prediction)
        : evalOpen(gold, MmmuResponseParser.parseOpen(prediction));
  }

  /** Tallies one judged question under its category (taken from the id). */
  public void add(String id, boolean correct) {
    int[] c = byCategory.computeIfAbsent(categoryOf(id), k -> new int[2]);
    c[1]++;
    if (correct) {
      c[0]++;
    }
  }

  /**
   * Each category's result ({@code evaluate}: correct / questions), in {@link #CATEGORIES} order.
   */
  public Map<String, Result> categories() {
    Map<String, Result> out = new LinkedHashMap<>();
    for (String category : CATEGORIES) {
      int[] c = byCategory.get(category);
      if (c != null) {
        out.put(category, new Result(c[1], c[0], (double) c[0] / c[1]));
      }
    }
    return out;
  }

  /** {@code calculate_ins_level_acc} over the given category results, in their order. */
  private static Result instanceLevel(Iterable<Result> results) {
    double acc = 0;
    int num = 0;
    int correct = 0;
    for (Result r : results) {
      acc += r.acc() * r.num();
      num += r.num();
      correct += r.correct();
    }
    return new Result(num, correct, num == 0 ? 0 : acc / num);
  }

  /** The overall result: instance-level accuracy over all categories in official order. */
  public Result overall() {
    return instanceLevel(categories().values());
  }

  /**
   * The official printed table ({@code printable_results} of {@code main_eval_only.py}): for each
   * discipline, {@code Overall-<discipline>} then its categories, then {@code Overall}.
   */
  public Map<String, Result> table() {
    Map<String, Result> cats = categories();
    Map<String, Result> out = new LinkedHashMap<>();
    DOMAINS.forEach(
        (domain, inDomain) -> {
          List<Result> results = new ArrayList<>();
          Map<String, Result> rows = new LinkedHashMap<>();
          for (String category : inDomain) {
            Result r = cats.get(category);
            if (r != null) {
              results.add(r);
              rows.put(category, r);
            }
          }
          out.put("Overall-" + domain, instanceLevel(results));
          out.putAll(rows);
        });
    out.put("Overall", overall());
    return out;
  }
}
