package io.github.idefics3spark.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * A safetensors file: an 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw little-endian data.
 *
 * <p>Plain files are memory-mapped (files over 2 GB one tensor at a time), so a tensor is read
 * without copying the file; files ending in {@code .gz} (the project's compressed test fixtures)
 * are decompressed into memory. Tensors are read by name, as the checkpoint writes it.
 */
public final class SafeTensors implements AutoCloseable {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  private final String source;
  private final ByteBuffer data;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;
  private final FileChannel channel;
  private final long dataStart;

  /** Dtype names as safetensors writes them, with their element sizes. */
  public enum Dtype {
    F64(8),
    F32(4),
    F16(2),
    BF16(2),
    I64(8),
    I32(4),
    I16(2),
    I8(1),
    U8(1),
    BOOL(1);

    private final int bytes;

    Dtype(int bytes) {
      this.bytes = bytes;
    }

    public int bytes() {
      return bytes;
    }
  }

  /**
   * Where one tensor lies in the file.
   *
   * @param name the tensor's key
   * @param dtype its element type
   * @param shape its dimensions
   * @param begin first byte, relative to the data section
   * @param end one past the last byte, relative to the data section
   */
  public record TensorInfo(String name, Dtype dtype, long[] shape, long begin, long end) {
    public long elements() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }
  }

  private SafeTensors(
      String source,
      ByteBuffer data,
      Map<String, TensorInfo> tensors,
      Map<String, String> metadata,
      FileChannel channel,
      long dataStart) {
    this.source = source;
    this.data = data;
    this.tensors = tensors;
    this.metadata = metadata;
    this.channel = channel;
    this.dataStart = dataStart;
  }

  /** Opens a safetensors file; a name ending in .gz is decompressed into memory first. */
  public static SafeTensors open(Path file) throws IOException {
    if (file.getFileName().toString().endsWith(".gz")) {
      try (InputStream in = new GZIPInputStream(Files.newInputStream(file), 1 << 16)) {
        return parse(file.toString(), ByteBuffer.wrap(in.readAllBytes()), null);
      }
    }
    FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
    try {
      if (channel.size() > Integer.MAX_VALUE) {
        // One mapping per file is enough for shards up to 2 GB; HF shards are 5 GB by default,
        // so larger files are mapped per tensor on demand.
        return parseLarge(file.toString(), channel);
      }
      ByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size());
      return parse(file.toString(), mapped, channel);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private static SafeTensors parse(String source, ByteBuffer whole, FileChannel channel)
      throws IOException {
    whole.order(ByteOrder.LITTLE_ENDIAN);
    if (whole.capacity() < 8) {
      throw new IOException(source + " is " + whole.capacity() + " bytes: not a safetensors file");
    }
    long headerLength = whole.getLong(0);
    checkHeaderLength(source, headerLength, whole.capacity());
    byte[] header = new byte[(int) headerLength];
    whole.get(8, header);
    int dataStart = 8 + (int) headerLength;
    ByteBuffer data =
        whole.slice(dataStart, whole.capacity() - dataStart).order(ByteOrder.LITTLE_ENDIAN);
    Map<String, String> metadata = new LinkedHashMap<>();
    Map<String, TensorInfo> tensors = parseHeader(source, header, data.capacity(), metadata);
    return new SafeTensors(source, data, tensors, metadata, channel, dataStart);
  }

  private static SafeTensors parseLarge(String source, FileChannel channel) throws IOException {
    ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    channel.read(lengthBytes, 0);
    long headerLength = lengthBytes.getLong(0);
    checkHeaderLength(source, headerLength, channel.size());
    ByteBuffer header = ByteBuffer.allocate((int) headerLength);
    channel.read(header, 8);
    Map<String, String> metadata = new LinkedHashMap<>();
    Map<String, TensorInfo> tensors =
        parseHeader(source, header.array(), channel.size() - 8 - headerLength, metadata);
    return new SafeTensors(source, null, tensors, metadata, channel, 8 + headerLength);
  }

  private static void checkHeaderLength(String source, long headerLength, long fileSize)
      throws IOException {
    if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > fileSize) {
      throw new IOException(
          source
              + ": header length "
              + headerLength
              + " does not fit a file of "
              + fileSize
              + " bytes; the file is truncated or not safetensors");
    }
  }

  private static Map<String, TensorInfo> parseHeader(
      String source, byte[] header, long dataBytes, Map<String, String> metadata)
      throws IOException {
    JsonNode root = MAPPER.readTree(new String(header, StandardCharsets.UTF_8));
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      String name = entry.getKey();
      JsonNode node = entry.getValue();
      if (name.equals("__metadata__")) {
        node.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
        continue;
      }
      Dtype dtype;
      try {
        dtype = Dtype.valueOf(node.path("dtype").asText());
      } catch (IllegalArgumentException e) {
        throw new IOException(
            source + ": tensor " + name + " has unsupported dtype " + node.path("dtype"));
      }
      JsonNode shapeNode = node.path("shape");
      long[] shape = new long[shapeNode.size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = shapeNode.get(i).asLong();
      }
      long begin = node.path("data_offsets").path(0).asLong(-1);
      long end = node.path("data_offsets").path(1).asLong(-1);
      TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
      if (begin < 0 || end > dataBytes || end - begin != info.elements() * dtype.bytes()) {
        throw new IOException(
            source
                + ": tensor "
                + name
                + " claims bytes ["
                + begin
                + ", "
                + end
                + ") for shape "
                + java.util.Arrays.toString(shape)
                + " of "
                + dtype
                + " in a data section of "
                + dataBytes
                + " bytes");
      }
      tensors.put(name, info);
    }
    return Collections.unmodifiableMap(tensors);
  }

  /** Tensor names and layouts, in file order. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /** The optional "__metadata__" entries of the header. */
  public Map<String, String> metadata() {
    return metadata;
  }

  public TensorInfo info(String name) {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw new IllegalArgumentException(
          source + " has no tensor \"" + name + "\" (it has " + tensors.size() + " tensors)");
    }
    return info;
  }

  /** The raw little-endian bytes of a tensor, as a read-only view (no copy for plain files). */
  public ByteBuffer bytes(String name) throws IOException {
    TensorInfo info = info(name);
    long length = info.end() - info.begin();
    if (data == null) {
      if (length > Integer.MAX_VALUE) {
        throw new IOException(name + " is " + length + " bytes, over the 2 GB a Java buffer holds");
      }
      return channel
          .map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), length)
          .order(ByteOrder.LITTLE_ENDIAN);
    }
    return data.slice((int) info.begin(), (int) (info.end() - info.begin()))
        .order(ByteOrder.LITTLE_ENDIAN)
        .asReadOnlyBuffer()
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A tensor as float32 values, converting from F32, F16 or BF16. */
  public float[] floats(String name) throws IOException {
    TensorInfo info = info(name);
    ByteBuffer bytes = bytes(name);
    float[] out = new float[Math.toIntExact(info.elements())];
    switch (info.dtype()) {
      case F32 -> bytes.asFloatBuffer().get(out);
      case BF16 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = Float.intBitsToFloat((bytes.getShort(2 * i) & 0xFFFF) << 16);
        }
      }
      case F16 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = halfToFloat(bytes.getShort(2 * i));
        }
      }
      default ->
          throw new IllegalArgumentException(
              source + ": tensor " + name + " is " + info.dtype() + ", not a float type");
    }
    return out;
  }

  /** A tensor of U8, I8 or BOOL as bytes. */
  public byte[] uint8s(String name) throws IOException {
    TensorInfo info = info(name);
    if (info.dtype().bytes() != 1) {
      throw new IllegalArgumentException(
          source + ": tensor " + name + " is " + info.dtype() + ", not a one-byte type");
    }
    byte[] out = new byte[Math.toIntExact(info.elements())];
    bytes(name).get(out);
    return out;
  }

  /** A tensor of I64 or I32 as longs. */
  public long[] longs(String name) throws IOException {
    TensorInfo info = info(name);
    ByteBuffer bytes = bytes(name);
    long[] out = new long[Math.toIntExact(info.elements())];
    switch (info.dtype()) {
      case I64 -> bytes.asLongBuffer().get(out);
      case I32 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = bytes.getInt(4 * i);
        }
      }
      default ->
          throw new IllegalArgumentException(
              source + ": tensor " + name + " is " + info.dtype() + ", not an integer type");
    }
    return out;
  }

  /** IEEE 754 binary16 to float32, exact (every half value is a float value). */
  static float halfToFloat(short half) {
    int bits = half & 0xFFFF;
    int sign = (bits & 0x8000) << 16;
    int exponent = (bits >>> 10) & 0x1F;
    int mantissa = bits & 0x3FF;
    if (exponent == 0x1F) {
      return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
    }
    if (exponent == 0) {
      float magnitude = mantissa * 0x1p-24f; // subnormal: mantissa * 2^-24, exact
      return sign == 0 ? magnitude : -magnitude;
    }
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }

  @Override
  public void close() throws IOException {
    if (channel != null) {
      channel.close();
    }
  }
}
