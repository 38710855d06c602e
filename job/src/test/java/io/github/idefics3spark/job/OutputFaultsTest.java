package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15.4: an output the job cannot write and a disk that fills up mid-write end the run with a
 * clear message and exit status, no part file counted as done, and a later {@code --mode resume}
 * finishes the output with each id once.
 */
class OutputFaultsTest {
  private static final List<String> IMAGES =
      List.of("landscape_49x31.jpg", "page_5.png", "palette_33x45.gif", "tile_56x56.png");

  @TempDir static Path dir;
  private static Path images;

  @BeforeAll
  static void images() throws IOException {
    images = Files.createDirectories(dir.resolve("images"));
    for (String name : IMAGES) {
      Files.copy(SparkTestSession.IMAGES.resolve(name), images.resolve(name));
    }
  }

  @BeforeEach
  void localSpark() {
    System.setProperty("spark.master", "local[2]");
    System.setProperty("spark.ui.enabled", "false");
    System.setProperty("spark.driver.host", "127.0.0.1");
    System.setProperty("spark.hadoop.fs.full.impl", FullDiskFileSystem.class.getName());
  }

  @AfterEach
  void clearSpark() {
    for (String key :
        List.of(
            "spark.master", "spark.ui.enabled", "spark.driver.host", "spark.hadoop.fs.full.impl")) {
      System.clearProperty(key);
    }
    FullDiskFileSystem.capacity = Long.MAX_VALUE;
    FullDiskFileSystem.disk = null;
  }

  private static JobRun caption(String output) {
    return JobCommandLine.of("caption")
        .input(images.toString())
        .output(output)
        .tinyModel(JobCommandLine.SHARED_CACHE, 2)
        .with("--partitions", "2", "--mode", "resume")
        .run();
  }

  /** A resumed run answers every image, and the output then holds each id once. */
  private static void assertResumeCompletes(String output) {
    JobRun resumed = caption(output);
    assertEquals(0, resumed.status(), resumed.err());
    assertTrue(resumed.out().contains("rows: " + IMAGES.size() + " written"), resumed.out());
    SparkSession spark = SparkTestSession.start("OutputFaultsTest-check");
    try {
      Dataset<Row> written = spark.read().parquet(output);
      assertEquals(IMAGES.size(), written.count());
      assertEquals(IMAGES.size(), written.select("id").distinct().count());
    } finally {
      spark.stop();
    }
  }

