package io.github.idefics3spark.job;

import io.github.idefics3spark.spark.RedactedUri;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructField;

/**
 * Reads Hugging Face dataset Parquet files as published (DocVQA, TextVQA, MMMU, MMStar, MathVista
 * or any table with struct&lt;bytes: binary, path: string&gt; image columns): the layout is
 * recognised by its columns ({@link HfLayout}), and gives the id, question and image columns that
 * options do not set.
 */
public final class HfParquetInput {
  private HfParquetInput() {}

  /** Whether {@code source} has a column of HF images. */
  static boolean hasImageStruct(Dataset<Row> source) {
    return Arrays.stream(source.schema().fields())
        .anyMatch(f -> HfLayout.isImageStruct(f.dataType()));
  }

  /**
   * The request rows of {@code source}, read from {@code --input}.
   *
   * @param base where relative image paths (a struct with a path and no bytes) are resolved
   */
  static Dataset<Row> read(Dataset<Row> source, String base, JobConfig config) {
    HfLayout layout = HfLayout.detect(source.columns());
    String inputName =
        "--input " + RedactedUri.of(config.input()) + " (" + layout.displayName() + " layout)";
    String id =
        RequestRows.requireColumn(
            source,
            config.idColumn() != null ? config.idColumn() : layout.idColumn(),
            JobOption.ID_COLUMN,
            inputName);
    List<String> images = imageColumns(source, layout, config, inputName);
    String question =
        RequestRows.questionColumn(source, config, inputName, List.of(layout.questionColumn()));
    return RequestRows.shape(source, id, images, base, question, inputName, config);
  }

  private static List<String> imageColumns(
      Dataset<Row> source, HfLayout layout, JobConfig config, String inputName) {
    if (!config.imageColumns().isEmpty()) {
      for (String name : config.imageColumns()) {
        RequestRows.requireColumn(source, name, JobOption.IMAGE_COLUMNS, inputName);
      }
      return config.imageColumns();
    }
    List<String> present = Arrays.asList(source.columns());
    List<String> found = new ArrayList<>();
    if (layout.imageColumns().isEmpty()) {
      for (StructField field : source.schema().fields()) {
        if (HfLayout.isImageStruct(field.dataType())) {
          found.add(field.name());
        }
      }
    } else {
      layout.imageColumns().stream().filter(present::contains).forEach(found::add);
    }
    if (found.isEmpty()) {
      throw new JobInputException(
          inputName
              + " has no image column: expected "
              + (layout.imageColumns().isEmpty()
                  ? "a column of struct<bytes: binary, path: string>"
                  : String.join(" or ", layout.imageColumns()))
              + "; columns found: "
              + RequestRows.columnList(source)
              + ". Set --image-columns");
    }
    return found;
  }
}
