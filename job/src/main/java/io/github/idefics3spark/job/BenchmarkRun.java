package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.spark.InferenceSchema;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The {@code eval} and {@code score} commands.
 *
 * <p>{@code eval} reads a benchmark's Hugging Face Parquet, checks the columns it needs, builds the
 * requests ({@link BenchmarkRequests}), answers them ({@link InferenceStage}, into {@code
 * OUTPUT/answers}, so {@code --mode resume} finishes an interrupted run), then scores the answers
 * of this input's questions as {@code score} does.
 *
 * <p>{@code score} reads predictions (eval's {@code answers} or {@code predictions}, or another
 * tool's table with the same columns), scores them ({@link Benchmark#score}) and writes {@code
 * OUTPUT/predictions} (Parquet: the rows with {@code parsed_answer}, {@code score}, {@code
 * parse_method}, {@code extraction}), {@code OUTPUT/metrics.json}, and {@code
 * OUTPUT/submission.json} for a split without gold answers.
 */
final class BenchmarkRun {
  static final String ANSWERS = "answers";
  static final String PREDICTIONS = "predictions";
  static final String METRICS = "metrics.json";
  static final String SUBMISSION = "submission.json";

  static final String PARSED_ANSWER = "parsed_answer";
  static final String SCORE = "score";
  static final String PARSE_METHOD = "parse_method";
  static final String EXTRACTION = "extraction";

  /** The columns {@code score} adds; recomputed when the predictions already have them. */
  static final List<String> SCORE_COLUMNS = List.of(PARSED_ANSWER, SCORE, PARSE_METHOD, EXTRACTION);

  private static final ObjectMapper JSON =
      JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

  private BenchmarkRun() {}

  /**
   * A table read from {@code --input}, and the folder relative paths in it are resolved against.
   */
  private record Table(Dataset<Row> rows, String base) {}

  /**
   * Runs {@code eval}: requests, inference, scoring; returns the exit status (1 when the answers
   * are incomplete, which are then not scored).
   */
  static int eval(SparkSession spark, JobConfig config, PrintStream out, PrintStream err) {
    Benchmark benchmark = config.benchmark();
    Table table = readParquet(spark, config.input());
    String inputName = "--input " + config.input() + " (" + benchmark.layout().displayName() + ")";
    Dataset<Row> source = benchmark.withIds(table.rows());
    BenchmarkRequests.checkColumns(source, benchmark.layout().columns(), benchmark, inputName);
    Dataset<Row> requests =
        BenchmarkRequests.build(
            source,
            benchmark,
            config.promptStyle(),
            table.base(),
            inputName,
            config.limit(),
            config.mcScoring());
    checkIds(requests, inputName, benchmark);
    if (config.partitions() > 0) {
      requests = requests.repartition(config.partitions());
    }
    Idefics3Job.checkBeforeInference(spark, config, table.base());
    String answers = child(config.output(), ANSWERS);
    out.println(
        "eval: "
            + benchmark.layout().displayName()
            + " from "
            + config.input()
            + ", answers in "
            + answers
            + " ("
            + config.mode().value()
            + ")");
    InferenceSummary summary =
        InferenceStage.run(
            requests,
            config.inferenceSettings(table.base()),
            answers,
            config.mode(),
            config.retryErrors());
    out.println(summary.describe());
    int status = Idefics3Job.exitStatus(summary, "eval", err);
    if (status != 0) {
      return status;
    }
    Dataset<Row> answered =
        spark
            .read()
            .parquet(answers)
            .join(requests.select(InferenceSchema.ID), InferenceSchema.ID, "left_semi");
    scoreAndWrite(spark, benchmark, answered, InferenceSchema.ID, config, out);
    return 0;
  }

  /** Runs {@code score} on existing predictions. */
  static void score(SparkSession spark, JobConfig config, PrintStream out) {
    Benchmark benchmark = config.benchmark();
    Table table = readParquet(spark, config.input());
    String inputName =
        "--input " + config.input() + " (" + benchmark.layout().displayName() + " predictions)";
    Dataset<Row> predictions = table.rows();
    for (String column : SCORE_COLUMNS) {
      predictions = predictions.drop(column);
    }
    List<String> columns = Arrays.asList(predictions.columns());
    String id =
        columns.contains(InferenceSchema.ID)
            ? InferenceSchema.ID
            : columns.contains(benchmark.layout().idColumn())
                ? benchmark.layout().idColumn()
                : null;
    if (id == null) {
      throw new JobInputException(
          inputName
              + " has no id column: expected "
              + InferenceSchema.ID
              + " or "
              + benchmark.layout().idColumn()
              + ". Columns found: "
              + RequestRows.columnList(predictions));
    }
    BenchmarkRequests.checkColumns(
        predictions,
        BenchmarkColumn.scoreColumns(benchmark.layout().columns(), benchmark.layout().idColumn()),
        benchmark,
        inputName);
    checkIds(predictions.withColumnRenamed(id, InferenceSchema.ID), inputName, benchmark);
    scoreAndWrite(spark, benchmark, predictions, id, config, out);
  }

