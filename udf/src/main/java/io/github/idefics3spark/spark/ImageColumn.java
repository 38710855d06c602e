package io.github.idefics3spark.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The images of a user's column, as the SQL functions and the ML Transformer take them: encoded
 * bytes ({@code binary}), a path or URI read through Hadoop ({@code string}), a Hugging Face image
 * {@code struct<bytes: binary, path: string>} (bytes when set, else the path), or an array of one
 * of these for several images in one question. A string that is a JSON array of strings is that
 * list of paths (Spark reads a JSON Lines column mixing paths and lists as strings). Each value
 * becomes the request's {@link InferenceSchema#IMAGE} structs, which {@link PartitionInference}
 * reads.
 */
public final class ImageColumn {
  /** The accepted column types, for error messages. */
  public static final String EXPECTED =
      "binary (encoded image bytes), string (a path or URI), struct<bytes: binary, path: string>"
          + " (a Hugging Face image) or an array of one of them";

  private static final ObjectMapper JSON = new ObjectMapper();

  private ImageColumn() {}

  /** Whether a column of this type holds images. */
  public static boolean accepts(DataType type) {
    if (type instanceof ArrayType array) {
      return acceptsOne(array.elementType());
    }
    return acceptsOne(type);
  }

  private static boolean acceptsOne(DataType type) {
    if (type instanceof BinaryType || type instanceof StringType) {
      return true;
    }
    if (type instanceof StructType struct) {
      boolean bytes = hasField(struct, "bytes", DataTypes.BinaryType);
      boolean path = hasField(struct, "path", DataTypes.StringType);
      return (bytes || path)
          && (bytes || !hasName(struct, "bytes"))
          && (path || !hasName(struct, "path"));
    }
    return false;
  }

  /**
   * The images of one value, in order, as {@link InferenceSchema#IMAGE} rows; null when the value
   * is null. A null element of an array stays null ({@link PartitionInference} reports it).
   *
   * @throws IllegalArgumentException when the value is of no accepted kind
   */
  public static List<Row> images(Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof scala.collection.Iterable<?> seq) {
      return imagesOf(CollectionConverters.asJava(seq));
    }
    if (value instanceof List<?> list) {
      return imagesOf(list);
    }
    if (value instanceof String text) {
      List<String> paths = jsonList(text);
      if (paths != null) {
        return imagesOf(paths);
      }
    }
    return List.of(image(value));
  }

  /**
   * The paths of a string that is a JSON array of strings ({@code ["b.png", "c.png"]}), as Spark
   * infers a JSON Lines column mixing single paths and lists; null for any other string, which is
   * then one path.
   */
  static List<String> jsonList(String text) {
    String trimmed = text.strip();
    if (!trimmed.startsWith("[") || !trimmed.endsWith("]")) {
      return null;
    }
    JsonNode node;
    try {
      node = JSON.readTree(trimmed);
    } catch (IOException e) {
      return null; // "[draft] scan.png" and the like: a path with brackets
    }
    if (node == null || !node.isArray()) {
      return null;
    }
    List<String> paths = new ArrayList<>();
    for (JsonNode element : node) {
      if (element.isNull()) {
        paths.add(null);
      } else if (element.isTextual()) {
        paths.add(element.textValue());
      } else {
        return null;
      }
    }
    return paths;
  }

  /** The images as the value of a request's {@code images} column (a Scala sequence). */
  public static scala.collection.Seq<Row> asColumnValue(List<Row> images) {
    return CollectionConverters.asScala(images).toSeq();
  }

  private static List<Row> imagesOf(Iterable<?> values) {
    List<Row> images = new ArrayList<>();
    for (Object element : values) {
      images.add(element == null ? null : image(element));
    }
    return images;
  }

  private static Row image(Object value) {
    if (value instanceof byte[] bytes) {
      return new GenericRowWithSchema(new Object[] {bytes, null}, InferenceSchema.IMAGE);
    }
    if (value instanceof String path) {
      return new GenericRowWithSchema(new Object[] {null, path}, InferenceSchema.IMAGE);
    }
    if (value instanceof Row struct) {
      return new GenericRowWithSchema(
          new Object[] {field(struct, "bytes", 0), field(struct, "path", 1)},
          InferenceSchema.IMAGE);
    }
    throw new IllegalArgumentException(
        "an image value is a " + value.getClass().getName() + ", expected " + EXPECTED);
  }

  /** A field of an image struct by name, or by position in a struct without a schema. */
  private static Object field(Row struct, String name, int position) {
    StructType schema = struct.schema();
    if (schema == null) {
      return struct.size() > position ? struct.get(position) : null;
    }
    if (!hasName(schema, name)) {
      return null;
    }
    Object value = struct.get(schema.fieldIndex(name));
    Class<?> expected = name.equals("bytes") ? byte[].class : String.class;
    if (value != null && !expected.isInstance(value)) {
      throw new IllegalArgumentException(
          "an image struct's "
              + name
              + " is a "
              + value.getClass().getName()
              + ", expected "
              + (name.equals("bytes") ? "binary" : "string"));
    }
    return value;
  }

  private static boolean hasName(StructType struct, String name) {
    for (StructField field : struct.fields()) {
      if (field.name().equals(name)) {
        return true;
      }
    }
    return false;
  }

  private static boolean hasField(StructType struct, String name, DataType type) {
    return hasName(struct, name) && struct.apply(name).dataType().equals(type);
  }
}
