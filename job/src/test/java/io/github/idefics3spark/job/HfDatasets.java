package io.github.idefics3spark.job;

import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The Hugging Face dataset layouts of shared/spec/benchmarks.md, column for column as the datasets'
 * Parquet files hold them, and the one writer of the small Parquet files the tests make in those
 * layouts (and in any other: predictions, manifests).
 */
final class HfDatasets {
  static final ArrayType STRINGS = DataTypes.createArrayType(DataTypes.StringType);

  /** lmms-lab/DocVQA, config DocVQA. */
  static final StructType DOCVQA =
      new StructType()
          .add("questionId", DataTypes.StringType)
          .add("question", DataTypes.StringType)
          .add("question_types", STRINGS)
          .add("image", RequestRows.IMAGE)
          .add("docId", DataTypes.IntegerType)
          .add("ucsf_document_id", DataTypes.StringType)
          .add("ucsf_document_page_no", DataTypes.StringType)
          .add("answers", STRINGS)
          .add("data_split", DataTypes.StringType);

  /** The {@code metadata} struct of AI4Math/MathVista. */
  static final StructType MATHVISTA_METADATA =
      new StructType()
          .add("category", DataTypes.StringType)
          .add("context", DataTypes.StringType)
          .add("grade", DataTypes.StringType)
          .add("img_height", DataTypes.LongType)
          .add("img_width", DataTypes.LongType)
          .add("language", DataTypes.StringType)
          .add("skills", STRINGS)
          .add("source", DataTypes.StringType)
          .add("split", DataTypes.StringType)
          .add("task", DataTypes.StringType);

  /** AI4Math/MathVista. */
  static final StructType MATHVISTA =
      new StructType()
          .add("pid", DataTypes.StringType)
          .add("question", DataTypes.StringType)
          .add("image", DataTypes.StringType)
          .add("decoded_image", RequestRows.IMAGE)
          .add("choices", STRINGS)
          .add("unit", DataTypes.StringType)
          .add("precision", DataTypes.DoubleType)
          .add("answer", DataTypes.StringType)
          .add("question_type", DataTypes.StringType)
          .add("answer_type", DataTypes.StringType)
          .add("metadata", MATHVISTA_METADATA)
          .add("query", DataTypes.StringType);

  private HfDatasets() {}

  /** Writes the rows as one Parquet file in the folder {@code dir/name}; returns that folder. */
  static Path write(SparkSession spark, Path dir, String name, StructType schema, List<Row> rows) {
    Path path = dir.resolve(name);
    write(spark, path.toString(), schema, rows);
    return path;
  }

  /** Writes the rows as one Parquet file in the folder at a Hadoop location (a path, s3a:). */
  static void write(SparkSession spark, String location, StructType schema, List<Row> rows) {
    spark.createDataFrame(rows, schema).coalesce(1).write().parquet(location);
  }
}
