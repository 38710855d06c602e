package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.Anls;
import io.github.idefics3spark.eval.MathVistaExtraction;
import io.github.idefics3spark.eval.MathVistaScore;
import io.github.idefics3spark.eval.MmmuResponseParser;
import io.github.idefics3spark.eval.MmmuScore;
import io.github.idefics3spark.eval.MmstarScore;
import io.github.idefics3spark.eval.PythonLiteral;
import io.github.idefics3spark.eval.ScoreTally;
import io.github.idefics3spark.eval.VqaAccuracy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Row;

/**
 * Scores a benchmark's answers with the official rules of the {@code eval} package: each question's
 * parsed answer and score, the metrics (overall and the official breakdowns) as JSON, and, for a
 * split without gold answers, the submission the benchmark's server takes.
 *
 * <p>Rows are the inference output's (or any predictions table with the same columns): the
 * dataset's columns as the job passes them through ({@code answer} as {@code input_answer}), the
 * id, and {@link Benchmark#RESPONSE}, the model's raw answer (null where inference failed: scored
 * as an empty answer, as the official scripts score a missing one).
 */
final class BenchmarkScoring {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  /**
   * One question's outcome.
   *
   * @param parsedAnswer what the official rules read in the answer (see {@link Benchmark})
   * @param score the question's score in [0, 1] (ANLS, VQA accuracy, or 1/0), null without gold
   * @param parseMethod how the answer was read, where the rules have several ways: MMMU {@code
   *     option}, {@code random} (no option found: a seeded random letter) or {@code open};
   *     MathVista the extraction rule ({@code RULE_FALLBACK} stands in for GPT-4)
   * @param extraction MathVista: the extracted answer before normalisation
   */
  record Scored(String parsedAnswer, Double score, String parseMethod, String extraction) {}

  /**
   * The outcome of a run.
   *
   * @param byId each question's outcome
   * @param metrics the metrics file's content
   * @param submission the server's submission file for a split without gold answers, else null
   */
  record Result(Map<String, Scored> byId, ObjectNode metrics, JsonNode submission) {}

  private BenchmarkScoring() {}

  /**
   * Scores {@code rows}.
   *
   * @param idColumn the column holding each question's id
   * @throws IllegalArgumentException when a value breaks the benchmark's rules (an MMMU id naming
   *     no category, options that are not a list, an MMStar category the benchmark lacks), naming
   *     the question
   */
  static Result score(Benchmark benchmark, List<Row> rows, String idColumn) {
    Rows r = new Rows(rows, idColumn);
    ObjectNode metrics = JSON.objectNode();
    metrics.put("benchmark", benchmark.benchmarkName());
    metrics.put("dataset", benchmark.dataset());
    metrics.put("questions", rows.size());
    metrics.put("failed", r.failed());
    return switch (benchmark) {
      case DOCVQA, INFOGRAPHICVQA -> anls(benchmark, r, metrics);
      case TEXTVQA -> vqa(r, metrics);
      case MMMU -> mmmu(r, metrics);
      case MMSTAR -> mmstar(r, metrics);
      case MATHVISTA -> mathVista(r, metrics);
    };
  }

  /** Typed reads of the rows' columns. */
  private record Rows(List<Row> rows, String idColumn) {
    String id(Row row) {
      return String.valueOf((Object) row.getAs(idColumn));
    }

    /** The raw answer, "" where inference failed. */
    String response(Row row) {
      String answer = row.getAs(Benchmark.RESPONSE);
      return answer == null ? "" : answer;
    }

    long failed() {
      return rows.stream().filter(row -> row.getAs(Benchmark.RESPONSE) == null).count();
    }

    static boolean has(Row row, String column) {
      return Arrays.asList(row.schema().fieldNames()).contains(column);
    }

    static String string(Row row, String column) {
      Object value = has(row, column) ? row.getAs(column) : null;
      return value == null ? null : value.toString();
    }

    /** A list of strings, empty when null or absent. */
    static List<String> strings(Row row, String column) {
      if (!has(row, column) || row.isNullAt(row.fieldIndex(column))) {
        return List.of();
      }
      List<String> out = new ArrayList<>();
      for (Object o : row.getList(row.fieldIndex(column))) {
        if (o != null) {
          out.add(o.toString());
        }
      }
      return out;
    }

    static Double number(Row row, String column) {
      Object value = has(row, column) ? row.getAs(column) : null;
      return value instanceof Number n ? n.doubleValue() : null;
    }
  }

  private static ObjectNode group(double score, int questions) {
    ObjectNode node = JSON.objectNode();
    node.put("score", score);
    node.put("questions", questions);
    return node;
  }

