package io.github.idefics3spark.job;

import java.util.Map;
import java.util.TreeMap;

/**
 * What one run of the inference stage wrote, counted from the Parquet files it wrote: rows, errors
 * by kind, images and generated tokens, and the rates over the run's wall-clock time.
 *
 * @param requests the rows the run was given to answer (after resume skipped the done ones)
 * @param skipped input rows resume skipped because their id was already in the output
 * @param rows the rows the run wrote; equal to {@code requests} unless something is wrong
 * @param errorsByKind rows with an error, by {@code error_kind}
 * @param images images in the rows written
 * @param generatedTokens new tokens in the rows written
 * @param seconds wall-clock time of the write, model loading included
 */
public record InferenceSummary(
    long requests,
    long skipped,
    long rows,
    Map<String, Long> errorsByKind,
    long images,
    long generatedTokens,
    double seconds) {

  public InferenceSummary {
    errorsByKind = Map.copyOf(errorsByKind);
  }

  /** Rows with an error. */
  public long errors() {
    return errorsByKind.values().stream().mapToLong(Long::longValue).sum();
  }

  public double rowsPerSecond() {
    return seconds > 0 ? rows / seconds : 0;
  }

  public double imagesPerSecond() {
    return seconds > 0 ? images / seconds : 0;
  }

  public double generatedTokensPerSecond() {
    return seconds > 0 ? generatedTokens / seconds : 0;
  }

  /** The summary as the job prints it at its end, a few lines. */
  public String describe() {
    StringBuilder text = new StringBuilder();
    text.append(String.format("rows: %d written", rows));
    if (skipped > 0) {
      text.append(String.format(", %d skipped (already in the output)", skipped));
    }
    if (rows != requests) {
      text.append(String.format(" -- expected %d: rows out differ from rows in", requests));
    }
    text.append(String.format("%nerrors: %d", errors()));
    if (!errorsByKind.isEmpty()) {
      text.append(" (");
      boolean first = true;
      for (Map.Entry<String, Long> kind : new TreeMap<>(errorsByKind).entrySet()) {
        text.append(first ? "" : ", ").append(kind.getKey()).append(' ').append(kind.getValue());
        first = false;
      }
      text.append(')');
    }
    text.append(
        String.format(
            "%ntime: %.1f s, %.2f rows/s, %.2f images/s, %.1f generated tokens/s",
            seconds, rowsPerSecond(), imagesPerSecond(), generatedTokensPerSecond()));
    return text.toString();
  }
}
