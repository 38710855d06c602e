package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;

import io.github.idefics3spark.spark.PageRequests;
import io.github.idefics3spark.spark.RedactedUri;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds {@code --input} through Hadoop's FileSystem (local, {@code hdfs:}, {@code s3a:}), decides
 * how to read it, reads it with {@link ImageFolderInput}, {@link ManifestInput} or {@link
 * HfParquetInput}, splits PDFs and TIFFs into one request per page ({@link PageRequests}, on the
 * executors), applies {@code --limit} and {@code --partitions} (page requests are repartitioned
 * anyway, so one document's pages spread over tasks), and checks the ids: the request rows of a
 * job.
 */
public final class JobInput {
  private static final Logger LOG = LoggerFactory.getLogger(JobInput.class);
  private static final Pattern IMAGE_FILE =
      Pattern.compile(".*\\.(jpe?g|png|gif|bmp|webp|tiff?|pdf)$", Pattern.CASE_INSENSITIVE);

  /**
   * What was read and how.
   *
   * @param rows the request rows ({@link RequestRows})
   * @param format the format used (never {@link InputFormat#AUTO})
   * @param description a line for the log: the input, format and layout
   * @param folder the input's folder: the folder read, or the folder of the files read (relative
   *     image paths of a manifest are resolved against it)
   */
  public record Read(Dataset<Row> rows, InputFormat format, String description, String folder) {}

  private JobInput() {}

  /**
   * The request rows of {@code config}'s input.
   *
   * @throws JobInputException when the input is missing, unreadable, or lacks a column it needs
   */
  public static Read read(SparkSession spark, JobConfig config) {
    Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    Path path = new Path(config.input());
    FileStatus[] matches;
    FileSystem fs;
    try {
      fs = path.getFileSystem(hadoop);
      matches = fs.globStatus(path);
    } catch (IOException | RuntimeException e) {
      throw new JobInputException(
          "--input "
              + RedactedUri.of(config.input())
              + " cannot be read: "
              + RedactedUri.of(e.getMessage()),
          e);
    }
    if (matches == null || matches.length == 0) {
      throw new JobInputException(
          "--input "
              + RedactedUri.of(config.input())
              + ": no such file or folder"
              + (path.toString().matches(".*[*?\\[{].*") ? " matches" : "")
              + " (check the path; for s3a:, the bucket, endpoint and credentials)");
    }
    String[] paths = Arrays.stream(matches).map(s -> s.getPath().toString()).toArray(String[]::new);
    boolean folder = matches.length == 1 && matches[0].isDirectory();
    String base =
        folder ? matches[0].getPath().toString() : matches[0].getPath().getParent().toString();

    InputFormat format = config.inputFormat();
    ManifestInput.Kind kind = folder ? kindOfFolder(fs, matches[0]) : kindOfFiles(matches);
    if (format == InputFormat.AUTO) {
      format = kind == null ? InputFormat.FOLDER : null;
    }
    if (format == InputFormat.FOLDER && !folder) {
      throw new JobInputException(
          "--input "
              + RedactedUri.of(config.input())
              + " is not a folder, but --input-format is folder (a folder of images); give the"
              + " folder, or --input-format manifest or hf-parquet for a table");
    }

    Dataset<Row> rows;
    String description;
    if (format == InputFormat.FOLDER) {
      rows = ImageFolderInput.read(spark, base, config);
      description = "folder of images " + base;
      if (rows.isEmpty()) {
        throw new JobInputException(
            "--input "
                + RedactedUri.of(config.input())
                + ": no image files"
                + (config.recursive() ? " in it or its sub-folders" : " in it (--recursive false)")
                + (config.glob() == null
                    ? " with the extensions " + ImageFolderInput.IMAGE_EXTENSIONS
                    : " whose name matches --glob " + config.glob()));
      }
    } else {
      if (kind == null) {
        throw new JobInputException(
            "--input "
                + RedactedUri.of(config.input())
                + " holds no .parquet, .jsonl, .json or .csv file, but --input-format is "
                + format.value()
                + " (a table); give the table's file or folder, or --input-format folder");
      }
      Dataset<Row> source;
      try {
        source = ManifestInput.load(spark, kind, paths);
      } catch (RuntimeException e) {
        throw new JobInputException(
            "--input "
                + RedactedUri.of(config.input())
                + " cannot be read as "
                + kind
                + ": "
                + RedactedUri.of(e.getMessage()),
            e);
      }
      if (format == null) {
        format =
            kind == ManifestInput.Kind.PARQUET && HfParquetInput.hasImageStruct(source)
                ? InputFormat.HF_PARQUET
                : InputFormat.MANIFEST;
      }
      if (format == InputFormat.HF_PARQUET) {
        rows = HfParquetInput.read(source, base, config);
        description =
            "Hugging Face "
                + HfLayout.detect(source.columns()).displayName()
                + " Parquet "
                + String.join(",", paths);
      } else {
        rows = ManifestInput.read(source, base, config);
        description = kind.name().toLowerCase(Locale.ROOT) + " manifest " + String.join(",", paths);
      }
    }
    boolean pages = format != InputFormat.HF_PARQUET && PageRequests.hasDocuments(rows);
    if (pages) {
      try {
        List<String> roots = new ArrayList<>(List.of(base));
        roots.addAll(config.allowPathPrefixes());
        rows = PageRequests.split(rows, roots);
      } catch (IllegalArgumentException e) {
        throw new JobInputException(
            "--input " + RedactedUri.of(config.input()) + ": " + e.getMessage(), e);
      }
      description += ", PDF and TIFF pages one request each at " + config.dpi() + " DPI";
    }
    if (config.limit() > 0) {
      rows = rows.limit((int) Math.min(Integer.MAX_VALUE, config.limit()));
    }
    if (format != InputFormat.FOLDER) {
      // a folder's ids are the files' relative paths: never null, never repeated
      checkIds(rows, config);
    }
    if (config.partitions() > 0) {
      rows = rows.repartition(config.partitions());
    } else if (pages) {
      // the pages of one document were split in one task: spread them before inference
      rows =
          rows.repartition(
              Math.max(spark.sparkContext().defaultParallelism(), rows.rdd().getNumPartitions()));
    }
    description = RedactedUri.of(description);
    LOG.info("input: {} read as {}", description, format.value());
    return new Read(rows, format, description, base);
  }

  /** The manifest kind of the data files directly in {@code dir}, or null if it holds images. */
  private static ManifestInput.Kind kindOfFolder(FileSystem fs, FileStatus dir) {
    FileStatus[] children;
    try {
      children = fs.listStatus(dir.getPath());
    } catch (IOException e) {
      throw new JobInputException(
          "--input " + RedactedUri.of(dir.getPath() + " cannot be listed: " + e.getMessage()), e);
    }
    List<FileStatus> files = new ArrayList<>();
    for (FileStatus child : children) {
      String name = child.getPath().getName();
      if (child.isFile() && !name.startsWith("_") && !name.startsWith(".")) {
        files.add(child);
      }
    }
    if (files.stream().anyMatch(f -> IMAGE_FILE.matcher(f.getPath().getName()).matches())) {
      return null;
    }
    return files.isEmpty() ? null : kindOfFiles(files.toArray(FileStatus[]::new));
  }

  private static ManifestInput.Kind kindOfFiles(FileStatus[] files) {
    for (FileStatus file : files) {
      ManifestInput.Kind kind = ManifestInput.Kind.ofFileName(file.getPath().getName());
      if (kind != null) {
        return kind;
      }
    }
    return null;
  }

  /** Refuses null and repeated ids: resume and "each id once" rest on them. */
  private static void checkIds(Dataset<Row> rows, JobConfig config) {
    List<Row> bad =
        rows.groupBy(col(RequestRows.ID))
            .count()
            .where(col(RequestRows.ID).isNull().or(col("count").gt(1)))
            .limit(6)
            .collectAsList();
    if (bad.isEmpty()) {
      return;
    }
    String idSetting =
        config.idColumn() != null
            ? "--id-column " + config.idColumn()
            : "the default id column (--id-column)";
    List<String> problems = new ArrayList<>();
    for (Row row : bad.subList(0, Math.min(5, bad.size()))) {
      problems.add(
          row.isNullAt(0)
              ? row.getLong(1) + " rows have no id"
              : "'" + row.getString(0) + "' appears " + row.getLong(1) + " times");
    }
    throw new JobInputException(
        "--input "
            + RedactedUri.of(config.input())
            + ": ids must be unique and not null ("
            + idSetting
            + "), but "
            + String.join("; ", problems)
            + (bad.size() > 5 ? "; ..." : "")
            + ". Choose a unique column with --id-column");
  }
}
