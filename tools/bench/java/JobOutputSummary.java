import java.io.File;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;

/**
 * Reads the Parquet a {@code caption} run wrote (tools/bench/job.sh) and prints, as one JSON line,
 * what the runtime side prints about its own answers: rows, errors, generated and prompt tokens,
 * image frames, the summed per-row preprocessing time and the summed model time of the batches
 * (encode_ms + generate_ms, once per batch: a batch's rows share them), and the part files
 * (partitions that wrote rows).
 *
 * <p>Usage: JobOutputSummary OUTPUT_DIR (classpath: Spark's jars, for parquet-hadoop and Hadoop)
 */
public final class JobOutputSummary {
  public static void main(String[] args) throws Exception {
    File[] parts = new File(args[0]).listFiles((dir, name) -> name.endsWith(".parquet"));
    long rows = 0;
    long errors = 0;
    long generated = 0;
    long promptTokens = 0;
    long frames = 0;
    double preprocessMs = 0;
    double modelMs = 0;
    int partsWithRows = 0;
    Configuration conf = new Configuration();
    for (File part : parts) {
      Set<String> batches = new HashSet<>();
      long partRows = 0;
      try (ParquetReader<Group> reader =
          ParquetReader.builder(new GroupReadSupport(), new Path(part.toURI()))
              .withConf(conf)
              .build()) {
        for (Group row = reader.read(); row != null; row = reader.read()) {
          partRows++;
          if (row.getFieldRepetitionCount("error") > 0) {
            errors++;
          }
          generated += row.getInteger("generated_tokens", 0);
          promptTokens += row.getInteger("prompt_tokens", 0);
          frames += row.getInteger("image_frames", 0);
          preprocessMs += row.getDouble("preprocess_ms", 0);
          double encode = row.getDouble("encode_ms", 0);
          double generate = row.getDouble("generate_ms", 0);
          if (batches.add(encode + "/" + generate)) {
            modelMs += encode + generate;
          }
        }
      }
      rows += partRows;
      if (partRows > 0) {
        partsWithRows++;
      }
    }
    System.out.printf(
        Locale.ROOT,
        "{\"rows\": %d, \"errors\": %d, \"generated_tokens\": %d, \"prompt_tokens\": %d,"
            + " \"frames\": %d, \"preprocess_s\": %.3f, \"model_s\": %.3f, \"partitions\": %d}%n",
        rows,
        errors,
        generated,
        promptTokens,
        frames,
        preprocessMs / 1e3,
        modelMs / 1e3,
        partsWithRows);
  }
}
