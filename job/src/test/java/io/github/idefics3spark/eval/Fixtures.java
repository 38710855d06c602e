package io.github.idefics3spark.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads the JSON files the official scorers produced (resources eval/ and mmmu/). */
final class Fixtures {

  private static final ObjectMapper JSON = JsonMapper.builder().build();

  private Fixtures() {}

  static JsonNode read(String resource) {
    try (InputStream in = Fixtures.class.getResourceAsStream("/" + resource)) {
      if (in == null) {
        throw new IllegalStateException("test resource " + resource + " is missing");
      }
      return JSON.readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read test resource " + resource, e);
    }
  }

  static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  /** A string, or a list of strings, as a list. */
  static List<String> stringOrList(JsonNode node) {
    return node.isArray() ? strings(node) : List.of(node.asText());
  }

  static Map<String, String> stringMap(JsonNode object) {
    Map<String, String> out = new LinkedHashMap<>();
    object.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
    return out;
  }

  /** A float as the generator wrote it: a number, or {"float": "nan"/"inf"/"-inf"}. */
  static double pyFloat(JsonNode node) {
    if (node.isObject()) {
      String s = node.get("float").asText();
      return switch (s) {
        case "nan" -> Double.NaN;
        case "inf" -> Double.POSITIVE_INFINITY;
        case "-inf" -> Double.NEGATIVE_INFINITY;
        default -> throw new IllegalArgumentException("not a float: " + s);
      };
    }
    return node.asDouble();
  }

  /** A float written by Python's float.hex(). */
  static double fromHex(String hex) {
    return switch (hex) {
      case "nan" -> Double.NaN;
      case "inf" -> Double.POSITIVE_INFINITY;
      case "-inf" -> Double.NEGATIVE_INFINITY;
      default -> Double.parseDouble(hex);
    };
  }
}
