package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The submission a benchmark's server takes for a split without gold answers (DocVQA,
 * InfographicVQA, TextVQA and VQAv2 test splits): {@code [{<id key>: id, "answer": answer}]}, each
 * question's raw answer under its id as the server spells it ({@link BenchmarkScores#putId}).
 */
final class ServerSubmission {
  private final String idKey;
  private final ArrayNode entries = BenchmarkScores.JSON.arrayNode();

  /**
   * @param idKey the id's key in each entry: {@code questionId}, {@code question_id}
   */
  ServerSubmission(String idKey) {
    this.idKey = idKey;
  }

  /** Adds a question without gold answers. */
  void add(String id, String answer) {
    ObjectNode entry = entries.addObject();
    BenchmarkScores.putId(entry, idKey, id);
    entry.put("answer", answer);
  }

  /**
   * The submission when no question of {@code rows} could be scored ({@code scored} is 0: the split
   * has no gold answers), else null: a split with gold answers is scored here, not submitted.
   */
  JsonNode whenNoGold(int scored, BenchmarkRows rows) {
    return scored == 0 && !rows.rows().isEmpty() ? entries : null;
  }
}
