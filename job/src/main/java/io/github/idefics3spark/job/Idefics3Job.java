package io.github.idefics3spark.job;

import io.github.idefics3spark.idefics3.checkpoint.Convert;
import io.github.idefics3spark.spark.InferenceSchema;
import io.github.idefics3spark.spark.InferenceSettings;
import io.github.idefics3spark.spark.RedactedUri;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The {@code spark-submit} entry point: {@code caption} and {@code vqa} read images and questions
 * ({@link JobInput}), answer them with an Idefics3 model on the executors ({@link InferenceStage})
 * and write Parquet; {@code eval} runs a benchmark on its Hugging Face Parquet and scores it, and
 * {@code score} scores existing predictions ({@link BenchmarkRun}); {@code convert} turns a Hugging
 * Face checkpoint into a model package.
 *
 * <pre>
 * spark-submit --class io.github.idefics3spark.job.Idefics3Job idefics3-spark-job.jar \
 *   caption|vqa [--conf FILE] --input PATH --output PATH --model URI [options]
 *   eval --benchmark NAME --input PARQUET --output DIR --model URI [options]
 *   score --benchmark NAME --input PREDICTIONS --output DIR
 * </pre>
 *
 * <p>Exit status: 0 done (rows that failed are in the output with their error); 1 the job failed; 2
 * the command line, configuration or input is wrong (said before any inference).
 */
public final class Idefics3Job {
  /** How help names the program. */
  static final String PROGRAM =
      "spark-submit [SPARK OPTIONS] --class " + Idefics3Job.class.getName() + " JOB_JAR";

  private static final int HELP_WIDTH = 100;

  private Idefics3Job() {}

  public static void main(String[] args) {
    int status = run(args, System.out, System.err);
    if (status != 0) {
      System.exit(status);
    }
  }

  /** Runs a command line; returns the exit status. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0) {
      err.print(usage());
      return 2;
    }
    String command = args[0];
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    if (command.equals("--help") || command.equals("-h") || command.equals("help")) {
      out.print(usage());
      return 0;
    }
    if (command.equals("convert")) {
      Convert.main(rest); // exits the JVM with convert's status
      return 0;
    }
    Task task = Task.forCommand(command);
    if (task == null) {
      err.print("unknown command '" + command + "'\n\n" + usage());
      return 2;
    }
    if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
      out.print(help(task));
      return 0;
    }
    JobConfig config;
    try {
      config = JobConfig.parse(task, rest);
    } catch (JobConfigException e) {
      err.println(task.command() + ": " + RedactedUri.of(e.getMessage()));
      return 2;
    }
    return run(config, out, err);
  }

  /**
   * Runs a parsed job in the active Spark session, or a new one ({@code local[*]} outside of {@code
   * spark-submit}).
   */
  static int run(JobConfig config, PrintStream out, PrintStream err) {
    SparkSession active = SparkSession.getActiveSession().getOrElse(() -> null);
    if (active != null && active.sparkContext().isStopped()) {
      active = null;
    }
    SparkSession spark = active != null ? active : newSession(config);
    String name = config.task().command();
    try {
      if (config.task() == Task.EVAL) {
        return BenchmarkRun.eval(spark, config, out, err);
      }
      if (config.task() == Task.SCORE) {
        BenchmarkRun.score(spark, config, out);
        return 0;
      }
      JobInput.Read input = JobInput.read(spark, config);
      Dataset<Row> requests = input.rows();
      InferenceSettings settings = config.inferenceSettings(input.folder());
      UnaryOperator<Dataset<Row>> afterInference = UnaryOperator.identity();
      if (config.task() == Task.DOCUMENT) {
        ModelContext.Fitted fitted =
            ModelContext.fitDocumentMaxNewTokens(
                config.model(),
                config.modelSettings(),
                config.document().maxNewTokensGiven(),
                spark.sparkContext().hadoopConfiguration());
        if (fitted.note() != null) {
          out.println(name + ": " + fitted.note());
        }
        settings =
            settings.withModel(
                settings.model().toBuilder().maxNewTokens(fitted.maxNewTokens()).build());
        requests = PageConversion.requests(requests);
        DocumentSettings document = config.document();
        long maxPixels = config.modelSettings().maxImagePixels();
        int dpi = settings.pageDpi();
        afterInference = results -> PageConversion.convert(results, document, maxPixels, dpi);
      }
      checkBeforeInference(spark, config, input.folder(), settings.model().maxNewTokens());
      out.println(
          name
              + ": input "
              + input.description()
              + ", output "
              + RedactedUri.of(config.output())
              + " ("
              + config.mode().value()
              + ")");
      InferenceSummary summary =
          InferenceStage.run(
              requests,
              settings,
              config.output(),
              config.mode(),
              config.retryErrors(),
              afterInference);
      out.println(summary.describe());
      if (config.task() == Task.DOCUMENT && config.document().assemble()) {
        out.println(
            name + ": " + DocumentAssembly.write(spark, config.output(), config.document()));
      }
      if (config.preview() > 0) {
        preview(spark, config, out);
      }
      return exitStatus(summary, name, err);
    } catch (JobInputException | JobConfigException | IllegalArgumentException e) {
      err.println(name + ": " + RedactedUri.of(e.getMessage()));
      return 2;
    } catch (Exception e) { // SparkException is checked, though Scala throws it undeclared
      // Spark's failures name paths and URIs: print the trace with their credentials redacted
      StringWriter trace = new StringWriter();
      e.printStackTrace(new PrintWriter(trace));
      err.println(name + ": the job failed: " + RedactedUri.of(failureLine(e)));
      err.println(RedactedUri.of(trace.toString()));
      return 1;
    } finally {
      if (active == null) {
        spark.stop();
      }
    }
  }

