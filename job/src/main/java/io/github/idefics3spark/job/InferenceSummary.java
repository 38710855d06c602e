package io.github.idefics3spark.job;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one run of the inference stage wrote, counted from the Parquet files it wrote (rows, errors
 * by kind, images and generated tokens, and the rates over the run's wall-clock time), what the
 * whole output holds after it, and whether rows out equal rows in.
 *
 * @param requests the rows the run was given to answer (after resume skipped the done ones)
 * @param skipped input rows resume skipped because their id was already in the output
 * @param retried error rows resume removed from the output to answer again ({@code
 *     --retry-errors}); they are among {@code requests}
 * @param rows the rows the run wrote; equal to {@code requests} unless something is wrong
 * @param errorsByKind rows this run wrote with an error, by {@code error_kind}
 * @param images images in the rows written
 * @param generatedTokens new tokens in the rows written
 * @param seconds wall-clock time of the write, model loading included
 * @param outputRows rows in the whole output after the run
 * @param outputErrorsByKind rows with an error in the whole output, by {@code error_kind}
 * @param repeatedIds ids the output holds more than once (not counted in append mode, where each
 *     run adds its rows); 0 unless something is wrong
 * @param modelFailures model calls that failed on a batch, whose rows were then answered one by one
 *     (each row that failed alone too is a {@code MODEL_FAILURE} error); 0 unless something is
 *     wrong, and counted again for a task Spark ran again
 */
public record InferenceSummary(
    long requests,
    long skipped,
    long retried,
    long rows,
    Map<String, Long> errorsByKind,
    long images,
    long generatedTokens,
    double seconds,
    long outputRows,
    Map<String, Long> outputErrorsByKind,
    long repeatedIds,
    long modelFailures) {

  public InferenceSummary {
    errorsByKind = Map.copyOf(errorsByKind);
    outputErrorsByKind = Map.copyOf(outputErrorsByKind);
  }

  /** Rows with an error written by this run. */
  public long errors() {
    return total(errorsByKind);
  }

  /** Rows with an error in the whole output. */
  public long outputErrors() {
    return total(outputErrorsByKind);
  }

  /**
   * Whether rows out equal rows in: every request of this run written once, and no id in the output
   * twice.
   */
  public boolean complete() {
    return rows == requests && repeatedIds == 0;
  }

  /** What makes the run incomplete, one clause each; empty when {@link #complete()}. */
  public List<String> problems() {
    List<String> problems = new ArrayList<>();
    if (rows != requests) {
      problems.add(String.format("the run wrote %d rows for %d requests", rows, requests));
    }
    if (repeatedIds > 0) {
      problems.add(String.format("%d ids are in the output more than once", repeatedIds));
    }
    return problems;
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
    if (retried > 0) {
      text.append(String.format(", %d error rows answered again", retried));
    }
    if (rows != requests) {
      text.append(String.format(" -- expected %d: rows out differ from rows in", requests));
    }
    text.append(String.format("%nerrors: %d", errors())).append(byKind(errorsByKind));
    if (outputRows != rows || !outputErrorsByKind.equals(errorsByKind)) {
      text.append(
          String.format(
              "%nin the output: %d rows, errors: %d%s",
              outputRows, outputErrors(), byKind(outputErrorsByKind)));
    }
    text.append(
        String.format(
            "%ntime: %.1f s, %.2f rows/s, %.2f images/s, %.1f generated tokens/s",
            seconds, rowsPerSecond(), imagesPerSecond(), generatedTokensPerSecond()));
    if (modelFailures > 0) {
      text.append(
          String.format(
              "%nmodel failures: %d batch calls failed, their rows answered one by one; the"
                  + " executors' logs (WARN, Idefics3Runtime) say why",
              modelFailures));
    }
    if (!complete()) {
      text.append(String.format("%nINCOMPLETE: %s", String.join("; ", problems())));
    }
    return text.toString();
  }

  private static long total(Map<String, Long> byKind) {
    return byKind.values().stream().mapToLong(Long::longValue).sum();
  }

  private static String byKind(Map<String, Long> byKind) {
    if (byKind.isEmpty()) {
      return "";
    }
    StringBuilder text = new StringBuilder(" (");
    boolean first = true;
    for (Map.Entry<String, Long> kind : new TreeMap<>(byKind).entrySet()) {
      text.append(first ? "" : ", ").append(kind.getKey()).append(' ').append(kind.getValue());
      first = false;
    }
    return text.append(')').toString();
  }
}
