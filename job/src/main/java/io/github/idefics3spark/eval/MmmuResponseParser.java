package io.github.idefics3spark.eval;

import io.github.idefics3spark.python.PythonStr;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * MMMU's official response parsing: MMMU-Benchmark/MMMU {@code mmmu/utils/eval_utils.py}, {@code
 * parse_multi_choice_response} and {@code parse_open_response} (with {@code get_key_subresponses},
 * {@code extract_numbers}, {@code check_is_number}, {@code normalize_str}).
 *
 * <p>Multiple choice: the characters {@code , . ! ? ; : '} are stripped from the ends, one after
 * the other; the response, padded with a space on each side, is searched for {@code (A)}-style
 * candidates, then for {@code " A "}-style ones, then (only if it has more than 5 words) for the
 * options' texts, case-insensitively. With several candidates the one occurring last wins; with
 * none, a letter is drawn with Python's {@code random.choice}. The official module calls {@code
 * random.seed(42)} once, at import: a parser instance holds one such generator, so a run's guesses
 * match the official ones only when the instance parses the questions in the official order (the
 * categories in {@link MmmuScore#CATEGORIES} order, each category's questions in dataset order:
 * {@link MmmuScore#OFFICIAL_ORDER}).
 *
 * <p>Open questions: the lower-cased response is cut into lines; in each, the shortest tail after
 * one of the key phrases ({@code could be, so, is, thus, therefore, final, answer, result}, and
 * {@code =} in the last line) is kept; the numbers in those tails are added; each piece is
 * normalised (a number becomes a float rounded to 2 decimals, a one-character string gets a space
 * on one side). Regular expressions follow Python 3 semantics ({@code \d} any Unicode decimal
 * digit, {@code \b} between Python word characters).
 */
public final class MmmuResponseParser {

  /** The seed the official module sets at import. */
  public static final long OFFICIAL_SEED = 42;

  private static final String MC_STRIP = ",.!?;:'";

  /** Python's {@code \w} for str patterns: letters, numbers (Nd, Nl, No) and underscore. */
  private static final String WORD = "[\\p{L}\\p{N}_]";

  /** Python's {@code \b}. */
  private static final String B =
      "(?:(?<=" + WORD + ")(?!" + WORD + ")|(?<!" + WORD + ")(?=" + WORD + "))";

  private static final String D = "\\p{Nd}";

  private static final Pattern NUMBER_WITH_COMMAS =
      Pattern.compile("-?" + B + D + "{1,3}(?:," + D + "{3})+" + B);
  private static final Pattern NUMBER_SCIENTIFIC =
      Pattern.compile("-?" + D + "+(?:\\." + D + "+)?[eE][+-]?" + D + "+");
  private static final Pattern NUMBER_SIMPLE =
      Pattern.compile(
          "-?(?:"
              + D
              + "+\\."
              + D
              + "+|\\."
              + D
              + "+|"
              + D
              + "+"
              + B
              + ")(?![eE][+-]?"
              + D
              + "+)(?![,"
              + D
              + "])");

  /** Python's {@code \s} for str patterns: the code points {@code str.isspace()} accepts. */
  private static final String SPACE =
      "[\\t\\n\\x0B\\f\\r\\x1C-\\x20\\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]";

  /** {@code \.\s(?=[A-Z])|\n}. */
  private static final Pattern SUB_RESPONSE_SPLIT =
      Pattern.compile("\\." + SPACE + "(?=[A-Z])|\\n");

  private static final List<String> INDICATORS_OF_KEYS =
      List.of("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result ");

  private static final Set<String> TRIVIAL = Set.of(":", ",", ".", "!", "?", ";", "'");

  private final PythonRandom random;

  /** A parser whose random guesses follow {@code random.seed(42)}, as the official module's. */
  public MmmuResponseParser() {
    this(new PythonRandom(OFFICIAL_SEED));
  }

  /** A parser drawing its random guesses from the given generator. */
  public MmmuResponseParser(PythonRandom random) {
    this.random = random;
  }

  /** A parsed multiple-choice answer: the option letter, and whether it was a random guess. */
  public record MultiChoiceAnswer(String letter, boolean randomGuess) {}

  /**
   * A parsed open answer: the normalised strings and numbers the official parser returns, without
   * duplicates (the official list comes out of a {@code set}, in no fixed order).
   */
  public record OpenAnswer(List<String> strings, List<Double> numbers) {

    /** The strings and numbers as a Python-like list, e.g. {@code ['12 m', 12.0]}. */
    @Override
    public String toString() {
      List<String> items = new ArrayList<>();
      strings.forEach(s -> items.add("'" + s + "'"));
      numbers.forEach(n -> items.add(PythonFloat.repr(n)));
      return "[" + String.join(", ", items) + "]";
    }
  }

  /**
   * {@code parse_multi_choice_response}: the predicted option letter of a multiple-choice response.
   *
   * @param allChoices the option letters, in order ({@code ["A", "B", "C", "D"]})
   * @param index2ans each letter's option text, in the options' order
   */
  public MultiChoiceAnswer parseMultiChoice(
      String response, List<String> allChoices, Map<String, String> index2ans) {
    for (int i = 0; i < MC_STRIP.length(); i++) {
      response = PythonStr.strip(response, MC_STRIP.substring(i, i + 1));
    }
    response = " " + response + " "; // add space to avoid partial match

    boolean indexAns = true;
    boolean ansWithBrack = false;
    List<String> candidates = new ArrayList<>();
    for (String choice : allChoices) { // (A) (B) (C) (D)
      if (response.contains("(" + choice + ")")) {
        candidates.add(choice);
        ansWithBrack = true;
      }
    }
    if (candidates.isEmpty()) {
      for (String choice : allChoices) { // A B C D
        if (response.contains(" " + choice + " ")) {
          candidates.add(choice);
        }
      }
    }
    String lowerResponse = PythonStr.lower(response);
    if (candidates.isEmpty() && PythonStr.split(response).size() > 5) {
      for (Map.Entry<String, String> e : index2ans.entrySet()) { // the options' texts
        if (lowerResponse.contains(PythonStr.lower(e.getValue()))) {
          candidates.add(e.getKey());
          indexAns = false;
        }
      }
    }

    if (candidates.isEmpty()) {
      return new MultiChoiceAnswer(random.choice(allChoices), true);
    }
    if (candidates.size() == 1) {
      return new MultiChoiceAnswer(candidates.get(0), false);
    }
    // several candidates: the one starting last wins (np.argmax: the first of equal maxima)
    int best = 0;
    int bestStart = Integer.MIN_VALUE;
    for (int i = 0; i < candidates.size(); i++) {
      String can = candidates.get(i);
      int start;
      if (indexAns) {
        start = response.lastIndexOf(ansWithBrack ? "(" + can + ")" : " " + can + " ");
      } else {
        start = lowerResponse.lastIndexOf(PythonStr.lower(index2ans.get(can)));
      }
      if (start > bestStart) {
        best = i;
        bestStart = start;
      }
    }
    return new MultiChoiceAnswer(candidates.get(best), false);
  }

  /** {@code parse_open_response}: the normalised strings and numbers an open response may mean. */
  public static OpenAnswer parseOpen(String response) {
    List<String> keyResponses = keySubresponses(response);
    List<String> predList = new ArrayList<>(keyResponses);
    for (String resp : keyResponses) {
      predList.addAll(extractNumbers(resp));
    }
    Set<String> strings = new LinkedHashSet<>();
    List<Double> numbers = new ArrayList<>();
    for (String pred : predList) {
      addNormalised(pred, strings, numbers);
    }
    return new OpenAnswer(List.copyOf(strings), List.copyOf(numbers));
  }

  /** {@code get_key_subresponses}: the answer-bearing tails of the response's lines. */
  static List<String> keySubresponses(String response) {
    response = PythonStr.lower(PythonStr.strip(PythonStr.strip(response), "."));
    String[] subResponses = SUB_RESPONSE_SPLIT.split(response, -1);
    List<String> indicators = new ArrayList<>(INDICATORS_OF_KEYS);
    List<String> keyResponses = new ArrayList<>();
    for (int index = 0; index < subResponses.length; index++) {
      String resp = subResponses[index];
      if (index == subResponses.length - 1) {
        indicators.add("="); // the last line may be an equation
      }
      String shortest = null;
      for (String indicator : indicators) {
        if (resp.contains(indicator)) {
          String tail = PythonStr.strip(PythonStr.lastPieceAfter(resp, indicator));
          if (shortest == null || shortest.isEmpty()) { // Python: `if not shortest_key_response`
            shortest = tail;
          } else if (PythonStr.len(tail) < PythonStr.len(shortest)) {
            shortest = tail;
          }
        }
      }
      if (shortest != null && !shortest.isEmpty() && !TRIVIAL.contains(PythonStr.strip(shortest))) {
        keyResponses.add(shortest);
      }
    }
    if (keyResponses.isEmpty()) {
      return List.of(response);
    }
    return keyResponses;
  }

  /** {@code extract_numbers}: numbers with commas, then scientific ones, then simple ones. */
  static List<String> extractNumbers(String s) {
    List<String> all = new ArrayList<>();
    for (Pattern p : List.of(NUMBER_WITH_COMMAS, NUMBER_SCIENTIFIC, NUMBER_SIMPLE)) {
      Matcher m = p.matcher(s);
      while (m.find()) {
        all.add(m.group());
      }
    }
    return all;
  }

  /** {@code check_is_number}: whether {@code float(s.replace(',', ''))} succeeds. */
  static boolean checkIsNumber(String s) {
    return PythonFloat.parse(s.replace(",", "")).isPresent();
  }

  /**
   * {@code normalize_str}: a number becomes {@code round(float, 2)}; other strings are lower-cased,
   * and a one-character one becomes two strings, with a space before and after.
   */
  static List<Object> normalizeStr(String s) {
    s = PythonStr.strip(s);
    OptionalDouble number = PythonFloat.parse(s.replace(",", ""));
    if (number.isPresent()) {
      return List.of(PythonFloat.round(number.getAsDouble(), 2));
    }
    s = PythonStr.lower(s);
    if (PythonStr.len(s) == 1) {
      return List.of(" " + s, s + " "); // avoid trivial matches
    }
    return List.of(s);
  }

  private static void addNormalised(String s, Set<String> strings, List<Double> numbers) {
    for (Object o : normalizeStr(s)) {
      if (o instanceof Double d) {
        boolean seen = false;
        for (double n : numbers) {
          seen |= n == d; // Python set: 0.0 and -0.0 are one element, NaN objects stay apart
        }
        if (!seen) {
          numbers.add(d);
        }
      } else {
        strings.add((String) o);
      }
    }
  }

  /** A map from option letter to option text, "A" for the first option, as the official helper. */
  public static Map<String, String> index2ans(List<String> options) {
    Map<String, String> map = new LinkedHashMap<>();
    for (int i = 0; i < options.size(); i++) {
      map.put(String.valueOf((char) ('A' + i)), options.get(i));
    }
    return map;
  }
}
