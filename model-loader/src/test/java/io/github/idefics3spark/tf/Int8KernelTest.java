package io.github.idefics3spark.tf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.ReferenceFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The int8 kernel ({@link Int8Kernel}, a decode step's products in int8 packages) gives what the
 * cast-and-MatMul path gives, on shapes that reach every branch of its code: no rows, one to four
 * rows (the streaming kernels' row groups), five to eight, nine and more (the panel kernel), inputs
 * not a multiple of 16, outputs not a multiple of 64, both layouts; the AVX-512 kernels (this
 * machine's) and the portable ones (in a JVM of their own); and the library in the jar is built
 * from the source beside it.
 */
class Int8KernelTest {
  /** (rows, in, out) */
  private static final int[][] SHAPES = {
    {0, 16, 64},
    {1, 576, 64},
    {1, 37, 70},
    {2, 16, 1},
    {3, 33, 130},
    {4, 64, 64},
    {5, 17, 3},
    {8, 100, 200},
    {9, 40, 75},
    {13, 48, 129},
    {20, 16, 64}
  };

  @Test
  void theKernelMultipliesAsCastAndMatMulDo() {
    List<String> failures = compareOnEveryShape();
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  @Test
  void thePortableKernelsMultiplyAsCastAndMatMulDo() throws IOException, InterruptedException {
    ProcessBuilder builder =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Int8KernelTest.class.getName())
            .redirectErrorStream(true);
    builder.environment().put("IDEFICS3_INT8_KERNEL", "portable");
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes());
    assertTrue(process.waitFor(120, TimeUnit.SECONDS), "the portable run did not end");
    assertEquals(0, process.exitValue(), output);
  }

  @Test
  void theLibraryInTheJarIsBuiltFromTheCurrentSource()
      throws IOException, NoSuchAlgorithmException {
    Path module = ReferenceFixtures.root().resolve("../../../..").normalize();
    Path source = module.resolve("src/main/c/idefics3_int8_matmul.c");
    Path recorded = module.resolve("src/main/resources" + Int8Kernel.RESOURCE + ".source-sha256");
    String sha256 =
        HexFormat.of()
            .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(source)));
    assertEquals(
        Files.readString(recorded).trim(),
        sha256,
        source + " changed since the library was built: run tools/native/build.sh");
  }

  /** The portable kernels' run, in a JVM started with IDEFICS3_INT8_KERNEL=portable. */
  public static void main(String[] args) {
    List<String> failures = compareOnEveryShape();
    failures.forEach(System.out::println);
    System.exit(failures.isEmpty() ? 0 : 1);
  }

  private static List<String> compareOnEveryShape() {
    List<String> failures = new ArrayList<>();
    Random random = new Random(11);
    for (int[] shape : SHAPES) {
      for (boolean transposed : new boolean[] {true, false}) {
        String failure = compare(shape[0], shape[1], shape[2], transposed, random);
        if (failure != null) {
          failures.add(failure);
        }
      }
    }
    return failures;
  }

  /** A failure's description, or null when the two products agree. */
  private static String compare(int rows, int in, int out, boolean transposed, Random random) {
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      RandomInt8 product = RandomInt8.of(tf, rows, in, out, transposed, random);
      Operand<TFloat32> kernel = product.matrix().multiply(tf, product.rows(), true);
      Operand<TFloat32> cast = product.matrix().multiply(tf, product.rows(), false);
      try (var result = session.runner().fetch(cast).fetch(kernel).run()) {
        TFloat32 reference = (TFloat32) result.get(0);
        TFloat32 fromKernel = (TFloat32) result.get(1);
        String where =
            String.format("rows %d, in %d, out %d, transposed %s", rows, in, out, transposed);
        if (!fromKernel.shape().equals(Shape.of(rows, out))) {
          return where + ": kernel's shape " + fromKernel.shape();
        }
        double[] diffAndLargest = RandomInt8.differenceAndLargest(reference, fromKernel);
        // float32 sums of up to 576 products in another order
        return diffAndLargest[0] <= 1e-5 * Math.max(diffAndLargest[1], 1e-3)
            ? null
            : where
                + ": max abs diff "
                + diffAndLargest[0]
                + " on products up to "
                + diffAndLargest[1];
      }
    }
  }
}
