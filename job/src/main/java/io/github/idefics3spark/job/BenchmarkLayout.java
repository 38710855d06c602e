package io.github.idefics3spark.job;

import java.util.List;

/**
 * What a benchmark reads and how long its answers are: its names, the Hugging Face dataset whose
 * Parquet layout it reads (shared/spec/benchmarks.md), the columns it needs, and its default answer
 * length.
 *
 * @param name the name on the command line and in the output's {@code task} column: {@code mmmu}
 * @param displayName the name in messages: {@code MMMU}
 * @param dataset the Hugging Face dataset whose Parquet layout is read
 * @param idColumn the dataset's id column
 * @param imageColumns the image columns, in prompt order; those present are read, nulls skipped
 * @param maxNewTokens the default of {@code --max-new-tokens} for this benchmark
 * @param columns the columns {@code eval} needs in the dataset's Parquet
 * @param promptColumns the dataset columns the benchmark's prompt reads
 */
record BenchmarkLayout(
    String name,
    String displayName,
    String dataset,
    String idColumn,
    List<String> imageColumns,
    int maxNewTokens,
    List<BenchmarkColumn> columns,
    List<String> promptColumns) {}
