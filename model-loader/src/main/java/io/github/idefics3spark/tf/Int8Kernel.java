package io.github.idefics3spark.tf;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import org.tensorflow.TensorFlow;
import org.tensorflow.proto.OpDef;

/**
 * The project's own TensorFlow op {@value #OP}, which multiplies float32 rows by an int8 matrix
 * with per-output-channel scales, converting the int8 values to float in registers (source:
 * model-loader/src/main/c/idefics3_int8_matmul.c; built by tools/native/build.sh into this jar's
 * {@value #RESOURCE}). A decode step then reads a quarter of fp32's bytes of weights; TensorFlow
 * 2.18's own CPU kernels have no product that reads int8 weights without writing them out as
 * float32 first.
 *
 * <p>{@link #load} registers the op with TensorFlow once per JVM (a SavedModel that uses it, an
 * int8 package, cannot load before): the library is copied out of the jar to a temporary file,
 * loaded through TensorFlow's C API ({@code TensorFlow.loadLibrary}) and the file deleted. It is
 * built for Linux on x86-64, with AVX-512 kernels where the CPU has them and portable ones
 * otherwise.
 */
public final class Int8Kernel {
  /** The op's type name, as graphs and {@code PackageFiles.ALLOWED_OPS} name it. */
  public static final String OP = "Idefics3Int8MatMul";

  /** Where in the jar the built library lies. */
  static final String RESOURCE =
      "/io/github/idefics3spark/tf/linux-x86_64/libidefics3_int8_matmul.so";

  private static boolean loaded;

  private Int8Kernel() {}

  /**
   * Registers {@value #OP} with TensorFlow unless it already is (by this class, or by another class
   * loader's copy of it in the same JVM).
   *
   * @throws UnsupportedOperationException on a platform the library is not built for
   */
  public static synchronized void load() {
    if (loaded) {
      return;
    }
    if (registered()) {
      loaded = true;
      return;
    }
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
      throw new UnsupportedOperationException(
          "int8 packages need the "
              + OP
              + " kernel, built for Linux on x86-64; this JVM runs on "
              + os
              + "/"
              + arch
              + ": convert the checkpoint with --dtype fp32 for these executors");
    }
    try (InputStream in = Int8Kernel.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(
            RESOURCE + " is missing from the classpath: build it with tools/native/build.sh");
      }
      Path library = Files.createTempFile("idefics3_int8_matmul", ".so");
      try {
        Files.copy(in, library, StandardCopyOption.REPLACE_EXISTING);
        TensorFlow.loadLibrary(library.toString());
      } finally {
        // loaded, the library stays mapped: nothing is left behind, even by a JVM that is killed
        Files.delete(library);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not copy " + RESOURCE + " to a temporary file", e);
    }
    if (!registered()) {
      throw new IllegalStateException(
          RESOURCE + " loaded but did not register " + OP + " (see the JVM's standard error)");
    }
    loaded = true;
  }

  /** Whether {@value #OP} is registered with this JVM's TensorFlow. */
  public static boolean registered() {
    for (OpDef op : TensorFlow.registeredOpList().getOpList()) {
      if (op.getName().equals(OP)) {
        return true;
      }
    }
    return false;
  }
}
