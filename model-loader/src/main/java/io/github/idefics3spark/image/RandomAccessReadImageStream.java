package io.github.idefics3spark.image;

import java.io.IOException;
import javax.imageio.stream.ImageInputStreamImpl;
import org.apache.pdfbox.io.RandomAccessRead;

/**
 * An ImageIO stream over a PDFBox {@link RandomAccessRead}, so one seekable source (a local file,
 * bytes, a Hadoop file read by position) serves both PDF and TIFF: ImageIO reads only the parts of
 * a TIFF it seeks to, nothing is cached. Closing the stream leaves the source open.
 */
final class RandomAccessReadImageStream extends ImageInputStreamImpl {
  private final RandomAccessRead source;

  RandomAccessReadImageStream(RandomAccessRead source) {
    this.source = source;
  }

  @Override
  public int read() throws IOException {
    checkClosed();
    bitOffset = 0;
    source.seek(streamPos);
    int value = source.read();
    if (value >= 0) {
      streamPos++;
    }
    return value;
  }

  @Override
  public int read(byte[] buffer, int offset, int length) throws IOException {
    checkClosed();
    bitOffset = 0;
    if (length == 0) {
      return 0;
    }
    source.seek(streamPos);
    int read = source.read(buffer, offset, length);
    if (read > 0) {
      streamPos += read;
    }
    return read <= 0 ? -1 : read;
  }

  @Override
  public long length() {
    try {
      return source.length();
    } catch (IOException e) {
      return -1;
    }
  }
}
