package io.github.idefics3spark.idefics3.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Which build of {@code convert} is running: the sha256 of the class files it runs (the graph, the
 * checkpoint's config and weights read, the package written: every class under {@link #PACKAGES}),
 * by name and content, in the jar or folder this class was loaded from. Builds from the same
 * sources have the same id (javac writes the same class files, and a jar's dates are not hashed); a
 * build that changes any of these classes has another, so a package it converts is told from an
 * earlier build's (the model cache converts a checkpoint again for it rather than loading a package
 * that this build refuses, or one without this build's changes).
 */
public final class ConverterBuild {
  /** The class folders hashed: what a package's graph and weights depend on. */
  static final List<String> PACKAGES =
      List.of(
          "io/github/idefics3spark/idefics3/",
          "io/github/idefics3spark/tf/",
          "io/github/idefics3spark/safetensors/");

  private ConverterBuild() {}

  /**
   * This build's id, 64 hex digits, computed once a JVM (47-287 ms for a 225 MB job jar); {@code
   * "unknown"} when the classes cannot be read from where they were loaded (a class loader with no
   * jar or folder behind it, a jar inside a jar), which names no build apart.
   */
  public static String id() {
    return Holder.ID;
  }

  private static final class Holder {
    static final String ID = ofRunningBuild();
  }

  private static String ofRunningBuild() {
    CodeSource source = ConverterBuild.class.getProtectionDomain().getCodeSource();
    if (source == null || source.getLocation() == null) {
      return "unknown";
    }
    try {
      return of(Path.of(source.getLocation().toURI()));
    } catch (URISyntaxException | IOException | RuntimeException e) {
      // not a plain jar or folder (a jar inside a jar: no file system for it), or unreadable
      return "unknown";
    }
  }

  /** The id of the classes in {@code codeSource}: a jar, or a folder of classes. */
  static String of(Path codeSource) throws IOException {
    Map<String, byte[]> classes = new TreeMap<>(); // name -> content, by name
    if (Files.isDirectory(codeSource)) {
      try (Stream<Path> files = Files.walk(codeSource)) {
        for (Path file : files.filter(Files::isRegularFile).toList()) {
          String name = codeSource.relativize(file).toString().replace('\\', '/');
          if (hashed(name)) {
            classes.put(name, Files.readAllBytes(file));
          }
        }
      }
    } else {
      try (ZipFile jar = new ZipFile(codeSource.toFile())) {
        for (ZipEntry entry : jar.stream().toList()) {
          if (!entry.isDirectory() && hashed(entry.getName())) {
            try (InputStream in = jar.getInputStream(entry)) {
              classes.put(entry.getName(), in.readAllBytes());
            }
          }
        }
      }
    }
    ByteArrayOutputStream hashed = new ByteArrayOutputStream(); // name, size, content of each
    for (Map.Entry<String, byte[]> entry : classes.entrySet()) {
      hashed.writeBytes(entry.getKey().getBytes(StandardCharsets.UTF_8));
      hashed.write(0);
      hashed.writeBytes(Long.toString(entry.getValue().length).getBytes(StandardCharsets.UTF_8));
      hashed.write(0);
      hashed.writeBytes(entry.getValue());
    }
    return PackageFiles.sha256(hashed.toByteArray());
  }

  private static boolean hashed(String name) {
    return name.endsWith(".class") && PACKAGES.stream().anyMatch(name::startsWith);
  }
}
