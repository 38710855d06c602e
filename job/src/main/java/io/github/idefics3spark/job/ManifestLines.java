package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.from_csv;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * A JSON Lines or CSV manifest read line by line, so that a line that does not parse becomes a row
 * of its own, named by file and line, instead of failing the job or vanishing.
 *
 * <p>Each line is checked first: a JSON line must be one JSON object; a CSV line must have as many
 * fields as the header, every quote closed. The good lines are parsed as Spark parses such files
 * (the schema inferred from them, every CSV value a string). A bad line is a row whose id column
 * holds {@code file:line} (the file's name and the 1-based line number) and whose {@link
 * RequestRows#INPUT_ERROR} says what is wrong with it, without quoting it; the inference stage
 * answers it with error_kind {@code MALFORMED_ROW}. Blank lines are skipped, as Spark skips them.
 */
final class ManifestLines {
  /** The column naming a bad line, {@code file:line}; null on good lines. */
  static final String LINE = "input_line";

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private static final StructType NUMBERED =
      new StructType()
          .add("file", DataTypes.StringType, false)
          .add("line", DataTypes.LongType, false)
          .add("text", DataTypes.StringType, true);

  private ManifestLines() {}

  /** The rows of JSON Lines files: the objects' fields, plus {@link RequestRows#INPUT_ERROR}. */
  static Dataset<Row> jsonLines(SparkSession spark, String[] paths) {
    Dataset<Row> lines = numbered(spark, paths).where(col("text").rlike("\\S"));
    UserDefinedFunction problem =
        udf(
            (String text, String file, Long line) -> jsonProblem(text, file, line),
            DataTypes.StringType);
    lines =
        lines.withColumn(
            RequestRows.INPUT_ERROR, problem.apply(col("text"), col("file"), col("line")));
    Dataset<String> good =
        lines.where(col(RequestRows.INPUT_ERROR).isNull()).select("text").as(Encoders.STRING());
    StructType schema = spark.read().json(good).schema();
    return parsed(lines, from_json(col("text"), schema), schema);
  }

  /**
   * The rows of CSV files with a header: every value a string, plus {@link
   * RequestRows#INPUT_ERROR}.
   */
  static Dataset<Row> csv(SparkSession spark, String[] paths) {
    Dataset<Row> lines = numbered(spark, paths).where(col("text").rlike("\\S"));
    List<Row> first = lines.orderBy("file", "line").limit(1).collectAsList();
    if (first.isEmpty()) {
      throw new JobInputException("the CSV manifest has no header line: it is empty");
    }
    String header = first.get(0).getString(2);
    StructType schema =
        spark
            .read()
            .option("header", "true")
            .csv(spark.createDataset(List.of(header), Encoders.STRING()))
            .schema();
    int columns = schema.fields().length;
    lines = lines.where(col("line").gt(1));
    UserDefinedFunction problem =
        udf(
            (String text, String file, Long line) -> csvProblem(text, file, line, columns),
            DataTypes.StringType);
    lines =
        lines.withColumn(
            RequestRows.INPUT_ERROR, problem.apply(col("text"), col("file"), col("line")));
    Column values = from_csv(col("text"), lit(schema.toDDL()), Map.of("escape", "\""));
    return parsed(lines, values, schema);
  }

  /** The parsed fields of the good lines; on bad lines nulls, the id to be {@link #LINE}. */
  private static Dataset<Row> parsed(Dataset<Row> lines, Column parser, StructType schema) {
    List<Column> columns = new ArrayList<>();
    Column bad = col(RequestRows.INPUT_ERROR).isNotNull();
    Column value = when(col(RequestRows.INPUT_ERROR).isNull(), parser);
    for (StructField field : schema.fields()) {
      columns.add(value.getField(field.name()).as(field.name()));
    }
    columns.add(col(RequestRows.INPUT_ERROR));
    columns.add(
        when(
                bad,
                org.apache.spark.sql.functions.concat_ws(
                    ":", col("file"), col("line").cast("string")))
            .as(LINE));
    return lines.select(columns.toArray(Column[]::new));
  }

  /** Every line of the files (folders: the files directly in them), numbered from 1 per file. */
  private static Dataset<Row> numbered(SparkSession spark, String[] paths) {
    JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
    JavaRDD<Row> all = null;
    for (String file : files(spark, paths)) {
      String name = new Path(file).getName();
      JavaRDD<Row> rows =
          context
              .textFile(file)
              .zipWithIndex()
              .map((Tuple2<String, Long> t) -> RowFactory.create(name, t._2() + 1, withoutBom(t)));
      all = all == null ? rows : all.union(rows);
    }
    if (all == null) {
      all = context.emptyRDD();
    }
    return spark.createDataFrame(all, NUMBERED);
  }

  /** A line's text, the byte-order mark some editors write before the first line removed. */
  private static String withoutBom(Tuple2<String, Long> line) {
    String text = line._1();
    return line._2() == 0 && text.startsWith("\uFEFF") ? text.substring(1) : text;
  }

  /** The data files of {@code paths}: files as given, folders' visible files. */
  private static List<String> files(SparkSession spark, String[] paths) {
    List<String> files = new ArrayList<>();
    try {
      for (String p : paths) {
        Path path = new Path(p);
        FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
        FileStatus status = fs.getFileStatus(path);
        if (!status.isDirectory()) {
          files.add(status.getPath().toString());
          continue;
        }
        for (FileStatus child : fs.listStatus(path)) {
          String name = child.getPath().getName();
          if (child.isFile() && !name.startsWith("_") && !name.startsWith(".")) {
            files.add(child.getPath().toString());
          }
        }
      }
    } catch (IOException e) {
      throw new JobInputException("cannot list the manifest files: " + e.getMessage(), e);
    }
    files.sort(null);
    return files;
  }

  /** Why a JSON Lines line is no row, or null when it is one JSON object. */
  static String jsonProblem(String text, String file, long line) {
    JsonNode node;
    try {
      node = MAPPER.readTree(text);
    } catch (JsonParseException e) {
      return "line "
          + line
          + " of "
          + file
          + " is not JSON ("
          + e.getOriginalMessage().replaceAll("\\s*\\n.*", "")
          + " at column "
          + e.getLocation().getColumnNr()
          + "); fix or remove that line";
    } catch (JsonProcessingException e) {
      return "line "
          + line
          + " of "
          + file
          + " is not JSON ("
          + e.getOriginalMessage()
          + "); fix or remove that line";
    }
    if (node == null || !node.isObject()) {
      String what =
          node == null ? "nothing" : node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
      return "line "
          + line
          + " of "
          + file
          + " is not a JSON object but "
          + what
          + "; a JSON Lines manifest holds one object per line";
    }
    return null;
  }

  /** Why a CSV line is no row, or null when it has {@code columns} fields and closes its quotes. */
  static String csvProblem(String text, String file, long line, int columns) {
    int fields = 1;
    boolean quoted = false;
    boolean fieldStart = true;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (quoted) {
        if (c == '"') {
          if (i + 1 < text.length() && text.charAt(i + 1) == '"') {
            i++;
          } else {
            quoted = false;
          }
        }
      } else if (c == ',') {
        fields++;
        fieldStart = true;
        continue;
      } else if (c == '"' && fieldStart) {
        quoted = true;
      }
      fieldStart = false;
    }
    if (quoted) {
      return "line "
          + line
          + " of "
          + file
          + " has a quote that is never closed (a value spanning lines is not read); close the"
          + " quote or double the quotes inside it";
    }
    if (fields != columns) {
      return "line "
          + line
          + " of "
          + file
          + " has "
          + fields
          + " fields, the header "
          + columns
          + "; quote values that hold commas";
    }
    return null;
  }
}
