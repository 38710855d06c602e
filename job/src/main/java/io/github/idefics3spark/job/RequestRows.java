package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.filter;
import static org.apache.spark.sql.functions.flatten;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.regexp_replace;
import static org.apache.spark.sql.functions.replace;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.transform;
import static org.apache.spark.sql.functions.when;

import io.github.idefics3spark.spark.InferenceSchema;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The rows every reader hands to the inference stage: {@code id} (string, unique, not null), {@code
 * images} (array&lt;struct&lt;bytes: binary, path: string&gt;&gt;, bytes null where only a path is
 * known), {@code question} (the user text built from the prompt template), {@code assistant_prefix}
 * (nullable), {@code task}, for JSON Lines and CSV manifests {@code input_error} (null, or why the
 * line could not be read: {@link ManifestLines}), then every other input column unchanged.
 *
 * <p>An input column whose name the output also uses is passed through under another name ({@link
 * PassThrough}): MMMU's reference {@code answer} becomes {@code input_answer}.
 */
public final class RequestRows {
  public static final String ID = "id";
  public static final String IMAGES = "images";
  public static final String QUESTION = "question";
  public static final String ASSISTANT_PREFIX = "assistant_prefix";
  public static final String TASK = "task";

  /**
   * Why the row could not be read (a manifest line that does not parse): set, the row is answered
   * with that error (error_kind MALFORMED_ROW); absent or null on rows that were read.
   */
  public static final String INPUT_ERROR = InferenceSchema.INPUT_ERROR;

  /** The type of one image: an HF {@code Image} value. */
  public static final StructType IMAGE =
      new StructType(
          new StructField[] {
            DataTypes.createStructField("bytes", DataTypes.BinaryType, true),
            DataTypes.createStructField("path", DataTypes.StringType, true)
          });

  private RequestRows() {}

  /**
   * The request rows of {@code source} whose id, images and question are columns of it: those
   * columns are consumed, every other column passes through.
   *
   * @param idColumn the id column, any type (cast to string)
   * @param imageColumns the image columns, each a path, bytes, an HF image struct or an array
   * @param base the folder relative image paths are resolved against
   * @param questionColumn the column whose text fills the template, or null
   * @param inputName the input as the user named it, for errors
   */
  static Dataset<Row> shape(
      Dataset<Row> source,
      String idColumn,
      List<String> imageColumns,
      String base,
      String questionColumn,
      String inputName,
      JobConfig config) {
    Set<String> consumed = new HashSet<>(imageColumns);
    consumed.add(idColumn);
    if (questionColumn != null) {
      consumed.add(questionColumn);
    }
    return shape(
        source,
        column(idColumn),
        images(source, imageColumns, base, inputName),
        questionColumn,
        consumed,
        config);
  }

  /**
   * The request rows of {@code source}.
   *
   * @param source the rows as read
   * @param id the id, any type (cast to string)
   * @param images the images, array&lt;{@link #IMAGE}&gt;
   * @param questionColumn the column whose text fills the template, or null
   * @param consumed source columns turned into id, images or question: not passed through
   */
  static Dataset<Row> shape(
      Dataset<Row> source,
      Column id,
      Column images,
      String questionColumn,
      Set<String> consumed,
      JobConfig config) {
    List<Column> columns = new ArrayList<>();
    columns.add(id.cast(DataTypes.StringType).as(ID));
    columns.add(images.as(IMAGES));
    columns.add(question(questionColumn, config).as(QUESTION));
    columns.add(lit(config.assistantPrefix()).cast(DataTypes.StringType).as(ASSISTANT_PREFIX));
    columns.add(lit(config.task().command()).as(TASK));
    if (hasColumn(source, INPUT_ERROR)) {
      columns.add(column(INPUT_ERROR));
    }
    for (String name : source.columns()) {
      if (!consumed.contains(name) && !name.equals(INPUT_ERROR)) {
        columns.add(column(name).as(PassThrough.name(name)));
      }
    }
    return source.select(columns.toArray(Column[]::new));
  }

  private static Column question(String questionColumn, JobConfig config) {
    if (questionColumn == null) {
      return lit(config.promptTemplate());
    }
    // replace() treats its arguments as plain text: a '$' or '\' in a question stays as it is
    return replace(
        lit(config.promptTemplate()),
        lit(Task.QUESTION_PLACEHOLDER),
        column(questionColumn).cast(DataTypes.StringType));
  }

  /**
   * The column whose text fills {@code {question}}: {@code --question-column}, else the first of
   * {@code defaults} that {@code source} has; null when the template takes no question.
   */
  static String questionColumn(
      Dataset<Row> source, JobConfig config, String inputName, List<String> defaults) {
    if (!config.usesQuestion()) {
      if (config.questionColumn() != null) {
        throw new JobConfigException(
            "setting question-column is '"
                + config.questionColumn()
                + "' but the prompt template '"
                + config.promptTemplate().replace("\n", "\\n")
                + "' has no "
                + Task.QUESTION_PLACEHOLDER
                + ": put "
                + Task.QUESTION_PLACEHOLDER
                + " in --prompt-template or drop --question-column");
      }
      return null;
    }
    if (config.questionColumn() != null) {
      return requireColumn(source, config.questionColumn(), JobOption.QUESTION_COLUMN, inputName);
    }
    for (String name : defaults) {
      if (Arrays.asList(source.columns()).contains(name)) {
        return name;
      }
    }
    throw new JobInputException(
        "the prompt template '"
            + config.promptTemplate().replace("\n", "\\n")
            + "' takes each row's "
            + Task.QUESTION_PLACEHOLDER
            + " but "
            + inputName
            + " has no question column (looked for "
            + (defaults.isEmpty() ? "none: this input has no text" : String.join(", ", defaults))
            + "); columns found: "
            + columnList(source)
            + ". Set --question-column, or a --prompt-template without "
            + Task.QUESTION_PLACEHOLDER);
  }

