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

  @Override
  public String name() {
    return "infographicvqa";
  }

  @Override
  public String displayName() {
    return "InfographicVQA";
  }

  @Override
  public String dataset() {
    return "lmms-lab/DocVQA (config InfographicVQA)";
  }

  @Override
  public String idColumn() {
    return "questionId";
  }

  @Override
  public List<String> imageColumns() {
    return List.of("image");
  }

  @Override
  public int maxNewTokens() {
    return 32;
  }

  @Override
  public List<BenchmarkColumn> columns() {
    return List.of(
        BenchmarkColumn.any("questionId", "the question id"),
        BenchmarkColumn.string("question", "the question").promptOnly(),
        BenchmarkColumn.image("image", "the infographic"),
        BenchmarkColumn.strings("answers", "the gold answers (null on the test split)"));
  }

  @Override
  public List<String> promptColumns() {
    return List.of("question");
  }

  @Override
  public String prompt(Row row) {
    return DocVqa.prompt(BenchmarkRows.string(row, "question"));
  }

  @Override
  public BenchmarkScores score(BenchmarkRows rows, ObjectNode metrics) {
    return DocVqa.anls(rows, metrics, List.of("answer_type", "evidence", "operation/reasoning"));
  }
}
