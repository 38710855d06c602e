package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.VqaAccuracy;
import io.github.idefics3spark.python.PythonStr;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;

/**
 * VQA v2, lmms-lab/VQAv2: VQA accuracy in percent, as the official VQA evaluation scores it
 * (GT-Vision-Lab/VQA {@code vqaEval.py} a013f00, {@link VqaAccuracy}: the prediction and gold
 * answers processed only when the gold answers disagree), overall and, where the rows hold them, by
 * {@code answer_type} and {@code question_type} as the script reports; the prompt is lmms-eval's
 * {@code vqav2/_default_template_vqav2_yaml} and {@code vqav2/utils.py} {@code vqav2_doc_to_text}:
 * {@code {question}\nAnswer the question using a single word or phrase.}
 *
 * <p>lmms-lab/VQAv2's {@code answers} is a list of 10 structs {@code {answer, answer_confidence,
 * answer_id}} (null on testdev and test); a list of strings is read too.
 */
final class VqaV2 implements Benchmark {

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "vqav2",
          "VQAv2",
          "lmms-lab/VQAv2",
          "question_id",
          List.of("image"),
          16,
          List.of(
              BenchmarkColumn.any("question_id", "the question id"),
              BenchmarkColumn.QUESTION,
              BenchmarkColumn.image("image", "the COCO photo"),
              BenchmarkColumn.answers("answers", "the 10 gold answers (null on testdev and test)")),
          List.of("question"));

  @Override
  public BenchmarkLayout layout() {
    return LAYOUT;
  }

  @Override
  public String prompt(Row row) {
    return prompt(BenchmarkRows.question(row));
  }

  /** {@code f"{pre_prompt}{doc['question']}{post_prompt}"}, pre_prompt empty. */
  static String prompt(String question) {
    return question + "\n" + LmmsEvalPrompts.SHORT_ANSWER;
  }

  /** The gold answers' strings: each struct's {@code answer}, or each string; nulls left out. */
  static List<String> answers(Row row) {
    if (!BenchmarkRows.has(row, "answers") || row.isNullAt(row.fieldIndex("answers"))) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (Object o : row.getList(row.fieldIndex("answers"))) {
      Object answer = o instanceof Row s ? s.getAs("answer") : o;
      if (answer != null) {
        out.add(answer.toString());
      }
    }
    return out;
  }

  /**
   * VQA accuracy per question ({@link VqaAccuracy}), overall in percent, by answer and question
   * type in percent. The parsed answer is the prediction after the script's punctuation, digit and
   * article processing (what it compares whenever the gold answers disagree). Without gold answers:
   * the submission {@code [{question_id, answer}]} EvalAI takes.
   */
  @Override
  public BenchmarkScores score(BenchmarkRows r, ObjectNode metrics) {
    VqaAccuracy accuracy = new VqaAccuracy();
    VqaAccuracy byAnswerType = new VqaAccuracy();
    Map<String, BenchmarkScores.Scored> byId = new LinkedHashMap<>();
    ServerSubmission submission = new ServerSubmission("question_id");
    for (Row row : r.rows()) {
      String id = r.id(row);
      String prediction = r.response(row);
      String parsed =
          VqaAccuracy.processDigitArticle(
              VqaAccuracy.processPunctuation(
                  PythonStr.strip(prediction.replace('\n', ' ').replace('\t', ' '))));
      List<String> answers = answers(row);
      if (answers.isEmpty()) {
        byId.put(id, new BenchmarkScores.Scored(parsed, null));
        submission.add(id, prediction);
        continue;
      }
      String questionType = BenchmarkRows.string(row, "question_type");
      String answerType = BenchmarkRows.string(row, "answer_type");
      double score =
          accuracy.add(
              prediction, answers, questionType == null ? List.of() : List.of(questionType));
      if (answerType != null) {
        byAnswerType.addScore(score, List.of(answerType));
      }
      byId.put(id, new BenchmarkScores.Scored(parsed, score));
    }
    metrics.put("metric", "VQA accuracy (percent)");
    metrics.put("scorer", "the official VQA evaluation (GT-Vision-Lab/VQA vqaEval.py a013f00)");
    metrics.put("scored", accuracy.count());
    if (accuracy.count() > 0) {
      metrics.put("overall", accuracy.overall());
      metrics.put("overall_rounded", Math.round(accuracy.overall() * 100) / 100.0);
      putGroups(metrics.putObject("by_answer_type"), byAnswerType.byGroup());
      putGroups(metrics.putObject("by_question_type"), accuracy.byGroup());
    } else {
      metrics.putNull("overall");
      metrics.put("submission", "submission.json: no gold answers (testdev, test)");
    }
    return new BenchmarkScores(byId, metrics, submission.whenNoGold(accuracy.count(), r));
  }

  private static void putGroups(ObjectNode node, Map<String, Double> percent) {
    percent.forEach(node::put);
  }
}