  /**
   * The checks of a run that need Spark's Hadoop configuration but no inference: the output
   * writable and apart from the input's and the model's folders, and --max-new-tokens within the
   * model's context.
   */
  static void checkBeforeInference(SparkSession spark, JobConfig config, String inputFolder) {
    checkBeforeInference(spark, config, inputFolder, config.modelSettings().maxNewTokens());
  }

  /** {@link #checkBeforeInference(SparkSession, JobConfig, String)} with this --max-new-tokens. */
  static void checkBeforeInference(
      SparkSession spark, JobConfig config, String inputFolder, int maxNewTokens) {
    Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    OutputFolder.checkApart(
        config.output(),
        List.of(
            new OutputFolder.Setting("--input", inputFolder),
            new OutputFolder.Setting("--model", config.model())),
        hadoop);
    if (config.document() != null) {
      List<OutputFolder.Setting> read =
          List.of(
              new OutputFolder.Setting("--input", inputFolder),
              new OutputFolder.Setting("--model", config.model()),
              new OutputFolder.Setting("--output", config.output()));
      if (config.document().assemble()) {
        OutputFolder.checkApart(
            "--assemble-output", config.document().assembleOutput(), read, hadoop);
      }
      if (config.document().cropPictures()) {
        OutputFolder.checkApart(
            "--pictures-output", config.document().picturesOutput(), read, hadoop);
      }
    }
    ModelContext.checkMaxNewTokens(config.model(), maxNewTokens, hadoop);
    OutputFolder.checkWritable(config.output(), hadoop);
  }

  /**
   * One line saying why a job failed: the innermost cause (Spark wraps a task's failure in a stage
   * failure, which wraps the write's, which wraps the file system's), and what to do next. Only
   * what the job's commit made visible is in the output, so resume finishes the work.
   */
  static String failureLine(Throwable failure) {
    Throwable cause = failure;
    while (cause.getCause() != null && cause.getCause() != cause) {
      cause = cause.getCause();
    }
    String message = cause.getMessage() == null ? "" : ": " + cause.getMessage();
    String line = cause.getClass().getName() + message;
    int newline = line.indexOf('\n');
    if (newline >= 0) {
      line = line.substring(0, newline);
    }
    return line
        + "; nothing uncommitted is counted as done: remove the cause and rerun with --mode resume"
        + " (the stack trace follows)";
  }

  /** 0 when rows out equal rows in; else 1, saying why on {@code err}. */
  static int exitStatus(InferenceSummary summary, String command, PrintStream err) {
    if (summary.complete()) {
      return 0;
    }
    err.println(
        command
            + ": the output is incomplete: "
            + String.join("; ", summary.problems())
            + "; rerun with --mode resume to finish it");
    return 1;
  }

