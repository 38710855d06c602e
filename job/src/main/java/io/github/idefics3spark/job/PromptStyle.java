package io.github.idefics3spark.job;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Whose evaluation prompts {@code eval} asks a benchmark's questions with. */
public enum PromptStyle {
  /** lmms-eval's default prompts ({@link LmmsEvalPrompts}), every benchmark. */
  LMMS_EVAL("lmms-eval"),
  /**
   * SmolVLM's own, VLMEvalKit's {@code smolvlm.py} ({@link SmolVlmPrompts}), for the benchmarks it
   * defines a prompt for ({@link Benchmark#smolVlmPrompt}).
   */
  SMOLVLM("smolvlm");

  private final String value;

  PromptStyle(String value) {
    this.value = value;
  }

  /** The value as written after {@code --prompt-style}. */
  public String value() {
    return value;
  }

  /** The style written as {@code value}, or null. */
  public static PromptStyle forValue(String value) {
    for (PromptStyle style : values()) {
      if (style.value.equals(value)) {
        return style;
      }
    }
    return null;
  }

  /** The accepted values, separated by '|'. */
  public static String choices() {
    return Arrays.stream(values()).map(PromptStyle::value).collect(Collectors.joining("|"));
  }
}
