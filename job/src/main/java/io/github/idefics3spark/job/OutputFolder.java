package io.github.idefics3spark.job;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code --output} folder of the inference stage as it is before a run: what Spark's Parquet
 * writer and its committers leave there, and nothing else.
 *
 * <p>A folder holding anything else (a user's files, another program's output) is refused in every
 * mode, so that {@code --mode overwrite} can never delete what this job did not write. A {@code
 * _temporary} folder left by a run that was killed before its job commit holds task output that was
 * never committed: Hadoop's file output committer would merge it into the next run's commit,
 * duplicating rows, so {@link #inspect} removes it before an append or resume (its rows were not in
 * the output, so resume answers them again).
 */
final class OutputFolder {
  private static final Logger LOG = LoggerFactory.getLogger(OutputFolder.class);

  /** The folder of uncommitted task output of Hadoop's FileOutputCommitter. */
  static final String TEMPORARY = "_temporary";

  /** The start of the names of the inference stage's working folders for --retry-errors. */
  static final String RETRY_PREFIX = "_retry-";

  /** The empty file {@link #checkWritable} writes and deletes; a left one is removed. */
  static final String WRITE_CHECK = "_write-check";

  /**
   * What Spark's Parquet write leaves in its folder: data files, checksums, the success marker,
   * committers' working folders (FileOutputCommitter's _temporary, the S3A magic committer's
   * __magic*, Spark's .spark-staging-*), and this stage's own working folders (_retry-*).
   */
  private static final Pattern WRITTEN_BY_SPARK =
      Pattern.compile(
          "part-.*|\\..*\\.crc|_SUCCESS|_temporary|__magic.*|\\.spark-staging-.*|_retry-.*"
              + "|_write-check");

  /**
   * @param path the folder, qualified
   * @param dataFiles the data files directly in it, as full paths; empty when it does not exist
   */
  record State(Path path, List<String> dataFiles) {
    boolean hasData() {
      return !dataFiles.isEmpty();
    }
  }

  private OutputFolder() {}

  /**
   * Lists {@code output}, refusing a file or a folder holding what Spark did not write, and clears
   * a stale {@value #TEMPORARY} folder when {@code mode} adds to the output.
   *
   * @throws IllegalArgumentException naming what was found there and the setting to change
   */
  static State inspect(FileSystem fs, Path output, OutputMode mode) {
    try {
      Path path = fs.makeQualified(output);
      FileStatus[] children;
      try {
        FileStatus status = fs.getFileStatus(path);
        if (!status.isDirectory()) {
          throw isAFile(output);
        }
        children = fs.listStatus(path);
      } catch (FileNotFoundException e) {
        return new State(path, List.of());
      }
      List<String> dataFiles = new ArrayList<>();
      List<String> foreign = new ArrayList<>();
      List<Path> stale = new ArrayList<>();
      for (FileStatus child : children) {
        String name = child.getPath().getName();
        if (!WRITTEN_BY_SPARK.matcher(name).matches()) {
          foreign.add(name + (child.isDirectory() ? "/" : ""));
        } else if (name.equals(TEMPORARY)
            || name.startsWith(RETRY_PREFIX)
            || name.equals(WRITE_CHECK)) {
          stale.add(child.getPath());
        } else if (child.isFile() && name.startsWith("part-")) {
          dataFiles.add(child.getPath().toString());
        }
      }
      if (!foreign.isEmpty()) {
        foreign.sort(null);
        throw new IllegalArgumentException(
            "--output "
                + output
                + " holds "
                + String.join(", ", foreign.subList(0, Math.min(5, foreign.size())))
                + (foreign.size() > 5 ? " and " + (foreign.size() - 5) + " more" : "")
                + ", which this job did not write; the output must be a new or empty folder or an"
                + " earlier output of this job (Parquet part files), so no mode can replace or mix"
                + " with other data: give another --output");
      }
      if (mode != OutputMode.OVERWRITE) {
        for (Path folder : stale) {
          LOG.warn(
              "{} holds the uncommitted work of a run that did not finish; removing it so that"
                  + " this run's commit does not merge it (rows not in the output are answered"
                  + " again)",
              folder);
          fs.delete(folder, true);
        }
      }
      return new State(path, List.copyOf(dataFiles));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list --output " + output + ": " + e.getMessage(), e);
    }
  }

