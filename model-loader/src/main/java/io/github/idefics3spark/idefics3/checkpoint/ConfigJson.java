package io.github.idefics3spark.idefics3.checkpoint;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * One JSON object of a checkpoint's config files, read key by key.
 *
 * <p>Every value is looked up by its Hugging Face key; a missing required key or a value of the
 * wrong type fails with the file and the key named. Keys that were never read are listed by {@link
 * #unreadKeys()}, so the caller can report what it ignored.
 */
public final class ConfigJson {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final String where;
  private final ObjectNode node;
  private final Set<String> read = new LinkedHashSet<>();

  private ConfigJson(String where, ObjectNode node) {
    this.where = where;
    this.node = node;
  }

  static ConfigJson read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new CheckpointException("missing file " + file + ": a Hugging Face checkpoint has it");
    }
    JsonNode root;
    try {
      root = MAPPER.readTree(file.toFile());
    } catch (IOException e) {
      throw notJson(file.toString(), e);
    }
    if (!(root instanceof ObjectNode object)) {
      throw new CheckpointException(file + " holds " + root.getNodeType() + ", expected an object");
    }
    return new ConfigJson(file.getFileName().toString(), object);
  }

  static ConfigJson parse(String where, String json) {
    try {
      JsonNode root = MAPPER.readTree(json);
      if (!(root instanceof ObjectNode object)) {
        throw new CheckpointException(where + " holds " + root.getNodeType() + ", expected object");
      }
      return new ConfigJson(where, object);
    } catch (IOException e) {
      throw notJson(where, e);
    }
  }

  /**
   * The error for a config file that does not parse: where the syntax breaks, never the text found
   * there (Jackson's message quotes it, and a config path may point at any file).
   */
  public static CheckpointException notJson(String file, IOException e) {
    if (e instanceof JsonProcessingException json) {
      JsonLocation at = json.getLocation();
      return new CheckpointException(
          "cannot parse "
              + file
              + " as JSON: the syntax breaks"
              + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr())
              + "; expected the JSON object transformers' save_pretrained writes (is the file, or"
              + " a link to it, another file, or cut short?)",
          e);
    }
    return new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
  }

  boolean has(String key) {
    JsonNode value = node.get(key);
    return value != null && !value.isNull();
  }

  /** Marks a key as known without using its value (metadata such as "architectures"). */
  void ignore(String... keys) {
    read.addAll(List.of(keys));
  }

  ConfigJson object(String key) {
    JsonNode value = required(key);
    if (!(value instanceof ObjectNode object)) {
      throw wrongType(key, value, "an object");
    }
    return new ConfigJson(where + " > " + key, object);
  }

  ConfigJson objectOrNull(String key) {
    return has(key) ? object(key) : markRead(key, null);
  }

  int requiredInt(String key) {
    JsonNode value = required(key);
    if (!value.canConvertToInt() || !value.isIntegralNumber()) {
      throw wrongType(key, value, "an integer");
    }
    return value.intValue();
  }

  int intOr(String key, int defaultValue) {
    return has(key) ? requiredInt(key) : markRead(key, defaultValue);
  }

  /**
   * An integer of at least {@code min}: a size, count or divisor, where a smaller value would end
   * in a division by zero or an empty model later.
   *
   * @param use what the value is used for, quoted in the error ("it divides image_size")
   */
  int requiredIntAtLeast(String key, int min, String use) {
    return atLeast(key, requiredInt(key), min, use);
  }

  /** {@link #requiredIntAtLeast}, or {@code defaultValue} when the key is absent. */
  int intAtLeastOr(String key, int defaultValue, int min, String use) {
    return has(key) ? requiredIntAtLeast(key, min, use) : markRead(key, defaultValue);
  }

  /**
   * The integer at {@code key}, refused when below {@code min} or above {@code max} (a bound no
   * checkpoint of this architecture comes near), naming the key, the value and the range.
   */
  int requiredIntIn(String key, int min, int max, String use) {
    int value = requiredIntAtLeast(key, min, use);
    if (value > max) {
      throw new CheckpointException(
          where
              + ": key \""
              + key
              + "\" is "
              + value
              + ", expected at most "
              + max
              + " ("
              + use
              + "; no Idefics3 checkpoint comes near it); the file is damaged or not an Idefics3"
              + " checkpoint's");
    }
    return value;
  }

  /** {@link #requiredIntIn}, or {@code defaultValue} when the key is absent. */
  int intInOr(String key, int defaultValue, int min, int max, String use) {
    return has(key) ? requiredIntIn(key, min, max, use) : markRead(key, defaultValue);
  }

  private int atLeast(String key, int value, int min, String use) {
    if (value < min) {
      throw new CheckpointException(
          where
              + ": key \""
              + key
              + "\" is "
              + value
              + ", expected an integer of at least "
              + min
              + " ("
              + use
              + "); the file is damaged or not an Idefics3 checkpoint's");
    }
    return value;
  }

  Integer intOrNull(String key) {
    return has(key) ? Integer.valueOf(requiredInt(key)) : markRead(key, null);
  }

  double requiredDouble(String key) {
    JsonNode value = required(key);
    if (!value.isNumber()) {
      throw wrongType(key, value, "a number");
    }
    return value.doubleValue();
  }

  double doubleOr(String key, double defaultValue) {
    return has(key) ? requiredDouble(key) : markRead(key, defaultValue);
  }

  Double doubleOrNull(String key) {
    return has(key) ? Double.valueOf(requiredDouble(key)) : markRead(key, null);
  }

  boolean booleanOr(String key, boolean defaultValue) {
    if (!has(key)) {
      return markRead(key, defaultValue);
    }
    JsonNode value = required(key);
    if (!value.isBoolean()) {
      throw wrongType(key, value, "true or false");
    }
    return value.booleanValue();
  }

  String requiredString(String key) {
    JsonNode value = required(key);
    if (!value.isTextual()) {
      throw wrongType(key, value, "a string");
    }
    return value.textValue();
  }

  String stringOr(String key, String defaultValue) {
    return has(key) ? requiredString(key) : markRead(key, defaultValue);
  }

  /** An integer or a list of integers (as generation_config's eos_token_id may be). */
  List<Integer> intList(String key) {
    if (!has(key)) {
      return markRead(key, List.of());
    }
    JsonNode value = required(key);
    List<Integer> out = new ArrayList<>();
    if (value.isIntegralNumber()) {
      out.add(value.intValue());
    } else if (value.isArray()) {
      for (JsonNode item : value) {
        if (!item.isIntegralNumber()) {
          throw wrongType(key, value, "a list of integers");
        }
        out.add(item.intValue());
      }
    } else {
      throw wrongType(key, value, "an integer or a list of integers");
    }
    return List.copyOf(out);
  }

  /** A number or a list of numbers (as image_mean may be), as floats. */
  float[] floats(String key, float[] defaultValue) {
    if (!has(key)) {
      return markRead(key, defaultValue);
    }
    JsonNode value = required(key);
    if (value.isNumber()) {
      return new float[] {value.floatValue()};
    }
    if (!value.isArray()) {
      throw wrongType(key, value, "a number or a list of numbers");
    }
    float[] out = new float[value.size()];
    for (int i = 0; i < out.length; i++) {
      if (!value.get(i).isNumber()) {
        throw wrongType(key, value, "a list of numbers");
      }
      out[i] = value.get(i).floatValue();
    }
    return out;
  }

  /** Keys present in the file that no one read or ignored, sorted. */
  Set<String> unreadKeys() {
    Set<String> unread = new TreeSet<>();
    node.fieldNames().forEachRemaining(unread::add);
    unread.removeAll(read);
    return unread;
  }

  String where() {
    return where;
  }

  private JsonNode required(String key) {
    read.add(key);
    JsonNode value = node.get(key);
    if (value == null || value.isNull()) {
      throw new CheckpointException(
          where + ": missing required key \"" + key + "\" (found keys: " + keysPresent() + ")");
    }
    return value;
  }

  private <T> T markRead(String key, T value) {
    read.add(key);
    return value;
  }

  private CheckpointException wrongType(String key, JsonNode value, String expected) {
    return new CheckpointException(
        where + ": key \"" + key + "\" is " + value + ", expected " + expected);
  }

  private String keysPresent() {
    List<String> keys = new ArrayList<>();
    node.fieldNames().forEachRemaining(keys::add);
    return String.join(", ", keys);
  }
}
