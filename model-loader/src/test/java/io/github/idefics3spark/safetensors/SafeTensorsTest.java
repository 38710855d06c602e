package io.github.idefics3spark.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
  @TempDir Path dir;

  /** A file laid out as the safetensors spec says, written byte by byte. */
  private static byte[] file(String header, byte[] data) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer out = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(h.length).put(h).put(data);
    return out.array();
  }

  private static byte[] sample() {
    ByteBuffer data = ByteBuffer.allocate(8 + 4 + 4 + 3 + 16).order(ByteOrder.LITTLE_ENDIAN);
    data.putFloat(1.5f).putFloat(-2.25f); // F32 [2]
    data.putShort((short) 0x3FC0).putShort((short) 0xC010); // BF16 1.5, -2.25
    data.putShort((short) 0x3E00).putShort((short) 0x0001); // F16 1.5, smallest subnormal
    data.put((byte) 0).put((byte) 200).put((byte) 255); // U8 [3]
    data.putLong(-7).putLong(1L << 40); // I64 [2]
    String header =
        "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"f32\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},"
            + "\"f16\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[12,16]},"
            + "\"u8\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[16,19]},"
            + "\"i64\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[19,35]}}";
    return file(header, data.array());
  }

  @Test
  void readsEveryDtypeByName() throws IOException {
    Path path = dir.resolve("a.safetensors");
    Files.write(path, sample());
    try (SafeTensors st = SafeTensors.open(path)) {
      assertEquals("pt", st.metadata().get("format"));
      assertEquals(5, st.tensors().size());
      assertArrayEquals(new float[] {1.5f, -2.25f}, st.floats("f32"));
      assertArrayEquals(new float[] {1.5f, -2.25f}, st.floats("bf16"));
      assertArrayEquals(new float[] {1.5f, 0x1p-24f}, st.floats("f16"));
      assertArrayEquals(new long[] {1, 2}, st.info("f16").shape());
      assertArrayEquals(new byte[] {0, (byte) 200, (byte) 255}, st.uint8s("u8"));
      assertArrayEquals(new long[] {-7, 1L << 40}, st.longs("i64"));
    }
  }

  @Test
  void readsGzipCompressedFiles() throws IOException {
    Path path = dir.resolve("a.safetensors.gz");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (OutputStream gz = new GZIPOutputStream(bytes)) {
      gz.write(sample());
    }
    Files.write(path, bytes.toByteArray());
    try (SafeTensors st = SafeTensors.open(path)) {
      assertArrayEquals(new float[] {1.5f, -2.25f}, st.floats("f32"));
    }
  }

  @Test
  void halfToFloatIsExactOnEveryHalfValue() {
    for (int bits = 0; bits < 0x10000; bits++) {
      float f = SafeTensors.halfToFloat((short) bits);
      int exponent = (bits >>> 10) & 0x1F;
      if (exponent == 0x1F && (bits & 0x3FF) != 0) {
        assertTrue(Float.isNaN(f));
        continue;
      }
      // Reference: the value by its definition, sign * 2^(e-15) * (1 + m/1024), or subnormal.
      double magnitude =
          exponent == 0
              ? (bits & 0x3FF) * Math.pow(2, -24)
              : exponent == 0x1F
                  ? Double.POSITIVE_INFINITY
                  : Math.pow(2, exponent - 15) * (1 + (bits & 0x3FF) / 1024.0);
      double expected = (bits & 0x8000) != 0 ? -magnitude : magnitude;
      assertEquals((float) expected, f, "half 0x" + Integer.toHexString(bits));
    }
  }

  @Test
  void unknownTensorIsNamed() throws IOException {
    Path path = dir.resolve("a.safetensors");
    Files.write(path, sample());
    try (SafeTensors st = SafeTensors.open(path)) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> st.floats("nope"));
      assertTrue(e.getMessage().contains("\"nope\""));
    }
  }

  @Test
  void truncatedFileIsRefusedWithItsSizes() throws IOException {
    byte[] whole = sample();
    Path path = dir.resolve("cut.safetensors");
    Files.write(path, Arrays.copyOf(whole, whole.length - 10));
    IOException e = assertThrows(IOException.class, () -> SafeTensors.open(path));
    assertTrue(e.getMessage().contains("i64"), e.getMessage());
  }

  @Test
  void nonSafetensorsBytesAreRefused() throws IOException {
    Path path = dir.resolve("text.safetensors");
    Files.writeString(path, "this is not a tensor file at all");
    IOException e = assertThrows(IOException.class, () -> SafeTensors.open(path));
    assertTrue(e.getMessage().contains("not safetensors"), e.getMessage());
  }

  /** The message refusing a file with this header over {@code dataBytes} zero bytes. */
  private String refusal(String header, int dataBytes) throws IOException {
    Path path = dir.resolve("hostile.safetensors");
    Files.write(path, file(header, new byte[dataBytes]));
    return assertThrows(IOException.class, () -> SafeTensors.open(path)).getMessage();
  }

  @Test
  void overlappingRangesAreRefusedNamingBothTensors() throws IOException {
    String message =
        refusal(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
            16);
    assertTrue(message.contains("tensors a [0, 16) and b [8, 16) overlap"), message);
  }

  @Test
  void gapsAndTrailingBytesAreRefused() throws IOException {
    String gap =
        refusal(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
            12);
    assertTrue(gap.contains("bytes [4, 8) before tensor b belong to no tensor"), gap);
    String trailing =
        refusal("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4096);
    assertTrue(
        trailing.contains("the tensors end at byte 4 of a data section of 4096 bytes"), trailing);
  }

  @Test
  void repeatedKeysNegativeOrOverflowingShapesAndMalformedEntriesAreRefused() throws IOException {
    String repeated =
        refusal(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
            4);
    assertTrue(repeated.contains("the header is not valid JSON"), repeated);
    String negative =
        refusal("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
    assertTrue(negative.contains("sizes are whole numbers >= 0"), negative);
    String overflow =
        refusal(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                + "\"data_offsets\":[0,0]}}",
            0);
    assertTrue(overflow.contains("tensor a claims bytes [0, 0)"), overflow);
    String noOffsets = refusal("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4);
    assertTrue(noOffsets.contains("needs a shape (a list of sizes) and data_offsets"), noOffsets);
    String notObject = refusal("[1, 2, 3]", 0);
    assertTrue(notObject.contains("the header is not a JSON object"), notObject);
  }
}
