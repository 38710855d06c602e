package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the job prints at its end, from the counts of a run. */
class InferenceSummaryTest {

  private static InferenceSummary summary(long modelFailures) {
    return new InferenceSummary(
        16,
        0,
        0,
        16,
        Map.of("MODEL_FAILURE", 1L),
        16,
        400,
        8.0,
        16,
        Map.of("MODEL_FAILURE", 1L),
        0,
        modelFailures);
  }

  /**
   * Batch calls that failed are named even when each of their rows then succeeded alone: the output
   * rows do not show them, and the run was slower for them.
   */
  @Test
  void namesModelFailuresAndWhereTheirCauseIs() {
    String text = summary(2).describe();
    assertTrue(
        text.contains(
            "model failures: 2 batch calls failed, their rows answered one by one; the executors'"
                + " logs (WARN, Idefics3Runtime) say why"),
        text);
    assertTrue(text.contains("errors: 1 (MODEL_FAILURE 1)"), text);
    assertTrue(summary(2).complete(), "failed batch calls answered alone leave the run complete");
  }

  @Test
  void saysNothingOfModelFailuresWhenThereWereNone() {
    String text = summary(0).describe();
    assertFalse(text.contains("model failures"), text);
  }
}
