package io.github.idefics3spark.python;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...)},
 * the {@code tojson} filter that transformers installs in its chat-template environment
 * (chat_template_utils.py), for values a template can hold: null, booleans, numbers, strings, lists
 * and maps.
 */
public final class PythonJson {
  private final Integer indent;
  private final String itemSeparator;
  private final String keySeparator;
  private final boolean sortKeys;

  /**
   * @param indent null for one line, else spaces per level
   * @param itemSeparator null for Python's default: ", " on one line, "," with an indent
   * @param keySeparator null for Python's default ": "
   * @param sortKeys sort map keys
   */
  public PythonJson(Integer indent, String itemSeparator, String keySeparator, boolean sortKeys) {
    this.indent = indent;
    this.itemSeparator = itemSeparator != null ? itemSeparator : indent == null ? ", " : ",";
    this.keySeparator = keySeparator != null ? keySeparator : ": ";
    this.sortKeys = sortKeys;
  }

  public String dumps(Object value) {
    StringBuilder out = new StringBuilder();
    write(value, 0, out);
    return out.toString();
  }

  private void write(Object value, int level, StringBuilder out) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof Boolean b) {
      out.append(b ? "true" : "false");
    } else if (value instanceof Double || value instanceof Float) {
      out.append(floatRepr(((Number) value).doubleValue()));
    } else if (value instanceof Number n) {
      out.append(n instanceof BigDecimal d ? d.toPlainString() : n.toString());
    } else if (value instanceof Map<?, ?> map) {
      List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
      if (sortKeys) {
        entries.sort((a, b) -> String.valueOf(a.getKey()).compareTo(String.valueOf(b.getKey())));
      }
      if (entries.isEmpty()) {
        out.append("{}");
        return;
      }
      out.append('{');
      for (int i = 0; i < entries.size(); i++) {
        separate(i, level + 1, out);
        string(keyString(entries.get(i).getKey()), out);
        out.append(keySeparator);
        write(entries.get(i).getValue(), level + 1, out);
      }
      close(level, out);
      out.append('}');
    } else if (value instanceof Iterable<?> items) {
      List<Object> list = new ArrayList<>();
      items.forEach(list::add);
      if (list.isEmpty()) {
        out.append("[]");
        return;
      }
      out.append('[');
      for (int i = 0; i < list.size(); i++) {
        separate(i, level + 1, out);
        write(list.get(i), level + 1, out);
      }
      close(level, out);
      out.append(']');
    } else if (value instanceof Object[] array) {
      write(List.of(array), level, out);
    } else {
      string(value.toString(), out);
    }
  }

  private void separate(int index, int level, StringBuilder out) {
    if (index > 0) {
      out.append(itemSeparator);
    }
    if (indent != null) {
      out.append('\n').append(" ".repeat(indent * level));
    }
  }

  private void close(int level, StringBuilder out) {
    if (indent != null) {
      out.append('\n').append(" ".repeat(indent * level));
    }
  }

  private static String keyString(Object key) {
    if (key == null) {
      return "null";
    }
    if (key instanceof Boolean b) {
      return b ? "true" : "false";
    }
    if (key instanceof Double || key instanceof Float) {
      return floatRepr(((Number) key).doubleValue());
    }
    return key.toString();
  }

  private static void string(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  /** Python's {@code repr(float)}: shortest digits, fixed notation for exponents -4 to 15. */
  public static String floatRepr(double d) {
    if (Double.isNaN(d)) {
      return "NaN";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "Infinity" : "-Infinity";
    }
    if (d == 0) {
      return (1 / d < 0) ? "-0.0" : "0.0";
    }
    BigDecimal shortest = new BigDecimal(Double.toString(d)).stripTrailingZeros();
    String digits = shortest.unscaledValue().abs().toString();
    int exponent = digits.length() - 1 - shortest.scale(); // of the first digit
    String sign = d < 0 ? "-" : "";
    if (exponent >= -4 && exponent < 16) {
      String plain = shortest.abs().toPlainString();
      return sign + (plain.contains(".") ? plain : plain + ".0");
    }
    String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
    return sign
        + mantissa
        + "e"
        + (exponent < 0 ? "-" : "+")
        + String.format("%02d", Math.abs(exponent));
  }
}
