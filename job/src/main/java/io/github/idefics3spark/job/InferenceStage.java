package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.sum;

import io.github.idefics3spark.spark.InferenceSchema;
import io.github.idefics3spark.spark.InferenceSettings;
import io.github.idefics3spark.spark.PartitionInference;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
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
   * output} (a path or URI) in {@code mode}, logging progress every {@link #PROGRESS_EVERY}.
   *
   * @throws IllegalArgumentException before any Spark work when the requests' columns are wrong,
   *     the model certainly is not there, or the output's columns differ from this run's in append
   *     or resume mode; the message names the column or setting
   */
  public static InferenceSummary run(
      Dataset<Row> requests, InferenceSettings settings, String output, OutputMode mode) {
    return run(requests, settings, output, mode, PROGRESS_EVERY, LOG::info);
  }

  /**
   * {@link #run(Dataset, InferenceSettings, String, OutputMode)}, progress lines to {@code lines}.
   */
  public static InferenceSummary run(
      Dataset<Row> requests,
      InferenceSettings settings,
      String output,
      OutputMode mode,
      Duration progressEvery,
      Consumer<String> lines) {
    SparkSession spark = requests.sparkSession();
    StructType results = InferenceSchema.results(requests.schema());
    Path outputPath = new Path(output);
    FileSystem fs;
    List<String> before;
    try {
      fs = outputPath.getFileSystem(spark.sparkContext().hadoopConfiguration());
      before = dataFiles(fs, outputPath);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the output " + output + ": " + e.getMessage(), e);
    }

    Dataset<Row> todo = requests;
    long skipped = 0;
    if (mode != OutputMode.OVERWRITE && !before.isEmpty()) {
      Dataset<Row> existing = spark.read().parquet(output);
      checkSameColumns(existing.schema(), results, output, mode);
      if (mode == OutputMode.RESUME) {
        Dataset<Row> done = existing.select(InferenceSchema.ID).distinct();
        todo = requests.join(done, InferenceSchema.ID, "left_anti");
      }
    }
    long total = todo.count();
    if (mode == OutputMode.RESUME && !before.isEmpty()) {
      skipped = requests.count() - total;
      LOG.info("resume: {} rows already in {}, {} to do", skipped, output, total);
    }

    long start = System.nanoTime();
    try (InferenceProgress progress =
        InferenceProgress.start(spark.sparkContext(), total, progressEvery, lines)) {
      PartitionInference.apply(todo, settings, progress.rowsDone())
          .write()
          .mode(mode == OutputMode.OVERWRITE ? SaveMode.Overwrite : SaveMode.Append)
          .parquet(output);
    }
    double seconds = (System.nanoTime() - start) / 1e9;

    List<String> written;
    try {
      written = dataFiles(fs, outputPath);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the output " + output + ": " + e.getMessage(), e);
    }
    if (mode != OutputMode.OVERWRITE) {
      written.removeAll(new HashSet<>(before));
    }
    InferenceSummary summary = summarize(spark, written, total, skipped, seconds);
    if (summary.rows() != total) {
      LOG.error(
          "the run wrote {} rows for {} requests; rows out should equal rows in",
          summary.rows(),
          total);
    }
    return summary;
  }

  /** Counts rows, errors by kind, images and generated tokens in the files this run wrote. */
  private static InferenceSummary summarize(
      SparkSession spark, List<String> files, long total, long skipped, double seconds) {
    if (files.isEmpty()) {
      return new InferenceSummary(total, skipped, 0, Map.of(), 0, 0, seconds);
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
    return new InferenceSummary(total, skipped, count, errors, images, tokens, seconds);
  }

  /** The Parquet data files directly in {@code dir} (not _SUCCESS, not hidden), as full paths. */
  private static List<String> dataFiles(FileSystem fs, Path dir) throws IOException {
    List<String> files = new ArrayList<>();
    if (!fs.exists(dir)) {
      return files;
    }
    for (FileStatus status : fs.listStatus(dir)) {
      String name = status.getPath().getName();
      if (status.isFile() && !name.startsWith("_") && !name.startsWith(".")) {
        files.add(status.getPath().toString());
      }
    }
    return files;
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
