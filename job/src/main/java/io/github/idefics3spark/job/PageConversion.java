package io.github.idefics3spark.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.get;
import static org.apache.spark.sql.functions.lit;

import io.github.idefics3spark.image.DocumentPageException;
import io.github.idefics3spark.image.DocumentPages;
import io.github.idefics3spark.image.ImageDecodeException;
import io.github.idefics3spark.image.ImageDecoder;
import io.github.idefics3spark.image.RgbImage;
import io.github.idefics3spark.spark.HadoopRandomAccessRead;
import io.github.idefics3spark.spark.InferenceSchema;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.pdfbox.io.RandomAccessReadBuffer;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The pages of the {@code document} command: each request row is a page, its answer the page's
 * DocTags, converted on the executor right after generation ({@link ConvertedPage}).
 *
 * <p>Before inference ({@link #requests}) every row gets the columns {@code document}, {@code page}
 * and {@code page_count}: passed through when the input has them (a manifest, or PDF and TIFF
 * inputs split into pages), else the row is a one-page document named by its id (page 1 of 1). The
 * page image rides along as {@code page_image} so that the conversion can scale {@code <loc_N>}
 * boxes to its pixel size and crop pictures.
 *
 * <p>After inference ({@link #convert}) these columns follow the inference columns: {@code doctags}
 * (the answer with its special tokens), {@code markdown}, {@code html} and {@code json} when asked,
 * {@code warnings} (array of strings: what did not parse, a page cut at the token limit), {@code
 * page_width} and {@code page_height} (the page image as the model saw it: a PDF page rendered at
 * the job's DPI, a TIFF frame, an image decoded with its EXIF orientation applied), and {@code
 * pictures} (the crops written) with {@code --crop-pictures}. On an error row they are null. {@code
 * page_image} is dropped. A page image is read again only for a row the model answered, so only
 * from where the inference was allowed to read it.
 */
final class PageConversion implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  static final String DOCUMENT = "document";
  static final String PAGE = "page";
  static final String PAGE_COUNT = "page_count";
  static final String PAGE_IMAGE = "page_image";
  static final String DOCTAGS = "doctags";
  static final String MARKDOWN = "markdown";
  static final String HTML = "html";
  static final String JSON = "json";
  static final String WARNINGS = "warnings";
  static final String PAGE_WIDTH = "page_width";
  static final String PAGE_HEIGHT = "page_height";
  static final String PICTURES = "pictures";

  /** Characters kept in file names made from document ids; others become '_'. */
  private static final Pattern UNSAFE = Pattern.compile("[^A-Za-z0-9._-]");

  private final DocumentSettings settings;
  private final StructType input;
  private final StructType output;
  private final Broadcast<SerializableConfiguration> hadoop;
  private final long maxImagePixels;
  private final int dpi;

  private PageConversion(
      DocumentSettings settings,
      StructType input,
      Broadcast<SerializableConfiguration> hadoop,
      long maxImagePixels,
      int dpi) {
    this.settings = settings;
    this.input = input;
    this.output = schema(input, settings);
    this.hadoop = hadoop;
    this.maxImagePixels = maxImagePixels;
    this.dpi = dpi;
  }

  /**
   * The request rows with {@code document}, {@code page}, {@code page_count} (added where the input
   * lacks them: the id, 1, 1) and {@code page_image} (the row's first image, null when it has
   * none).
   */
  static Dataset<Row> requests(Dataset<Row> rows) {
    List<String> names = Arrays.asList(rows.columns());
    Dataset<Row> pages = rows;
    if (!names.contains(DOCUMENT)) {
      pages = pages.withColumn(DOCUMENT, col(InferenceSchema.ID));
    }
    if (!names.contains(PAGE)) {
      pages = pages.withColumn(PAGE, lit(1));
    }
    if (!names.contains(PAGE_COUNT)) {
      pages = pages.withColumn(PAGE_COUNT, lit(1));
    }
    if (names.contains(PAGE_IMAGE)) {
      throw new JobInputException(
          "the input has a column "
              + PAGE_IMAGE
              + ", the name document uses for each page's image; rename it in the input");
    }
    return pages.withColumn(PAGE_IMAGE, get(col(InferenceSchema.IMAGES), lit(0)));
  }

  /** The answered pages of {@code results} (the inference's rows) converted: see the class. */
  static Dataset<Row> convert(
      Dataset<Row> results, DocumentSettings settings, long maxImagePixels, int dpi) {
    var spark = results.sparkSession().sparkContext();
    PageConversion pages =
        new PageConversion(
            settings,
            results.schema(),
            SerializableConfiguration.broadcast(spark),
            maxImagePixels,
            dpi);
    return results.mapPartitions(pages, Encoders.row(pages.output));
  }

  /** The schema of the converted rows. */
  static StructType schema(StructType results, DocumentSettings settings) {
    List<StructField> fields = new ArrayList<>();
    for (StructField field : results.fields()) {
      if (!field.name().equals(PAGE_IMAGE)) {
        fields.add(field);
      }
    }
    fields.add(DataTypes.createStructField(DOCTAGS, DataTypes.StringType, true));
    fields.add(DataTypes.createStructField(MARKDOWN, DataTypes.StringType, true));
    if (settings.html()) {
      fields.add(DataTypes.createStructField(HTML, DataTypes.StringType, true));
    }
    if (settings.json()) {
      fields.add(DataTypes.createStructField(JSON, DataTypes.StringType, true));
    }
    fields.add(
        DataTypes.createStructField(
            WARNINGS, DataTypes.createArrayType(DataTypes.StringType, false), true));
    fields.add(DataTypes.createStructField(PAGE_WIDTH, DataTypes.IntegerType, true));
    fields.add(DataTypes.createStructField(PAGE_HEIGHT, DataTypes.IntegerType, true));
    if (settings.cropPictures()) {
      fields.add(
          DataTypes.createStructField(
              PICTURES, DataTypes.createArrayType(DataTypes.StringType, false), true));
    }
    return DataTypes.createStructType(fields);
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    Configuration conf = hadoop.value().value();
    ImageDecoder decoder = new ImageDecoder(maxImagePixels, "max-image-pixels");
    DocumentPages documents = new DocumentPages(dpi, maxImagePixels, "dpi", "max-image-pixels");
    int imageIndex = input.fieldIndex(PAGE_IMAGE);
    int answerIndex = input.fieldIndex(InferenceSchema.ANSWER);
    int errorIndex = input.fieldIndex(InferenceSchema.ERROR);
    int documentIndex = input.fieldIndex(DOCUMENT);
    int pageIndex = input.fieldIndex(PAGE);
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return rows.hasNext();
      }

      @Override
      public Row next() {
        Row row = rows.next();
        List<Object> values = new ArrayList<>();
        for (int i = 0; i < row.size(); i++) {
          if (i != imageIndex) {
            values.add(row.get(i));
          }
        }
        if (!row.isNullAt(errorIndex) || row.isNullAt(answerIndex)) {
          for (int i = values.size(); i < output.size(); i++) {
            values.add(null);
          }
          return RowFactory.create(values.toArray());
        }
        String doctags = row.getString(answerIndex);
        RgbImage page = null;
        String problem = null;
        try {
          Row image = row.isNullAt(imageIndex) ? null : row.getStruct(imageIndex);
          Integer number =
              row.isNullAt(pageIndex) ? null : ((Number) row.get(pageIndex)).intValue();
          page = pageImage(image, number, decoder, documents, conf);
          if (page == null) {
            problem = "the row has no image";
          }
        } catch (IOException | ImageDecodeException | DocumentPageException e) {
          problem = e.getMessage();
        }
        ConvertedPage converted = ConvertedPage.of(doctags, page, problem, settings);
        values.add(doctags);
        values.add(converted.markdown());
        if (settings.html()) {
          values.add(converted.html());
        }
        if (settings.json()) {
          values.add(converted.json());
        }
        List<String> warnings = new ArrayList<>(converted.warnings());
        List<String> written = new ArrayList<>();
        if (settings.cropPictures()) {
          String document = String.valueOf(row.get(documentIndex));
          String pageNumber = String.valueOf(row.get(pageIndex));
          for (int k = 0; k < converted.pictures().size(); k++) {
            Path file =
                new Path(
                    new Path(settings.picturesOutput(), fileName(document)),
                    "page-" + fileName(pageNumber) + "-picture-" + (k + 1) + ".png");
            try {
              writePng(converted.pictures().get(k), file, conf);
              written.add(file.toString());
            } catch (IOException e) {
              warnings.add(
                  "picture " + (k + 1) + " not written to " + file + ": " + e.getMessage());
            }
          }
        }
        values.add(warnings.toArray(String[]::new));
        values.add(converted.width());
        values.add(converted.height());
        if (settings.cropPictures()) {
          values.add(written.toArray(String[]::new));
        }
        return RowFactory.create(values.toArray());
      }
    };
  }

  /**
   * The page image of a row, as the model saw it: a PDF page rendered again at the job's DPI, a
   * frame of a TIFF of several, or else the image its bytes or path hold (a TIFF of one frame
   * included, as the stage reads it); null when there is none.
   */
  private static RgbImage pageImage(
      Row image, Integer page, ImageDecoder decoder, DocumentPages documents, Configuration conf)
      throws IOException {
    if (image == null) {
      return null;
    }
    byte[] bytes = image.isNullAt(0) ? null : (byte[]) image.get(0);
    Path file = bytes == null && !image.isNullAt(1) ? new Path(image.getString(1)) : null;
    if (bytes == null && file == null) {
      return null;
    }
    FileSystem fs = file == null ? null : file.getFileSystem(conf);
    if (page != null) {
      byte[] held = bytes;
      DocumentPages.Opener opener =
          () ->
              held != null
                  ? new RandomAccessReadBuffer(held)
                  : HadoopRandomAccessRead.open(fs, file);
      DocumentPages.Format format = documents.pageFormat(opener, page);
      if (format != null) {
        return documents.render(opener.open(), format, page); // render closes it
      }
    }
    if (bytes == null) {
      try (InputStream in = fs.open(file)) {
        bytes = in.readAllBytes();
      }
    }
    return decoder.decode(bytes);
  }

  /** A document id or page number as a file or folder name: unsafe characters become '_'. */
  static String fileName(String text) {
    String name = UNSAFE.matcher(text).replaceAll("_");
    return name.isEmpty() || name.equals(".") || name.equals("..") ? "_" + name : name;
  }

  /** Writes {@code image} as a PNG file, replacing one there (a retried task writes the same). */
  static void writePng(RgbImage image, Path file, Configuration conf) throws IOException {
    try (OutputStream out = file.getFileSystem(conf).create(file, true)) {
      out.write(png(image));
    }
  }

  /** The PNG encoding of an image. */
  static byte[] png(RgbImage image) {
    BufferedImage buffered =
        new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_INT_RGB);
    byte[] rgb = image.rgb();
    for (int y = 0; y < image.height(); y++) {
      for (int x = 0; x < image.width(); x++) {
        int i = (y * image.width() + x) * 3;
        buffered.setRGB(
            x, y, (rgb[i] & 0xFF) << 16 | (rgb[i + 1] & 0xFF) << 8 | (rgb[i + 2] & 0xFF));
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(buffered, "png", out);
    } catch (IOException e) {
      throw new UncheckedIOException("encoding a picture crop as PNG: " + e.getMessage(), e);
    }
    return out.toByteArray();
  }
}
