package io.github.idefics3spark.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoint folders, single or sharded, streamed as float32 from F32, BF16 and F16 tensors. */
class CheckpointTensorsTest {

  @TempDir Path folder;

  static byte[] f32(float... values) {
    ByteBuffer out = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      out.putFloat(v);
    }
    return out.array();
  }

  /** bf16 is the upper half of a float32's bits: these values are exact in bf16. */
  static byte[] bf16(float... values) {
    ByteBuffer out = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      out.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
    }
    return out.array();
  }

  @Test
  void shardsListedByTheIndexAreStreamedInChunksFromEveryDtype() throws IOException {
    float[] big = new float[1000];
    for (int i = 0; i < big.length; i++) {
      big[i] = i * 0.5f - 100;
    }
    Map<String, Object[]> first = new LinkedHashMap<>();
    first.put("a.weight", new Object[] {"F32", new long[] {10, 100}, f32(big)});
    Map<String, Object[]> second = new LinkedHashMap<>();
    second.put("b.weight", new Object[] {"BF16", new long[] {3}, bf16(1.5f, -2f, 65536f)});
    // F16: 1.0 = 0x3C00, -0.5 = 0xB800, 2^-24 (smallest subnormal) = 0x0001
    second.put(
        "c.weight",
        new Object[] {"F16", new long[] {3}, new byte[] {0, 0x3C, 0, (byte) 0xB8, 1, 0}});
    SafeTensorsFiles.write(folder.resolve("model-00001-of-00002.safetensors"), first);
    SafeTensorsFiles.write(folder.resolve("model-00002-of-00002.safetensors"), second);
    Files.writeString(
        folder.resolve("model.safetensors.index.json"),
        "{\"metadata\": {}, \"weight_map\": {\"a.weight\": \"model-00001-of-00002.safetensors\","
            + " \"b.weight\": \"model-00002-of-00002.safetensors\","
            + " \"c.weight\": \"model-00002-of-00002.safetensors\"}}");

    try (CheckpointTensors tensors = CheckpointTensors.open(folder)) {
      assertEquals(java.util.List.of("a.weight", "b.weight", "c.weight"), tensors.keys());
      assertEquals(2, tensors.files().size());
      assertArrayEquals(big, streamed(tensors, "a.weight", 7)); // chunks that do not divide 1000
      assertArrayEquals(new float[] {1.5f, -2f, 65536f}, streamed(tensors, "b.weight", 2));
      assertArrayEquals(new float[] {1f, -0.5f, 0x1p-24f}, streamed(tensors, "c.weight", 2));
      assertArrayEquals(tensors.floats("a.weight"), streamed(tensors, "a.weight", 1 << 18));
    }
  }

  @Test
  void anIndexNamingAShardWithoutTheTensorIsRefused() throws IOException {
    Map<String, Object[]> only = new LinkedHashMap<>();
    only.put("a.weight", new Object[] {"F32", new long[] {1}, f32(1f)});
    SafeTensorsFiles.write(folder.resolve("one.safetensors"), only);
    Files.writeString(
        folder.resolve("model.safetensors.index.json"),
        "{\"weight_map\": {\"b.weight\": \"one.safetensors\"}}");
    IOException e = assertThrows(IOException.class, () -> CheckpointTensors.open(folder));
    assertTrue(e.getMessage().contains("b.weight"), e.getMessage());
  }

  @Test
  void aFolderWithoutSafetensorsSaysWhatItLookedFor() {
    IOException e = assertThrows(IOException.class, () -> CheckpointTensors.open(folder));
    assertTrue(e.getMessage().contains("model.safetensors.index.json"), e.getMessage());
  }

  private static float[] streamed(CheckpointTensors tensors, String key, int chunk)
      throws IOException {
    float[] out = new float[Math.toIntExact(tensors.info(key).elements())];
    tensors.streamFloats(
        key,
        chunk,
        (offset, values, length) -> System.arraycopy(values, 0, out, (int) offset, length));
    return out;
  }
}
