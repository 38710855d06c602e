package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;

import io.github.idefics3spark.spark.RedactedUri;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;

/**
 * Reads a manifest: a Parquet, JSON Lines or CSV table with an id, one or more image columns
 * (paths, relative ones resolved against the manifest's folder; bytes; HF image structs; or arrays
 * of these), a question or prompt, and any other columns, passed through.
 */
public final class ManifestInput {
  /** The question columns looked for when {@code --question-column} is not set, in order. */
  public static final List<String> QUESTION_COLUMNS = List.of("question", "prompt");

  /** Image columns taken when {@code --image-columns} is not set, in schema order. */
  private static final Pattern IMAGE_COLUMN =
      Pattern.compile("image|images|image_path|image_paths|image_\\d+");

  /** A manifest file's kind, from its extension. */
  enum Kind {
    PARQUET,
    JSON_LINES,
    CSV;

    /** The kind of a file named {@code name}, or null for none of these. */
    static Kind ofFileName(String name) {
      String lower = name.toLowerCase(Locale.ROOT);
      if (lower.endsWith(".parquet")) {
        return PARQUET;
      }
      if (lower.endsWith(".jsonl") || lower.endsWith(".json") || lower.endsWith(".ndjson")) {
        return JSON_LINES;
      }
      if (lower.endsWith(".csv")) {
        return CSV;
      }
      return null;
    }
  }

  private ManifestInput() {}

  /**
   * The manifest's rows: Parquet as Spark reads it; JSON Lines and CSV (with a header, every value
   * a string) line by line, a line that does not parse kept as a row that says so ({@link
   * ManifestLines}).
   */
  static Dataset<Row> load(SparkSession spark, Kind kind, String[] paths) {
    return switch (kind) {
      case PARQUET -> spark.read().parquet(paths);
      case JSON_LINES -> ManifestLines.jsonLines(spark, paths);
      case CSV -> ManifestLines.csv(spark, paths);
    };
  }

  /**
   * The request rows of the manifest {@code source}.
   *
   * @param base the manifest's folder, against which relative image paths are resolved
   */
  static Dataset<Row> read(Dataset<Row> source, String base, JobConfig config) {
    String inputName = "--input " + RedactedUri.of(config.input()) + " (manifest)";
    String id =
        RequestRows.requireColumn(
            source,
            config.idColumn() != null ? config.idColumn() : RequestRows.ID,
            JobOption.ID_COLUMN,
            inputName);
    List<String> images = new ArrayList<>();
    if (!config.imageColumns().isEmpty()) {
      for (String name : config.imageColumns()) {
        images.add(RequestRows.requireColumn(source, name, JobOption.IMAGE_COLUMNS, inputName));
      }
    } else {
      for (String name : source.columns()) {
        if (IMAGE_COLUMN.matcher(name).matches()) {
          images.add(name);
        }
      }
      if (images.isEmpty()) {
        throw new JobInputException(
            inputName
                + " has no image column (looked for image, images, image_path, image_paths,"
                + " image_1, image_2, ...); columns found: "
                + RequestRows.columnList(source)
                + ". Set --image-columns");
      }
    }
    String question = RequestRows.questionColumn(source, config, inputName, QUESTION_COLUMNS);
    if (RequestRows.hasColumn(source, ManifestLines.LINE)) {
      // a line that does not parse is named by its file and line number
      source =
          source
              .withColumn(
                  id,
                  coalesce(
                      col(ManifestLines.LINE), RequestRows.column(id).cast(DataTypes.StringType)))
              .drop(ManifestLines.LINE);
    }
    return RequestRows.shape(source, id, images, base, question, inputName, config);
  }
}
