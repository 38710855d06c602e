package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.lower;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.when;

import io.github.idefics3spark.spark.RedactedUri;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.GlobFilter;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;

/**
 * Reads a folder of images: the driver lists it through Hadoop's FileSystem (glob, recursion, each
 * local folder once by its real path), and the bytes are read later, by the inference stage,
 * through Hadoop's FileSystem. One row per image; its id is the file's path relative to the folder
 * ({@code sub/dir/a.jpg}); no question column. PDFs and TIFFs are split into pages afterwards
 * ({@link JobInput}).
 */
public final class ImageFolderInput {
  /** File names read when no {@code --glob} is given, any case. */
  public static final String IMAGE_EXTENSIONS = "jpg, jpeg, png, gif, bmp, webp, tif, tiff, pdf";

  private static final String IMAGE_NAME_PATTERN = "\\.(jpe?g|png|gif|bmp|webp|tiff?|pdf)$";

  private ImageFolderInput() {}

  /**
   * The request rows of the images under {@code root}.
   *
   * @param root the folder, as qualified by its file system ({@code file:/data/x}, {@code
   *     s3a://bucket/prefix})
   */
  static Dataset<Row> read(SparkSession spark, String root, JobConfig config) {
    // The listing only, on the driver: a scan would drop zero-byte files without a word, and each
    // input file must give a row (an empty image is an error row, not a missing one).
    List<String> paths = list(spark, root, config);
    Dataset<Row> files = spark.createDataset(paths, Encoders.STRING()).toDF("path");
    if (config.glob() == null) {
      files = files.where(lower(col("path")).rlike(IMAGE_NAME_PATTERN));
    }
    String prefix = root.endsWith("/") ? root : root + "/";
    Column relative =
        when(col("path").startsWith(prefix), col("path").substr(prefix.length() + 1, 1 << 30))
            .otherwise(col("path"));
    files = files.withColumn("relative_path", relative);
    String inputName = "--input " + RedactedUri.of(config.input());
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

  /**
   * The files under {@code root}, sorted: names starting with "." or "_" skipped at every depth (as
   * Spark's file sources skip them), {@code --glob} applied to file names, sub-folders read when
   * {@code --recursive}. On a local file system each folder is read once by its real path, so a
   * symlink to a parent (a loop) or a second link to the same folder adds no rows; Hadoop's other
   * file systems have no folder links and are listed flat.
   */
  private static List<String> list(SparkSession spark, String root, JobConfig config) {
    Path rootPath = new Path(root);
    List<String> paths = new ArrayList<>();
    try {
      FileSystem fs = rootPath.getFileSystem(spark.sparkContext().hadoopConfiguration());
      GlobFilter glob = config.glob() == null ? null : new GlobFilter(config.glob());
      if (fs.getUri().getScheme().equals("file")) {
        walkLocal(fs, rootPath, glob, config.recursive(), paths);
      } else {
        RemoteIterator<LocatedFileStatus> files = fs.listFiles(rootPath, config.recursive());
        String prefix = rootPath.toUri().getPath().replaceAll("/*$", "/");
        while (files.hasNext()) {
          Path file = files.next().getPath();
          String relative = file.toUri().getPath();
          relative = relative.startsWith(prefix) ? relative.substring(prefix.length()) : relative;
          boolean hidden = false;
          for (String part : relative.split("/")) {
            hidden |= isHidden(part);
          }
          if (!hidden && (glob == null || glob.accept(new Path(file.getName())))) {
            paths.add(file.toString());
          }
        }
      }
    } catch (IOException e) {
      throw new JobInputException(
          "--input " + RedactedUri.of(config.input() + " cannot be listed: " + e.getMessage()), e);
    }
    paths.sort(null);
    return paths;
  }

  /**
   * Lists {@code root}'s tree without following symlinked folders, then each symlinked folder whose
   * real path was not read yet (breadth first): a file reached both ways keeps its real path.
   */
  private static void walkLocal(
      FileSystem fs, Path root, GlobFilter glob, boolean recursive, List<String> out)
      throws IOException {
    Set<java.nio.file.Path> seen = new HashSet<>();
    Deque<Path> links = new ArrayDeque<>();
    walkFolder(fs, root, glob, recursive, seen, links, out);
    while (!links.isEmpty()) {
      walkFolder(fs, links.poll(), glob, true, seen, links, out);
    }
  }

  private static void walkFolder(
      FileSystem fs,
      Path dir,
      GlobFilter glob,
      boolean recursive,
      Set<java.nio.file.Path> seen,
      Deque<Path> links,
      List<String> out)
      throws IOException {
    if (!seen.add(java.nio.file.Path.of(dir.toUri()).toRealPath())) {
      return; // a folder already read: a symlink loop, or a second link to it
    }
    FileStatus[] children = fs.listStatus(dir);
    Arrays.sort(children, Comparator.comparing(c -> c.getPath().getName()));
    for (FileStatus child : children) {
      String name = child.getPath().getName();
      if (isHidden(name)) {
        continue;
      }
      if (child.isDirectory()) {
        if (!recursive) {
          continue;
        }
        if (Files.isSymbolicLink(java.nio.file.Path.of(child.getPath().toUri()))) {
          links.add(child.getPath());
        } else {
          walkFolder(fs, child.getPath(), glob, true, seen, links, out);
        }
      } else if (glob == null || glob.accept(new Path(name))) {
        out.add(child.getPath().toString());
      }
    }
  }

  /** Spark's file sources skip these: hidden files, and metadata such as _SUCCESS. */
  private static boolean isHidden(String name) {
    return name.startsWith(".") || name.startsWith("_");
  }
}