  private static SparkSession newSession(JobConfig config) {
    SparkSession.Builder builder =
        SparkSession.builder().appName("idefics3 " + config.task().command());
    if (!new SparkConf().contains("spark.master")) {
      builder = builder.master("local[*]");
    }
    return builder.getOrCreate();
  }

  /** Prints the first rows of the output: id, then the answer or the error. */
  private static void preview(SparkSession spark, JobConfig config, PrintStream out) {
    List<Row> rows =
        spark
            .read()
            .parquet(config.output())
            .select(InferenceSchema.ID, InferenceSchema.ANSWER, InferenceSchema.ERROR)
            .orderBy(InferenceSchema.ID)
            .limit(config.preview())
            .collectAsList();
    out.println(
        "preview of "
            + RedactedUri.of(config.output())
            + " ("
            + rows.size()
            + " rows, id: answer):");
    for (Row row : rows) {
      String text =
          row.isNullAt(2) ? String.valueOf(row.getString(1)) : "ERROR " + row.getString(2);
      text = text.replace("\n", " ");
      if (text.length() > 120) {
        text = text.substring(0, 117) + "...";
      }
      out.println("  " + row.getString(0) + ": " + text);
    }
  }

  /** The top-level help: the commands. */
  static String usage() {
    StringBuilder text = new StringBuilder();
    text.append("usage: ").append(PROGRAM).append(" COMMAND [OPTIONS]\n\ncommands:\n");
    for (Task task : Task.values()) {
      text.append(String.format("  %-9s %s%n", task.command(), task.description()));
    }
    text.append(
        String.format(
            "  %-9s %s%n",
            "convert",
            "convert a Hugging Face Idefics3 checkpoint folder into a model package:"
                + " convert CHECKPOINT_DIR PACKAGE_DIR [--dtype fp32|bf16|fp16|int8]"));
    text.append("\nRun COMMAND --help for its options.\n");
    return text.toString();
  }

  /** The help of a command: every option it takes with its help text. */
  static String help(Task task) {
    StringBuilder text = new StringBuilder();
    text.append("usage: ").append(PROGRAM).append(' ').append(task.command());
    text.append(
        switch (task) {
          case EVAL ->
              "\n         [--conf FILE] --benchmark NAME --input PARQUET --output DIR --model URI"
                  + " [OPTIONS]\n\n";
          case SCORE ->
              "\n         [--conf FILE] --benchmark NAME --input PARQUET --output DIR\n\n";
          default ->
              "\n         [--conf FILE] --input PATH --output PATH --model URI [OPTIONS]\n\n";
        });
    text.append(wrap(capitalised(task.description()) + ".", ""));
    String section = null;
    for (JobOption option : JobOption.of(task)) {
      if (!option.section().equals(section)) {
        section = option.section();
        text.append('\n').append(section).append(":\n");
      }
      text.append("  ")
          .append(option.option())
          .append(' ')
          .append(option.valueLabel())
          .append('\n');
      text.append(wrap(option.help(task), "      "));
    }
    text.append("\nConfiguration file:\n  ").append(JobConfig.CONF_OPTION).append(" FILE\n");
    text.append(
        wrap(
            "A Java properties file of settings: one 'key = value' a line, the keys the options"
                + " above without the dashes ('batch-size = 8'), # comments. Options on the command"
                + " line override it. Examples in conf/*.properties.",
            "      "));
    return text.toString();
  }

  private static String capitalised(String text) {
    return Character.toUpperCase(text.charAt(0)) + text.substring(1);
  }

  /** {@code text} wrapped at {@link #HELP_WIDTH} columns, each line indented. */
  private static String wrap(String text, String indent) {
    StringBuilder out = new StringBuilder();
    StringBuilder line = new StringBuilder(indent);
    for (String word : text.split(" ")) {
      if (line.length() > indent.length() && line.length() + 1 + word.length() > HELP_WIDTH) {
        out.append(line).append('\n');
        line = new StringBuilder(indent);
      }
      if (line.length() > indent.length()) {
        line.append(' ');
      }
      line.append(word);
    }
    return out.append(line).append('\n').toString();
  }
}