  /** Scores {@code rows} and writes predictions, metrics and, without gold, the submission. */
  private static void scoreAndWrite(
      SparkSession spark,
      Benchmark benchmark,
      Dataset<Row> rows,
      String idColumn,
      JobConfig config,
      PrintStream out) {
    Dataset<Row> kept = withoutImages(rows);
    List<Row> collected = kept.collectAsList();
    Map<String, Integer> seen = new HashMap<>();
    int idAt = kept.schema().fieldIndex(idColumn);
    for (Row row : collected) {
      String id = String.valueOf(row.get(idAt));
      if (seen.merge(id, 1, Integer::sum) == 2) {
        throw new JobInputException(
            "the answers to score hold question "
                + id
                + " more than once (an earlier --mode append?); rerun eval with --mode overwrite,"
                + " or score one answer per question");
      }
    }
    BenchmarkScores result;
    try {
      result = score(benchmark, collected, idColumn);
    } catch (IllegalArgumentException e) {
      throw new JobInputException(
          "--input "
              + config.input()
              + ": "
              + e.getMessage()
              + " ("
              + benchmark.layout().dataset()
              + ")",
          e);
    }

    StructType schema = kept.schema();
    StructType withScores =
        schema
            .add(PARSED_ANSWER, DataTypes.StringType, true)
            .add(SCORE, DataTypes.DoubleType, true)
            .add(PARSE_METHOD, DataTypes.StringType, true)
            .add(EXTRACTION, DataTypes.StringType, true);
    int idIndex = schema.fieldIndex(idColumn);
    List<Row> scored = new ArrayList<>(collected.size());
    for (Row row : collected) {
      BenchmarkScores.Scored s = result.byId().get(String.valueOf(row.get(idIndex)));
      Object[] values = new Object[row.length() + 4];
      for (int i = 0; i < row.length(); i++) {
        values[i] = row.get(i);
      }
      values[row.length()] = s.parsedAnswer();
      values[row.length() + 1] = s.score();
      values[row.length() + 2] = s.parseMethod();
      values[row.length() + 3] = s.extraction();
      scored.add(RowFactory.create(values));
    }
    String predictions = child(config.output(), PREDICTIONS);
    Dataset<Row> table = spark.createDataFrame(scored, withScores);
    if (!idColumn.equals(InferenceSchema.ID)) { // another tool's table: the id as id, first
      List<Column> columns = new ArrayList<>();
      columns.add(col(idColumn).cast(DataTypes.StringType).as(InferenceSchema.ID));
      Arrays.stream(table.columns()).map(RequestRows::column).forEach(columns::add);
      table = table.select(columns.toArray(Column[]::new));
    }
    table
        .orderBy(col(InferenceSchema.ID))
        .coalesce(1)
        .write()
        .mode(SaveMode.Overwrite)
        .parquet(predictions);

    ObjectNode metrics = result.metrics();
    metrics.put("input", config.input());
    metrics.put("predictions", predictions);
    if (Arrays.asList(kept.columns()).contains(InferenceSchema.MODEL)) {
      ArrayNode models = metrics.putArray("models");
      collected.stream()
          .map(r -> (Object) r.getAs(InferenceSchema.MODEL))
          .filter(m -> m != null)
          .map(Object::toString)
          .distinct()
          .sorted()
          .forEach(models::add);
    }
    if (config.task() == Task.EVAL) {
      metrics.put(
          "prompts",
          "lmms-eval's default prompts for "
              + benchmark.layout().displayName()
              + " (see README, Benchmark evaluation); max new tokens "
              + config.modelSettings().maxNewTokens()
              + ", greedy unless sampling was set");
    }
    String metricsPath = child(config.output(), METRICS);
    writeJson(spark, metricsPath, metrics);
    out.println(headline(benchmark, metrics) + "; metrics " + metricsPath);
    out.println("predictions (answers parsed and scored): " + predictions);
    if (result.submission() != null) {
      String submission = child(config.output(), SUBMISSION);
      writeJson(spark, submission, result.submission());
      out.println("no gold answers: submission file for the benchmark's server " + submission);
    }
  }

