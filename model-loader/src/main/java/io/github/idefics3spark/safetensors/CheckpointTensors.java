package io.github.idefics3spark.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The tensors of a Hugging Face checkpoint folder by key, from one "model.safetensors" or from
 * shards listed by "model.safetensors.index.json". Files are memory-mapped; nothing is read until a
 * tensor is asked for, so a converter can stream tensor by tensor.
 */
public final class CheckpointTensors implements AutoCloseable {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final List<SafeTensors> files = new ArrayList<>();
  private final Map<String, SafeTensors> byKey = new TreeMap<>();
  private final Map<SafeTensors, Path> pathOf = new java.util.IdentityHashMap<>();
  private float[] values; // the streaming buffers, reused from tensor to tensor
  private ByteBuffer bytes;
  private final List<Path> paths = new ArrayList<>();

  private CheckpointTensors() {}

  /** Opens the safetensors of {@code folder}; fails naming the files it looked for. */
  public static CheckpointTensors open(Path folder) throws IOException {
    CheckpointTensors tensors = new CheckpointTensors();
    try {
      Path index = folder.resolve("model.safetensors.index.json");
      Path single = folder.resolve("model.safetensors");
      if (Files.isRegularFile(index)) {
        JsonNode weightMap = MAPPER.readTree(index.toFile()).path("weight_map");
        if (!weightMap.isObject()) {
          throw new IOException(index + " has no \"weight_map\" object");
        }
        Map<String, SafeTensors> shards = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> entry = it.next();
          String shard = entry.getValue().asText();
          SafeTensors file = shards.get(shard);
          if (file == null) {
            Path path = folder.resolve(shard);
            file = SafeTensors.open(path);
            tensors.pathOf.put(file, path);
            shards.put(shard, file);
            tensors.files.add(file);
            tensors.paths.add(path);
          }
          if (!file.tensors().containsKey(entry.getKey())) {
            throw new IOException(
                index + " puts " + entry.getKey() + " in " + shard + ", which does not hold it");
          }
          tensors.byKey.put(entry.getKey(), file);
        }
      } else if (Files.isRegularFile(single)) {
        SafeTensors file = SafeTensors.open(single);
        tensors.pathOf.put(file, single);
        tensors.files.add(file);
        tensors.paths.add(single);
        for (String key : file.tensors().keySet()) {
          tensors.byKey.put(key, file);
        }
      } else {
        throw new IOException(
            folder + " has neither model.safetensors nor model.safetensors.index.json");
      }
      return tensors;
    } catch (IOException | RuntimeException e) {
      tensors.close();
      throw e;
    }
  }

  /** Every tensor key, sorted. */
  public List<String> keys() {
    return new ArrayList<>(byKey.keySet());
  }

  /** The safetensors files read, in the order opened. */
  public List<Path> files() {
    return List.copyOf(paths);
  }

  public boolean has(String key) {
    return byKey.containsKey(key);
  }

  public SafeTensors.TensorInfo info(String key) {
    return file(key).info(key);
  }

  /** The tensor as float32, converted from F32, F16 or BF16. */
  public float[] floats(String key) throws IOException {
    return file(key).floats(key);
  }

  /** Receives a tensor's values in order, a chunk at a time. */
  @FunctionalInterface
  public interface FloatChunks {
    /** {@code values[0, length)} are the tensor's elements {@code [offset, offset + length)}. */
    void accept(long offset, float[] values, int length);
  }

  /**
   * Streams the tensor as float32 (from F32, F16 or BF16) in chunks of at most {@code chunk}
   * elements, read with plain file reads: neither the whole tensor nor the file's pages are held,
   * so a converter's memory stays near what it keeps. Not thread-safe: the buffers are reused.
   */
  public void streamFloats(String key, int chunk, FloatChunks sink) throws IOException {
    SafeTensors.TensorInfo info = info(key);
    Path path = pathOf.get(file(key));
    int width = info.dtype().bytes();
    SafeTensors.Dtype dtype = info.dtype();
    if (dtype != SafeTensors.Dtype.F32
        && dtype != SafeTensors.Dtype.F16
        && dtype != SafeTensors.Dtype.BF16) {
      throw new IllegalArgumentException(
          path + ": tensor " + key + " is " + dtype + ", expected F32, F16 or BF16");
    }
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      channel.read(length, 0);
      long dataStart = 8 + length.getLong(0);
      if (values == null || values.length != chunk) {
        values = new float[chunk];
        bytes = ByteBuffer.allocate(chunk * 4).order(ByteOrder.LITTLE_ENDIAN);
      }
      long total = info.elements();
      for (long done = 0; done < total; ) {
        int n = (int) Math.min(chunk, total - done);
        bytes.clear().limit(n * width);
        long position = dataStart + info.begin() + done * width;
        while (bytes.hasRemaining()) {
          if (channel.read(bytes, position + bytes.position()) < 0) {
            throw new IOException(path + " ends inside tensor " + key);
          }
        }
        bytes.flip();
        switch (dtype) {
          case F32 -> bytes.asFloatBuffer().get(values, 0, n);
          case BF16 -> {
            for (int i = 0; i < n; i++) {
              values[i] = Float.intBitsToFloat((bytes.getShort(2 * i) & 0xFFFF) << 16);
            }
          }
          case F16 -> {
            for (int i = 0; i < n; i++) {
              values[i] = SafeTensors.halfToFloat(bytes.getShort(2 * i));
            }
          }
          default -> throw new IllegalStateException("unreachable: " + dtype);
        }
        sink.accept(done, values, n);
        done += n;
      }
    }
  }

  private SafeTensors file(String key) {
    SafeTensors file = byKey.get(key);
    if (file == null) {
      throw new IllegalArgumentException("the checkpoint has no tensor " + key);
    }
    return file;
  }

  @Override
  public void close() throws IOException {
    IOException first = null;
    for (SafeTensors file : files) {
      try {
        file.close();
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
