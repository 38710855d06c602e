package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.apache.spark.sql.Row;

/**
 * InfographicVQA, lmms-lab/DocVQA config InfographicVQA: ANLS by answer type, evidence and
 * operation, as the RRC script scores it (copy read: QwenLM/Qwen-VL {@code
 * eval_mm/infographicsvqa_eval.py}; {@link DocVqa#anls}); the prompt is DocVQA's, lmms-eval's
 * {@code infovqa/_default_template_infovqa_yaml} ({@code post_prompt}): {@code {question}\nAnswer
 * the question using a single word or phrase.}
 */
final class InfographicVqa implements Benchmark {

  private static final BenchmarkLayout LAYOUT =
      new BenchmarkLayout(
          "infographicvqa",
          "InfographicVQA",
          "lmms-lab/DocVQA (config InfographicVQA)",
          "questionId",
          List.of("image"),
          32,
          List.of(
              BenchmarkColumn.any("questionId", "the question id"),
              BenchmarkColumn.QUESTION,
              BenchmarkColumn.image("image", "the infographic"),
              BenchmarkColumn.strings("answers", "the gold answers (null on the test split)")),
          List.of("question"));

  @Override
  public BenchmarkLayout layout() {
    return LAYOUT;
  }

  /** {@link SmolVlmPrompts#INFOVQA_PROMPT}. */
  @Override
  public SmolVlmPrompts.Prompt smolVlmPrompt() {
    return SmolVlmPrompts.INFOVQA_PROMPT;
  }

  @Override
  public String prompt(Row row) {
    return DocVqa.prompt(BenchmarkRows.question(row));
  }

  @Override
  public BenchmarkScores score(BenchmarkRows rows, ObjectNode metrics) {
    return DocVqa.anls(rows, metrics, List.of("answer_type", "evidence", "operation/reasoning"));
  }
}
