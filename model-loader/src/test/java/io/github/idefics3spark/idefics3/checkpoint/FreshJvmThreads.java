package io.github.idefics3spark.idefics3.checkpoint;

import io.github.idefics3spark.tf.ComputeDtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * TensorFlow's threads in a JVM of its own once it has loaded a package with one intra-op thread:
 * {@link #run} starts one with the test classpath, {@link #main} loads there (after converting the
 * checkpoint, in the mode that does) and prints the count. TensorFlow's threads are native and
 * unnamed, so Linux gives them the name of the thread that started them, the JVM's main thread; the
 * JVM names each thread of its own.
 */
final class FreshJvmThreads {
  static final String LOAD = "load";
  static final String CONVERT_THEN_LOAD = "convert-then-load";

  private FreshJvmThreads() {}

  /** args: MODE ({@value #LOAD}: PACKAGE_DIR; {@value #CONVERT_THEN_LOAD}: CHECKPOINT WORK_DIR). */
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[1]);
    if (args[0].equals(CONVERT_THEN_LOAD)) {
      Path converted = Path.of(args[2]).resolve("converted-in-this-jvm");
      Idefics3Package.write(dir, converted, ComputeDtype.FP32, 1);
      dir = converted;
    }
    try (Idefics3Package pkg = Idefics3Package.load(dir, 1)) {
      System.out.println(unnamedThreads());
    }
  }

  /** Threads of this process with the main thread's name. */
  private static long unnamedThreads() throws IOException {
    String main = Files.readString(Path.of("/proc/self/comm")).trim();
    try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
      return tasks
          .filter(
              task -> {
                try {
                  return Files.readString(task.resolve("comm")).trim().equals(main);
                } catch (IOException gone) {
                  return false; // a thread that ended while listed
                }
              })
          .count();
    }
  }

  /** Runs {@link #main} in a new JVM and returns the count it printed. */
  static long run(String mode, Path dir, Path work) throws IOException, InterruptedException {
    Path log = Files.createTempFile(work, "fresh-jvm-threads", ".log");
    Process process =
        new ProcessBuilder(
                List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp",
                    System.getProperty("java.class.path"),
                    FreshJvmThreads.class.getName(),
                    mode,
                    dir.toString(),
                    work.toString()))
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .redirectOutput(log.toFile())
            .start();
    if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0) {
      process.destroyForcibly();
      throw new IllegalStateException(
          "the fresh JVM (" + mode + ") failed; its output:\n" + Files.readString(log));
    }
    List<String> lines = Files.readAllLines(log);
    return Long.parseLong(lines.get(lines.size() - 1).trim());
  }
}
