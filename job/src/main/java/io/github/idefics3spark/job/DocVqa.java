package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.Anls;
import io.github.idefics3spark.eval.ScoreTally;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;

/**
 * DocVQA, lmms-lab/DocVQA config DocVQA: ANLS by question type, as the RRC script scores it (copy
 * read: QwenLM/Qwen-VL {@code eval_mm/infographicsvqa_eval.py}, {@link Anls}); the prompt is
 * lmms-eval's {@code docvqa/_default_template_docvqa_yaml} ({@code post_prompt}) and {@code
 * docvqa_doc_to_text}: {@code {question}\nAnswer the question using a single word or phrase.}
 */
final class DocVqa implements Benchmark {

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "docvqa",
          "DocVQA",
          "lmms-lab/DocVQA (config DocVQA)",
          "questionId",
          List.of("image"),
          32,
          List.of(
              BenchmarkColumn.any("questionId", "the question id"),
              BenchmarkColumn.QUESTION,
              BenchmarkColumn.image("image", "the document page"),
              BenchmarkColumn.strings("answers", "the gold answers (null on the test split)"),
              BenchmarkColumn.strings(
                  "question_types", "the question types ANLS is broken down by")),
          List.of("question"));

  @Override
  public BenchmarkLayout layout() {
    return LAYOUT;
  }

  /** {@link SmolVlmPrompts#DOCVQA_PROMPT}. */
  @Override
  public SmolVlmPrompts.Prompt smolVlmPrompt() {
    return SmolVlmPrompts.DOCVQA_PROMPT;
  }

  @Override
  public String prompt(Row row) {
    return prompt(BenchmarkRows.question(row));
  }

  /** DocVQA and InfographicVQA: {@code f"{question}\nAnswer the question using ..."}. */
  static String prompt(String question) {
    return question + "\n" + LmmsEvalPrompts.SHORT_ANSWER;
  }

  @Override
  public BenchmarkScores score(BenchmarkRows rows, ObjectNode metrics) {
    return anls(rows, metrics, List.of("question_types"));
  }

  /**
   * DocVQA and InfographicVQA: ANLS per question ({@link Anls}), overall, and by each of {@code
   * fields} present (DocVQA's {@code question_types}; InfographicVQA's {@code answer_type}, {@code
   * evidence}, {@code operation/reasoning}), as the RRC script breaks it down. Without gold
   * answers: the submission {@code [{questionId, answer}]}; the parsed answer is ANLS's normalised
   * prediction.
   */
  static BenchmarkScores anls(BenchmarkRows r, ObjectNode metrics, List<String> fields) {
    ScoreTally overall = new ScoreTally();
    Map<String, ScoreTally> byField = new LinkedHashMap<>();
    fields.forEach(f -> byField.put(f, new ScoreTally()));
    Map<String, BenchmarkScores.Scored> byId = new LinkedHashMap<>();
    ServerSubmission submission = new ServerSubmission("questionId");
    for (Row row : r.rows()) {
      String id = r.id(row);
      String prediction = r.response(row);
      List<String> answers = BenchmarkRows.strings(row, "answers");
      if (answers.isEmpty()) {
        byId.put(id, new BenchmarkScores.Scored(Anls.normalise(prediction), null));
        submission.add(id, prediction);
        continue;
      }
      double score = Anls.score(prediction, answers);
      overall.add(score);
      byField.forEach((f, tally) -> tally.add(score, BenchmarkRows.strings(row, f)));
      byId.put(id, new BenchmarkScores.Scored(Anls.normalise(prediction), score));
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
              metrics.set("by_" + f.replace('/', '_'), BenchmarkScores.groups(tally));
            }
          });
    } else {
      metrics.putNull("overall");
    }
    JsonNode submitted = submission.whenNoGold(overall.count(), r);
    if (submitted != null) {
      metrics.put(
          "submission",
          "submission.json: no gold answers (the test split); upload it to the benchmark's"
              + " server (rrc.cvc.uab.es)");
    }
    return new BenchmarkScores(byId, metrics, submitted);
  }
}
