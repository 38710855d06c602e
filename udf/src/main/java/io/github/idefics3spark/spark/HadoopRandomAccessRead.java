package io.github.idefics3spark.spark;

import java.io.IOException;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.pdfbox.io.RandomAccessRead;
import org.apache.pdfbox.io.RandomAccessReadView;

/**
 * A file on any Hadoop file system (local, {@code hdfs:}, {@code s3a:}) as a PDFBox {@link
 * RandomAccessRead}: reads go through positioned reads into one {@value #BUFFER_BYTES}-byte buffer,
 * so a page of a large PDF is rendered from the bytes it needs, never the whole file in memory.
 */
public final class HadoopRandomAccessRead implements RandomAccessRead {
  static final int BUFFER_BYTES = 64 * 1024;

  private final FSDataInputStream in;
  private final long length;
  private final byte[] buffer = new byte[BUFFER_BYTES];
  private long bufferStart;
  private int bufferLength;
  private long position;
  private boolean closed;

  private HadoopRandomAccessRead(FSDataInputStream in, long length) {
    this.in = in;
    this.length = length;
  }

  /** Opens {@code file}, a file (not a folder) of {@code fs}. */
  public static HadoopRandomAccessRead open(FileSystem fs, Path file) throws IOException {
    FileStatus status = fs.getFileStatus(file);
    if (status.isDirectory()) {
      throw new IOException("it is a folder");
    }
    return new HadoopRandomAccessRead(fs.open(file), status.getLen());
  }

  @Override
  public int read() throws IOException {
    if (!fill()) {
      return -1;
    }
    return buffer[(int) (position++ - bufferStart)] & 0xFF;
  }

  @Override
  public int read(byte[] b, int offset, int count) throws IOException {
    if (count == 0) {
      checkOpen();
      return 0;
    }
    if (!fill()) {
      return -1;
    }
    int n = (int) Math.min(count, bufferStart + bufferLength - position);
    System.arraycopy(buffer, (int) (position - bufferStart), b, offset, n);
    position += n;
    return n;
  }

  /** Makes the buffer hold the byte at the position; false at the end of the file. */
  private boolean fill() throws IOException {
    checkOpen();
    if (position >= length) {
      return false;
    }
    if (position < bufferStart || position >= bufferStart + bufferLength) {
      bufferStart = position;
      bufferLength = (int) Math.min(buffer.length, length - position);
      in.readFully(position, buffer, 0, bufferLength);
    }
    return true;
  }

  @Override
  public long getPosition() throws IOException {
    checkOpen();
    return position;
  }

  @Override
  public void seek(long newPosition) throws IOException {
    checkOpen();
    if (newPosition < 0) {
      throw new IOException("cannot seek to " + newPosition + ", before the start of the file");
    }
    position = Math.min(newPosition, length);
  }

  @Override
  public long length() throws IOException {
    checkOpen();
    return length;
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  @Override
  public boolean isEOF() throws IOException {
    checkOpen();
    return position >= length;
  }

  @Override
  public RandomAccessReadView createView(long start, long viewLength) throws IOException {
    checkOpen();
    return new RandomAccessReadView(this, start, viewLength);
  }

  @Override
  public void close() throws IOException {
    if (!closed) {
      closed = true;
      in.close();
    }
  }

  private void checkOpen() throws IOException {
    if (closed) {
      throw new IOException("the file is closed");
    }
  }
}
