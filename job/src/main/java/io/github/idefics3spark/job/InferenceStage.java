package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.sum;

import io.github.idefics3spark.spark.InferenceSchema;
import io.github.idefics3spark.spark.InferenceSettings;
import io.github.idefics3spark.spark.PartitionInference;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the inference stage and writes its results: the requests answered partition by partition
 * ({@link PartitionInference}) and written as Parquet, one row per request with the columns of
 * {@link InferenceSchema}, then a summary counted from the files written.
 *
 * <p>Output modes: {@code overwrite} replaces the output; {@code append} adds rows beside it (an id
 * may then appear once per run); {@code resume} skips requests whose id is already in the output
 * and appends the rest, so rerunning a job that failed or was stopped finishes the work without
 * duplicates. Append and resume refuse an output whose columns differ from this run's.
 *
 * <p>Every row is answered the same way whichever task attempt answers it, and Spark's commit
 * protocol keeps only one attempt's files per partition, so retried or speculative tasks add no
 * rows. While the write runs the driver logs a progress line every few seconds ({@link
 * InferenceProgress}).
 */
public final class InferenceStage {
  private static final Logger LOG = LoggerFactory.getLogger(InferenceStage.class);

  /** How often the progress line is logged by default. */
  public static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

  private InferenceStage() {}

  /**
   * Answers {@code requests} with the model of {@code settings} and writes the results to {@code
   * output} (a path or URI) in {@code mode}, logging progress every {@link #PROGRESS_EVERY}. In
   * resume mode the error rows {@code retry} selects are answered again, their old rows removed.
   * Rows out are checked against rows in ({@link InferenceSummary#complete()}).
   *
   * @throws IllegalArgumentException before any Spark work when the requests' columns are wrong,
   *     the model certainly is not there, the output holds what this job did not write, or the
   *     output's columns differ from this run's in append or resume mode; the message names the
   *     column or setting
   */
  public static InferenceSummary run(
      Dataset<Row> requests,
      InferenceSettings settings,
      String output,
      OutputMode mode,
      RetryErrors retry) {
    return run(requests, settings, output, mode, retry, UnaryOperator.identity());
  }

  /**
   * {@link #run(Dataset, InferenceSettings, String, OutputMode, RetryErrors)}, the answered rows
   * passed through {@code afterInference} (lazy, one row out per row in: the document command's
   * conversion) before they are written.
   */
  public static InferenceSummary run(
      Dataset<Row> requests,
      InferenceSettings settings,
      String output,
      OutputMode mode,
      RetryErrors retry,
      UnaryOperator<Dataset<Row>> afterInference) {
    return run(requests, settings, output, mode, retry, afterInference, PROGRESS_EVERY, LOG::info);
  }

  /**
   * {@link #run(Dataset, InferenceSettings, String, OutputMode, RetryErrors)}, progress lines to
   * {@code lines}.
   */
  public static InferenceSummary run(
      Dataset<Row> requests,
      InferenceSettings settings,
      String output,
      OutputMode mode,
      RetryErrors retry,
      Duration progressEvery,
      Consumer<String> lines) {
    return run(
        requests, settings, output, mode, retry, UnaryOperator.identity(), progressEvery, lines);
  }

