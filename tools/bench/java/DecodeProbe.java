import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.runtime.GenerationSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Decode ms per step against prompt length, the Java side of tools/bench/decode.sh (transformers'
 * is decode_probe_hf.py, which it mirrors): text-only prompts of each length (token ids (37 (i +
 * row)) mod 470 + 3, every row full length, no image), batch BATCH, greedy with stop tokens off; a
 * step is (generate(MAX_NEW) - generate(1)) / (MAX_NEW - 1), the best of two runs after a warm-up.
 *
 * <p>With WORKERS above 1 the batch's rows are answered as a Spark executor's tasks would: WORKERS
 * threads share the one loaded package, each with THREADS / WORKERS intra-op threads and BATCH /
 * WORKERS of the rows, every call made by all of them at once (each phase starts together); a step
 * is then one step of every worker, the same BATCH tokens as one process's step at BATCH.
 *
 * <p>Usage: DecodeProbe PACKAGE_DIR BATCH MAX_NEW THREADS LENGTHS (e.g. 100,1000) [WORKERS]
 */
public final class DecodeProbe {
  public static void main(String[] args) throws Exception {
    Path packageDir = Path.of(args[0]);
    int batch = Integer.parseInt(args[1]);
    int maxNew = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);
    int workers = args.length > 5 ? Integer.parseInt(args[5]) : 1;
    if (workers < 1 || threads % workers != 0 || batch % workers != 0) {
      throw new IllegalArgumentException(
          "WORKERS " + workers + " must divide THREADS " + threads + " and BATCH " + batch);
    }
    try (Idefics3Package pkg = Idefics3Package.load(packageDir, threads / workers)) {
      GenerationSettings full =
          GenerationSettings.greedy(pkg.checkpoint().generation(), maxNew).withoutStop();
      GenerationSettings one =
          GenerationSettings.greedy(pkg.checkpoint().generation(), 1).withoutStop();
      for (String length : args[4].split(",")) {
        probe(pkg, full, one, batch, Integer.parseInt(length), maxNew, workers);
      }
    }
  }

  /** Prints the prefill ms and decode ms per step of text-only prompts of {@code length} tokens. */
  static void probe(
      Idefics3Package pkg,
      GenerationSettings full,
      GenerationSettings one,
      int batch,
      int length,
      int maxNew,
      int workers)
      throws Exception {
    int rows = batch / workers;
    float[] none = new float[0];
    // the start of every phase: warm-up, then twice generate(1) and generate(MAX_NEW), then the end
    List<Long> starts = new ArrayList<>();
    CyclicBarrier together = new CyclicBarrier(workers, () -> starts.add(System.nanoTime()));
    List<Callable<Void>> tasks = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      int[][] ids = new int[rows][length];
      int[][] mask = new int[rows][length];
      for (int r = 0; r < rows; r++) {
        int b = w * rows + r; // the row of the batch
        for (int i = 0; i < length; i++) {
          ids[r][i] = (37 * (i + b)) % 470 + 3;
          mask[r][i] = 1;
        }
      }
      tasks.add(
          () -> {
            together.await();
            pkg.generate(ids, mask, none, full); // warm-up
            for (int i = 0; i < 2; i++) {
              together.await();
              pkg.generate(ids, mask, none, one);
              together.await();
              pkg.generate(ids, mask, none, full);
            }
            together.await();
            return null;
          });
    }
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    try {
      for (Future<Void> f : pool.invokeAll(tasks)) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
    double best = Double.MAX_VALUE;
    double prefill = 0;
    for (int i = 0; i < 2; i++) {
      long t0 = starts.get(1 + 2 * i);
      long t1 = starts.get(2 + 2 * i);
      long t2 = starts.get(3 + 2 * i);
      double step = ((t2 - t1) - (t1 - t0)) / 1e6 / (maxNew - 1);
      if (step < best) {
        best = step;
        prefill = (t1 - t0) / 1e6;
      }
    }
    System.out.printf(
        "java decode probe: batch %d, prompt %5d tokens: prefill %7.0f ms, decode %6.1f ms/step%s%n",
        batch,
        length,
        prefill,
        best,
        workers == 1 ? "" : String.format(" (%d workers of %d rows)", workers, rows));
  }
}
