package io.github.idefics3spark.job;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An {@link Idefics3Job} command line the tests build option by option, in the order given, and run
 * in this JVM: most name the bundled tiny checkpoint with short answers and no image splitting
 * ({@link #tinyModel}).
 */
final class JobCommandLine {
  /** The model cache the tests of the module share (keyed by the checkpoint's listing). */
  static final Path SHARED_CACHE = Path.of("target", "model-cache").toAbsolutePath();

  private final List<String> args = new ArrayList<>();

  private JobCommandLine(String task) {
    args.add(task);
  }

  /** {@code task}, the command ({@code caption}, {@code vqa}, {@code eval}...), alone. */
  static JobCommandLine of(String task) {
    return new JobCommandLine(task);
  }

  /**
   * {@code task --input input --output output} with {@link #tinyModel}: a run of the tiny
   * checkpoint on local files.
   */
  static JobCommandLine withTinyModel(
      String task, Path input, Path output, Path cache, int maxNewTokens) {
    return of(task)
        .input(input.toString())
        .output(output.toString())
        .tinyModel(cache, maxNewTokens);
  }

  /**
   * {@code eval --benchmark benchmark --input input --output output} with {@link #tinyModel} and
   * the model cache the module's tests share: the command line the eval tests share.
   */
  static JobCommandLine eval(String benchmark, Path input, Path output, int maxNewTokens) {
    return withTinyModel("eval", input, output, SHARED_CACHE, maxNewTokens)
        .with("--benchmark", benchmark);
  }

  /** {@code score --benchmark benchmark --input predictions --output output}. */
  static JobCommandLine score(String benchmark, Path predictions, Path output) {
    return of("score")
        .with("--benchmark", benchmark)
        .input(predictions.toString())
        .output(output.toString());
  }

  /** {@code --input input}. */
  JobCommandLine input(String input) {
    return with("--input", input);
  }

  /** {@code --output output}. */
  JobCommandLine output(String output) {
    return with("--output", output);
  }

  /** {@link #model} the bundled tiny checkpoint ({@link SparkTestSession#TINY_CHECKPOINT}). */
  JobCommandLine tinyModel(Path cache, int maxNewTokens) {
    return model(SparkTestSession.TINY_CHECKPOINT.toString(), cache, maxNewTokens);
  }

  /**
   * {@code --model model --model-cache cache --max-new-tokens maxNewTokens
   * --image-splitting=false}: a model, where it is copied, and short answers from a single tile.
   */
  JobCommandLine model(String model, Path cache, int maxNewTokens) {
    return with(
        "--model",
        model,
        "--model-cache",
        cache.toString(),
        "--max-new-tokens",
        String.valueOf(maxNewTokens),
        "--image-splitting=false");
  }

  /** The arguments, appended as given. */
  JobCommandLine with(String... more) {
    args.addAll(Arrays.asList(more));
    return this;
  }

  String[] args() {
    return args.toArray(String[]::new);
  }

  /** Runs it in this JVM ({@link JobRun#of}). */
  JobRun run() {
    return JobRun.of(args());
  }

  /**
   * Runs it as a local job: with {@code spark.master} {@code local[2]} and the Spark UI off as
   * system properties for the run's own session (what {@code spark-submit} would set), cleared
   * after.
   */
  JobRun runLocally() {
    System.setProperty("spark.master", "local[2]");
    System.setProperty("spark.ui.enabled", "false");
    try {
      return run();
    } finally {
      System.clearProperty("spark.master");
      System.clearProperty("spark.ui.enabled");
    }
  }
}
