package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;

import io.github.idefics3spark.doctags.DocTags;
import io.github.idefics3spark.doctags.DocTagsDocument;
import io.github.idefics3spark.doctags.PageSize;
import io.github.idefics3spark.spark.InferenceSchema;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.FlatMapGroupsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

/**
 * {@code document --assemble}: each document's pages, read back from the page output (so that a
 * resumed run assembles every page, old and new), joined in page order ({@link DocTags#assemble})
 * into one document, on the executors, one group per document.
 *
 * <p>Written under {@code --assemble-output}, which is replaced: {@code documents/} (Parquet, one
 * row per document: {@code document}, {@code page_count} as the pages said, {@code pages} (pages
 * converted), {@code missing_pages} (pages up to page_count with no row or an error row, whose
 * place stays empty in the document), {@code markdown}, {@code html} and {@code json} as asked,
 * {@code warnings} with pages numbered in the document) and {@code markdown/DOCUMENT.md}, one file
 * per document (unsafe characters of the name replaced by '_').
 */
final class DocumentAssembly implements FlatMapGroupsFunction<String, Row, Row> {
  private static final long serialVersionUID = 1L;

  static final String DOCUMENTS_FOLDER = "documents";
  static final String MARKDOWN_FOLDER = "markdown";
  static final String PAGES = "pages";
  static final String MISSING_PAGES = "missing_pages";

  private final DocumentSettings settings;
  private final StructType output;
  private final Broadcast<SerializableConfiguration> hadoop;

  private DocumentAssembly(DocumentSettings settings, Broadcast<SerializableConfiguration> hadoop) {
    this.settings = settings;
    this.output = schema(settings);
    this.hadoop = hadoop;
  }

  /** The schema of the documents' Parquet rows. */
  static StructType schema(DocumentSettings settings) {
    List<StructField> fields = new ArrayList<>();
    fields.add(DataTypes.createStructField(PageConversion.DOCUMENT, DataTypes.StringType, false));
    fields.add(DataTypes.createStructField(PageConversion.PAGE_COUNT, DataTypes.IntegerType, true));
    fields.add(DataTypes.createStructField(PAGES, DataTypes.IntegerType, false));
    fields.add(
        DataTypes.createStructField(
            MISSING_PAGES, DataTypes.createArrayType(DataTypes.IntegerType, false), false));
    fields.add(DataTypes.createStructField(PageConversion.MARKDOWN, DataTypes.StringType, false));
    if (settings.html()) {
      fields.add(DataTypes.createStructField(PageConversion.HTML, DataTypes.StringType, false));
    }
    if (settings.json()) {
      fields.add(DataTypes.createStructField(PageConversion.JSON, DataTypes.StringType, false));
    }
    fields.add(
        DataTypes.createStructField(
            PageConversion.WARNINGS,
            DataTypes.createArrayType(DataTypes.StringType, false),
            false));
    return DataTypes.createStructType(fields);
  }

  /**
   * Assembles the documents of the page output {@code pagesOutput} into {@code
   * settings.assembleOutput()}; returns a line saying how many and where.
   */
  static String write(SparkSession spark, String pagesOutput, DocumentSettings settings) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path target = new Path(settings.assembleOutput());
    try {
      FileSystem fs = target.getFileSystem(conf);
      if (fs.exists(target)) {
        fs.delete(target, true);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot replace --assemble-output " + target + ": " + e.getMessage(), e);
    }
    Dataset<Row> pages =
        spark
            .read()
            .parquet(pagesOutput)
            .select(
                col(PageConversion.DOCUMENT).cast(DataTypes.StringType).as(PageConversion.DOCUMENT),
                col(PageConversion.PAGE).cast(DataTypes.IntegerType).as(PageConversion.PAGE),
                col(PageConversion.PAGE_COUNT)
                    .cast(DataTypes.IntegerType)
                    .as(PageConversion.PAGE_COUNT),
                col(PageConversion.DOCTAGS),
                col(PageConversion.PAGE_WIDTH),
                col(PageConversion.PAGE_HEIGHT),
                col(InferenceSchema.ERROR_KIND));
    DocumentAssembly assembly =
        new DocumentAssembly(settings, SerializableConfiguration.broadcast(spark.sparkContext()));
    Dataset<Row> documents =
        pages
            .groupByKey(
                (org.apache.spark.api.java.function.MapFunction<Row, String>)
                    row -> row.isNullAt(0) ? "" : row.getString(0),
                Encoders.STRING())
            .flatMapGroups(assembly, Encoders.row(assembly.output));
    String folder = new Path(target, DOCUMENTS_FOLDER).toString();
    documents.write().mode(SaveMode.Overwrite).parquet(folder);
    long count = spark.read().parquet(folder).count();
    return "assembled "
        + count
        + " documents into "
        + folder
        + " and "
        + new Path(target, MARKDOWN_FOLDER)
        + "/*.md";
  }

