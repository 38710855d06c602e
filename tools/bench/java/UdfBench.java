import io.github.idefics3spark.spark.ModelCache;
import io.github.idefics3spark.spark.ml.Idefics3Transformer;
import io.github.idefics3spark.spark.sql.Idefics3Functions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The SQL function against the ML Transformer on the same rows, same model and settings, side by
 * side in one Spark session: images captioned per second by {@code vlm_caption(image)} (one row a
 * call) and by {@code Idefics3Transformer} (batches of similar prompt length), and by the
 * Transformer with batches of one, which tells the batching's share from the per-call overhead.
 *
 * <p>Usage: UdfBench CHECKPOINT CACHE_DIR IMAGES_DIR ROWS MAX_NEW_TOKENS BATCH_SIZE ROUNDS. Prints
 * one line per side and round, then medians and the ratio.
 */
public final class UdfBench {
  public static void main(String[] args) throws Exception {
    String checkpoint = args[0];
    String cache = args[1];
    Path images = Path.of(args[2]);
    int rows = Integer.parseInt(args[3]);
    int maxNewTokens = Integer.parseInt(args[4]);
    int batchSize = Integer.parseInt(args[5]);
    int rounds = Integer.parseInt(args[6]);

    SparkSession spark =
        SparkSession.builder()
            .master("local[2]")
            .appName("UdfBench")
            .config("spark.ui.enabled", "false")
            .getOrCreate();
    spark.sparkContext().setLogLevel("ERROR");

    List<byte[]> files = new ArrayList<>();
    try (Stream<Path> list = Files.list(images)) {
      for (Path file : list.sorted().toList()) {
        files.add(Files.readAllBytes(file));
      }
    }
    List<Row> data = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      data.add(RowFactory.create("row-" + i, files.get(i % files.size())));
    }
    StructType schema =
        new StructType().add("id", DataTypes.StringType).add("image", DataTypes.BinaryType);
    Dataset<Row> table = spark.createDataFrame(data, schema).repartition(2).cache();
    table.count();
    table.createOrReplaceTempView("images");

    Idefics3Functions.register(
        spark,
        checkpoint,
        Map.of("max-new-tokens", Integer.toString(maxNewTokens), "model-cache", cache));
    Idefics3Transformer batched =
        new Idefics3Transformer()
            .setModelUri(checkpoint)
            .setModelCacheDir(cache)
            .setMaxNewTokens(maxNewTokens)
            .setBatchSize(batchSize);
    Idefics3Transformer single = batched.copy(new org.apache.spark.ml.param.ParamMap());
    single.setBatchSize(1);

    Dataset<Row> sql = spark.sql("SELECT id, vlm_caption(image) AS answer FROM images");
    Dataset<Row> transformer = batched.transform(table).select("id", "answer");
    Dataset<Row> transformerOne = single.transform(table).select("id", "answer");

    // warm-up (the model's load and TensorFlow's first runs), and the same answers on both sides
    List<Row> fromSql = sql.orderBy("id").collectAsList();
    List<Row> fromTransformer = transformer.orderBy("id").collectAsList();
    transformerOne.write().format("noop").mode("overwrite").save();
    int differ = 0;
    int errors = 0;
    for (int i = 0; i < rows; i++) {
      if (!java.util.Objects.equals(fromSql.get(i).get(1), fromTransformer.get(i).get(1))) {
        differ++;
      }
      if (fromSql.get(i).get(1) == null) {
        errors++;
      }
    }

    String[] names = {"sql vlm_caption", "transformer batch " + batchSize, "transformer batch 1"};
    Dataset<?>[] sides = {sql, transformer, transformerOne};
    double[][] seconds = new double[sides.length][rounds];
    for (int round = 0; round < rounds; round++) {
      for (int side = 0; side < sides.length; side++) {
        long start = System.nanoTime();
        // noop evaluates every column: the answers are computed, nothing is written
        sides[side].write().format("noop").mode("overwrite").save();
        seconds[side][round] = (System.nanoTime() - start) / 1e9;
        System.out.printf(
            "round %d  %-22s %7.2f s  %7.2f images/s%n",
            round + 1, names[side], seconds[side][round], rows / seconds[side][round]);
      }
    }
    System.out.printf(
        "%d rows (%d distinct images), local[2], max_new_tokens %d; answers that differ between"
            + " the SQL function and the Transformer: %d; error rows: %d; model loads: %d%n",
        rows, files.size(), maxNewTokens, differ, errors, ModelCache.loads());
    double sqlRate = rows / BenchStats.median(seconds[0]);
    for (int side = 0; side < sides.length; side++) {
      double rate = rows / BenchStats.median(seconds[side]);
      System.out.printf(
          "%-22s median %7.2f s  %7.2f images/s  %5.2fx the SQL function%n",
          names[side], BenchStats.median(seconds[side]), rate, rate / sqlRate);
    }
    spark.stop();
    ModelCache.closeAll();
  }
}
