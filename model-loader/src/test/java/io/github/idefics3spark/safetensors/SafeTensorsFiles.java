package io.github.idefics3spark.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes safetensors files for tests: checkpoints made or edited by a test. */
public final class SafeTensorsFiles {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private SafeTensorsFiles() {}

  /** A safetensors file of the given tensors, each as (dtype, shape, little-endian bytes). */
  public static void write(Path file, Map<String, Object[]> tensors) throws IOException {
    ObjectNode header = MAPPER.createObjectNode();
    long offset = 0;
    for (Map.Entry<String, Object[]> entry : tensors.entrySet()) {
      byte[] data = (byte[]) entry.getValue()[2];
      ObjectNode info = header.putObject(entry.getKey());
      info.put("dtype", (String) entry.getValue()[0]);
      info.set("shape", MAPPER.valueToTree(entry.getValue()[1]));
      info.set("data_offsets", MAPPER.valueToTree(new long[] {offset, offset + data.length}));
      offset += data.length;
    }
    byte[] json = MAPPER.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
    ByteBuffer out = ByteBuffer.allocate(8 + json.length + (int) offset);
    out.order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).put(json);
    for (Object[] tensor : tensors.values()) {
      out.put((byte[]) tensor[2]);
    }
    Files.write(file, out.array());
  }

  /**
   * The tensors of {@code file} as {@link #write} takes them, in the file's order, each with its
   * dtype, shape and bytes.
   */
  public static Map<String, Object[]> read(Path file) throws IOException {
    Map<String, Object[]> tensors = new LinkedHashMap<>();
    try (SafeTensors st = SafeTensors.open(file)) {
      for (SafeTensors.TensorInfo info : st.tensors().values()) {
        ByteBuffer bytes = st.bytes(info.name());
        byte[] data = new byte[bytes.remaining()];
        bytes.get(data);
        tensors.put(info.name(), new Object[] {info.dtype().name(), info.shape(), data});
      }
    }
    return tensors;
  }
}
