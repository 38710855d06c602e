package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import io.github.idefics3spark.spark.InferenceSchema;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.sql.Column;

/**
 * Which error rows already in the output {@code --mode resume} answers again ({@code
 * --retry-errors}): none (the default: an error row is a finished row), all of them, or those of
 * some {@code error_kind}s.
 *
 * @param kinds the error kinds answered again; empty for none
 */
public record RetryErrors(Set<String> kinds) {
  /** Error rows count as done. */
  public static final RetryErrors NONE = new RetryErrors(Set.of());

  /** Every error row is answered again. */
  public static final RetryErrors ALL = new RetryErrors(Set.copyOf(InferenceSchema.ERROR_KINDS));

  /** The value of {@code --retry-errors} that stands for every kind. */
  public static final String ALL_VALUE = "all";

  public RetryErrors {
    kinds = Set.copyOf(kinds);
  }

  /**
   * Parses {@code all} or a comma-separated list of error kinds.
   *
   * @return null when a kind is not one of {@link InferenceSchema#ERROR_KINDS}
   */
  public static RetryErrors parse(String value) {
    if (value.trim().equals(ALL_VALUE)) {
      return ALL;
    }
    List<String> kinds = new ArrayList<>();
    for (String kind : value.split(",", -1)) {
      String name = kind.trim();
      if (!InferenceSchema.ERROR_KINDS.contains(name)) {
        return null;
      }
      kinds.add(name);
    }
    return new RetryErrors(Set.copyOf(kinds));
  }

  /** The accepted values, for help and errors. */
  public static String choices() {
    return ALL_VALUE
        + " or error kinds separated by commas: "
        + String.join(", ", InferenceSchema.ERROR_KINDS);
  }

  public boolean none() {
    return kinds.isEmpty();
  }

  /** True for the output rows to answer again, false for every other (never null). */
  Column selects() {
    Column kind = col(InferenceSchema.ERROR_KIND);
    return none() ? lit(false) : kind.isNotNull().and(kind.isin(kinds.toArray()));
  }

  @Override
  public String toString() {
    return none() ? "none" : String.join(",", new TreeSet<>(kinds));
  }
}