  private static ObjectNode groups(ScoreTally tally) {
    ObjectNode node = JSON.objectNode();
    Map<String, Integer> counts = tally.groupCounts();
    tally.groupMeans().forEach((g, mean) -> node.set(g, group(mean, counts.get(g))));
    return node;
  }

  /** A question id as the servers take it: a number when it is one. */
  private static void putId(ObjectNode node, String key, String id) {
    try {
      node.put(key, Long.parseLong(id));
    } catch (NumberFormatException e) {
      node.put(key, id);
    }
  }

  /**
   * DocVQA and InfographicVQA: ANLS per question ({@link Anls}), overall, and by question type
   * (DocVQA's {@code question_types}) or by answer type, evidence and operation (InfographicVQA's
   * {@code answer_type}, {@code evidence}, {@code operation/reasoning}, those present), as the RRC
   * script breaks it down. Without gold answers: the submission {@code [{questionId, answer}]}.
   */
  private static Result anls(Benchmark benchmark, Rows r, ObjectNode metrics) {
    boolean docVqa = benchmark == Benchmark.DOCVQA;
    List<String> fields =
        docVqa
            ? List.of("question_types")
            : List.of("answer_type", "evidence", "operation/reasoning");
    ScoreTally overall = new ScoreTally();
    Map<String, ScoreTally> byField = new LinkedHashMap<>();
    fields.forEach(f -> byField.put(f, new ScoreTally()));
    Map<String, Scored> byId = new LinkedHashMap<>();
    ArrayNode submission = JSON.arrayNode();
    for (Row row : r.rows()) {
      String id = r.id(row);
      String prediction = r.response(row);
      List<String> answers = Rows.strings(row, "answers");
      if (answers.isEmpty()) {
        byId.put(id, new Scored(Anls.normalise(prediction), null, null, null));
        ObjectNode entry = submission.addObject();
        putId(entry, "questionId", id);
        entry.put("answer", prediction);
        continue;
      }
      double score = Anls.score(prediction, answers);
      overall.add(score);
      byField.forEach((f, tally) -> tally.add(score, Rows.strings(row, f)));
      byId.put(id, new Scored(Anls.normalise(prediction), score, null, null));
    }
    metrics.put("metric", "ANLS");
    metrics.put(
        "scorer", "the RRC script (QwenLM/Qwen-VL eval_mm/infographicsvqa_eval.py), threshold 0.5");
    metrics.put("scored", overall.count());
    if (overall.count() > 0) {
      metrics.put("overall", overall.mean());
      byField.forEach(
          (f, tally) -> {
            if (!tally.groupCounts().isEmpty()) {
              metrics.set("by_" + f.replace('/', '_'), groups(tally));
            }
          });
    } else {
      metrics.putNull("overall");
    }
    boolean noGold = overall.count() == 0 && !r.rows().isEmpty();
    if (noGold) {
      metrics.put(
          "submission",
          "submission.json: no gold answers (the test split); upload it to the benchmark's"
              + " server (rrc.cvc.uab.es)");
    }
    return new Result(byId, metrics, noGold ? submission : null);
  }

  /**
   * TextVQA: VQA accuracy per question ({@link VqaAccuracy}, the official script's variant),
   * overall in percent. The parsed answer is the prediction after the script's punctuation, digit
   * and article processing (what it compares whenever the gold answers disagree). Without gold
   * answers: the submission {@code [{question_id, answer}]}.
   */
  private static Result vqa(Rows r, ObjectNode metrics) {
    VqaAccuracy accuracy = new VqaAccuracy();
    Map<String, Scored> byId = new LinkedHashMap<>();
    ArrayNode submission = JSON.arrayNode();
    for (Row row : r.rows()) {
      String id = r.id(row);
      String prediction = r.response(row);
      String parsed =
          VqaAccuracy.processDigitArticle(
              VqaAccuracy.processPunctuation(
                  prediction.replace('\n', ' ').replace('\t', ' ').strip()));
      List<String> answers = Rows.strings(row, "answers");
      if (answers.isEmpty()) {
        byId.put(id, new Scored(parsed, null, null, null));
        ObjectNode entry = submission.addObject();
        putId(entry, "question_id", id);
        entry.put("answer", prediction);
        continue;
      }
      double score = accuracy.add(prediction, answers, List.of());
      byId.put(id, new Scored(parsed, score, null, null));
    }
    metrics.put("metric", "VQA accuracy (percent)");
    metrics.put(
        "scorer",
        "the official VQA evaluation (GT-Vision-Lab/VQA vqaEval.py a013f00), not lmms-eval's"
            + " EvalAIAnswerProcessor variant");
    metrics.put("scored", accuracy.count());
    boolean noGold = accuracy.count() == 0 && !r.rows().isEmpty();
    if (accuracy.count() > 0) {
      metrics.put("overall", accuracy.overall());
      metrics.put("overall_rounded", Math.round(accuracy.overall() * 100) / 100.0);
    } else {
      metrics.putNull("overall");
      metrics.put("submission", "submission.json: no gold answers (the test split)");
    }
    return new Result(byId, metrics, noGold ? submission : null);
  }

