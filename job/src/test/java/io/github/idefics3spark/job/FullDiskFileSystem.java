package io.github.idefics3spark.job;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.util.stream.Stream;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * The local file system under the scheme {@value #SCHEME}{@code :}, on a disk of {@link #capacity}
 * bytes: the files under {@link #disk} may hold that many bytes in all, and a write past it writes
 * what fits and fails with {@code IOException("No space left on device")}, as a full local disk
 * does. Registered for a test with {@code spark.hadoop.fs.full.impl}; the capacity is shared by
 * every instance in the JVM (the driver and local-mode executors).
 */
public final class FullDiskFileSystem extends RawLocalFileSystem {
  static final String SCHEME = "full";

  /** The folder whose files count as the disk's used bytes. */
  static volatile java.nio.file.Path disk;

  /** The disk's size in bytes. */
  static volatile long capacity = Long.MAX_VALUE;

  @Override
  public URI getUri() {
    return URI.create(SCHEME + ":///");
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  protected OutputStream createOutputStream(Path f, boolean append) throws IOException {
    return new Filling(super.createOutputStream(f, append));
  }

  @Override
  protected OutputStream createOutputStreamWithMode(Path f, boolean append, FsPermission permission)
      throws IOException {
    return new Filling(super.createOutputStreamWithMode(f, append, permission));
  }

  /** The bytes the files under {@link #disk} hold now. */
  static long used() throws IOException {
    if (disk == null) {
      return 0;
    }
    try (Stream<java.nio.file.Path> files = Files.walk(disk)) {
      long bytes = 0;
      for (java.nio.file.Path file : (Iterable<java.nio.file.Path>) files::iterator) {
        try {
          bytes += Files.isRegularFile(file) ? Files.size(file) : 0;
        } catch (NoSuchFileException e) {
          // deleted while walking
        }
      }
      return bytes;
    }
  }

  /** A file's output: each write takes room on the disk, or what is left and then fails. */
  private static final class Filling extends FilterOutputStream {
    Filling(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      long free = capacity - used();
      if (free < len) {
        out.write(b, off, (int) Math.max(0, free));
        out.flush();
        throw new IOException("No space left on device");
      }
      out.write(b, off, len);
    }
  }
}
