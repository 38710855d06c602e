package io.github.idefics3spark.spark;

import io.github.idefics3spark.idefics3.checkpoint.ConverterBuild;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.checkpoint.PackageFiles;
import io.github.idefics3spark.idefics3.checkpoint.PackageFiles.Verification;
import io.github.idefics3spark.idefics3.graph.Idefics3Graph;
import io.github.idefics3spark.tf.ComputeDtype;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
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
 * a fresh copy, and a converted checkpoint after the build that converted it too; what an earlier
 * build converted is kept, and named in a warning ({@link #otherBuildsConversions}).
 *
 * <p>Nothing is used unverified ({@link PackageFiles#verify}): a local package used in place and a
 * cache hit are checked at the verification the caller asks ({@code verify-package}, full by
 * default: every file's sha256 against the manifest); a fresh copy is checked in full before it is
 * renamed into place. The cache folder is created owner-only and refused when another user owns it
 * or group or others may write it: whoever can write there chooses what executors load.
 */
public final class LocalPackage {
  private static final Logger LOG = LoggerFactory.getLogger(LocalPackage.class);

  /** The user this JVM runs as, found on first use by {@link #currentUser()}. */
  private static UserPrincipal currentUser;

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
    return resolve(modelUri, hadoop, cacheDir, Verification.FULL);
  }

  /**
   * Like {@link #resolve(String, Configuration, Path)}, checking a package used in place or found
   * in the cache with {@code verification}; a checkpoint is converted with TensorFlow's default
   * threads.
   */
  public static Path resolve(
      String modelUri, Configuration hadoop, Path cacheDir, Verification verification)
      throws IOException {
    return resolve(modelUri, hadoop, cacheDir, verification, 0, 1);
  }

  /**
   * Like {@link #resolve(String, Configuration, Path, Verification)}, converting a checkpoint in a
   * session with the threads of a package loaded with {@code intraOpThreads} (see {@link
   * Idefics3Package#write(Path, Path, ComputeDtype, int, int)}: what a JVM that loads the package
   * next passes, since its first TensorFlow session makes its thread pools), its large products
   * split in {@code productSplits} parts (convert's {@code --split-products}; 1: not split; a split
   * conversion has a cache folder of its own). A package is used as it was converted.
   */
  public static Path resolve(
      String modelUri,
      Configuration hadoop,
      Path cacheDir,
      Verification verification,
      int intraOpThreads,
      int productSplits)
      throws IOException {
    Conversion conversion = new Conversion(intraOpThreads, productSplits);
    if (isRemote(modelUri)) {
      return copyRemote(modelUri, hadoop, cacheDir, verification, conversion);
    }
    Path local = localPath(modelUri);
    if (Files.isRegularFile(local.resolve(Idefics3Package.MANIFEST))) {
      PackageFiles.verify(local, verification);
      return local;
    }
    if (Files.isRegularFile(local.resolve("config.json"))) {
      return convertLocal(local, cacheDir, verification, conversion);
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
   * Makes sure {@code cacheDir} is this user's alone before anything in it is trusted: creates it
   * owner-only (rwx------) when missing; refuses a folder (or a link to one) owned by another user,
   * or one that group or others may write, where someone else could plant a package.
   *
   * @throws IOException naming the folder, its owner and permissions, and --model-cache
   */
  static void checkCacheFolder(Path cacheDir) throws IOException {
    boolean posix = cacheDir.getFileSystem().supportedFileAttributeViews().contains("posix");
    if (!posix) {
      Files.createDirectories(cacheDir);
      return; // no owner and mode bits to check
    }
    if (!Files.exists(cacheDir, LinkOption.NOFOLLOW_LINKS)) {
      Path parent = cacheDir.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      try {
        Files.createDirectory(
            cacheDir,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } catch (FileAlreadyExistsException e) {
        // another task or executor made it first: checked below like any existing folder
      }
    }
    UserPrincipal me = currentUser();
    UserPrincipal linkOwner = Files.getOwner(cacheDir, LinkOption.NOFOLLOW_LINKS);
    if (!Files.isDirectory(cacheDir)) {
      throw new IOException(
          "model cache folder "
              + cacheDir
              + " is not a folder; set --model-cache to a folder of your own (it is created"
              + " owner-only when missing)");
    }
    Path real = cacheDir.toRealPath();
    UserPrincipal owner = Files.getOwner(real);
    Set<PosixFilePermission> mode = Files.getPosixFilePermissions(real);
    String found =
        "model cache folder "
            + cacheDir
            + (real.equals(cacheDir.toAbsolutePath()) ? "" : " (" + real + ")")
            + " is owned by "
            + (linkOwner.equals(owner)
                ? owner.getName()
                : linkOwner.getName() + " and " + owner.getName())
            + " with permissions "
            + PosixFilePermissions.toString(mode);
    String fix =
        ": another user could plant a package there that this job would load; set --model-cache to"
            + " a folder of your own (it is created owner-only when missing)";
    if (!owner.equals(me) || !linkOwner.equals(me)) {
      throw new IOException(found + ", not by " + me.getName() + ", who runs this JVM" + fix);
    }
    if (mode.contains(PosixFilePermission.GROUP_WRITE)
        || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
      throw new IOException(
          found + ", writable by group or others" + fix + ", or run chmod go-w " + real);
    }
  }

  /** The user this JVM runs as: the owner of a file it creates. */
  private static synchronized UserPrincipal currentUser() throws IOException {
    if (currentUser == null) {
      Path probe = Files.createTempFile("idefics3-spark-owner", ".tmp");
      try {
        currentUser = Files.getOwner(probe);
      } finally {
        Files.deleteIfExists(probe);
      }
    }
    return currentUser;
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

  private static Path copyRemote(
      String modelUri,
      Configuration hadoop,
      Path cacheDir,
      Verification verification,
      Conversion conversion)
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
    checkCacheFolder(cacheDir);
    if (!isPackage) {
      listing.append(conversion.cacheKey());
    }
    Path target = cacheDir.resolve(cacheName(root.getName(), listing.toString(), !isPackage));
    if (Files.isDirectory(target)) {
      PackageFiles.verify(target, verification);
      if (!isPackage) {
        warnOfOtherBuildsConversions(target, modelUri);
      }
      return target;
    }

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
        PackageFiles.verify(staging, Verification.FULL);
        return publish(staging, target, verification);
      }
      Path converted = staging(cacheDir);
      try {
        convert(staging, converted, modelUri, conversion);
        Path published = publish(converted, target, verification);
        warnOfOtherBuildsConversions(published, modelUri);
        return published;
      } finally {
        deleteTree(converted);
      }
    } finally {
      deleteTree(staging);
    }
  }

  private static Path convertLocal(
      Path checkpoint, Path cacheDir, Verification verification, Conversion conversion)
      throws IOException {
    StringBuilder listing = new StringBuilder(checkpoint.toRealPath().toString()).append('\n');
    try (Stream<Path> walk = Files.walk(checkpoint)) {
      for (Path file : walk.filter(Files::isRegularFile).sorted().toList()) {
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        listing.append(checkpoint.relativize(file)).append('\t').append(attributes.size());
        listing.append('\t').append(attributes.lastModifiedTime().toMillis()).append('\n');
      }
    }
    listing.append(conversion.cacheKey());
    checkCacheFolder(cacheDir);
    Path target =
        cacheDir.resolve(
            cacheName(checkpoint.toRealPath().getFileName().toString(), listing.toString(), true));
    if (Files.isDirectory(target)) {
      PackageFiles.verify(target, verification);
    } else {
      Path staging = staging(cacheDir);
      try {
        convert(checkpoint, staging, checkpoint.toString(), conversion);
        target = publish(staging, target, verification);
      } finally {
        deleteTree(staging);
      }
    }
    warnOfOtherBuildsConversions(target, checkpoint.toString());
    return target;
  }

  /**
   * How the executors convert a checkpoint: in a session with the threads of a package loaded with
   * {@code intraOpThreads}, its large products split in {@code productSplits} parts.
   */
  private record Conversion(int intraOpThreads, int productSplits) {
    /**
     * What the cache folder's name hashes besides the checkpoint's files: the split, which makes
     * another package (the threads do not).
     */
    String cacheKey() {
      return productSplits == 1 ? "" : "product_splits\t" + productSplits + "\n";
    }
  }

  private static void convert(Path checkpoint, Path target, String modelUri, Conversion conversion)
      throws IOException {
    long start = System.nanoTime();
    try {
      Idefics3Package.write(
          checkpoint,
          target,
          ComputeDtype.FP32,
          conversion.intraOpThreads(),
          conversion.productSplits());
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
    PackageFiles.verify(target, Verification.QUICK); // written just now, by this JVM
    LOG.info(
        "converted checkpoint {} into a package{} in {} s (converter build {})",
        RedactedUri.of(modelUri),
        conversion.productSplits() == 1
            ? ""
            : ", its products split in " + conversion.productSplits(),
        String.format("%.1f", (System.nanoTime() - start) / 1e9),
        ConverterBuild.id());
  }

  /**
   * Renames a complete, verified staging folder into place; when another copy got there first, uses
   * that one once verified.
   */
  private static Path publish(Path staging, Path target, Verification verification)
      throws IOException {
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
        PackageFiles.verify(target, verification); // published first by another task or JVM
        return target;
      }
      throw e;
    }
  }

  private static Path staging(Path cacheDir) {
    return cacheDir.resolve(".staging-" + UUID.randomUUID());
  }

  /**
   * What this build's convert writes, hashed into every cache name with the source's listing: a
   * folder cached by a build that wrote other signatures (before {@value
   * Idefics3Graph#SCORE_OPTIONS}, say) is not reused but converted or copied again.
   */
  private static final String CONVERTER =
      "format "
          + PackageFiles.FORMAT_VERSION
          + ", signatures "
          + String.join(
              " ",
              Idefics3Graph.ENCODE_IMAGES,
              Idefics3Graph.LOGITS,
              Idefics3Graph.GENERATE,
              Idefics3Graph.SCORE_OPTIONS);

  /** Between a converted checkpoint's cache name and the start of its converter build's id. */
  private static final String BUILD_MARK = "-build-";

  /**
   * The cache folder's name for the model {@code name} with the source files {@code listing}:
   * {@code name-SOURCE}, SOURCE hashed from the listing and {@link #CONVERTER}. A checkpoint's
   * ({@code converted}) is {@code name-SOURCE-build-BUILD}, BUILD the start of the {@link
   * ConverterBuild} that converts it: a package converted by another build of this project is
   * converted again rather than loaded (one with an op this build does not write would be refused;
   * one without this build's changes to the graph would run without them), and the conversions of
   * one checkpoint by several builds share {@code name-SOURCE-build-} ({@link
   * #otherBuildsConversions}). A package's copy is the user's package, whichever build copies it.
   */
  private static String cacheName(String name, String listing, boolean converted) {
    String safe = name.replaceAll("[^A-Za-z0-9._-]", "_");
    if (safe.isEmpty() || safe.startsWith(".")) {
      safe = "model" + safe;
    }
    String source =
        safe
            + "-"
            + PackageFiles.sha256((CONVERTER + "\n" + listing).getBytes(StandardCharsets.UTF_8))
                .substring(0, 16);
    if (!converted) {
      return source;
    }
    String build = ConverterBuild.id();
    return source + BUILD_MARK + build.substring(0, Math.min(12, build.length()));
  }

  /**
   * The folders beside {@code converted} (a converted checkpoint in the cache) that hold the same
   * checkpoint converted by other builds of this project: left behind by an upgrade, never used by
   * this build, each the size of the model. Not removed here: a job of the other build may still
   * run on this host and load from its folder.
   */
  static List<Path> otherBuildsConversions(Path converted) throws IOException {
    String name = converted.getFileName().toString();
    int mark = name.lastIndexOf(BUILD_MARK);
    if (mark < 0) {
      return List.of();
    }
    String checkpoint = name.substring(0, mark + BUILD_MARK.length());
    try (Stream<Path> siblings = Files.list(converted.getParent())) {
      return siblings
          .filter(p -> p.getFileName().toString().startsWith(checkpoint))
          .filter(p -> !p.equals(converted) && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
          .sorted()
          .toList();
    }
  }

  /**
   * Warns, with their size, of {@link #otherBuildsConversions} of the checkpoint {@code modelUri}
   * converted into {@code converted}: on every resolve, so each executor's log says so, not only
   * the run that converted. A cache that cannot be listed only loses the warning.
   */
  private static void warnOfOtherBuildsConversions(Path converted, String modelUri) {
    try {
      List<Path> others = otherBuildsConversions(converted);
      if (!others.isEmpty()) {
        long bytes = 0;
        for (Path other : others) {
          try (Stream<Path> walk = Files.walk(other)) {
            bytes += walk.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
          }
        }
        LOG.warn(
            "model cache {} also holds {} MB of checkpoint {} converted by other builds of"
                + " idefics3-spark, which this build (converter build {}) does not use: {};"
                + " remove them once no job of those builds runs on this host",
            converted.getParent(),
            bytes >> 20,
            RedactedUri.of(modelUri),
            ConverterBuild.id(),
            others.stream().map(p -> p.getFileName().toString()).toList());
      }
    } catch (IOException | UncheckedIOException e) {
      LOG.debug("could not list the model cache {}: {}", converted.getParent(), e.toString());
    }
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
}
