package io.github.idefics3spark.idefics3.checkpoint;

import io.github.idefics3spark.idefics3.graph.Idefics3Graph;
import io.github.idefics3spark.tf.ComputeDtype;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code convert} command line: a Hugging Face Idefics3 checkpoint folder to a model package
 * ({@link Idefics3Package}).
 *
 * <pre>
 * convert CHECKPOINT_DIR PACKAGE_DIR [--dtype fp32|bf16|fp16|int8]   convert, streaming tensor
 *                                                       by tensor (fp32 for CPU, bf16 or fp16 for
 *                                                       GPU, int8 for CPU: every matrix int8 with
 *                                                       per-output-channel scales, a quarter of
 *                                                       the size)
 * convert ... --split-products N                       split the large products into N parts that
 *                                                      run at once (CPU executors whose tasks own
 *                                                      N or more cores; see Idefics3Package.write)
 * convert CHECKPOINT_DIR --dry-run                     build the graph from config.json only and
 *                                                      print the parameter count (no weights read)
 * </pre>
 */
public final class Convert {
  private static final String USAGE =
      "usage: convert CHECKPOINT_DIR PACKAGE_DIR [--dtype fp32|bf16|fp16|int8]"
          + " [--split-products N]\n"
          + "       convert CHECKPOINT_DIR --dry-run [--dtype fp32|bf16|fp16|int8]";

  private Convert() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs the command; returns the exit status (0 success, 1 failure, 2 bad arguments). */
  static int run(String[] args, PrintStream out, PrintStream err) {
    List<String> positional = new ArrayList<>();
    boolean dryRun = false;
    String dtype = "fp32";
    String splits = "1";
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--dry-run" -> dryRun = true;
        case "--dtype" -> {
          if (i + 1 == args.length) {
            err.println("--dtype needs a value: fp32, bf16, fp16 or int8\n" + USAGE);
            return 2;
          }
          dtype = args[++i];
        }
        case "--split-products" -> {
          if (i + 1 == args.length) {
            err.println(
                "--split-products needs a value: the cores of an executor's task\n" + USAGE);
            return 2;
          }
          splits = args[++i];
        }
        case "-h", "--help" -> {
          out.println(USAGE);
          return 0;
        }
        default -> positional.add(args[i]);
      }
    }
    ComputeDtype computeDtype;
    try {
      computeDtype = ComputeDtype.of(dtype);
    } catch (IllegalArgumentException e) {
      err.println(
          "--dtype "
              + dtype
              + ": choose fp32 (CPU), bf16 or fp16 (GPU), or int8 (CPU, a quarter of the size)\n"
              + USAGE);
      return 2;
    }
    int productSplits;
    try {
      productSplits = Integer.parseInt(splits);
    } catch (NumberFormatException e) {
      productSplits = 0;
    }
    if (productSplits < 1 || productSplits > Idefics3Package.MAX_PRODUCT_SPLITS) {
      err.println(
          "--split-products "
              + splits
              + ": give a whole number from 1 to "
              + Idefics3Package.MAX_PRODUCT_SPLITS
              + ", the cores of the executors' tasks that will"
              + " load the package (1 for GPU packages)\n"
              + USAGE);
      return 2;
    }
    if (positional.size() != (dryRun ? 1 : 2)) {
      err.println(USAGE);
      return 2;
    }
    Path source = Path.of(positional.get(0));
    try {
      if (dryRun) {
        Idefics3Checkpoint checkpoint = Idefics3Checkpoint.read(source);
        try (Idefics3Graph graph =
            Idefics3Graph.build(checkpoint.config(), computeDtype, productSplits)) {
          out.printf(
              "%s: graph built, %d weight tensors, %,d parameters (%.2f GB in %s)%n",
              source,
              graph.weights().variables().size(),
              graph.weights().parameterCount(),
              graph.weights().parameterCount() * computeDtype.bytes() / 1e9,
              computeDtype.flag());
        }
        return 0;
      }
      Path target = Path.of(positional.get(1));
      long started = System.nanoTime();
      long parameters = Idefics3Package.write(source, target, computeDtype, 0, productSplits);
      out.printf(
          "%s -> %s: %,d parameters, %s%s, %.1f s%n",
          source,
          target,
          parameters,
          computeDtype.flag(),
          productSplits > 1 ? ", products split in " + productSplits : "",
          (System.nanoTime() - started) / 1e9);
      return 0;
    } catch (CheckpointException | IOException e) {
      err.println("convert failed: " + e.getMessage());
      return 1;
    }
  }
}
