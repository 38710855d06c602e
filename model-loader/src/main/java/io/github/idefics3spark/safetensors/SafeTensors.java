package io.github.idefics3spark.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
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

  /**
   * Parses and checks the header as the safetensors format requires: a JSON object without repeated
   * keys; each tensor a known dtype, a shape of non-negative dimensions, and a byte range of
   * exactly its size; the ranges, in order, tile the data section with neither overlap nor gap from
   * its first byte to its last (what the reference implementation's {@code validate} refuses). A
   * file failing any of these was damaged or made to mislead, and is refused naming the tensors at
   * fault.
   */
  private static Map<String, TensorInfo> parseHeader(
      String source, byte[] header, long dataBytes, Map<String, String> metadata)
      throws IOException {
    JsonNode root;
    try {
      root = MAPPER.reader().with(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).readTree(header);
    } catch (IOException e) {
      throw new IOException(
          source
              + ": the header is not valid JSON ("
              + e.getClass().getSimpleName()
              + "); the file is damaged or not safetensors",
          e);
    }
    if (root == null || !root.isObject()) {
      throw new IOException(source + ": the header is not a JSON object; not a safetensors file");
    }
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> entry : root.properties()) {
      String name = entry.getKey();
      JsonNode node = entry.getValue();
      if (name.equals("__metadata__")) {
        node.properties().forEach(m -> metadata.put(m.getKey(), m.getValue().asText()));
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
      JsonNode offsets = node.path("data_offsets");
      if (!shapeNode.isArray()
          || !offsets.isArray()
          || offsets.size() != 2
          || !offsets.get(0).canConvertToLong()
          || !offsets.get(1).canConvertToLong()) {
        throw new IOException(
            source
                + ": tensor "
                + name
                + " needs a shape (a list of sizes) and data_offsets (two byte offsets)");
      }
      long[] shape = new long[shapeNode.size()];
      long elements = 1;
      for (int i = 0; i < shape.length; i++) {
        JsonNode dim = shapeNode.get(i);
        shape[i] = dim.canConvertToLong() && dim.isIntegralNumber() ? dim.asLong() : -1;
        if (shape[i] < 0) {
          throw new IOException(
              source
                  + ": tensor "
                  + name
                  + " has shape "
                  + shapeNode
                  + ": sizes are whole numbers >= 0");
        }
        elements = elements < 0 ? -1 : multiplyOrNegative(elements, shape[i]);
      }
      long begin = offsets.get(0).asLong();
      long end = offsets.get(1).asLong();
      TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
      long bytes = elements < 0 ? -1 : multiplyOrNegative(elements, dtype.bytes());
      if (begin < 0 || end > dataBytes || bytes < 0 || end - begin != bytes) {
        throw new IOException(
            source
                + ": tensor "
                + name
                + " claims bytes ["
                + begin
                + ", "
                + end
                + ") for shape "
                + Arrays.toString(shape)
                + " of "
                + dtype
                + " in a data section of "
                + dataBytes
                + " bytes");
      }
      tensors.put(name, info);
    }
    checkTiling(source, tensors.values(), dataBytes);
    return Collections.unmodifiableMap(tensors);
  }

  /** The ranges, sorted, must follow each other from byte 0 to the end of the data section. */
  private static void checkTiling(String source, Collection<TensorInfo> tensors, long dataBytes)
      throws IOException {
    List<TensorInfo> sorted = new ArrayList<>(tensors);
    sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    long expected = 0;
    TensorInfo previous = null;
    for (TensorInfo info : sorted) {
      if (info.begin() < expected) {
        throw new IOException(
            source
                + ": tensors "
                + previous.name()
                + " ["
                + previous.begin()
                + ", "
                + previous.end()
                + ") and "
                + info.name()
                + " ["
                + info.begin()
                + ", "
                + info.end()
                + ") overlap; each tensor's bytes"
                + " must be its own: the file is damaged or was made to mislead");
      }
      if (info.begin() > expected) {
        throw new IOException(
            source
                + ": bytes ["
                + expected
                + ", "
                + info.begin()
                + ") before tensor "
                + info.name()
                + " belong to no tensor; the data section must hold the tensors and nothing else");
      }
      expected = info.end();
      previous = info;
    }
    if (expected != dataBytes) {
      throw new IOException(
          source
              + ": the tensors end at byte "
              + expected
              + " of a data section of "
              + dataBytes
              + " bytes; the data section must hold the tensors and nothing else");
    }
  }

  private static long multiplyOrNegative(long a, long b) {
    try {
      return Math.multiplyExact(a, b);
    } catch (ArithmeticException e) {
      return -1;
    }
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