  /** The names of the part files directly in {@code folder}: what a run counts as done. */
  private static List<String> partFiles(Path folder) throws IOException {
    if (!Files.isDirectory(folder)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(folder)) {
      return files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("part-")).toList();
    }
  }

  @Test
  void anOutputBelowAFileIsRefusedInOneLineNamingOutput() throws IOException {
    Path file = Files.writeString(dir.resolve("a-file"), "not a folder");
    String output = file.resolve("captions").toString();

    JobRun refused = caption(output);

    assertEquals(2, refused.status(), refused.err());
    assertEquals(1, refused.err().strip().lines().count(), refused.err());
    assertTrue(
        refused.err().startsWith("caption: --output " + output + " cannot be written: "),
        refused.err());
    assertTrue(
        refused.err().toLowerCase(java.util.Locale.ROOT).contains("not a directory")
            || refused.err().contains("ParentNotDirectoryException"),
        refused.err());
    assertFalse(refused.out().contains("rows: "), refused.out());

    JobRun aFile = caption(file.toString());
    assertEquals(2, aFile.status(), aFile.err());
    assertEquals(
        "caption: --output "
            + file
            + " is a file; the output is a folder of Parquet files: give a"
            + " new folder or an earlier output of this job",
        aFile.err().strip());
    assertEquals("not a folder", Files.readString(file));
  }

  /**
   * A folder without write permission, for root too: root ignores permission bits, so there the
   * folder is made immutable ({@code chattr +i}), which binds root. Where neither can be done (not
   * a POSIX file system, no chattr, a file system without the attribute) the test is aborted saying
   * so.
   */
  @Test
  void anUnwritableOutputFolderOrParentIsRefusedInOneLineThenResumeCompletes() throws Exception {
    Path parent = Files.createDirectories(dir.resolve("locked-parent"));
    Path existing = Files.createDirectories(dir.resolve("locked-output"));
    for (Path locked : List.of(parent, existing)) {
      String output =
          locked == parent ? parent.resolve("captions").toString() : existing.toString();
      try (Unwritable lock = Unwritable.lock(locked)) {
        JobRun refused = caption(output);
        assertEquals(2, refused.status(), refused.err());
        assertEquals(1, refused.err().strip().lines().count(), refused.err());
        assertTrue(
            refused.err().startsWith("caption: --output " + output + " cannot be written: "),
            refused.err());
        assertTrue(refused.err().contains("permissions"), refused.err());
        assertFalse(refused.out().contains("rows: "), refused.out());
        assertEquals(List.of(), partFiles(Path.of(output)));
      }
      assertResumeCompletes(output);
    }
  }

  /**
   * A disk that fills up while the part files are written (a file system whose files may hold 1500
   * bytes, less than one part file): the job exits 1 with the file system's message and no summary,
   * leaves no part file in the output (the half-written one was in the committer's task folder,
   * removed when the job aborted), and once space is freed a resume run finishes with each id once.
   */
  @Test
  void aDiskFillingUpMidWriteFailsTheJobWithNoPartFileCountedThenResumeCompletes()
      throws IOException {
    Path disk = Files.createDirectories(dir.resolve("small-disk"));
    Path output = disk.resolve("captions");
    FullDiskFileSystem.disk = disk;
    FullDiskFileSystem.capacity = 1500;
    String uri = FullDiskFileSystem.SCHEME + "://" + output;

    assertFailedForSpace(caption(uri), output);

    FullDiskFileSystem.capacity = Long.MAX_VALUE;
    assertResumeCompletes(uri);
  }

  /**
   * The same on a real full disk: a tmpfs of 8 KiB (two pages per part file and one per checksum
   * file do not fit), grown to 4 MiB for the resume. Mounting needs root with CAP_SYS_ADMIN; where
   * it is refused (an unprivileged container) the test is aborted saying so, and the full disk is
   * covered by the test above.
   */
  @Test
  void aFullTmpfsFailsTheJobWithNoPartFileCountedThenResumeCompletes() throws Exception {
    Path disk = Files.createDirectories(dir.resolve("tmpfs"));
    Assumptions.assumeTrue(
        command("mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", disk.toString()),
        "cannot mount a tmpfs here (mount needs root with CAP_SYS_ADMIN): the full disk is tested"
            + " through FullDiskFileSystem only");
    try {
      Path output = disk.resolve("captions");

      assertFailedForSpace(caption(output.toString()), output);

      assertTrue(command("mount", "-o", "remount,size=4m", disk.toString()), "space freed");
      assertResumeCompletes(output.toString());
    } finally {
      unmount(disk);
    }
  }

  /**
   * Unmounts the tmpfs, so that the class's temporary folder can be deleted (a mount point cannot
   * be). A file still open on it makes it busy: tried again for 30 s, then detached lazily (the
   * file system goes when its last file is closed); where neither works the test fails saying why,
   * rather than leaving JUnit's cleanup to fail without a word of the mount.
   */
  private static void unmount(Path disk) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String failure = commandFailure("umount", disk.toString());
    while (failure != null && System.nanoTime() < deadline) {
      Thread.sleep(500);
      failure = commandFailure("umount", disk.toString());
    }
    if (failure != null && commandFailure("umount", "--lazy", disk.toString()) != null) {
      throw new AssertionError("cannot unmount the test's tmpfs at " + disk + ": " + failure);
    }
  }

  /** Exit 1, the first line naming the full disk and resume, no summary, nothing committed. */
  private static void assertFailedForSpace(JobRun full, Path output) throws IOException {
    assertEquals(1, full.status(), full.err());
    String first = full.err().lines().findFirst().orElse("");
    assertTrue(first.startsWith("caption: the job failed: "), full.err());
    assertTrue(first.contains("No space left on device"), first);
    assertTrue(first.contains("--mode resume"), first);
    assertFalse(full.out().contains("rows: "), "no summary claims rows: " + full.out());
    assertEquals(List.of(), partFiles(output));
    assertFalse(Files.exists(output.resolve("_SUCCESS")));
  }

  /** Runs a command; whether it exited 0 (false when it cannot be started). */
  private static boolean command(String... command) throws InterruptedException {
    return commandFailure(command) == null;
  }

  /**
   * Runs a command: null when it exits 0 within 30 s, else why not: what it printed and its exit
   * status, or why it could not be started.
   */
  private static String commandFailure(String... command) throws InterruptedException {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String printed =
          new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return String.join(" ", command) + " did not end in 30 s";
      }
      return process.exitValue() == 0
          ? null
          : String.join(" ", command) + " exited " + process.exitValue() + ": " + printed;
    } catch (IOException e) {
      return String.join(" ", command) + " could not be started: " + e.getMessage();
    }
  }

  /** What makes a folder unwritable for this process, and undoes it when closed. */
  private static final class Unwritable implements AutoCloseable {
    private final Path folder;
    private final Set<PosixFilePermission> permissions;
    private final boolean immutable;

    private Unwritable(Path folder, Set<PosixFilePermission> permissions, boolean immutable) {
      this.folder = folder;
      this.permissions = permissions;
      this.immutable = immutable;
    }

    static Unwritable lock(Path folder) throws IOException, InterruptedException {
      Set<PosixFilePermission> before = Files.getPosixFilePermissions(folder);
      Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("r-xr-xr-x"));
      if (!writable(folder)) {
        return new Unwritable(folder, before, false);
      }
      // root: permission bits do not stop it, the immutable attribute does
      boolean immutable = chattr("+i", folder) && !writable(folder);
      if (!immutable) {
        chattr("-i", folder);
        Files.setPosixFilePermissions(folder, before);
        Assumptions.abort(
            "cannot make a folder unwritable here: this process writes through mode r-xr-xr-x"
                + " (it runs as root) and `chattr +i` is missing or unsupported by the file system"
                + " of "
                + folder);
      }
      return new Unwritable(folder, before, true);
    }

    private static boolean writable(Path folder) {
      try {
        Files.delete(Files.createFile(folder.resolve(".write-probe")));
        return true;
      } catch (IOException e) {
        return false;
      }
    }

    private static boolean chattr(String change, Path folder) throws InterruptedException {
      return command("chattr", change, folder.toString());
    }

    @Override
    public void close() throws IOException, InterruptedException {
      String failure = immutable ? commandFailure("chattr", "-i", folder.toString()) : null;
      if (failure != null) {
        throw new AssertionError("cannot make " + folder + " writable again: " + failure);
      }
      Files.setPosixFilePermissions(folder, permissions);
    }
  }
}
