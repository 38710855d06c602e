package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.TextVqaAccuracy;
import io.github.idefics3spark.python.PythonStr;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;

/**
 * TextVQA, lmms-lab/textvqa: TextVQA accuracy in percent, as the TextVQA evaluator scores it
 * (facebookresearch/mmf {@code m4c_evaluators.py} {@code TextVQAAccuracyEvaluator}, {@link
 * TextVqaAccuracy}: {@code EvalAIAnswerProcessor} on the prediction and every gold answer, always;
 * VQA v2's {@code vqaEval.py} rule is {@link VqaV2}'s); the prompt is lmms-eval's {@code
 * textvqa/_default_template_textvqa_yaml} and {@code textvqa_doc_to_text} (OCR tokens off): {@code
 * {question.capitalize()}\nAnswer the question using a single word or phrase.}
 */
final class TextVqa implements Benchmark {

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "textvqa",
          "TextVQA",
          "lmms-lab/textvqa",
          "question_id",
          List.of("image"),
          32,
          List.of(
              BenchmarkColumn.any("question_id", "the question id"),
              BenchmarkColumn.QUESTION,
              BenchmarkColumn.image("image", "the photo"),
              BenchmarkColumn.strings("answers", "the 10 gold answers (null on the test split)")),
          List.of("question"));

  @Override
  public BenchmarkLayout layout() {
    return LAYOUT;
  }

  /** {@link SmolVlmPrompts#TEXTVQA_PROMPT}. */
  @Override
  public SmolVlmPrompts.Prompt smolVlmPrompt() {
    return SmolVlmPrompts.TEXTVQA_PROMPT;
  }

  @Override
  public String prompt(Row row) {
    return prompt(BenchmarkRows.question(row));
  }

  /**
   * {@code f"{question.capitalize()}\nAnswer the question using ..."}. Python's {@code capitalize}:
   * the first character in title case, the others lower-cased (Java's simple title-case mapping for
   * the first one).
   */
  static String prompt(String question) {
    return capitalize(question) + "\n" + LmmsEvalPrompts.SHORT_ANSWER;
  }

  static String capitalize(String s) {
    if (s.isEmpty()) {
      return s;
    }
    int first = s.codePointAt(0);
    int rest = Character.charCount(first);
    return new String(Character.toChars(Character.toTitleCase(first)))
        + PythonStr.lower(s.substring(rest));
  }

  /**
   * TextVQA accuracy per question ({@link TextVqaAccuracy}), overall in percent. The parsed answer
   * is the prediction as the evaluator's {@code EvalAIAnswerProcessor} leaves it (what it compares
   * with the processed gold answers). Without gold answers: the submission {@code [{question_id,
   * answer}]}.
   */
  @Override
  public BenchmarkScores score(BenchmarkRows r, ObjectNode metrics) {
    TextVqaAccuracy accuracy = new TextVqaAccuracy();
    Map<String, BenchmarkScores.Scored> byId = new LinkedHashMap<>();
    ServerSubmission submission = new ServerSubmission("question_id");
    for (Row row : r.rows()) {
      String id = r.id(row);
      String prediction = r.response(row);
      String parsed = TextVqaAccuracy.process(prediction);
      List<String> answers = BenchmarkRows.strings(row, "answers");
      if (answers.isEmpty()) {
        byId.put(id, new BenchmarkScores.Scored(parsed, null));
        submission.add(id, prediction);
        continue;
      }
      double score;
      try {
        score = accuracy.add(prediction, answers);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("question " + id + ": " + e.getMessage(), e);
      }
      byId.put(id, new BenchmarkScores.Scored(parsed, score));
    }
    metrics.put("metric", "TextVQA accuracy (percent)");
    metrics.put(
        "scorer",
        "the TextVQA evaluator (facebookresearch/mmf m4c_evaluators.py TextVQAAccuracyEvaluator,"
            + " b0ffc7f): EvalAIAnswerProcessor on the prediction and every gold answer");
    metrics.put("scored", accuracy.count());
    if (accuracy.count() > 0) {
      metrics.put("overall", accuracy.overall());
      metrics.put("overall_rounded", Math.round(accuracy.overall() * 100) / 100.0);
    } else {
      metrics.putNull("overall");
      metrics.put("submission", "submission.json: no gold answers (the test split)");
    }
    return new BenchmarkScores(byId, metrics, submission.whenNoGold(accuracy.count(), r));
  }
}