  /**
   * Scores {@code rows}: the metrics every benchmark has ({@code benchmark}, {@code dataset},
   * {@code questions}, {@code failed}), then the benchmark's own.
   *
   * @param idColumn the column holding each question's id
   * @throws IllegalArgumentException when a value breaks the benchmark's rules, naming the question
   */
  private static BenchmarkScores score(Benchmark benchmark, List<Row> rows, String idColumn) {
    BenchmarkRows r = new BenchmarkRows(rows, idColumn);
    ObjectNode metrics = BenchmarkScores.JSON.objectNode();
    metrics.put("benchmark", benchmark.layout().name());
    metrics.put("dataset", benchmark.layout().dataset());
    metrics.put("questions", rows.size());
    metrics.put("failed", r.failed());
    return benchmark.score(r, metrics);
  }

  /** One line: the benchmark, its overall score, the questions scored. */
  private static String headline(Benchmark benchmark, ObjectNode metrics) {
    JsonNode overall = metrics.get("overall");
    if (overall != null && overall.isObject()) {
      overall = overall.get("accuracy");
    }
    String score = overall == null || overall.isNull() ? "no score" : overall.asText();
    return benchmark.layout().name()
        + ": "
        + metrics.get("metric").asText()
        + " "
        + score
        + " over "
        + metrics.get("scored").asText()
        + " scored questions of "
        + metrics.get("questions").asText()
        + " ("
        + metrics.get("failed").asText()
        + " failed in inference)";
  }

  /** The table without binary and image columns, which scoring does not read. */
  private static Dataset<Row> withoutImages(Dataset<Row> rows) {
    List<String> drop = new ArrayList<>();
    for (StructField field : rows.schema().fields()) {
      if (holdsBinary(field.dataType())) {
        drop.add(field.name());
      }
    }
    return rows.drop(drop.toArray(String[]::new));
  }

  private static boolean holdsBinary(DataType type) {
    if (type instanceof BinaryType) {
      return true;
    }
    if (type instanceof ArrayType array) {
      return holdsBinary(array.elementType());
    }
    if (type instanceof StructType struct) {
      return Arrays.stream(struct.fields()).anyMatch(f -> holdsBinary(f.dataType()));
    }
    return false;
  }

  /** Refuses null and repeated ids, which scoring and resume rest on. */
  private static void checkIds(Dataset<Row> rows, String inputName, Benchmark benchmark) {
    List<Row> bad =
        rows.groupBy(col(InferenceSchema.ID))
            .count()
            .where(col(InferenceSchema.ID).isNull().or(col("count").gt(1)))
            .limit(6)
            .collectAsList();
    if (bad.isEmpty()) {
      return;
    }
    List<String> problems = new ArrayList<>();
    for (Row row : bad.subList(0, Math.min(5, bad.size()))) {
      problems.add(
          row.isNullAt(0)
              ? row.getLong(1) + " rows have no id"
              : "'" + row.get(0) + "' appears " + row.getLong(1) + " times");
    }
    throw new JobInputException(
        inputName
            + ": question ids ("
            + benchmark.layout().idColumn()
            + ") must be unique and not null, but "
            + String.join("; ", problems)
            + (bad.size() > 5 ? "; ..." : "")
            + ". Give one split's files once");
  }

  private static Table readParquet(SparkSession spark, String input) {
    Path path = new Path(input);
    FileStatus[] matches;
    try {
      FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
      matches = fs.globStatus(path);
    } catch (IOException | RuntimeException e) {
      throw new JobInputException("--input " + input + " cannot be read: " + e.getMessage(), e);
    }
    if (matches == null || matches.length == 0) {
      throw new JobInputException(
          "--input "
              + input
              + ": no such file or folder"
              + (input.matches(".*[*?\\[{].*") ? " matches" : "")
              + " (check the path; for s3a:, the bucket, endpoint and credentials)");
    }
    String[] paths = Arrays.stream(matches).map(s -> s.getPath().toString()).toArray(String[]::new);
    boolean folder = matches.length == 1 && matches[0].isDirectory();
    String base =
        folder ? matches[0].getPath().toString() : matches[0].getPath().getParent().toString();
    try {
      return new Table(spark.read().parquet(paths), base);
    } catch (RuntimeException e) {
      throw new JobInputException(
          "--input " + input + " cannot be read as Parquet: " + e.getMessage(), e);
    }
  }

  private static String child(String folder, String name) {
    return folder.endsWith("/") ? folder + name : folder + "/" + name;
  }

  private static void writeJson(SparkSession spark, String file, JsonNode content) {
    Path path = new Path(file);
    try {
      FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
      try (OutputStream stream = fs.create(path, true)) {
        stream.write(JSON.writeValueAsBytes(content));
        stream.write('\n');
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
