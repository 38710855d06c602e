package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The id of a dataset that has none (lmms-lab/ChartQA, lmms-lab/ai2d): lmms-eval's {@code doc_id},
 * each row's position in the split from 0, the Parquet files in path order and each file's rows in
 * order ({@code _metadata.row_index}), as {@code datasets} loads the split.
 */
final class RowPositions {

  /** The id column added. */
  static final String DOC_ID = "doc_id";

  /** {@link #DOC_ID} as a benchmark declares it ({@link BenchmarkLayout#columns}). */
  static final BenchmarkColumn COLUMN =
      BenchmarkColumn.any(DOC_ID, "the row's position in the split (added when absent)");

  private static final String FILE = "_doc_id_file";
  private static final String ROW = "_doc_id_row";
  private static final String OFFSET = "_doc_id_offset";

  private RowPositions() {}

  /**
   * {@code source} with {@link #DOC_ID} added, or as it is when it has that column.
   *
   * @param source Parquet files as read, their {@code _metadata} column reachable
   */
  static Dataset<Row> withDocIds(Dataset<Row> source) {
    if (List.of(source.columns()).contains(DOC_ID)) {
      return source;
    }
    Dataset<Row> located =
        source
            .withColumn(FILE, col("_metadata.file_path"))
            .withColumn(ROW, col("_metadata.row_index"));
    List<Row> counts = new ArrayList<>(located.groupBy(FILE).count().collectAsList());
    counts.sort(Comparator.comparing(r -> r.getString(0)));
    List<Row> offsets = new ArrayList<>();
    long offset = 0;
    for (Row file : counts) {
      offsets.add(RowFactory.create(file.getString(0), offset));
      offset += file.getLong(1);
    }
    StructType schema =
        new StructType().add(FILE, DataTypes.StringType).add(OFFSET, DataTypes.LongType);
    Dataset<Row> starts = source.sparkSession().createDataFrame(offsets, schema);
    return located
        .join(broadcast(starts), FILE)
        .withColumn(DOC_ID, col(OFFSET).plus(col(ROW)))
        .drop(FILE, ROW, OFFSET);
  }
}
