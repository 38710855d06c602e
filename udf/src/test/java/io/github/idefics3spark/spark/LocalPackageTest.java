package io.github.idefics3spark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.checkpoint.PackageFiles;
import io.github.idefics3spark.idefics3.checkpoint.PackageFiles.Verification;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Finding the model: a checkpoint converted once into the cache, a package on a Hadoop file system
 * copied once, verified against its manifest and shared by concurrent callers, refusals by name;
 * packages used in place and cache hits verified too; a cache folder someone else could write is
 * refused.
 */
class LocalPackageTest {
  @TempDir static Path shared;
  private static Path converted;
  private static final Configuration HADOOP = new Configuration();

  @TempDir Path cache;

  @BeforeAll
  static void convertOnce() throws IOException {
    HADOOP.set("fs.other.impl", OtherSchemeFileSystem.class.getName());
    HADOOP.setBoolean("fs.other.impl.disable.cache", true);
    converted =
        LocalPackage.resolve(
            ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM).toString(),
            HADOOP,
            shared.resolve("cache"));
  }

  private static String other(Path local) {
    return "other://" + local.toAbsolutePath();
  }

  /** A copy of the converted package, as a remote folder to copy from. */
  private Path remotePackage(String name) throws IOException {
    Path remote = cache.getParent().resolve(cache.getFileName() + "-remote").resolve(name);
    copyTree(converted, remote);
    return remote;
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path path : walk.toList()) {
        Path target = to.resolve(from.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(target);
        } else {
          Files.copy(path, target, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }

  private static List<String> entries(Path dir) throws IOException {
    try (Stream<Path> list = Files.list(dir)) {
      return list.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void aCheckpointIsConvertedOnceIntoTheCacheAndReused() throws IOException {
    assertTrue(Files.isRegularFile(converted.resolve(Idefics3Package.MANIFEST)));
    assertTrue(converted.startsWith(shared.resolve("cache")));
    FileTime written = Files.getLastModifiedTime(converted.resolve(Idefics3Package.MANIFEST));
    Path again =
        LocalPackage.resolve(
            ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM).toString(),
            HADOOP,
            shared.resolve("cache"));
    assertEquals(converted, again);
    assertEquals(written, Files.getLastModifiedTime(again.resolve(Idefics3Package.MANIFEST)));
    assertEquals(List.of(converted.getFileName().toString()), entries(shared.resolve("cache")));
  }

  @Test
  void aCheckpointConvertedWithItsProductsSplitHasACacheFolderOfItsOwn() throws IOException {
    String checkpoint = ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM).toString();
    Path whole = LocalPackage.resolve(checkpoint, HADOOP, cache, Verification.QUICK, 1, 1);
    Path split = LocalPackage.resolve(checkpoint, HADOOP, cache, Verification.QUICK, 1, 2);
    assertNotEquals(whole, split);
    assertEquals(1, PackageFiles.readManifest(whole).path("product_splits").asInt(1));
    assertEquals(2, PackageFiles.readManifest(split).path("product_splits").asInt(1));
    FileTime written = Files.getLastModifiedTime(split.resolve(Idefics3Package.MANIFEST));
    Path again = LocalPackage.resolve(checkpoint, HADOOP, cache, Verification.QUICK, 1, 2);
    assertEquals(split, again);
    assertEquals(written, Files.getLastModifiedTime(again.resolve(Idefics3Package.MANIFEST)));
    assertEquals(2, entries(cache).size());
  }

  @Test
  void aLocalPackageIsUsedInPlace() throws IOException {
    assertEquals(converted, LocalPackage.resolve(converted.toString(), HADOOP, cache));
    assertEquals(converted, LocalPackage.resolve(converted.toUri().toString(), HADOOP, cache));
    assertFalse(Files.exists(cache.resolve("x")) && entries(cache).size() > 0);
  }

  @Test
  void aRemotePackageIsCopiedOnceVerifiedAndSharedByConcurrentCallers() throws Exception {
    Path remote = remotePackage("tiny");
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Path>> copies = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        copies.add(pool.submit(() -> LocalPackage.resolve(other(remote), HADOOP, cache)));
      }
      Set<Path> dirs = new HashSet<>();
      for (Future<Path> copy : copies) {
        dirs.add(copy.get());
      }
      assertEquals(1, dirs.size(), dirs.toString());
      Path local = dirs.iterator().next();
      assertTrue(local.startsWith(cache), local.toString());
      assertTrue(local.getFileName().toString().startsWith("tiny-"), local.toString());
      assertEquals(List.of(local.getFileName().toString()), entries(cache), "no staging left");
      assertTrue(PackageFiles.verify(local, Verification.FULL) >= 5);
      assertEquals(
          Files.size(remote.resolve("variables/variables.data-00000-of-00001")),
          Files.size(local.resolve("variables/variables.data-00000-of-00001")));
      FileTime copied = Files.getLastModifiedTime(local.resolve(Idefics3Package.MANIFEST));
      assertEquals(local, LocalPackage.resolve(other(remote), HADOOP, cache));
      assertEquals(copied, Files.getLastModifiedTime(local.resolve(Idefics3Package.MANIFEST)));
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aChangedRemotePackageGetsAFreshCopy() throws IOException {
    Path remote = remotePackage("tiny");
    Path first = LocalPackage.resolve(other(remote), HADOOP, cache);
    Path pb = remote.resolve("saved_model.pb");
    Files.setLastModifiedTime(
        pb, FileTime.fromMillis(Files.getLastModifiedTime(pb).toMillis() + 5000));
    Path second = LocalPackage.resolve(other(remote), HADOOP, cache);
    assertNotEquals(first, second);
    assertEquals(2, entries(cache).size());
  }

  @Test
  void aRemoteCheckpointIsCopiedAndConverted() throws IOException {
    Path remote = cache.getParent().resolve(cache.getFileName() + "-remote").resolve("ckpt");
    copyTree(ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM), remote);
    Path local = LocalPackage.resolve(other(remote), HADOOP, cache);
    assertTrue(Files.isRegularFile(local.resolve("saved_model.pb")));
    assertEquals(List.of(local.getFileName().toString()), entries(cache), "no staging left");
  }

  @Test
  void aDamagedAssetIsRefusedNamingTheFileAndNothingIsCached() throws IOException {
    Path remote = remotePackage("damaged");
    flipLastByte(remote.resolve("assets/tokenizer_config.json"));
    IOException e =
        assertThrows(IOException.class, () -> LocalPackage.resolve(other(remote), HADOOP, cache));
    assertTrue(e.getMessage().contains("tokenizer_config.json has sha256"), e.getMessage());
    assertTrue(e.getMessage().contains("idefics3-spark.json records"), e.getMessage());
    assertEquals(List.of(), entries(cache));
  }

  @Test
  void damagedWeightsOfTheRightSizeAreRefusedWhenCopied() throws IOException {
    Path remote = remotePackage("damaged-weights");
    Path data;
    try (java.util.stream.Stream<Path> files = Files.list(remote.resolve("variables"))) {
      data =
          files
              .filter(f -> f.getFileName().toString().startsWith("variables.data"))
              .findFirst()
              .orElseThrow();
    }
    flipLastByte(data);
    IOException e =
        assertThrows(IOException.class, () -> LocalPackage.resolve(other(remote), HADOOP, cache));
    assertTrue(e.getMessage().contains(data.getFileName() + " has sha256"), e.getMessage());
    assertEquals(List.of(), entries(cache));
  }

  @Test
  void aTruncatedFileIsRefusedNamingBothSizes() throws IOException {
    Path remote = remotePackage("truncated");
    Path index = remote.resolve("variables/variables.index");
    byte[] bytes = Files.readAllBytes(index);
    Files.write(index, java.util.Arrays.copyOf(bytes, bytes.length - 1));
    IOException e =
        assertThrows(IOException.class, () -> LocalPackage.resolve(other(remote), HADOOP, cache));
    assertTrue(
        e.getMessage().contains("has " + (bytes.length - 1) + " bytes")
            && e.getMessage().contains("records " + bytes.length + " bytes"),
        e.getMessage());
  }

  private static void flipLastByte(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length - 1] ^= 0x01;
    Files.write(file, bytes);
  }

  @Test
  void anIncompletePackageIsRefusedNamingTheMissingFile() throws IOException {
    Path remote = remotePackage("incomplete");
    Files.delete(remote.resolve("variables/variables.index"));
    IOException e =
        assertThrows(IOException.class, () -> LocalPackage.resolve(other(remote), HADOOP, cache));
    assertTrue(e.getMessage().contains("has no variables/variables.index"), e.getMessage());
  }

  @Test
  void somethingThatIsNotAModelIsRefusedNamingTheSetting() throws IOException {
    Path empty = Files.createDirectories(cache.resolve("empty"));
    for (String uri :
        List.of(empty.toString(), other(empty), cache.resolve("missing").toString())) {
      IOException e =
          assertThrows(IOException.class, () -> LocalPackage.resolve(uri, HADOOP, cache));
      assertTrue(e.getMessage().contains("--model"), e.getMessage());
      assertThrows(IOException.class, () -> LocalPackage.checkReachable(uri, HADOOP));
    }
    LocalPackage.checkReachable("shipped-with-archives", HADOOP); // only executors may see it
    LocalPackage.checkReachable(other(converted), HADOOP);
    LocalPackage.checkReachable(
        ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM).toString(), HADOOP);
  }

  private static final String WEIGHTS = "variables/variables.data-00000-of-00001";

  /** Records a wrong sha256 for the weights in the manifest, as an attacker editing it would. */
  private static void editWeightsHash(Path dir) throws IOException {
    ObjectMapper mapper = new ObjectMapper();
    Path file = dir.resolve(Idefics3Package.MANIFEST);
    ObjectNode manifest = (ObjectNode) mapper.readTree(file.toFile());
    ((ObjectNode) manifest.at("/package/files/" + WEIGHTS.replace("/", "~1")))
        .put("sha256", "ab".repeat(32));
    mapper.writeValue(file.toFile(), manifest);
  }

  @Test
  void aLocalPackageUsedInPlaceIsVerifiedInFullByDefault() throws IOException {
    Path local = cache.resolve("in-place");
    copyTree(converted, local);
    editWeightsHash(local);
    IOException e =
        assertThrows(
            IOException.class, () -> LocalPackage.resolve(local.toString(), HADOOP, cache));
    assertTrue(
        e.getMessage().contains(local.resolve(WEIGHTS) + " has sha256 ")
            && e.getMessage().contains("records " + "ab".repeat(32)),
        e.getMessage());
    assertEquals(
        local, LocalPackage.resolve(local.toString(), HADOOP, cache, Verification.QUICK), "quick");
  }

  @Test
  void aCacheHitIsVerifiedBeforeItIsUsed() throws IOException {
    Path remote = remotePackage("tiny");
    Path local = LocalPackage.resolve(other(remote), HADOOP, cache);
    flipLastByte(local.resolve(WEIGHTS)); // changed in the cache after it was copied
    IOException e =
        assertThrows(IOException.class, () -> LocalPackage.resolve(other(remote), HADOOP, cache));
    assertTrue(
        e.getMessage().contains(local.resolve(WEIGHTS) + " has sha256 ")
            && e.getMessage().contains("idefics3-spark.json records "),
        e.getMessage());
    assertEquals(
        local, LocalPackage.resolve(other(remote), HADOOP, cache, Verification.QUICK), "quick");
  }

  /**
   * An upgrade leaves the checkpoint's conversion by the earlier build in the cache, the size of
   * the model: each resolve names it in a warning with its size, and keeps it (a job of that build
   * may still load from it). The conversion of another checkpoint is not named.
   */
  @Test
  void conversionsOfTheCheckpointByOtherBuildsAreNamedInAWarningAndKept() throws IOException {
    String name = converted.getFileName().toString();
    assertTrue(name.matches(".*-[0-9a-f]{16}-build-[0-9a-f]{12}"), name);
    String checkpoint = name.substring(0, name.lastIndexOf("-build-") + "-build-".length());
    String anotherCheckpoint = name.substring(0, name.indexOf("-build-") - 1) + "x-build-";
    copyTree(converted, cache.resolve(name)); // this build's conversion, as a cache hit
    Path otherBuild = cache.resolve(checkpoint + "000000000000");
    copyTree(converted, otherBuild);
    Path otherCheckpoint = cache.resolve(anotherCheckpoint + "000000000000");
    copyTree(converted, otherCheckpoint);

    Path resolved;
    String warning;
    try (WarningCapture warnings = new WarningCapture("LocalPackageTest-warnings")) {
      resolved =
          LocalPackage.resolve(
              ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM).toString(),
              HADOOP,
              cache);
      warning = warnings.text();
    }

    assertEquals(cache.resolve(name), resolved);
    assertEquals(List.of(otherBuild), LocalPackage.otherBuildsConversions(resolved));
    long megabytes;
    try (Stream<Path> files = Files.walk(otherBuild)) {
      megabytes =
          files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum() >> 20;
    }
    assertTrue(
        warning.startsWith(
            "WARN model cache "
                + cache
                + " also holds "
                + megabytes
                + " MB of checkpoint "
                + ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM)
                + " converted by other builds of idefics3-spark, which this build (converter build "),
        warning);
    assertTrue(warning.contains("does not use: [" + otherBuild.getFileName() + "];"), warning);
    assertFalse(warning.contains(otherCheckpoint.getFileName().toString()), warning);
    assertTrue(Files.isRegularFile(otherBuild.resolve(Idefics3Package.MANIFEST)), "kept");
  }

  @Test
  void theCacheFolderIsCreatedOwnerOnly() throws IOException {
    Path fresh = cache.resolve("new").resolve("models");
    Path local = LocalPackage.resolve(other(remotePackage("tiny")), HADOOP, fresh);
    assertTrue(local.startsWith(fresh), local.toString());
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)));
  }

  @Test
  void aCacheFolderOthersMayWriteIsRefusedNamingItsOwnerAndTheSetting() throws IOException {
    Path remote = remotePackage("tiny");
    Path open = Files.createDirectories(cache.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    IOException e =
        assertThrows(IOException.class, () -> LocalPackage.resolve(other(remote), HADOOP, open));
    assertEquals(
        "model cache folder "
            + open
            + " is owned by "
            + currentUser().getName()
            + " with permissions rwxrwxrwx, writable by group or others: another user could plant"
            + " a package there that this job would load; set --model-cache to a folder of your"
            + " own (it is created owner-only when missing), or run chmod go-w "
            + open,
        e.getMessage());
    assertEquals(List.of(), entries(open), "nothing copied into it");
  }

  /**
   * A folder of another user (nobody, given by chown: the tests run as root here); run as another
   * user, the root-owned /root stands for it.
   */
  @Test
  void aCacheFolderOfAnotherUserIsRefusedNamingItsOwnerAndTheSetting() throws IOException {
    Path remote = remotePackage("tiny");
    UserPrincipal me = currentUser();
    Path foreign;
    String owner;
    if (me.getName().equals("root")) {
      foreign = Files.createDirectories(cache.resolve("foreign"));
      UserPrincipal nobody =
          foreign.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
      Files.setOwner(foreign, nobody);
      owner = "nobody";
    } else {
      foreign = Path.of("/root");
      owner = "root";
    }
    IOException e =
        assertThrows(IOException.class, () -> LocalPackage.resolve(other(remote), HADOOP, foreign));
    assertTrue(
        e.getMessage().startsWith("model cache folder " + foreign + " is owned by " + owner + " "),
        e.getMessage());
    assertTrue(
        e.getMessage().contains(", not by " + me.getName() + ", who runs this JVM: another user"),
        e.getMessage());
    assertTrue(
        e.getMessage().contains("set --model-cache to a folder of your own"), e.getMessage());
  }

  private UserPrincipal currentUser() throws IOException {
    Path probe = Files.createFile(cache.resolve("probe"));
    try {
      return Files.getOwner(probe);
    } finally {
      Files.delete(probe);
    }
  }
}
