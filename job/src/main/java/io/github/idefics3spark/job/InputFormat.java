package io.github.idefics3spark.job;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How the job reads {@code --input}. */
public enum InputFormat {
  /** Decided from the input: its file extension, the files of a folder, a Parquet schema. */
  AUTO("auto"),
  /** A folder of image files; one row per image, its id the path relative to the folder. */
  FOLDER("folder"),
  /** A Parquet, JSON Lines or CSV table: id, image paths or bytes, question, other columns. */
  MANIFEST("manifest"),
  /** Hugging Face dataset Parquet: image columns as struct&lt;bytes: binary, path: string&gt;. */
  HF_PARQUET("hf-parquet");

  private final String value;

  InputFormat(String value) {
    this.value = value;
  }

  /** The value as written after {@code --input-format}. */
  public String value() {
    return value;
  }

  /** The format written as {@code value}, or null. */
  public static InputFormat forValue(String value) {
    for (InputFormat format : values()) {
      if (format.value.equals(value)) {
        return format;
      }
    }
    return null;
  }

  /** The accepted values, separated by '|'. */
  public static String choices() {
    return Arrays.stream(values()).map(InputFormat::value).collect(Collectors.joining("|"));
  }
}
