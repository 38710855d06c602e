package io.github.idefics3spark.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.eval.ScoreTally;
import java.util.Map;

/**
 * What a benchmark's scoring gives: each question's parsed answer and score, the metrics (overall
 * and the official breakdowns) as JSON, and, for a split without gold answers, the submission the
 * benchmark's server takes; with the JSON pieces the benchmarks' metrics share.
 *
 * @param byId each question's outcome
 * @param metrics the metrics file's content
 * @param submission the server's submission file for a split without gold answers, else null
 */
record BenchmarkScores(Map<String, Scored> byId, ObjectNode metrics, JsonNode submission) {
  static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  /**
   * One question's outcome.
   *
   * @param parsedAnswer what the official rules read in the answer (each benchmark says what)
   * @param score the question's score in [0, 1] (ANLS, VQA accuracy, or 1/0), null without gold
   * @param parseMethod how the answer was read, where the rules have several ways: MMMU {@code
   *     option}, {@code random} (no option found: a seeded random letter) or {@code open};
   *     MathVista the extraction rule ({@code RULE_FALLBACK} stands in for GPT-4)
   * @param extraction MathVista: the extracted answer before normalisation
   */
  record Scored(String parsedAnswer, Double score, String parseMethod, String extraction) {
    /** An outcome read by one rule, with no parse method or extraction to report. */
    Scored(String parsedAnswer, Double score) {
      this(parsedAnswer, score, null, null);
    }
  }

  /** {@code {"score": score, "questions": questions}}. */
  static ObjectNode group(double score, int questions) {
    ObjectNode node = JSON.objectNode();
    node.put("score", score);
    node.put("questions", questions);
    return node;
  }

  /** Each group of {@code tally} as {@link #group}. */
  static ObjectNode groups(ScoreTally tally) {
    ObjectNode node = JSON.objectNode();
    Map<String, Integer> counts = tally.groupCounts();
    tally.groupMeans().forEach((g, mean) -> node.set(g, group(mean, counts.get(g))));
    return node;
  }

  /** A question id as the servers take it: a number when it is one. */
  static void putId(ObjectNode node, String key, String id) {
    try {
      node.put(key, Long.parseLong(id));
    } catch (NumberFormatException e) {
      node.put(key, id);
    }
  }
}