  private static InferenceSummary run(
      Dataset<Row> requests,
      InferenceSettings settings,
      String output,
      OutputMode mode,
      RetryErrors retry,
      UnaryOperator<Dataset<Row>> afterInference,
      Duration progressEvery,
      Consumer<String> lines) {
    SparkSession spark = requests.sparkSession();
    StructType results =
        afterInference
            .apply(spark.createDataFrame(List.of(), InferenceSchema.results(requests.schema())))
            .schema();
    Path outputPath = new Path(output);
    FileSystem fs;
    try {
      fs = outputPath.getFileSystem(spark.sparkContext().hadoopConfiguration());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot reach --output " + output + ": " + e.getMessage(), e);
    }
    OutputFolder.State before = OutputFolder.inspect(fs, outputPath, mode);

    Dataset<Row> todo = requests;
    long skipped = 0;
    long retried = 0;
    boolean adding = mode != OutputMode.OVERWRITE && before.hasData();
    if (adding) {
      checkSameColumns(readExisting(spark, before).schema(), results, output, mode);
      if (mode == OutputMode.RESUME) {
        if (!retry.none()) {
          retried = removeErrorRows(spark, fs, before, retry);
          before = OutputFolder.inspect(fs, outputPath, mode);
        }
        if (before.hasData()) {
          Dataset<Row> done = readExisting(spark, before).select(InferenceSchema.ID).distinct();
          todo = requests.join(done, InferenceSchema.ID, "left_anti");
        }
      }
    }
    long total = todo.count();
    if (mode == OutputMode.RESUME && adding) {
      skipped = requests.count() - total;
      LOG.info(
          "resume: {} rows already in {}, {} error rows to answer again, {} to do",
          skipped,
          output,
          retried,
          total);
    }

    long start = System.nanoTime();
    long modelFailures;
    try (InferenceProgress progress =
        InferenceProgress.start(spark.sparkContext(), total, progressEvery, lines)) {
      afterInference
          .apply(
              PartitionInference.apply(
                  todo, settings, progress.rowsDone(), progress.modelFailures()))
          .write()
          .mode(mode == OutputMode.OVERWRITE ? SaveMode.Overwrite : SaveMode.Append)
          .parquet(output);
      modelFailures = progress.modelFailures().value();
    }
    double seconds = (System.nanoTime() - start) / 1e9;

    // the files now there (listed only: OVERWRITE removes nothing), less those there before
    List<String> all = OutputFolder.inspect(fs, outputPath, OutputMode.OVERWRITE).dataFiles();
    List<String> written = new ArrayList<>(all);
    written.removeAll(new HashSet<>(before.dataFiles()));
    Counts thisRun = countFiles(spark, written);
    Counts whole = adding ? countFiles(spark, all) : thisRun;

    // rows out = rows in: this run wrote one row per request, and no id is in the output twice
    // (but in append mode, where each run adds its rows); the ids skipped were there already
    long repeated =
        mode == OutputMode.APPEND
            ? 0
            : spark
                .read()
                .parquet(output)
                .groupBy(InferenceSchema.ID)
                .count()
                .where(col("count").gt(1))
                .count();
    InferenceSummary summary =
        new InferenceSummary(
            total,
            skipped,
            retried,
            thisRun.rows(),
            thisRun.errorsByKind(),
            thisRun.images(),
            thisRun.tokens(),
            seconds,
            whole.rows(),
            whole.errorsByKind(),
            repeated,
            modelFailures);
    if (!summary.complete()) {
      LOG.error("the run is incomplete: {}", summary.problems());
    }
    return summary;
  }

  /** Rows, errors by kind, images and generated tokens in some output files. */
  private record Counts(long rows, Map<String, Long> errorsByKind, long images, long tokens) {}

  /** Counts rows, errors by kind, images and generated tokens in {@code files}. */
  private static Counts countFiles(SparkSession spark, List<String> files) {
    if (files.isEmpty()) {
      return new Counts(0, Map.of(), 0, 0);
    }
    Dataset<Row> rows = spark.read().parquet(files.toArray(String[]::new));
    Map<String, Long> errors = new HashMap<>();
    long count = 0;
    long images = 0;
    long tokens = 0;
    for (Row kind :
        rows.groupBy(col(InferenceSchema.ERROR_KIND))
            .agg(
                count("*"), sum(InferenceSchema.IMAGE_COUNT), sum(InferenceSchema.GENERATED_TOKENS))
            .collectAsList()) {
      long n = kind.getLong(1);
      count += n;
      images += kind.isNullAt(2) ? 0 : kind.getLong(2);
      tokens += kind.isNullAt(3) ? 0 : kind.getLong(3);
      if (!kind.isNullAt(0)) {
        errors.put(kind.getString(0), n);
      }
    }
    return new Counts(count, errors, images, tokens);
  }

