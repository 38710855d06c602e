package io.github.idefics3spark.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.exists;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.lower;

import io.github.idefics3spark.image.DocumentPages;
import io.github.idefics3spark.image.ImageDecoder;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.pdfbox.io.RandomAccessRead;
import org.apache.pdfbox.io.RandomAccessReadBuffer;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

/**
 * Splits requests whose one image is a PDF or a TIFF into one request per page (frame), in a narrow
 * stage on the executors: each document is opened there, through Hadoop's file systems and read by
 * position ({@link HadoopRandomAccessRead}), only to count its pages (the cross-reference table and
 * the page tree; no page is rendered and the driver reads no document). The inference stage renders
 * each page where it answers it ({@link PartitionInference}), so repartitioning the page requests
 * spreads a 500-page PDF over many tasks.
 *
 * <p>Columns: {@code document} (the source row's id), {@code page} (1-based) and {@code page_count}
 * follow {@code id}; a page's id is {@code <document>#page=<n>}. A request whose image is no
 * document keeps its id, page 1 of 1 (several images: page and page_count null). A document that
 * cannot be opened here (encrypted, damaged, outside the allowed folders) gives one request, page 1
 * (or the first page asked for) with page_count null: the stage opens it again and its error row
 * says why. A document is known by its first bytes when the row holds bytes, by its name ({@code
 * .pdf}, {@code .tif}, {@code .tiff}, any case) when it holds a path.
 *
 * <p>Page ranges: an optional {@code pages} column (consumed) such as {@code 1-3,7} selects pages;
 * null or blank: all. A value that does not parse gives one {@code BAD_PAGES} error row ({@code
 * page_error}), as do pages past the document's end (one row for all of them); the pages that are
 * in the document are answered.
 */