  @Override
  public Iterator<Row> call(String document, Iterator<Row> rows) throws IOException {
    List<Row> pages = new ArrayList<>();
    rows.forEachRemaining(pages::add);
    pages.sort(Comparator.comparingInt(row -> row.isNullAt(1) ? Integer.MAX_VALUE : row.getInt(1)));
    Integer pageCount = null;
    for (Row page : pages) {
      if (!page.isNullAt(2)) {
        pageCount = Math.max(pageCount == null ? 0 : pageCount, page.getInt(2));
      }
    }
    // every page up to the last one known, in order; a page without a converted row stays empty
    int last = pageCount == null ? 0 : pageCount;
    for (Row page : pages) {
      if (!page.isNullAt(1)) {
        last = Math.max(last, page.getInt(1));
      }
    }
    List<DocTagsDocument> parsed = new ArrayList<>();
    List<Integer> missing = new ArrayList<>();
    int converted = 0;
    int next = 0;
    for (int number = 1; number <= last; number++) {
      DocTagsDocument page = null;
      while (next < pages.size()
          && !pages.get(next).isNullAt(1)
          && pages.get(next).getInt(1) <= number) {
        Row row = pages.get(next++);
        if (page == null && row.getInt(1) == number && !row.isNullAt(3)) {
          PageSize size =
              row.isNullAt(4) || row.isNullAt(5)
                  ? PageSize.LOC_GRID
                  : new PageSize(row.getInt(4), row.getInt(5));
          page = DocTags.parse(row.getString(3), size);
        }
      }
      if (page == null) {
        missing.add(number);
        page = DocTags.parse("<doctag></doctag>", PageSize.LOC_GRID);
      } else {
        converted++;
      }
      parsed.add(page);
    }
    DocTagsDocument whole = DocTags.assemble(parsed);
    List<String> warnings = new ArrayList<>();
    for (int number : missing) {
      warnings.add("page " + number + ": no DocTags (no row, or an error row); left empty");
    }
    for (String warning : whole.warnings()) {
      boolean ofMissing = false;
      for (int number : missing) {
        ofMissing |= warning.startsWith("page " + number + ":");
      }
      if (!ofMissing) {
        warnings.add(warning);
      }
    }
    String markdown = whole.toMarkdown(settings.exportOptions());
    writeMarkdown(document, markdown);
    List<Object> values = new ArrayList<>();
    values.add(document);
    values.add(pageCount);
    values.add(converted);
    values.add(missing.toArray(Integer[]::new));
    values.add(markdown);
    if (settings.html()) {
      values.add(whole.toHtml(settings.exportOptions()));
    }
    if (settings.json()) {
      values.add(whole.toJson(settings.exportOptions()));
    }
    values.add(warnings.toArray(String[]::new));
    return List.of(RowFactory.create(values.toArray())).iterator();
  }

  /** Writes a document's Markdown file, replacing one there (a retried task writes the same). */
  private void writeMarkdown(String document, String markdown) throws IOException {
    Path file =
        new Path(
            new Path(settings.assembleOutput(), MARKDOWN_FOLDER),
            PageConversion.fileName(document) + ".md");
    try (OutputStream out = file.getFileSystem(hadoop.value().value()).create(file, true)) {
      out.write(markdown.getBytes(StandardCharsets.UTF_8));
    }
  }
}
