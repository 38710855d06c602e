import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.runtime.GenerationSettings;
import java.nio.file.Path;

/**
 * Decode ms per step against prompt length, the Java side of tools/bench/decode.sh (transformers'
 * is decode_probe_hf.py, which it mirrors): text-only prompts of each length (token ids (37 (i +
 * row)) mod 470 + 3, every row full length, no image), batch BATCH, greedy with stop tokens off; a
 * step is (generate(MAX_NEW) - generate(1)) / (MAX_NEW - 1), the best of two runs after a warm-up.
 *
 * <p>Usage: DecodeProbe PACKAGE_DIR BATCH MAX_NEW THREADS LENGTHS (e.g. 100,1000)
 */
public final class DecodeProbe {
  public static void main(String[] args) throws java.io.IOException {
    Path packageDir = Path.of(args[0]);
    int batch = Integer.parseInt(args[1]);
    int maxNew = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);
    try (Idefics3Package pkg = Idefics3Package.load(packageDir, threads)) {
      GenerationSettings full =
          GenerationSettings.greedy(pkg.checkpoint().generation(), maxNew).withoutStop();
      GenerationSettings one =
          GenerationSettings.greedy(pkg.checkpoint().generation(), 1).withoutStop();
      for (String length : args[4].split(",")) {
        probe(pkg, full, one, batch, Integer.parseInt(length), maxNew);
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
      int maxNew) {
    int[][] ids = new int[batch][length];
    int[][] mask = new int[batch][length];
    for (int b = 0; b < batch; b++) {
      for (int i = 0; i < length; i++) {
        ids[b][i] = (37 * (i + b)) % 470 + 3;
        mask[b][i] = 1;
      }
    }
    float[] none = new float[0];
    pkg.generate(ids, mask, none, full); // warm-up
    double best = Double.MAX_VALUE;
    double prefill = 0;
    for (int i = 0; i < 2; i++) {
      long t0 = System.nanoTime();
      pkg.generate(ids, mask, none, one);
      long t1 = System.nanoTime();
      pkg.generate(ids, mask, none, full);
      long t2 = System.nanoTime();
      double step = ((t2 - t1) - (t1 - t0)) / 1e6 / (maxNew - 1);
      if (step < best) {
        best = step;
        prefill = (t1 - t0) / 1e6;
      }
    }
    System.out.printf(
        "java decode probe: batch %d, prompt %5d tokens: prefill %7.0f ms, decode %6.1f ms/step%n",
        batch, length, prefill, best);
  }
}