  /**
   * Creates {@code output} (with its parents) and writes and deletes an empty file in it, so that
   * an output the job cannot write (no permission, a read-only file system, a file in the way, a
   * bucket that does not exist or refuses the credentials) is refused before any inference instead
   * of failing every task of the write.
   *
   * @throws IllegalArgumentException one line naming --output and the file system's reason
   */
  static void checkWritable(String output, Configuration hadoop) {
    Path folder = new Path(output);
    Path probe = new Path(folder, WRITE_CHECK);
    try {
      FileSystem fs = folder.getFileSystem(hadoop);
      if (fs.isFile(folder)) {
        throw isAFile(output.toString());
      }
      if (!fs.mkdirs(folder)) {
        throw new IOException("the folder cannot be created");
      }
      fs.create(probe, true).close();
      fs.delete(probe, false);
    } catch (IOException | RuntimeException e) {
      if (e instanceof IllegalArgumentException refused) {
        throw refused;
      }
      String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      throw new IllegalArgumentException(
          "--output "
              + output
              + " cannot be written: "
              + reason.replaceAll("\\s+", " ")
              + " ("
              + e.getClass().getSimpleName()
              + "); give an --output the job can create and write in (check its and its parents'"
              + " permissions, a read-only or full file system, and for s3a: the bucket, endpoint"
              + " and credentials)",
          e);
    }
  }

  private static IllegalArgumentException isAFile(Object output) {
    return new IllegalArgumentException(
        "--output "
            + output
            + " is a file; the output is a folder of Parquet files: give a new folder or an"
            + " earlier output of this job");
  }

  /**
   * Refuses an output folder that equals, contains or lies inside one of {@code folders} (the
   * input's folder, the model's), so that no mode can delete or write into what the job reads.
   * Local paths are compared after resolving symbolic links; a folder that is null is skipped.
   *
   * @param folders each as {@code setting -> path or URI}, e.g. {@code "--input" -> "/data/images"}
   * @throws IllegalArgumentException naming both settings
   */
  static void checkApart(String output, List<Setting> folders, Configuration hadoop) {
    checkApart("--output", output, folders, hadoop);
  }

  /**
   * {@link #checkApart(String, List, Configuration)} for another folder the job writes, named by
   * {@code outputSetting} (--assemble-output, --pictures-output).
   */
  static void checkApart(
      String outputSetting, String output, List<Setting> folders, Configuration hadoop) {
    String out = comparable(output, hadoop);
    for (Setting folder : folders) {
      if (folder.value() == null) {
        continue;
      }
      String other = comparable(folder.value(), hadoop);
      String relation =
          out.equals(other)
              ? "is the same folder as"
              : other.startsWith(out + "/")
                  ? "contains"
                  : out.startsWith(other + "/") ? "lies inside" : null;
      if (relation != null) {
        throw new IllegalArgumentException(
            outputSetting
                + " "
                + output
                + " "
                + relation
                + " "
                + folder.name()
                + " "
                + folder.value()
                + ": the job would write into or replace what it reads; give an "
                + outputSetting
                + " outside "
                + folder.name()
                + "'s folder");
      }
    }
  }

  /** A setting's name and its path or URI. */
  record Setting(String name, String value) {}

  /**
   * {@code location} qualified by its file system, without a trailing slash; for a local path, the
   * real path of its longest existing part (symbolic links resolved) followed by the rest.
   */
  private static String comparable(String location, Configuration hadoop) {
    Path path = new Path(location);
    URI uri;
    try {
      uri = path.getFileSystem(hadoop).makeQualified(path).toUri();
    } catch (IOException | IllegalArgumentException e) {
      uri = path.toUri();
    }
    String text = uri.toString();
    if ("file".equals(uri.getScheme())) {
      try {
        java.nio.file.Path local = Paths.get(uri).normalize();
        java.nio.file.Path existing = local;
        while (existing != null && !Files.exists(existing)) {
          existing = existing.getParent();
        }
        if (existing != null) {
          local = existing.toRealPath().resolve(existing.relativize(local));
        }
        text = "file:" + local;
      } catch (IOException | IllegalArgumentException e) {
        // compare the qualified text
      }
    }
    return text.endsWith("/") ? text.substring(0, text.length() - 1) : text;
  }
}
