package io.github.idefics3spark.job;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Progress of the inference stage, reported from the driver every few seconds: "rows done of total,
 * rate, time left". Rows are counted by an accumulator the partition function adds to after every
 * batch: finished tasks count through their final value, running ones through the partial values
 * executors send with their heartbeats ({@code spark.executor.heartbeatInterval}, 10 s by default),
 * so a long partition shows progress before it ends. A failed task's rows stop counting.
 */
public final class InferenceProgress extends SparkListener implements AutoCloseable {
  private final SparkContext spark;
  private final LongAccumulator rowsDone;
  private final LongAccumulator modelFailures;
  private final long total;
  private final Consumer<String> lines;
  private final long startNanos = System.nanoTime();
  private final AtomicLong finished = new AtomicLong();
  private final Map<Long, Long> running = new ConcurrentHashMap<>();
  private final Set<Long> ended = ConcurrentHashMap.newKeySet();
  private final Thread reporter;

  private InferenceProgress(
      SparkContext spark, long total, Duration every, Consumer<String> lines) {
    this.spark = spark;
    this.rowsDone = spark.longAccumulator("idefics3 rows done");
    this.modelFailures = spark.longAccumulator("idefics3 model failures");
    this.total = total;
    this.lines = lines;
    spark.addSparkListener(this);
    this.reporter =
        new Thread(
            () -> {
              try {
                while (true) {
                  Thread.sleep(every.toMillis());
                  lines.accept(line());
                }
              } catch (InterruptedException e) {
                // closed
              }
            },
            "idefics3-progress");
    reporter.setDaemon(true);
    reporter.start();
  }

  /**
   * Starts reporting on {@code total} rows every {@code every} to {@code lines}; the returned
   * accumulator goes to the partition function.
   */
  public static InferenceProgress start(
      SparkContext spark, long total, Duration every, Consumer<String> lines) {
    return new InferenceProgress(spark, total, every, lines);
  }

  /** What the partition function adds finished rows to. */
  public LongAccumulator rowsDone() {
    return rowsDone;
  }

  /**
   * What the partition function adds model calls to that failed on a batch, whose rows were then
   * answered one by one (counted again for a task Spark runs again).
   */
  public LongAccumulator modelFailures() {
    return modelFailures;
  }

  /** Rows finished so far: those of finished tasks and the last reported of running ones. */
  public long done() {
    long partial = 0;
    for (long rows : running.values()) {
      partial += rows;
    }
    return Math.min(total, finished.get() + partial);
  }

  /** The progress line now: rows done of total, rate and time left. */
  public String line() {
    long done = done();
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    if (done == 0) {
      return String.format(
          "inference: 0 of %d rows after %s (loading the model, first batches)",
          total, duration(seconds));
    }
    double rate = done / seconds;
    return String.format(
        "inference: %d of %d rows (%.0f%%), %.2f rows/s, about %s left",
        done, total, 100.0 * done / Math.max(1, total), rate, duration((total - done) / rate));
  }

  private static String duration(double seconds) {
    long s = Math.round(seconds);
    if (s < 60) {
      return s + " s";
    }
    if (s < 3600) {
      return String.format("%d min %02d s", s / 60, s % 60);
    }
    return String.format("%d h %02d min", s / 3600, (s % 3600) / 60);
  }

  private Long ours(scala.collection.Seq<AccumulableInfo> accumulables) {
    for (AccumulableInfo info : CollectionConverters.asJava(accumulables)) {
      if (info.id() == rowsDone.id() && info.update().isDefined()) {
        return ((Number) info.update().get()).longValue();
      }
    }
    return null;
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
    long taskId = taskEnd.taskInfo().taskId();
    ended.add(taskId);
    if (taskEnd.taskInfo().successful()) {
      Long rows = ours(taskEnd.taskInfo().accumulables());
      if (rows != null) {
        finished.addAndGet(rows);
      }
    }
    running.remove(taskId);
  }

  @Override
  public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
    for (Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> task :
        CollectionConverters.asJava(update.accumUpdates())) {
      Long rows = ours(task._4());
      long taskId = (Long) task._1();
      if (rows != null && !ended.contains(taskId)) {
        running.put(taskId, rows);
      }
    }
  }

  /** Stops reporting; tasks that ended after this are not counted. */
  @Override
  public void close() {
    reporter.interrupt();
    spark.removeSparkListener(this);
  }
}
