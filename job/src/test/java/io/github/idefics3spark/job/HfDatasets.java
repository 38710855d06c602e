package io.github.idefics3spark.job;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The Hugging Face dataset layouts of shared/spec/benchmarks.md, column for column as the datasets'
 * Parquet files hold them, their image values ({@link #image}), and the one writer of the small
 * Parquet files the tests make in those layouts (and in any other: predictions, manifests).
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

  /** MMMU/MMMU (a subject config): up to seven images, {@code options} a Python list literal. */
  static final StructType MMMU =
      new StructType()
          .add("id", DataTypes.StringType)
          .add("question", DataTypes.StringType)
          .add("options", DataTypes.StringType)
          .add("explanation", DataTypes.StringType)
          .add("image_1", RequestRows.IMAGE)
          .add("image_2", RequestRows.IMAGE)
          .add("image_3", RequestRows.IMAGE)
          .add("image_4", RequestRows.IMAGE)
          .add("image_5", RequestRows.IMAGE)
          .add("image_6", RequestRows.IMAGE)
          .add("image_7", RequestRows.IMAGE)
          .add("img_type", DataTypes.StringType)
          .add("answer", DataTypes.StringType)
          .add("topic_difficulty", DataTypes.StringType)
          .add("question_type", DataTypes.StringType)
          .add("subfield", DataTypes.StringType);

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

  /** An HF {@code Image} value of a bundled fixture image: its bytes, its name as the path. */
  static Row image(String name) {
    try {
      return RowFactory.create(Files.readAllBytes(SparkTestSession.IMAGES.resolve(name)), name);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

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