  /** MMMU's gold answer: a list literal's strings, else the string itself. */
  private static List<String> mmmuGold(String answer) {
    String a = answer.strip();
    if (a.startsWith("[") && PythonLiteral.isStringList(a)) {
      return PythonLiteral.stringList(a);
    }
    return List.of(answer);
  }

  private static List<String> options(Row row, String id) {
    String options = Rows.string(row, "options");
    try {
      return options == null ? List.of() : PythonLiteral.stringList(options);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "MMMU question " + id + ": its options are " + e.getMessage(), e);
    }
  }

  /**
   * MMMU: {@link MmmuScore#parseAndEvaluate} over the questions with a gold answer (official order,
   * the seeded parser), accuracy per category, per discipline and overall as {@code
   * main_parse_and_eval.py} computes them. Questions without one (the test split: {@code ?} or
   * null) are parsed in the same order with a parser of their own, and their parsed answers make
   * the submission {@code {id: answer}}.
   */
  private static Result mmmu(Rows r, ObjectNode metrics) {
    List<MmmuScore.Question> withGold = new ArrayList<>();
    List<MmmuScore.Question> withoutGold = new ArrayList<>();
    for (Row row : r.rows()) {
      String id = r.id(row);
      MmmuScore.categoryOf(id); // names an id without a category before anything else
      String questionType = Rows.string(row, "question_type");
      String answer = Rows.string(row, RequestRows.passThroughName("answer"));
      boolean mc = MmmuScore.isMultipleChoice(questionType);
      List<String> options = mc ? options(row, id) : List.of();
      List<String> letters = new ArrayList<>(MmmuResponseParser.index2ans(options).keySet());
      boolean hasGold = answer != null && !answer.isBlank() && !answer.strip().equals("?");
      MmmuScore.Question q =
          new MmmuScore.Question(
              id,
              questionType,
              hasGold ? mmmuGold(answer) : List.of(),
              letters,
              MmmuResponseParser.index2ans(options),
              r.response(row));
      (hasGold ? withGold : withoutGold).add(q);
    }
    MmmuScore score = new MmmuScore();
    Map<String, Scored> byId = new LinkedHashMap<>();
    int randomGuesses = 0;
    for (MmmuScore.Judged j : score.parseAndEvaluate(withGold)) {
      boolean open = j.parsed().startsWith("[");
      String method = open ? "open" : j.randomGuess() ? "random" : "option";
      randomGuesses += j.randomGuess() ? 1 : 0;
      byId.put(j.id(), new Scored(j.parsed(), j.correct() ? 1.0 : 0.0, method, null));
    }
    ObjectNode submission = JSON.objectNode();
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
      byId.put(q.id(), new Scored(parsed, null, method, null));
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
      metrics.set("overall", mmmuResult(table.get("Overall")));
      ObjectNode disciplines = JSON.objectNode();
      ObjectNode categories = JSON.objectNode();
      table.forEach(
          (name, result) -> {
            if (name.startsWith("Overall-")) {
              if (result.num() > 0) {
                disciplines.set(name.substring("Overall-".length()), mmmuResult(result));
              }
            } else if (!name.equals("Overall")) {
              categories.set(name, mmmuResult(result));
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
      return new Result(byId, metrics, submission);
    }
    return new Result(byId, metrics, null);
  }

  private static ObjectNode mmmuResult(MmmuScore.Result result) {
    ObjectNode node = JSON.objectNode();
    node.put("accuracy", result.acc());
    node.put("accuracy_rounded", result.rounded());
    node.put("correct", result.correct());
    node.put("questions", result.num());
    return node;
  }

  /**
   * The letter MMStar's rule reads: the first character, the second after {@code (}, the eighth
   * after {@code option }, the fifteenth after {@code the answer is } (upper-cased; null when the
   * answer is too short).
   */
  static String mmstarLetter(String prediction) {
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
   * MMStar: the official rule per question ({@link MmstarScore}), the final score (correct / 1500),
   * each category's (correct / 250) and subcategory's (correct / questions).
   */
  private static Result mmstar(Rows r, ObjectNode metrics) {
    MmstarScore score = new MmstarScore();
    Map<String, Scored> byId = new LinkedHashMap<>();
    String goldColumn = RequestRows.passThroughName("answer");
    for (Row row : r.rows()) {
      String id = r.id(row);
      String prediction = r.response(row);
      String gold = Rows.string(row, goldColumn);
      if (gold == null) {
        byId.put(id, new Scored(mmstarLetter(prediction), null, null, null));
        continue;
      }
      boolean correct;
      try {
        correct =
            score.add(
                prediction, gold, Rows.string(row, "category"), Rows.string(row, "l2_category"));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("MMStar question " + id + ": " + e.getMessage(), e);
      }
      byId.put(id, new Scored(mmstarLetter(prediction), correct ? 1.0 : 0.0, null, null));
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
    ObjectNode categories = JSON.objectNode();
    ObjectNode subcategories = JSON.objectNode();
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
    return new Result(byId, metrics, null);
  }

  /**
   * MathVista: the answer extracted ({@link MathVistaExtraction}, with the official quick regex and
   * this project's rules in place of GPT-4), normalised and compared ({@link MathVistaScore}),
   * accuracy overall and by each of the official metadata fields, as {@code calculate_score.py}'s
   * scores file.
   */
  private static Result mathVista(Rows r, ObjectNode metrics) {
    MathVistaScore score = new MathVistaScore();
    Map<String, Scored> byId = new LinkedHashMap<>();
    Map<String, Integer> methods = new LinkedHashMap<>();
    String goldColumn = RequestRows.passThroughName("answer");
    for (Row row : r.rows()) {
      String id = r.id(row);
      String questionType = Rows.string(row, "question_type");
      String answerType = Rows.string(row, "answer_type");
      List<String> choices = Rows.strings(row, "choices");
      MathVistaExtraction.Result extraction =
          MathVistaExtraction.extract(r.response(row), questionType, answerType, choices, true);
      String prediction;
      try {
        prediction =
            MathVistaScore.normalizeExtractedAnswer(
                extraction.answer(),
                choices,
                questionType,
                answerType,
                Rows.number(row, "precision"),
                false);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("MathVista problem " + id + ": " + e.getMessage(), e);
      }
      methods.merge(extraction.method().name(), 1, Integer::sum);
      String gold = Rows.string(row, goldColumn);
      Double questionScore = null;
      if (gold != null) {
        boolean correct = MathVistaScore.safeEqual(prediction, gold);
        score.add(correct, mathVistaFields(row, questionType, answerType));
        questionScore = correct ? 1.0 : 0.0;
      }
      byId.put(
          id,
          new Scored(prediction, questionScore, extraction.method().name(), extraction.answer()));
    }
    metrics.put("metric", "accuracy");
    metrics.put(
        "scorer",
        "lupantech/MathVista evaluation/extract_answer.py (quick_extract on; the GPT-4 step"
            + " replaced by rules: see extraction_methods.RULE_FALLBACK) and calculate_score.py");
    metrics.put("scored", score.total());
    ObjectNode extractionMethods = JSON.objectNode();
    methods.forEach(extractionMethods::put);
    metrics.set("extraction_methods", extractionMethods);
    if (score.total() == 0) {
      metrics.putNull("overall");
      return new Result(byId, metrics, null);
    }
    metrics.put("overall", score.accuracy());
    ObjectNode scores = JSON.objectNode();
    ObjectNode average = scores.putObject("average");
    average.put("accuracy", score.accuracy());
    average.put("correct", score.correct());
    average.put("total", score.total());
    for (String key : MathVistaScore.TARGET_KEYS) {
      ObjectNode breakdown = scores.putObject(key);
      for (MathVistaScore.Group g : score.breakdown(key)) {
        ObjectNode node = breakdown.putObject(g.value());
        node.put("accuracy", g.accuracy());
        node.put("correct", g.correct());
        node.put("total", g.total());
      }
    }
    metrics.set("scores", scores);
    return new Result(byId, metrics, null);
  }

  /**
   * question_type, answer_type and the metadata fields, as {@link MathVistaScore#add} takes them.
   */
  private static Map<String, List<String>> mathVistaFields(
      Row row, String questionType, String answerType) {
    Map<String, List<String>> fields = new LinkedHashMap<>();
    fields.put("question_type", Collections.singletonList(questionType));
    fields.put("answer_type", Collections.singletonList(answerType));
    Object metadata = Rows.has(row, "metadata") ? row.getAs("metadata") : null;
    if (metadata instanceof Row m) {
      for (String key : MathVistaScore.TARGET_KEYS) {
        if (key.equals("question_type") || key.equals("answer_type") || !Rows.has(m, key)) {
          continue;
        }
        Object value = m.getAs(key);
        if (value instanceof scala.collection.Seq<?> || value instanceof List<?>) {
          fields.put(key, Rows.strings(m, key));
        } else if (value != null) {
          fields.put(key, List.of(value.toString()));
        }
      }
    }
    return fields;
  }
}
