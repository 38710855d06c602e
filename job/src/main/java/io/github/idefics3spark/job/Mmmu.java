package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.MmmuResponseParser;
import io.github.idefics3spark.eval.MmmuScore;
import io.github.idefics3spark.eval.PythonLiteral;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * MMMU, MMMU/MMMU (each subject config): accuracy by discipline and category, as the official
 * {@code main_parse_and_eval.py} (MMMU-Benchmark/MMMU, {@code eval_utils.py}) scores it ({@link
 * MmmuScore}: its parsing, the random letter seeded 42 in the official order); the prompt is
 * lmms-eval's {@code mmmu/mmmu_val.yaml}, {@code mmmu/utils.py} {@code construct_prompt} and {@code
 * parse_options}, with the images interleaved where the text names them, as {@code
 * mmmu_doc_to_messages} does.
 */
final class Mmmu implements Benchmark {

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "mmmu",
          "MMMU",
          "MMMU/MMMU",
          "id",
          List.of("image_1", "image_2", "image_3", "image_4", "image_5", "image_6", "image_7"),
          128,
          List.of(
              BenchmarkColumn.string(
                  "id", "the question id, <split>_<Category>_<n>, which names the category"),
              BenchmarkColumn.string("question", "the question, with <image N> where image N goes")
                  .promptOnly(),
              BenchmarkColumn.string("options", "the options, a Python list literal"),
              BenchmarkColumn.string("question_type", "multiple-choice or open"),
              BenchmarkColumn.string(
                  "answer", "the gold answer: an option letter, a value or a list literal"),
              BenchmarkColumn.image(
                  "image_1", "the first image (image_2 ... image_7 when present)")),
          List.of("question", "question_type", "options"));

  @Override
  public BenchmarkLayout layout() {
    return LAYOUT;
  }

  /** {@link SmolVlmPrompts#MMMU_PROMPT}. */
  @Override
  public SmolVlmPrompts.Prompt smolVlmPrompt() {
    return SmolVlmPrompts.MMMU_PROMPT;
  }

  @Override
  public String prompt(Row row) {
    String type = BenchmarkRows.string(row, "question_type");
    String options = BenchmarkRows.string(row, "options");
    return prompt(
        BenchmarkRows.question(row),
        type,
        MmmuScore.isMultipleChoice(type) && options != null
            ? PythonLiteral.stringList(options)
            : List.of());
  }

  /**
   * A multiple-choice question followed by its options lettered {@code A. }, {@code B. }..., one a
   * line, a blank line and the instruction; an open question followed by a blank line and {@link
   * LmmsEvalPrompts#SHORT_ANSWER}. The {@code <image k>} markers of the question and options stay:
   * the request places image k there (lmms-eval's interleaved messages).
   *
   * @param options the parsed {@code options} list (see {@link PythonLiteral#stringList})
   */
  static String prompt(String question, String questionType, List<String> options) {
    if (MmmuScore.isMultipleChoice(questionType)) {
      return question
          + "\n"
          + LmmsEvalPrompts.lettered(options)
          + "\n\n"
          + LmmsEvalPrompts.LETTER_ANSWER;
    }
    return question + "\n\n" + LmmsEvalPrompts.SHORT_ANSWER;
  }

  @Override
  public boolean multipleChoice() {
    return true;
  }

  /** A multiple-choice question's letters, one per option; none for an open question. */
  @Override
  public List<String> optionLetters(Row row) {
    String options = BenchmarkRows.string(row, "options");
    if (!MmmuScore.isMultipleChoice(BenchmarkRows.string(row, "question_type"))
        || options == null) {
      return List.of();
    }
    return LmmsEvalPrompts.letters(PythonLiteral.stringList(options).size());
  }

  /** Each image goes where the question or an option names it, {@code <image N>}. */
  @Override
  public boolean imageMarkers() {
    return true;
  }

  /** Refuses ids that name no category, and multiple-choice options that are not a Python list. */
  @Override
  public void checkValues(Dataset<Row> source) {
    for (Row row : source.select(col("id"), col("options"), col("question_type")).collectAsList()) {
      String id = row.getString(0);
      MmmuScore.categoryOf(id);
      if (!MmmuScore.isMultipleChoice(row.getString(2))) {
        continue;
      }
      if (row.isNullAt(1)) {
        throw new IllegalArgumentException(
            "multiple-choice question " + id + " has no options (null)");
      }
      try {
        PythonLiteral.stringList(row.getString(1));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "the options of question " + id + " are " + e.getMessage(), e);
      }
    }
  }

  /** MMMU's gold answer: a list literal's strings, else the string itself. */
  private static List<String> gold(String answer) {
    String a = answer.strip();
    if (a.startsWith("[") && PythonLiteral.isStringList(a)) {
      return PythonLiteral.stringList(a);
    }
    return List.of(answer);
  }

  private static List<String> options(Row row, String id) {
    String options = BenchmarkRows.string(row, "options");
    try {
      return options == null ? List.of() : PythonLiteral.stringList(options);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "MMMU question " + id + ": its options are " + e.getMessage(), e);
    }
  }

  /**
   * {@link MmmuScore#parseAndEvaluate} over the questions with a gold answer (official order, the
   * seeded parser), accuracy per category, per discipline and overall as {@code
   * main_parse_and_eval.py} computes them. Questions without one (the test split: {@code ?} or
   * null) are parsed in the same order with a parser of their own, and their parsed answers make
   * the submission {@code {id: answer}}. The parsed answer is the letter or the parsed list.
   */
  @Override
  public BenchmarkScores score(BenchmarkRows r, ObjectNode metrics) {
    List<MmmuScore.Question> withGold = new ArrayList<>();
    List<MmmuScore.Question> withoutGold = new ArrayList<>();
    for (Row row : r.rows()) {
      String id = r.id(row);
      MmmuScore.categoryOf(id); // names an id without a category before anything else
      String questionType = BenchmarkRows.string(row, "question_type");
      String answer = BenchmarkRows.string(row, BenchmarkRows.ANSWER);
      boolean mc = MmmuScore.isMultipleChoice(questionType);
      List<String> options = mc ? options(row, id) : List.of();
      List<String> letters = new ArrayList<>(MmmuResponseParser.index2ans(options).keySet());
      boolean hasGold = answer != null && !answer.isBlank() && !answer.strip().equals("?");
      MmmuScore.Question q =
          new MmmuScore.Question(
              id,
              questionType,
              hasGold ? gold(answer) : List.of(),
              letters,
              MmmuResponseParser.index2ans(options),
              r.response(row));
      (hasGold ? withGold : withoutGold).add(q);
    }
    MmmuScore score = new MmmuScore();
    Map<String, BenchmarkScores.Scored> byId = new LinkedHashMap<>();
    int randomGuesses = 0;
    for (MmmuScore.Judged j : score.parseAndEvaluate(withGold)) {
      boolean open = j.parsed().startsWith("[");
      String method = open ? "open" : j.randomGuess() ? "random" : "option";
      randomGuesses += j.randomGuess() ? 1 : 0;
      byId.put(
          j.id(), new BenchmarkScores.Scored(j.parsed(), j.correct() ? 1.0 : 0.0, method, null));
    }
    ObjectNode submission = BenchmarkScores.JSON.objectNode();
    withoutGold.sort(Comparator.comparing(MmmuScore.Question::id, MmmuScore.OFFICIAL_ORDER));
    MmmuResponseParser parser = new MmmuResponseParser();
    for (MmmuScore.Question q : withoutGold) {
      String parsed;
      String method;
      if (MmmuScore.isMultipleChoice(q.questionType())) {
        MmmuResponseParser.MultiChoiceAnswer a =
            parser.parseMultiChoice(q.response(), q.allChoices(), q.index2ans());
        parsed = a.letter();
        method = a.randomGuess() ? "random" : "option";
        submission.put(q.id(), parsed);
      } else {
        MmmuResponseParser.OpenAnswer a = MmmuResponseParser.parseOpen(q.response());
        parsed = a.toString();
        method = "open";
        // main_eval_only's input holds the response of an open question, parsed when scored
        submission.put(q.id(), q.response());
      }
      byId.put(q.id(), new BenchmarkScores.Scored(parsed, null, method, null));
    }
    metrics.put("metric", "accuracy");
    metrics.put(
        "scorer",
        "MMMU-Benchmark/MMMU mmmu/main_parse_and_eval.py (eval_utils.py, random.seed(42),"
            + " official order)");
    metrics.put("scored", withGold.size());
    metrics.put("random_guesses", randomGuesses);
    if (!withGold.isEmpty()) {
      Map<String, MmmuScore.Result> table = score.table();
      metrics.set("overall", result(table.get("Overall")));
      ObjectNode disciplines = BenchmarkScores.JSON.objectNode();
      ObjectNode categories = BenchmarkScores.JSON.objectNode();
      table.forEach(
          (name, result) -> {
            if (name.startsWith("Overall-")) {
              if (result.num() > 0) {
                disciplines.set(name.substring("Overall-".length()), result(result));
              }
            } else if (!name.equals("Overall")) {
              categories.set(name, result(result));
            }
          });
      metrics.set("by_discipline", disciplines);
      metrics.set("by_category", categories);
    } else {
      metrics.putNull("overall");
    }
    boolean noGold = withGold.isEmpty() && !withoutGold.isEmpty();
    if (noGold) {
      metrics.put("submission", "submission.json: {id: answer}, no gold answers (the test split)");
      return new BenchmarkScores(byId, metrics, submission);
    }
    return new BenchmarkScores(byId, metrics, null);
  }

  private static ObjectNode result(MmmuScore.Result result) {
    ObjectNode node = BenchmarkScores.JSON.objectNode();
    node.put("accuracy", result.acc());
    node.put("accuracy_rounded", result.rounded());
    node.put("correct", result.correct());
    node.put("questions", result.num());
    return node;
  }
}