  /**
   * {@code name} if {@code source} has it; otherwise an error naming it, the setting and what is.
   */
  static String requireColumn(
      Dataset<Row> source, String name, JobOption setting, String inputName) {
    if (Arrays.asList(source.columns()).contains(name)) {
      return name;
    }
    throw new JobInputException(
        inputName
            + " has no column '"
            + name
            + "' ("
            + setting.option()
            + "); columns found: "
            + columnList(source));
  }

  /** Whether {@code source} has a column of exactly this name. */
  static boolean hasColumn(Dataset<Row> source, String name) {
    return Arrays.asList(source.columns()).contains(name);
  }

  static String columnList(Dataset<Row> source) {
    return Arrays.stream(source.schema().fields())
        .filter(f -> !f.name().equals(INPUT_ERROR) && !f.name().equals(ManifestLines.LINE))
        .map(f -> f.name() + " " + f.dataType().simpleString())
        .collect(Collectors.joining(", "));
  }

  /** A column by its exact name, dots and all. */
  static Column column(String name) {
    return col("`" + name.replace("`", "``") + "`");
  }

  /**
   * The images of the given columns, in order, skipping nulls: each column holds a path string,
   * binary bytes, an HF image struct&lt;bytes, path&gt;, or an array of these. A string that is a
   * JSON array of strings ({@code ["b.png", "c.png"]}) is that list of paths. Relative paths are
   * resolved against {@code base}.
   */
  static Column images(Dataset<Row> source, List<String> names, String base, String inputName) {
    DataType imageArray = DataTypes.createArrayType(IMAGE, true);
    List<Column> parts = new ArrayList<>();
    for (String name : names) {
      DataType type = source.schema().apply(name).dataType();
      Column c = column(name);
      Column part;
      if (type instanceof ArrayType arrayType && isImageElement(arrayType.elementType())) {
        DataType element = arrayType.elementType();
        part = transform(c, x -> image(x, element, base));
      } else if (type.equals(DataTypes.StringType)) {
        // JSON Lines mixing "a.png" and ["b.png", "c.png"] in one column is read as strings, the
        // array as its JSON text: such a value is read as that list of paths
        Column list = from_json(c, DataTypes.createArrayType(DataTypes.StringType, true));
        part =
            when(
                    c.rlike("^\\s*\\[.*\\]\\s*$").and(list.isNotNull()),
                    transform(list, x -> image(x, DataTypes.StringType, base)))
                .otherwise(array(image(c, type, base)));
      } else if (isImageElement(type)) {
        part = array(image(c, type, base));
      } else {
        throw new JobInputException(
            inputName
                + ": column '"
                + name
                + "' is "
                + type.simpleString()
                + ", expected an image: a path string, binary bytes, struct<bytes: binary, path:"
                + " string> or an array of these (--image-columns)");
      }
      parts.add(coalesce(part.cast(imageArray), array().cast(imageArray)));
    }
    Column all = flatten(array(parts.toArray(Column[]::new)));
    return filter(all, x -> x.isNotNull());
  }

  private static boolean isImageElement(DataType type) {
    if (type.equals(DataTypes.StringType) || type.equals(DataTypes.BinaryType)) {
      return true;
    }
    if (type instanceof StructType struct) {
      List<String> fields = Arrays.asList(struct.fieldNames());
      return (fields.contains("bytes") || fields.contains("path"))
          && Arrays.stream(struct.fields())
              .allMatch(
                  f ->
                      f.name().equals("bytes") && f.dataType().equals(DataTypes.BinaryType)
                          || f.name().equals("path") && f.dataType().equals(DataTypes.StringType)
                          || !f.name().equals("bytes") && !f.name().equals("path"));
    }
    return false;
  }

  /** One image struct from a value of {@code type}, null when it holds neither bytes nor path. */
  private static Column image(Column value, DataType type, String base) {
    Column bytes;
    Column path;
    if (type.equals(DataTypes.StringType)) {
      bytes = lit(null).cast(DataTypes.BinaryType);
      path = resolvedPath(value, base);
    } else if (type.equals(DataTypes.BinaryType)) {
      bytes = value;
      path = lit(null).cast(DataTypes.StringType);
    } else {
      List<String> fields = Arrays.asList(((StructType) type).fieldNames());
      bytes =
          fields.contains("bytes") ? value.getField("bytes") : lit(null).cast(DataTypes.BinaryType);
      Column rawPath =
          fields.contains("path") ? value.getField("path") : lit(null).cast(DataTypes.StringType);
      // HF keeps the file name beside embedded bytes; resolve it only when it is all there is
      path = when(bytes.isNull(), resolvedPath(rawPath, base)).otherwise(rawPath);
    }
    return when(value.isNull().or(bytes.isNull().and(path.isNull())), lit(null).cast(IMAGE))
        .otherwise(struct(bytes.as("bytes"), path.as("path")));
  }

  /**
   * A path as written in the input made usable by executors: URIs ({@code s3a://...}) and absolute
   * paths stay; relative ones are joined to {@code base}; empty ones become null.
   */
  static Column resolvedPath(Column path, String base) {
    Column relative = regexp_replace(path, "^(\\./)+", "");
    return when(path.isNull().or(path.equalTo("")), lit(null).cast(DataTypes.StringType))
        .when(path.rlike("^[A-Za-z][A-Za-z0-9+.-]+:").or(path.startsWith("/")), path)
        .otherwise(concat(lit(base.endsWith("/") ? base : base + "/"), relative));
  }
}
