package io.github.idefics3spark.job;

import java.util.Arrays;
import java.util.stream.Collectors;

/** What the job does with Parquet already at {@code --output}. */
public enum OutputMode {
  /** Replace whatever is there. */
  OVERWRITE("overwrite"),
  /** Add the new rows beside the old ones (ids may then repeat across runs). */
  APPEND("append"),
  /** Skip input ids already in the output and append the rest: a rerun finishes the work. */
  RESUME("resume");

  private final String value;

  OutputMode(String value) {
    this.value = value;
  }

  /** The value as written after {@code --mode}. */
  public String value() {
    return value;
  }

  /** The mode written as {@code value}, or null. */
  public static OutputMode forValue(String value) {
    for (OutputMode mode : values()) {
      if (mode.value.equals(value)) {
        return mode;
      }
    }
    return null;
  }

  /** The accepted values, separated by '|'. */
  public static String choices() {
    return Arrays.stream(values()).map(OutputMode::value).collect(Collectors.joining("|"));
  }
}
