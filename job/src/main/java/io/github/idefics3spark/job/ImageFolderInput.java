package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.lower;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.when;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;

/**
 * Reads a folder of images: Spark's {@code binaryFile} source lists it (glob, recursion), and the
 * bytes are read later, by the inference stage, through Hadoop's FileSystem. One row per image; its
 * id is the file's path relative to the folder ({@code sub/dir/a.jpg}); no question column.
 */
public final class ImageFolderInput {
  /** File names read when no {@code --glob} is given, any case. */
  public static final String IMAGE_EXTENSIONS = "jpg, jpeg, png, gif, bmp, webp, tif, tiff";

  private static final String IMAGE_NAME_PATTERN = "\\.(jpe?g|png|gif|bmp|webp|tiff?)$";

  private ImageFolderInput() {}

  /**
   * The request rows of the images under {@code root}.
   *
   * @param root the folder, as qualified by its file system ({@code file:/data/x}, {@code
   *     s3a://bucket/prefix})
   */
  static Dataset<Row> read(SparkSession spark, String root, JobConfig config) {
    DataFrameReader reader =
        spark.read().format("binaryFile").option("recursiveFileLookup", "true");
    if (config.glob() != null) {
      reader = reader.option("pathGlobFilter", config.glob());
    }
    // The listing only, on the driver: a scan would drop zero-byte files without a word, and each
    // input file must give a row (an empty image is an error row, not a missing one).
    List<String> paths = new ArrayList<>();
    for (String uri : reader.load(root).inputFiles()) {
      paths.add(new Path(URI.create(uri)).toString());
    }
    Dataset<Row> files = spark.createDataset(paths, Encoders.STRING()).toDF("path");
    if (config.glob() == null) {
      files = files.where(lower(col("path")).rlike(IMAGE_NAME_PATTERN));
    }
    String prefix = root.endsWith("/") ? root : root + "/";
    Column relative =
        when(col("path").startsWith(prefix), col("path").substr(prefix.length() + 1, 1 << 30))
            .otherwise(col("path"));
    files = files.withColumn("relative_path", relative);
    if (!config.recursive()) {
      files = files.where(not(col("relative_path").contains("/")));
    }
    String inputName = "--input " + config.input();
    String questionColumn =
        RequestRows.questionColumn(
            files.select(col("relative_path")), config, inputName, List.of());
    Column images =
        array(struct(lit(null).cast(DataTypes.BinaryType).as("bytes"), col("path").as("path")));
    return RequestRows.shape(
        files,
        col("relative_path"),
        images,
        questionColumn,
        Set.of("path", "relative_path"),
        config);
  }
}
