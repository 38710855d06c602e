package io.github.idefics3spark.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
