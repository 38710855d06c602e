package io.github.idefics3spark.job;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.SparkSession;

/** The exit status, standard output and standard error of one {@link Idefics3Job} command line. */
record JobRun(int status, String out, String err) {

  /**
   * Runs {@code Idefics3Job.run(args, out, err)} in this JVM and captures what it printed; a run
   * that made its own Spark session returns once that session's tasks have ended ({@link
   * #awaitTasksEnded}).
   */
  static JobRun of(String... args) {
    boolean ownSession = SparkSession.getActiveSession().isEmpty();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        Idefics3Job.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    if (ownSession) {
      awaitTasksEnded();
    }
    return new JobRun(
        status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /**
   * Waits up to 60 s for the threads of Spark's local executor to end. Stopping a session does not
   * wait for the tasks it cancelled: when a job fails, a task of it may still be running (the model
   * answering, or a part file being written into the test's folder). Under spark-submit the JVM
   * then exits; here the next run or the temporary folder's deletion would go on beside it.
   */
  private static void awaitTasksEnded() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    List<Thread> running = taskThreads();
    while (!running.isEmpty() && System.nanoTime() < deadline) {
      try {
        running.get(0).join(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for the run's Spark tasks to end", e);
      }
      running = taskThreads();
    }
    if (!running.isEmpty()) {
      throw new AssertionError(
          "the run's Spark tasks still run 60 s after its session stopped: " + running);
    }
  }

  private static List<Thread> taskThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("Executor task launch worker"))
        .toList();
  }
}
