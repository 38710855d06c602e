package io.github.idefics3spark.eval;

import io.github.idefics3spark.python.PythonStr;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * VQA accuracy, the VQA v2 metric, as the official VQA evaluation computes it: GT-Vision-Lab/VQA
 * {@code PythonEvaluationTools/vqaEvaluation/vqaEval.py} at its latest commit (a013f00, "Fixed
 * processing answers bug", 2021), {@code VQAEval.evaluate}.
 *
 * <p>Per question: newlines and tabs become spaces and both ends are stripped, on the prediction
 * and on each gold answer. Only when the gold answers are not all the same string, the prediction
 * and every gold answer go through {@link #processPunctuation} then {@link #processDigitArticle}.
 * Then for each of the gold answers, {@code acc = min(1, (number of the <em>other</em> gold answers
 * equal to the prediction) / 3)}; the question's accuracy is the mean of those (with 10 answers:
 * the 10-choose-9 average). The overall accuracy is {@code 100 * sum / count}; the official script
 * then rounds it to 2 decimals, which {@link #overall} does not.
 *
 * <p>This is VQA v2's rule ({@code vqav2}). TextVQA's own evaluator differs: it processes the
 * prediction and every gold answer always, whether or not the gold answers agree ({@link
 * TextVqaAccuracy}). The VQA script before 2021 always processed the prediction and processed the
 * gold answers' punctuation only (not digits and articles) when they disagreed.
 *
 * <p>Python 3 semantics are used for the regular expressions (the script is Python 2, where {@code
 * \d} matched only ASCII digits; here any Unicode decimal digit is a digit), and the period rule
 * keeps the script's quirk of passing {@code re.UNICODE} (32) as {@code sub}'s count: at most 32
 * periods are removed.
 */
public final class VqaAccuracy {

  static final Map<String, String> CONTRACTIONS =
      Map.ofEntries(
          Map.entry("aint", "ain't"),
          Map.entry("arent", "aren't"),
          Map.entry("cant", "can't"),
          Map.entry("couldve", "could've"),
          Map.entry("couldnt", "couldn't"),
          Map.entry("couldn'tve", "couldn't've"),
          Map.entry("couldnt've", "couldn't've"),
          Map.entry("didnt", "didn't"),
          Map.entry("doesnt", "doesn't"),
          Map.entry("dont", "don't"),
          Map.entry("hadnt", "hadn't"),
          Map.entry("hadnt've", "hadn't've"),
          Map.entry("hadn'tve", "hadn't've"),
          Map.entry("hasnt", "hasn't"),
          Map.entry("havent", "haven't"),
          Map.entry("hed", "he'd"),
          Map.entry("hed've", "he'd've"),
          Map.entry("he'dve", "he'd've"),
          Map.entry("hes", "he's"),
          Map.entry("howd", "how'd"),
          Map.entry("howll", "how'll"),
          Map.entry("hows", "how's"),
          Map.entry("Id've", "I'd've"),
          Map.entry("I'dve", "I'd've"),
          Map.entry("Im", "I'm"),
          Map.entry("Ive", "I've"),
          Map.entry("isnt", "isn't"),
          Map.entry("itd", "it'd"),
          Map.entry("itd've", "it'd've"),
          Map.entry("it'dve", "it'd've"),
          Map.entry("itll", "it'll"),
          Map.entry("let's", "let's"),
          Map.entry("maam", "ma'am"),
          Map.entry("mightnt", "mightn't"),
          Map.entry("mightnt've", "mightn't've"),
          Map.entry("mightn'tve", "mightn't've"),
          Map.entry("mightve", "might've"),
          Map.entry("mustnt", "mustn't"),
          Map.entry("mustve", "must've"),
          Map.entry("neednt", "needn't"),
          Map.entry("notve", "not've"),
          Map.entry("oclock", "o'clock"),
          Map.entry("oughtnt", "oughtn't"),
          Map.entry("ow's'at", "'ow's'at"),
          Map.entry("'ows'at", "'ow's'at"),
          Map.entry("'ow'sat", "'ow's'at"),
          Map.entry("shant", "shan't"),
          Map.entry("shed've", "she'd've"),
          Map.entry("she'dve", "she'd've"),
          Map.entry("she's", "she's"),
          Map.entry("shouldve", "should've"),
          Map.entry("shouldnt", "shouldn't"),
          Map.entry("shouldnt've", "shouldn't've"),
          Map.entry("shouldn'tve", "shouldn't've"),
          Map.entry("somebody'd", "somebodyd"),
          Map.entry("somebodyd've", "somebody'd've"),
          Map.entry("somebody'dve", "somebody'd've"),
          Map.entry("somebodyll", "somebody'll"),
          Map.entry("somebodys", "somebody's"),
          Map.entry("someoned", "someone'd"),
          Map.entry("someoned've", "someone'd've"),
          Map.entry("someone'dve", "someone'd've"),
          Map.entry("someonell", "someone'll"),
          Map.entry("someones", "someone's"),
          Map.entry("somethingd", "something'd"),
          Map.entry("somethingd've", "something'd've"),
          Map.entry("something'dve", "something'd've"),
          Map.entry("somethingll", "something'll"),
          Map.entry("thats", "that's"),
          Map.entry("thered", "there'd"),
          Map.entry("thered've", "there'd've"),
          Map.entry("there'dve", "there'd've"),
          Map.entry("therere", "there're"),
          Map.entry("theres", "there's"),
          Map.entry("theyd", "they'd"),
          Map.entry("theyd've", "they'd've"),
          Map.entry("they'dve", "they'd've"),
          Map.entry("theyll", "they'll"),
          Map.entry("theyre", "they're"),
          Map.entry("theyve", "they've"),
          Map.entry("twas", "'twas"),
          Map.entry("wasnt", "wasn't"),
          Map.entry("wed've", "we'd've"),
          Map.entry("we'dve", "we'd've"),
          Map.entry("weve", "we've"),
          Map.entry("werent", "weren't"),
          Map.entry("whatll", "what'll"),
          Map.entry("whatre", "what're"),
          Map.entry("whats", "what's"),
          Map.entry("whatve", "what've"),
          Map.entry("whens", "when's"),
          Map.entry("whered", "where'd"),
          Map.entry("wheres", "where's"),
          Map.entry("whereve", "where've"),
          Map.entry("whod", "who'd"),
          Map.entry("whod've", "who'd've"),
          Map.entry("who'dve", "who'd've"),
          Map.entry("wholl", "who'll"),
          Map.entry("whos", "who's"),
          Map.entry("whove", "who've"),
          Map.entry("whyll", "why'll"),
          Map.entry("whyre", "why're"),
          Map.entry("whys", "why's"),
          Map.entry("wont", "won't"),
          Map.entry("wouldve", "would've"),
          Map.entry("wouldnt", "wouldn't"),
          Map.entry("wouldnt've", "wouldn't've"),
          Map.entry("wouldn'tve", "wouldn't've"),
          Map.entry("yall", "y'all"),
          Map.entry("yall'll", "y'all'll"),
          Map.entry("y'allll", "y'all'll"),
          Map.entry("yall'd've", "y'all'd've"),
          Map.entry("y'alld've", "y'all'd've"),
          Map.entry("y'all'dve", "y'all'd've"),
          Map.entry("youd", "you'd"),
          Map.entry("youd've", "you'd've"),
          Map.entry("you'dve", "you'd've"),
          Map.entry("youll", "you'll"),
          Map.entry("youre", "you're"),
          Map.entry("youve", "you've"));

  static final Map<String, String> MANUAL_MAP =
      Map.ofEntries(
          Map.entry("none", "0"),
          Map.entry("zero", "0"),
          Map.entry("one", "1"),
          Map.entry("two", "2"),
          Map.entry("three", "3"),
          Map.entry("four", "4"),
          Map.entry("five", "5"),
          Map.entry("six", "6"),
          Map.entry("seven", "7"),
          Map.entry("eight", "8"),
          Map.entry("nine", "9"),
          Map.entry("ten", "10"));

  static final List<String> ARTICLES = List.of("a", "an", "the");

  /** {@code (?!<=\d)(\.)(?!\d)}: a period not followed by a digit (the first group is a no-op). */
  private static final Pattern PERIOD_STRIP =
      Pattern.compile("(?!<=\\p{Nd})(\\.)(?!\\p{Nd})", Pattern.UNICODE_CHARACTER_CLASS);

  /** {@code (\d)(\,)(\d)}: a comma between digits. */
  private static final Pattern COMMA_STRIP =
      Pattern.compile("(\\p{Nd})(,)(\\p{Nd})", Pattern.UNICODE_CHARACTER_CLASS);

  /** The script's {@code self.punct}, in its order. */
  static final List<String> PUNCT =
      List.of(
          ";", "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@",
          "`", ",", "?", "!");

  /** {@code re.UNICODE} passed as {@code periodStrip.sub}'s count argument. */
  private static final int PERIOD_STRIP_COUNT = 32;

  private final ScoreTally tally = new ScoreTally();

  /**
   * One question's accuracy in [0, 1]: the mean over gold answers of min(1, matches among the
   * others / 3).
   */
  public static double score(String prediction, List<String> answers) {
    if (answers.isEmpty()) {
      throw new IllegalArgumentException(
          "VQA accuracy needs gold answers (10 for TextVQA), found none (prediction '"
              + prediction
              + "')");
    }
    String resAns = clean(prediction);
    List<String> gold = new ArrayList<>(answers.size());
    for (String answer : answers) {
      gold.add(clean(answer));
    }
    if (new HashSet<>(gold).size() > 1) {
      gold.replaceAll(a -> processDigitArticle(processPunctuation(a)));
      resAns = processDigitArticle(processPunctuation(resAns));
    }
    double sum = 0;
    for (int i = 0; i < gold.size(); i++) {
      int matching = 0;
      for (int j = 0; j < gold.size(); j++) {
        if (j != i && gold.get(j).equals(resAns)) {
          matching++;
        }
      }
      sum += Math.min(1, (double) matching / 3);
    }
    return sum / gold.size();
  }

  /** {@code s.replace('\n', ' ').replace('\t', ' ').strip()}. */
  private static String clean(String s) {
    return PythonStr.strip(s.replace('\n', ' ').replace('\t', ' '));
  }

  /**
   * The script's {@code processPunctuation}: each punctuation mark is deleted when it touches a
   * space in the input (or the input has a comma between digits), otherwise replaced by a space;
   * then up to 32 periods not followed by a digit are deleted.
   */
  public static String processPunctuation(String inText) {
    String outText = inText;
    boolean commaBetweenDigits = COMMA_STRIP.matcher(inText).find();
    for (String p : PUNCT) {
      if (inText.contains(p + " ") || inText.contains(" " + p) || commaBetweenDigits) {
        outText = outText.replace(p, "");
      } else {
        outText = outText.replace(p, " ");
      }
    }
    return stripPeriods(outText);
  }

  /**
   * {@code periodStrip.sub("", outText, re.UNICODE)}: deletes the first 32 periods not followed by
   * a digit (the flag passed as the count).
   */
  static String stripPeriods(String outText) {
    Matcher m = PERIOD_STRIP.matcher(outText);
    StringBuilder sb = new StringBuilder();
    int replaced = 0;
    while (replaced < PERIOD_STRIP_COUNT && m.find()) {
      m.appendReplacement(sb, "");
      replaced++;
    }
    m.appendTail(sb);
    return sb.toString();
  }

  /**
   * The script's {@code processDigitArticle}: lower-case, split on whitespace, number words zero to
   * ten to digits ("none" to 0), drop "a", "an", "the", expand the contractions table, join with
   * single spaces.
   */
  public static String processDigitArticle(String inText) {
    List<String> outText = new ArrayList<>();
    for (String word : PythonStr.split(PythonStr.lower(inText))) {
      String w = MANUAL_MAP.getOrDefault(word, word);
      if (!ARTICLES.contains(w)) {
        outText.add(w);
      }
    }
    outText.replaceAll(w -> CONTRACTIONS.getOrDefault(w, w));
    return String.join(" ", outText);
  }

  /** Scores one question, tallies it overall and under each of its groups, returns it (0 to 1). */
  public double add(String prediction, List<String> answers, List<String> groups) {
    double s = score(prediction, answers);
    tally.add(s, groups);
    return s;
  }

  /** Tallies a question accuracy computed elsewhere (by {@link #score}) under its groups. */
  public void addScore(double questionAccuracy, List<String> groups) {
    tally.add(questionAccuracy, groups);
  }

  /** The overall accuracy in percent, {@code 100 * sum / count}, unrounded (0 when none). */
  public double overall() {
    return tally.count() == 0 ? 0 : 100 * tally.sum() / tally.count();
  }

  /** The number of questions tallied. */
  public int count() {
    return tally.count();
  }

  /** Accuracy in percent per group ({@code 100 * group sum / group count}), first-seen order. */
  public Map<String, Double> byGroup() {
    Map<String, Double> percent = tally.groupSums();
    Map<String, Integer> counts = tally.groupCounts();
    percent.replaceAll((g, sum) -> 100 * sum / counts.get(g));
    return percent;
  }
}
