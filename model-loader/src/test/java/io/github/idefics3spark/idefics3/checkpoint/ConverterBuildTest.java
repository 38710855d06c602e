package io.github.idefics3spark.idefics3.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The converter's build id, on a copy of this build's own classes: the same classes give the same
 * id in a folder or a jar, a changed class of the converter another, and other files none.
 */
class ConverterBuildTest {
  @TempDir Path temp;
  private Path classes;

  @BeforeEach
  void copyThisBuildsClasses() throws Exception {
    Path built =
        Path.of(ConverterBuild.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    classes = temp.resolve("classes");
    try (Stream<Path> files = Files.walk(built)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        Path copy = classes.resolve(built.relativize(file).toString());
        Files.createDirectories(copy.getParent());
        Files.copy(file, copy);
      }
    }
  }

  @Test
  void theRunningBuildIsNamedByItsClasses() throws IOException {
    assertTrue(ConverterBuild.id().matches("[0-9a-f]{64}"), ConverterBuild.id());
    assertEquals(ConverterBuild.id(), ConverterBuild.of(classes));
  }

  @Test
  void theSameClassesInAJarHaveTheSameId() throws IOException {
    Path jar = temp.resolve("model-loader.jar");
    try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(jar));
        Stream<Path> files = Files.walk(classes)) {
      for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
        out.putNextEntry(new ZipEntry(classes.relativize(file).toString().replace('\\', '/')));
        out.write(Files.readAllBytes(file));
        out.closeEntry();
      }
    }
    assertEquals(ConverterBuild.of(classes), ConverterBuild.of(jar));
  }

  @Test
  void aChangedClassOfTheGraphChangesTheId() throws IOException {
    String before = ConverterBuild.of(classes);
    Path graph = classes.resolve("io/github/idefics3spark/idefics3/graph/TextAttention.class");
    try (OutputStream out = Files.newOutputStream(graph, StandardOpenOption.APPEND)) {
      out.write(0);
    }
    assertNotEquals(before, ConverterBuild.of(classes));
  }

  @Test
  void classesOutsideTheConverterAndOtherFilesLeaveItAlone() throws IOException {
    String before = ConverterBuild.of(classes);
    Path image = classes.resolve("io/github/idefics3spark/image/Added.class");
    Files.write(image, new byte[] {1, 2, 3});
    Files.writeString(classes.resolve("io/github/idefics3spark/idefics3/notes.txt"), "not a class");
    assertEquals(before, ConverterBuild.of(classes));
  }
}