public final class PageRequests implements FlatMapFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  public static final String DOCUMENT = "document";
  public static final String PAGE_COUNT = "page_count";

  /** The optional input column of page ranges, {@code 1-3,7}. */
  public static final String PAGES = "pages";

  private static final byte[] PDF_SIGNATURE = {'%', 'P', 'D', 'F', '-'};
  private static final byte[] TIFF_LITTLE = {'I', 'I', 42, 0};
  private static final byte[] TIFF_BIG = {'M', 'M', 0, 42};

  private final StructType requestSchema;
  private final List<String> allowedRoots;
  private final Broadcast<SerializableConfiguration> hadoop;
  private transient AllowedRoots roots;
  private transient DocumentPages counter;

  private PageRequests(
      StructType requestSchema,
      List<String> allowedRoots,
      Broadcast<SerializableConfiguration> hadoop) {
    this.requestSchema = requestSchema;
    this.allowedRoots = allowedRoots == null ? null : List.copyOf(allowedRoots);
    this.hadoop = hadoop;
  }

  /**
   * Whether any request holds a PDF or TIFF (a path with such a name, bytes with such a signature)
   * or the requests have a {@code pages} column: a query over the request rows, run now.
   */
  public static boolean hasDocuments(Dataset<Row> requests) {
    if (Arrays.asList(requests.columns()).contains(PAGES)) {
      return true;
    }
    Column document =
        exists(
            col(InferenceSchema.IMAGES),
            image -> {
              Column bytes = image.getField("bytes");
              return lower(image.getField("path"))
                  .rlike("\\.(pdf|tiff?)$")
                  .and(bytes.isNull())
                  .or(bytes.substr(1, 5).equalTo(lit(PDF_SIGNATURE)))
                  .or(bytes.substr(1, 4).equalTo(lit(TIFF_LITTLE)))
                  .or(bytes.substr(1, 4).equalTo(lit(TIFF_BIG)));
            });
    return !requests.where(document).limit(1).isEmpty();
  }

  /**
   * The page requests of {@code requests}: lazy, one narrow stage.
   *
   * @param allowedRoots the folders documents' paths must lie under to be opened, or null for any
   * @throws IllegalArgumentException when the requests already have a column this adds, naming it
   */
  public static Dataset<Row> split(Dataset<Row> requests, List<String> allowedRoots) {
    StructType schema = requests.schema();
    Broadcast<SerializableConfiguration> hadoop =
        SerializableConfiguration.broadcast(requests.sparkSession().sparkContext());
    return requests.flatMap(
        new PageRequests(schema, allowedRoots, hadoop), Encoders.row(pageSchema(schema)));
  }

  /** The schema of the page requests of requests of {@code schema}. */
  static StructType pageSchema(StructType schema) {
    for (String added :
        List.of(DOCUMENT, InferenceSchema.PAGE, PAGE_COUNT, InferenceSchema.PAGE_ERROR)) {
      if (InferenceSchema.hasColumn(schema, added)) {
        throw new IllegalArgumentException(
            "the input has a column '"
                + added
                + "', which reading PDF and TIFF pages adds; rename it in the input");
      }
    }
    List<StructField> fields = new ArrayList<>();
    fields.add(schema.apply(InferenceSchema.ID));
    fields.add(DataTypes.createStructField(DOCUMENT, DataTypes.StringType, true));
    fields.add(DataTypes.createStructField(InferenceSchema.PAGE, DataTypes.IntegerType, true));
    fields.add(DataTypes.createStructField(PAGE_COUNT, DataTypes.IntegerType, true));
    for (StructField field : schema.fields()) {
      if (!field.name().equals(InferenceSchema.ID) && !field.name().equals(PAGES)) {
        fields.add(field);
      }
    }
    fields.add(DataTypes.createStructField(InferenceSchema.PAGE_ERROR, DataTypes.StringType, true));
    return DataTypes.createStructType(fields);
  }

  @Override
  public Iterator<Row> call(Row row) {
    int idIndex = requestSchema.fieldIndex(InferenceSchema.ID);
    int imagesIndex = requestSchema.fieldIndex(InferenceSchema.IMAGES);
    int pagesIndex =
        InferenceSchema.hasColumn(requestSchema, PAGES) ? requestSchema.fieldIndex(PAGES) : -1;
    String id = row.getString(idIndex);
    List<Row> images = row.isNullAt(imagesIndex) ? List.of() : row.getList(imagesIndex);
    String pagesText =
        pagesIndex < 0 || row.isNullAt(pagesIndex) ? null : String.valueOf(row.get(pagesIndex));
    if (pagesText != null && pagesText.isBlank()) {
      pagesText = null;
    }
    Row image = images.size() == 1 ? images.get(0) : null;
    List<Row> out = new ArrayList<>();
    if (image == null || format(image) == null) {
      Integer one = image == null ? null : 1;
      String error =
          pagesText == null || pagesText.strip().equals("1")
              ? null
              : "pages '"
                  + pagesText
                  + "' given, but the row's image is not a PDF or TIFF (.pdf, .tif, .tiff)";
      out.add(page(row, id, id, one, one, error));
      return out.iterator();
    }
    List<int[]> ranges;
    try {
      ranges = pagesText == null ? null : parsePages(pagesText);
    } catch (IllegalArgumentException e) {
      out.add(page(row, id, id, null, null, "pages '" + pagesText + "': " + e.getMessage()));
      return out.iterator();
    }
    Integer count = count(image);
    if (count == null || count == 0) {
      // the stage opens it again and says why (or that it has no pages) in the page's error row
      int first = ranges == null ? 1 : ranges.get(0)[0];
      out.add(page(row, id, id + "#page=" + first, first, count, null));
      return out.iterator();
    }
    if (count == 1 && ranges == null && format(image) == DocumentPages.Format.TIFF) {
      // a TIFF of one frame is an image: read whole by the image decoder (orientation, metadata)
      out.add(page(row, id, id, 1, 1, null));
      return out.iterator();
    }
    TreeSet<Integer> selected = new TreeSet<>();
    int firstMissing = -1;
    int lastAsked = 0;
    for (int[] range : ranges == null ? List.of(new int[] {1, count}) : ranges) {
      lastAsked = Math.max(lastAsked, range[1]);
      for (int p = range[0]; p <= Math.min(range[1], count); p++) {
        selected.add(p);
      }
      if (range[1] > count && (firstMissing < 0 || Math.max(range[0], count + 1) < firstMissing)) {
        firstMissing = Math.max(range[0], count + 1);
      }
    }
    for (int p : selected) {
      out.add(page(row, id, id + "#page=" + p, p, count, null));
    }
    if (firstMissing > 0) {
      out.add(
          page(
              row,
              id,
              id + "#page=" + firstMissing,
              firstMissing,
              count,
              "pages '"
                  + pagesText
                  + "' asks for page "
                  + firstMissing
                  + (lastAsked > firstMissing ? " and on" : "")
                  + ", but the document has "
                  + count
                  + " pages; correct the row's pages"));
    }
    return out.iterator();
  }

  /**
   * The ranges of a page-range text: comma-separated pages ({@code 7}) and ranges ({@code 1-3}),
   * 1-based, each range ascending.
   *
   * @throws IllegalArgumentException saying what is wrong and what is expected
   */
  static List<int[]> parsePages(String text) {
    List<int[]> ranges = new ArrayList<>();
    for (String part : text.split(",", -1)) {
      String item = part.strip();
      if (item.isEmpty()) {
        throw new IllegalArgumentException(
            "an empty item; expected pages and ranges separated by commas, such as 1-3,7");
      }
      String[] ends = item.split("-", -1);
      if (ends.length > 2) {
        throw new IllegalArgumentException("'" + item + "' is not a page or a range such as 1-3");
      }
      int from = pageNumber(ends[0].strip(), item);
      int to = ends.length == 2 ? pageNumber(ends[1].strip(), item) : from;
      if (to < from) {
        throw new IllegalArgumentException(
            "the range '" + item + "' runs backwards; write it as " + to + "-" + from);
      }
      ranges.add(new int[] {from, to});
    }
    ranges.sort((a, b) -> Integer.compare(a[0], b[0]));
    return ranges;
  }

  private static int pageNumber(String text, String item) {
    if (!text.matches("[0-9]{1,9}")) {
      throw new IllegalArgumentException(
          "'" + item + "' is not a page or a range such as 1-3 (pages are whole numbers from 1)");
    }
    int page = Integer.parseInt(text);
    if (page < 1) {
      throw new IllegalArgumentException("'" + item + "': pages are numbered from 1");
    }
    return page;
  }

  private Row page(Row row, String document, String id, Integer page, Integer count, String error) {
    Object[] values = new Object[row.size() + 4 - (pagesColumn() ? 1 : 0)];
    int i = 0;
    values[i++] = id;
    values[i++] = document;
    values[i++] = page;
    values[i++] = count;
    for (int column = 0; column < requestSchema.size(); column++) {
      String name = requestSchema.fields()[column].name();
      if (!name.equals(InferenceSchema.ID) && !name.equals(PAGES)) {
        values[i++] = row.get(column);
      }
    }
    values[i] = error;
    return RowFactory.create(values);
  }

  private boolean pagesColumn() {
    return InferenceSchema.hasColumn(requestSchema, PAGES);
  }

  /**
   * The document format of the row's image: by its first bytes when it holds bytes, else by its
   * path's extension ({@code .pdf}, {@code .tif}, {@code .tiff}, any case); null for any other.
   */
  private static DocumentPages.Format format(Row image) {
    Object bytes = image.get(image.fieldIndex("bytes"));
    if (bytes instanceof byte[] head) {
      return DocumentPages.Format.of(
          head, Math.min(head.length, DocumentPages.Format.SIGNATURE_BYTES));
    }
    String path = image.getString(image.fieldIndex("path"));
    String name = path == null ? "" : path.toLowerCase(Locale.ROOT);
    return name.endsWith(".pdf")
        ? DocumentPages.Format.PDF
        : name.matches(".*\\.tiff?$") ? DocumentPages.Format.TIFF : null;
  }

  /** The document's page count, or null when it cannot be opened or is no document. */
  private Integer count(Row image) {
    if (counter == null) {
      counter =
          new DocumentPages(DocumentPages.DEFAULT_DPI, ImageDecoder.DEFAULT_MAX_PIXELS, "dpi", "");
    }
    Object bytes = image.get(image.fieldIndex("bytes"));
    try {
      RandomAccessRead source =
          bytes instanceof byte[] encoded
              ? new RandomAccessReadBuffer(encoded)
              : open(image.getString(image.fieldIndex("path")));
      if (source == null) {
        return null;
      }
      DocumentPages.Format format = DocumentPages.Format.of(source);
      if (format == null) {
        source.close();
        return null;
      }
      return counter.count(source, format); // closes the source
    } catch (IOException | RuntimeException e) {
      return null; // the stage opens it again and reports why
    }
  }

  /** The file at {@code path}, or null when it lies outside the allowed folders. */
  private RandomAccessRead open(String path) throws IOException {
    Configuration conf = hadoop.value().value();
    Path file = new Path(path);
    FileSystem fs = file.getFileSystem(conf);
    if (allowedRoots != null) {
      if (roots == null) {
        roots = AllowedRoots.of(allowedRoots, conf);
      }
      try {
        file = roots.check(fs.makeQualified(file));
      } catch (IOException outside) {
        return null;
      }
    }
    return HadoopRandomAccessRead.open(fs, file);
  }
}