  /** The output's existing rows, refusing files that are not Parquet with the setting to change. */
  private static Dataset<Row> readExisting(SparkSession spark, OutputFolder.State state) {
    try {
      Dataset<Row> rows = spark.read().parquet(state.dataFiles().toArray(String[]::new));
      rows.schema();
      return rows;
    } catch (Exception e) { // Spark's SparkException is checked in Java's eyes
      throw new IllegalArgumentException(
          "--output "
              + state.path()
              + " holds part files that cannot be read as Parquet ("
              + e.getClass().getSimpleName()
              + "): it is not an earlier output of this job; give another --output",
          e);
    }
  }

  /**
   * Removes from the output the error rows {@code retry} selects, keeping every other row, so that
   * resume answers them again; returns how many were removed.
   *
   * <p>The files holding such rows are rewritten without them: the kept rows are written to a
   * working folder first, then the old files are moved aside, the new ones moved in, and the
   * working folders deleted. A run killed on the way leaves some rows out of the output, never
   * twice in it, and the next resume answers them again ({@link OutputFolder#inspect} clears the
   * working folders).
   */
  private static long removeErrorRows(
      SparkSession spark, FileSystem fs, OutputFolder.State state, RetryErrors retry) {
    Dataset<Row> existing = readExisting(spark, state).where(retry.selects());
    List<Path> affected = new ArrayList<>();
    for (Row file : existing.select(input_file_name()).distinct().collectAsList()) {
      affected.add(new Path(URI.create(file.getString(0))));
    }
    if (affected.isEmpty()) {
      return 0;
    }
    long removed = existing.count();
    Path kept = new Path(state.path(), OutputFolder.RETRY_PREFIX + "kept");
    Path replaced = new Path(state.path(), OutputFolder.RETRY_PREFIX + "replaced");
    spark
        .read()
        .parquet(affected.stream().map(Path::toString).toArray(String[]::new))
        .where(not(retry.selects()))
        .write()
        .mode(SaveMode.Overwrite)
        .parquet(kept.toString());
    try {
      fs.mkdirs(replaced);
      for (Path file : affected) {
        rename(fs, file, new Path(replaced, file.getName()));
      }
      for (FileStatus file : fs.listStatus(kept)) {
        if (file.isFile() && file.getPath().getName().startsWith("part-")) {
          rename(fs, file.getPath(), new Path(state.path(), file.getPath().getName()));
        }
      }
      fs.delete(replaced, true);
      fs.delete(kept, true);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot rewrite the output files holding error rows to answer again in "
              + state.path()
              + ": "
              + e.getMessage(),
          e);
    }
    LOG.info(
        "resume: {} error rows ({}) removed from {} files to be answered again",
        removed,
        retry,
        affected.size());
    return removed;
  }

  private static void rename(FileSystem fs, Path from, Path to) throws IOException {
    if (!fs.rename(from, to)) {
      throw new IOException("could not move " + from + " to " + to);
    }
  }

  private static void checkSameColumns(
      StructType existing, StructType results, String output, OutputMode mode) {
    Set<String> found = new HashSet<>();
    Map<String, String> expected = new HashMap<>();
    for (StructField field : existing.fields()) {
      found.add(field.name() + " " + field.dataType().simpleString());
    }
    for (StructField field : results.fields()) {
      expected.put(field.name() + " " + field.dataType().simpleString(), field.name());
    }
    if (!found.equals(expected.keySet())) {
      Set<String> missing = new HashSet<>(expected.keySet());
      missing.removeAll(found);
      Set<String> extra = new HashSet<>(found);
      extra.removeAll(expected.keySet());
      throw new IllegalArgumentException(
          "the output "
              + output
              + " has other columns than this run writes (only there: "
              + (extra.isEmpty() ? "none" : String.join(", ", extra))
              + "; only in this run: "
              + (missing.isEmpty() ? "none" : String.join(", ", missing))
              + "); --mode "
              + mode.value()
              + " adds to it, so use the same input columns, --mode overwrite, or another"
              + " --output");
    }
  }
}
