package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.MathVistaExtraction;
import io.github.idefics3spark.eval.MathVistaScore;
import io.github.idefics3spark.python.PythonStr;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * MathVista, AI4Math/MathVista: accuracy by the official metadata fields, as lupantech/MathVista
 * {@code evaluation/extract_answer.py} and {@code calculate_score.py} score it ({@link
 * MathVistaExtraction}, {@link MathVistaScore}; the GPT-4 extraction step replaced by rules); the
 * prompt is lmms-eval's {@code mathvista/mathvista_testmini_format.yaml} (shot_type {@code
 * format-prompt}, 0 shots) and {@code mathvista_evals.py} {@code create_one_query}: {@code
 * {question}[ (Unit: {unit})]\nA. {choice 1}\nB. ...\n{hint}} with a hint by answer type.
 */
final class MathVista implements Benchmark {

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "mathvista",
          "MathVista",
          "AI4Math/MathVista",
          "pid",
          List.of("decoded_image"),
          64,
          List.of(
              BenchmarkColumn.any("pid", "the problem id"),
              BenchmarkColumn.QUESTION,
              BenchmarkColumn.image("decoded_image", "the image"),
              BenchmarkColumn.strings(
                  "choices", "the choices of a multiple-choice question (else null)"),
              BenchmarkColumn.string("unit", "the answer's unit (empty or null when none)")
                  .promptOnly(),
              BenchmarkColumn.number("precision", "the decimals of a float answer"),
              BenchmarkColumn.string("question_type", "multi_choice or free_form"),
              BenchmarkColumn.string("answer_type", "text, integer, float or list"),
              BenchmarkColumn.string("answer", "the gold answer (null on the test split)"),
              BenchmarkColumn.struct(
                  "metadata", "category, context, grade, language, skills, source, task")),
          List.of("question", "unit", "choices", "question_type", "answer_type", "precision"));

  @Override
  public BenchmarkLayout layout() {
    return LAYOUT;
  }

  /** {@link SmolVlmPrompts#MATHVISTA_PROMPT}. */
  @Override
  public SmolVlmPrompts.Prompt smolVlmPrompt() {
    return SmolVlmPrompts.MATHVISTA_PROMPT;
  }

  @Override
  public String prompt(Row row) {
    return prompt(
        BenchmarkRows.question(row),
        BenchmarkRows.string(row, "unit"),
        BenchmarkRows.list(row, "choices"),
        BenchmarkRows.string(row, "question_type"),
        BenchmarkRows.string(row, "answer_type"),
        BenchmarkRows.number(row, "precision"));
  }

  /**
   * lmms-eval's {@code format-prompt}: the question (with {@code " (Unit: u)"} when it has a unit),
   * the choices lettered {@code A. }..., and a hint by type: multiple choice {@code Answer with the
   * option's letter from the given choices directly.}; integer {@code Answer the question using a
   * single integer number.}; float with precision 1 or 2 {@code Answer the question using a single
   * floating-point number with one decimal place.} (two decimal places); list {@code Answer the
   * question using a Python list.}; the non-empty parts joined by new lines.
   *
   * <p>lmms-eval has no hint for a float with another precision (its code fails there); this
   * project says {@code with N decimal places}, or nothing about places when the precision is
   * missing, and no hint for a free-form text answer.
   */
  static String prompt(
      String question,
      String unit,
      List<String> choices,
      String questionType,
      String answerType,
      Double precision) {
    String questionText = question;
    if (unit != null && !unit.isEmpty()) {
      questionText += " (Unit: " + unit + ")";
    }
    String choicesText =
        choices == null || choices.isEmpty() ? "" : LmmsEvalPrompts.lettered(choices);
    String hint;
    if ("multi_choice".equals(questionType)) {
      hint = LmmsEvalPrompts.LETTER_ANSWER;
    } else if ("integer".equals(answerType)) {
      hint = "Answer the question using a single integer number.";
    } else if ("float".equals(answerType)) {
      hint = "Answer the question using a single floating-point number" + places(precision) + ".";
    } else if ("list".equals(answerType)) {
      hint = "Answer the question using a Python list.";
    } else {
      hint = "";
    }
    List<String> elements = new ArrayList<>();
    for (String e : List.of(questionText, choicesText, hint)) {
      if (!e.isEmpty()) {
        elements.add(e);
      }
    }
    return PythonStr.strip("\n\n" + String.join("\n", elements));
  }

  private static String places(Double precision) {
    if (precision == null || precision.isNaN() || precision.isInfinite()) {
      return "";
    }
    int n = (int) precision.doubleValue();
    return switch (n) {
      case 1 -> " with one decimal place";
      case 2 -> " with two decimal places";
      default -> " with " + n + " decimal places";
    };
  }

  /** Refuses free-form questions whose answer type is not integer, float or list. */
  @Override
  public void checkValues(Dataset<Row> source) {
    for (Row row : source.select("question_type", "answer_type").distinct().collectAsList()) {
      boolean multiChoice = "multi_choice".equals(row.getString(0));
      if (!multiChoice && !List.of("integer", "float", "list").contains(row.getString(1))) {
        throw new IllegalArgumentException(
            "a "
                + row.getString(0)
                + " question with answer_type '"
                + row.getString(1)
                + "': MathVista's scorer takes multi_choice questions, and free_form ones"
                + " whose answer_type is integer, float or list");
      }
    }
  }

  /**
   * The answer extracted ({@link MathVistaExtraction}, with the official quick regex and this
   * project's rules in place of GPT-4), normalised and compared ({@link MathVistaScore}), accuracy
   * overall and by each of the official metadata fields, as {@code calculate_score.py}'s scores
   * file. The parsed answer is the normalised prediction, the parse method the extraction rule.
   */
  @Override
  public BenchmarkScores score(BenchmarkRows r, ObjectNode metrics) {
    MathVistaScore score = new MathVistaScore();
    Map<String, BenchmarkScores.Scored> byId = new LinkedHashMap<>();
    Map<String, Integer> methods = new LinkedHashMap<>();
    for (Row row : r.rows()) {
      String id = r.id(row);
      String questionType = BenchmarkRows.string(row, "question_type");
      String answerType = BenchmarkRows.string(row, "answer_type");
      List<String> choices = BenchmarkRows.strings(row, "choices");
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
                BenchmarkRows.number(row, "precision"),
                false);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("MathVista problem " + id + ": " + e.getMessage(), e);
      }
      methods.merge(extraction.method().name(), 1, Integer::sum);
      String gold = BenchmarkRows.string(row, BenchmarkRows.ANSWER);
      Double questionScore = null;
      if (gold != null) {
        boolean correct = MathVistaScore.safeEqual(prediction, gold);
        score.add(correct, fields(row, questionType, answerType));
        questionScore = correct ? 1.0 : 0.0;
      }
      byId.put(
          id,
          new BenchmarkScores.Scored(
              prediction, questionScore, extraction.method().name(), extraction.answer()));
    }
    metrics.put("metric", "accuracy");
    metrics.put(
        "scorer",
        "lupantech/MathVista evaluation/extract_answer.py (quick_extract on; the GPT-4 step"
            + " replaced by rules: see extraction_methods.RULE_FALLBACK) and calculate_score.py");
    metrics.put("scored", score.total());
    ObjectNode extractionMethods = BenchmarkScores.JSON.objectNode();
    methods.forEach(extractionMethods::put);
    metrics.set("extraction_methods", extractionMethods);
    if (score.total() == 0) {
      metrics.putNull("overall");
      return new BenchmarkScores(byId, metrics, null);
    }
    metrics.put("overall", score.accuracy());
    ObjectNode scores = BenchmarkScores.JSON.objectNode();
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
    return new BenchmarkScores(byId, metrics, null);
  }

  /**
   * question_type, answer_type and the metadata fields, as {@link MathVistaScore#add} takes them.
   */
  private static Map<String, List<String>> fields(Row row, String questionType, String answerType) {
    Map<String, List<String>> fields = new LinkedHashMap<>();
    fields.put("question_type", Collections.singletonList(questionType));
    fields.put("answer_type", Collections.singletonList(answerType));
    Object metadata = BenchmarkRows.has(row, "metadata") ? row.getAs("metadata") : null;
    if (metadata instanceof Row m) {
      for (String key : MathVistaScore.TARGET_KEYS) {
        if (key.equals("question_type")
            || key.equals("answer_type")
            || !BenchmarkRows.has(m, key)) {
          continue;
        }
        Object value = m.getAs(key);
        if (value instanceof scala.collection.Seq<?> || value instanceof List<?>) {
          fields.put(key, BenchmarkRows.strings(m, key));
        } else if (value != null) {
          fields.put(key, List.of(value.toString()));
        }
      }
    }
    return fields;
  }
}
