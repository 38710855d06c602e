package io.github.idefics3spark.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** model-loader's committed reference fixtures, as the udf tests reach them. */
final class TestFixtures {
  private TestFixtures() {}

  /** model-loader/src/test/resources/reference, from the udf module or the repository root. */
  static Path reference() {
    for (String candidate :
        new String[] {
          "../model-loader/src/test/resources/reference",
          "model-loader/src/test/resources/reference"
        }) {
      Path path = Path.of(candidate);
      if (Files.isDirectory(path)) {
        return path.toAbsolutePath().normalize();
      }
    }
    throw new IllegalStateException(
        "model-loader's reference fixtures not found from " + Path.of("").toAbsolutePath());
  }

  /** The tiny SmolVLM-shaped Hugging Face checkpoint folder. */
  static Path tinyCheckpoint() {
    return reference().resolve("checkpoints").resolve("tiny-smolvlm");
  }

  static Path image(String name) {
    return reference().resolve("images").resolve(name);
  }

  static byte[] imageBytes(String name) {
    try {
      return Files.readAllBytes(image(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
