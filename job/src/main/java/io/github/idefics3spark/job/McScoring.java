package io.github.idefics3spark.job;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How {@code eval} answers a multiple-choice question ({@link Benchmark#multipleChoice}): by
 * generating, as lmms-eval does by default, or by ranking the option letters by likelihood.
 */
public enum McScoring {
  /** Generate the answer and let the benchmark's scorer parse the letter (the default). */
  GENERATE("generate"),
  /**
   * Rank each option's letter by the model's log-probability of it right after the prompt (one
   * forward per question); the answer is the most likely letter, and every option's log-probability
   * is written beside it.
   */
  LIKELIHOOD("likelihood");

  private final String value;

  McScoring(String value) {
    this.value = value;
  }

  /** The value as written after {@code --mc-scoring}. */
  public String value() {
    return value;
  }

  /** The scoring written as {@code value}, or null. */
  public static McScoring forValue(String value) {
    for (McScoring scoring : values()) {
      if (scoring.value.equals(value)) {
        return scoring;
      }
    }
    return null;
  }

  /** The accepted values, separated by '|'. */
  public static String choices() {
    return Arrays.stream(values()).map(McScoring::value).collect(Collectors.joining("|"));
  }
}
