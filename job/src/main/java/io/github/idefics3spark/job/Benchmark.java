package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * A benchmark {@code eval} runs and {@code score} scores: the Hugging Face dataset layout it reads
 * (shared/spec/benchmarks.md), the columns it needs, its default answer length, how it builds each
 * question's prompt, the values its official scorer cannot take, and its scoring. One final class
 * per benchmark holds all of these; {@link Benchmarks} lists them.
 *
 * <p>Serializable: the prompt is built on the executors ({@link BenchmarkRequests}).
 */
public interface Benchmark extends Serializable {

  /** Its names, dataset, columns and default answer length. */
  BenchmarkLayout layout();

  /**
   * The user text of one question.
   *
   * @param row those of its {@link BenchmarkLayout#promptColumns} the dataset has, its {@code
   *     question} not null
   */
  String prompt(Row row);

  /**
   * The dataset as read with its id column ({@link BenchmarkLayout#idColumn}) added where that is
   * lmms-eval's {@code doc_id}, the row's position in the split, for a dataset that has no id
   * (ChartQA, AI2D, OCRBench, ScienceQA-IMG: {@link RowPositions}); any other as read.
   *
   * @param source the Parquet files as read, their {@code _metadata} column still reachable
   */
  default Dataset<Row> withIds(Dataset<Row> source) {
    return layout().idColumn().equals(RowPositions.DOC_ID)
        ? RowPositions.withDocIds(source)
        : source;
  }

  /**
   * How SmolVLM's own evaluation asks this benchmark's questions ({@code --prompt-style smolvlm}:
   * VLMEvalKit's {@code smolvlm.py}, {@link SmolVlmPrompts}), or null where smolvlm.py defines no
   * prompt for it, as the default does; {@code --prompt-style smolvlm} is then refused.
   */
  default SmolVlmPrompts.Prompt smolVlmPrompt() {
    return null;
  }

  /**
   * Whether its questions are multiple choice answered by a letter, so that {@code --mc-scoring
   * likelihood} may rank the letters instead of generating ({@link #optionLetters}).
   */
  default boolean multipleChoice() {
    return false;
  }

  /**
   * The option letters of one question as its prompt names them ("A", "B"...), ranked by likelihood
   * under {@code --mc-scoring likelihood}; empty for a question answered by generation (MMMU's open
   * questions, every question of a benchmark that is not {@link #multipleChoice}).
   *
   * @param row those of its {@link BenchmarkLayout#promptColumns} the dataset has, its {@code
   *     question} not null
   */
  default List<String> optionLetters(Row row) {
    return List.of();
  }

  /** Whether each image goes where the text names it ({@code <image N>}), not first. */
  default boolean imageMarkers() {
    return false;
  }

  /**
   * Refuses values the benchmark's scorer cannot take, before any inference.
   *
   * @param source the dataset's rows, whose {@link BenchmarkLayout#columns} were accepted
   * @throws IllegalArgumentException naming the value and what the scorer takes
   */
  default void checkValues(Dataset<Row> source) {}

  /**
   * Scores the answers in {@code rows} with the benchmark's official rules.
   *
   * @param metrics the metrics so far ({@code benchmark}, {@code dataset}, {@code questions},
   *     {@code failed}), to which the benchmark's are added
   * @throws IllegalArgumentException when a value breaks the benchmark's rules, naming the question
   */
  BenchmarkScores score(BenchmarkRows rows, ObjectNode metrics);
}
