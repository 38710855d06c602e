package io.github.idefics3spark.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.idefics3spark.idefics3.Idefics3Package;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.SparkEnv;
import org.apache.spark.SparkFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model package as a folder on this machine, found from the model setting: used in place when it
 * is a local package, copied once into the local cache when it lives on a Hadoop file system
 * ({@code hdfs:}, {@code s3a:}, ...), converted once into the local cache when it is a Hugging Face
 * checkpoint folder (no {@value Idefics3Package#MANIFEST}, a {@code config.json}).
 *
 * <p>A relative name is looked up where Spark unpacks {@code --archives} ({@link
 * SparkFiles#getRootDirectory()}), then in the working directory.
 *
 * <p>Copies and conversions are made in a staging folder beside their final place and renamed into
 * it atomically once complete and verified, so concurrent tasks and executor JVMs sharing the cache
 * folder never see half a package; the loser of a race uses the winner's folder. The cached folder
 * is named after the source's listing (paths, sizes, modification times), so a changed source gets
 * a fresh copy. Verification checks that the graph and weights files are there, every file's size
 * against the manifest's, and every file of {@code assets/} against its sha256; a copy from a
 * remote file system is also checked file by file against the sha256 the manifest records for every
 * package file (weights included).
 */
public final class LocalPackage {
  private static final Logger LOG = LoggerFactory.getLogger(LocalPackage.class);
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** Files a package must hold besides those the manifest hashes. */
  private static final List<String> REQUIRED =
      List.of(
          Idefics3Package.MANIFEST,
          "saved_model.pb",
          "variables/variables.index",
          "assets/config.json");

  private LocalPackage() {}

  /** {@code java.io.tmpdir}/idefics3-spark-models-USER: the cache when none is set. */
  public static Path defaultCacheDir() {
    return Path.of(
        System.getProperty("java.io.tmpdir"),
        "idefics3-spark-models-" + System.getProperty("user.name", "user"));
  }

  /**
   * The local package folder for {@code modelUri}, copying or converting it into {@code cacheDir}
   * when needed.
   *
   * @throws IOException when the model cannot be found, copied, verified or converted; the message
   *     names the model setting
   */
  public static Path resolve(String modelUri, Configuration hadoop, Path cacheDir)
      throws IOException {
    if (isRemote(modelUri)) {
      return copyRemote(modelUri, hadoop, cacheDir);
    }
    Path local = localPath(modelUri);
    if (Files.isRegularFile(local.resolve(Idefics3Package.MANIFEST))) {
      verify(local);
      return local;
    }
    if (Files.isRegularFile(local.resolve("config.json"))) {
      return convertLocal(local, cacheDir);
    }
    throw notAModel(modelUri, local.toString(), Files.isDirectory(local));
  }

  /**
   * Fails when {@code modelUri} is certainly not a model, before any Spark work: an absolute path
   * or URI that holds neither a package manifest nor a checkpoint's config.json. A relative name
   * that is not here may be an {@code --archives} name that only executors see, and passes.
   */
  public static void checkReachable(String modelUri, Configuration hadoop) throws IOException {
    if (isRemote(modelUri)) {
      org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(modelUri);
      FileSystem fs = root.getFileSystem(hadoop);
      if (!fs.exists(new org.apache.hadoop.fs.Path(root, Idefics3Package.MANIFEST))
          && !fs.exists(new org.apache.hadoop.fs.Path(root, "config.json"))) {
        throw notAModel(modelUri, modelUri, fs.exists(root));
      }
      return;
    }
    Path local = localPath(modelUri);
    if (!Files.exists(local) && !isAbsolute(modelUri)) {
      return;
    }
    if (!Files.isRegularFile(local.resolve(Idefics3Package.MANIFEST))
        && !Files.isRegularFile(local.resolve("config.json"))) {
      throw notAModel(modelUri, local.toString(), Files.isDirectory(local));
    }
  }

  /**
   * Checks a package folder against its manifest: the required files are there, every file the
   * manifest lists has its size, and every asset the manifest hashes has that sha256. Cheap enough
   * for a package used in place; a copy is checked whole by {@link #verifyCopy}.
   *
   * @return the number of files whose sha256 was checked
   */
  public static int verify(Path dir) throws IOException {
    return verify(dir, false);
  }

  /**
   * {@link #verify} plus the sha256 of every file the manifest lists (weights included), for a
   * package just copied from a remote file system.
   */
  public static int verifyCopy(Path dir) throws IOException {
    return verify(dir, true);
  }

  private static int verify(Path dir, boolean hashEveryFile) throws IOException {
    for (String name : REQUIRED) {
      if (!Files.isRegularFile(dir.resolve(name))) {
        throw new IOException(
            "model package "
                + dir
                + " has no "
                + name
                + ": it is incomplete; convert the checkpoint again or copy the whole folder");
      }
    }
    JsonNode manifest = MAPPER.readTree(dir.resolve(Idefics3Package.MANIFEST).toFile());
    int checked = 0;
    for (Map.Entry<String, JsonNode> entry : manifest.path("package").path("files").properties()) {
      Path file = dir.resolve(entry.getKey());
      long expectedBytes = entry.getValue().path("bytes").asLong(-1);
      if (!Files.isRegularFile(file) || Files.size(file) != expectedBytes) {
        throw new IOException(
            file
                + (Files.isRegularFile(file)
                    ? " has " + Files.size(file) + " bytes"
                    : " is missing")
                + " but "
                + Idefics3Package.MANIFEST
                + " records "
                + expectedBytes
                + " bytes: the package is incomplete or was changed after conversion; copy the"
                + " package again or convert the checkpoint again");
      }
      if (hashEveryFile) {
        checkSha256(file, entry.getValue().path("sha256").asText());
        checked++;
      }
    }
    JsonNode hashes = manifest.path("source").path("sha256");
    int assets = 0;
    for (Map.Entry<String, JsonNode> entry : hashes.properties()) {
      Path asset = dir.resolve("assets").resolve(entry.getKey());
      if (!Files.isRegularFile(asset)) {
        continue; // the weights files: hashed at conversion, not part of the package
      }
      checkSha256(asset, entry.getValue().asText());
      assets++;
    }
    if (assets == 0) {
      throw new IOException(
          dir.resolve(Idefics3Package.MANIFEST)
              + " hashes none of the files in assets/ (source.sha256): it was not written by"
              + " convert; convert the checkpoint again");
    }
    return hashEveryFile ? checked : assets;
  }

  private static void checkSha256(Path file, String expected) throws IOException {
    String found = sha256(file);
    if (!found.equalsIgnoreCase(expected)) {
      throw new IOException(
          file
              + " has sha256 "
              + found
              + " but "
              + Idefics3Package.MANIFEST
              + " records "
              + expected
              + ": the copy is damaged or the package was changed after conversion; copy the"
              + " package again or convert the checkpoint again");
    }
  }

  static boolean isRemote(String modelUri) {
    String scheme = scheme(modelUri);
    return scheme != null && !scheme.equals("file");
  }

  private static boolean isAbsolute(String modelUri) {
    return scheme(modelUri) != null || Path.of(modelUri).isAbsolute();
  }

  private static String scheme(String modelUri) {
    try {
      String scheme = new URI(modelUri).getScheme();
      // a one-letter scheme is a Windows drive, not a file system
      return scheme == null || scheme.length() < 2
          ? null
          : scheme.toLowerCase(java.util.Locale.ROOT);
    } catch (URISyntaxException e) {
      return null; // a plain path with characters a URI would escape
    }
  }

  /** A local path from a plain path, a file: URI, or a relative (--archives) name. */
  private static Path localPath(String modelUri) {
    if ("file".equals(scheme(modelUri))) {
      return Path.of(URI.create(modelUri));
    }
    Path path = Path.of(modelUri);
    if (path.isAbsolute()) {
      return path;
    }
    if (SparkEnv.get() != null) {
      Path shipped = Path.of(SparkFiles.getRootDirectory()).resolve(path);
      if (Files.exists(shipped)) {
        return shipped.toAbsolutePath();
      }
    }
    return path.toAbsolutePath();
  }

  private static IOException notAModel(String modelUri, String where, boolean exists) {
    return new IOException(
        "model "
            + RedactedUri.of(modelUri)
            + (exists
                ? " ("
                    + RedactedUri.of(where)
                    + ") holds neither "
                    + Idefics3Package.MANIFEST
                    + " (a package"
                    + " written by convert) nor config.json (a Hugging Face checkpoint)"
                : " not found (looked at " + RedactedUri.of(where) + ")")
            + "; set the model setting (--model) to a package or checkpoint folder");
  }

  /** One file of a remote folder: its path below the folder, size and modification time. */
  private record RemoteFile(
      org.apache.hadoop.fs.Path path, String relative, long size, long mtime) {}

  private static Path copyRemote(String modelUri, Configuration hadoop, Path cacheDir)
      throws IOException {
    org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(modelUri);
    FileSystem fs = root.getFileSystem(hadoop);
    root = fs.makeQualified(root);
    List<RemoteFile> files = new ArrayList<>();
    try {
      URI base = root.toUri();
      RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
      while (it.hasNext()) {
        LocatedFileStatus status = it.next();
        String relative = base.relativize(status.getPath().toUri()).getPath();
        if (relative.isEmpty() || relative.startsWith("/") || relative.contains("..")) {
          throw new IOException(
              "model "
                  + RedactedUri.of(modelUri)
                  + " lists "
                  + RedactedUri.of(status.getPath().toString())
                  + ", which is not inside it");
        }
        files.add(
            new RemoteFile(
                status.getPath(), relative, status.getLen(), status.getModificationTime()));
      }
    } catch (FileNotFoundException e) {
      throw notAModel(modelUri, root.toString(), false);
    }
    files.sort(Comparator.comparing(RemoteFile::relative));
    boolean isPackage = files.stream().anyMatch(f -> f.relative().equals(Idefics3Package.MANIFEST));
    boolean isCheckpoint = files.stream().anyMatch(f -> f.relative().equals("config.json"));
    if (!isPackage && !isCheckpoint) {
      throw notAModel(modelUri, root.toString(), !files.isEmpty());
    }
    StringBuilder listing = new StringBuilder(root.toString()).append('\n');
    for (RemoteFile f : files) {
      listing.append(f.relative()).append('\t').append(f.size()).append('\t').append(f.mtime());
      listing.append('\n');
    }
    Path target = cacheDir.resolve(cacheName(root.getName(), listing.toString()));
    if (Files.isDirectory(target)) {
      return target; // renamed into place only after it was verified
    }

    Files.createDirectories(cacheDir);
    Path staging = staging(cacheDir);
    try {
      long bytes = 0;
      long start = System.nanoTime();
      for (RemoteFile f : files) {
        Path local = staging.resolve(f.relative());
        Files.createDirectories(local.getParent());
        try (InputStream in = fs.open(f.path())) {
          Files.copy(in, local);
        }
        long copied = Files.size(local);
        if (copied != f.size()) {
          throw new IOException(
              "copying "
                  + f.path()
                  + " gave "
                  + copied
                  + " bytes, the source lists "
                  + f.size()
                  + ": it changed while being copied or the read was cut short; run again");
        }
        bytes += copied;
      }
      LOG.info(
          "copied model {} ({} files, {} MB) to {} in {} s",
          RedactedUri.of(modelUri),
          files.size(),
          bytes >> 20,
          target,
          String.format("%.1f", (System.nanoTime() - start) / 1e9));
      if (isPackage) {
        verifyCopy(staging);
        return publish(staging, target);
      }
      Path converted = staging(cacheDir);
      try {
        convert(staging, converted, modelUri);
        return publish(converted, target);
      } finally {
        deleteTree(converted);
      }
    } finally {
      deleteTree(staging);
    }
  }

  private static Path convertLocal(Path checkpoint, Path cacheDir) throws IOException {
    StringBuilder listing = new StringBuilder(checkpoint.toRealPath().toString()).append('\n');
    try (Stream<Path> walk = Files.walk(checkpoint)) {
      for (Path file : walk.filter(Files::isRegularFile).sorted().toList()) {
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        listing.append(checkpoint.relativize(file)).append('\t').append(attributes.size());
        listing.append('\t').append(attributes.lastModifiedTime().toMillis()).append('\n');
      }
    }
    Path target =
        cacheDir.resolve(
            cacheName(checkpoint.toRealPath().getFileName().toString(), listing.toString()));
    if (Files.isDirectory(target)) {
      return target;
    }
    Files.createDirectories(cacheDir);
    Path staging = staging(cacheDir);
    try {
      convert(checkpoint, staging, checkpoint.toString());
      return publish(staging, target);
    } finally {
      deleteTree(staging);
    }
  }

  private static void convert(Path checkpoint, Path target, String modelUri) throws IOException {
    long start = System.nanoTime();
    try {
      Idefics3Package.write(checkpoint, target);
    } catch (IOException | RuntimeException e) {
      throw new IOException(
          "model "
              + RedactedUri.of(modelUri)
              + " looks like a Hugging Face checkpoint (config.json, no "
              + Idefics3Package.MANIFEST
              + ") but converting it failed: "
              + e.getMessage()
              + "; convert it with the convert command and set --model to the package",
          e);
    }
    verify(target);
    LOG.info(
        "converted checkpoint {} into a package in {} s",
        RedactedUri.of(modelUri),
        String.format("%.1f", (System.nanoTime() - start) / 1e9));
  }

  /** Renames a complete staging folder into place; when another copy got there first, uses it. */
  private static Path publish(Path staging, Path target) throws IOException {
    try {
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      return target;
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException(
          "cannot rename "
              + staging
              + " to "
              + target
              + " atomically; set the model cache folder"
              + " to a local file system",
          e);
    } catch (IOException e) {
      if (Files.isRegularFile(target.resolve(Idefics3Package.MANIFEST))) {
        return target; // another task or executor published the same package first
      }
      throw e;
    }
  }

  private static Path staging(Path cacheDir) {
    return cacheDir.resolve(".staging-" + UUID.randomUUID());
  }

  private static String cacheName(String name, String listing) {
    String safe = name.replaceAll("[^A-Za-z0-9._-]", "_");
    if (safe.isEmpty() || safe.startsWith(".")) {
      safe = "model" + safe;
    }
    return safe + "-" + sha256(listing.getBytes(StandardCharsets.UTF_8)).substring(0, 16);
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException | UncheckedIOException e) {
      LOG.warn("could not remove the staging folder {}: {}", dir, e.toString());
    }
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  }

  private static String sha256(byte[] bytes) {
    return HexFormat.of().formatHex(digest().digest(bytes));
  }

  static String sha256(Path file) throws IOException {
    MessageDigest digest = digest();
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(digest.digest());
  }
}
