package io.github.idefics3spark.spark;

import io.github.idefics3spark.idefics3.runtime.Idefics3Answer;
import io.github.idefics3spark.idefics3.runtime.Idefics3Request;
import io.github.idefics3spark.idefics3.runtime.Idefics3Runtime;
import io.github.idefics3spark.idefics3.runtime.ImageFeatureCache;
import io.github.idefics3spark.image.DocumentPageException;
import io.github.idefics3spark.image.DocumentPages;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.pdfbox.io.RandomAccessRead;
import org.apache.pdfbox.io.RandomAccessReadBuffer;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The inference of one partition: request rows in, one result row per request out (the same ids,
 * the columns of {@link InferenceSchema}). The executor's model comes from {@link ModelCache}.
 *
 * <p>Rows are read in windows of {@code sortWindowBatches x batchSize}, sorted by estimated prompt
 * length (images, then text length; ties keep input order) and answered in batches of {@code
 * batchSize}, so a batch pads little. With continuous batching (the default) the generating rows of
 * every batch share the batch's slots, a row taking one as soon as one frees, across batches and
 * windows ({@link Idefics3Runtime#answering}). With an image cache ({@code image_cache_mb} above 0)
 * rows of the same images (bytes, or path) are put next to each other first, in the order their
 * images first appear, and the partition's {@link ImageFeatureCache} encodes each image once. The
 * next batch is read and its images decoded while the model runs the current one. The same
 * partition gives the same batches, so a retried task gives the same answers.
 *
 * <p>A row with {@code mc_options} is answered by ranking them by likelihood, in batches of such
 * rows ({@link Idefics3Runtime#answer}); a model package converted without that signature stops the
 * task, naming what to do.
 *
 * <p>A row whose {@code image_markers} is true has its images placed where its question names them,
 * {@code <image k>} ({@link ImageMarkers}); one whose {@code image_slots} is not null has them
 * where its question holds {@code <image>} ({@link ImageSlots}); other rows put their images before
 * the question.
 *
 * <p>A row with an int {@code page} whose one image is a PDF or TIFF (by its first bytes) has that
 * page rendered here, on the executor that answers it ({@link DocumentPages}, at the settings' DPI,
 * the pixel limit checked before rendering), read from its path by position ({@link
 * HadoopRandomAccessRead}), so neither the whole document nor its other pages are held; the page
 * reaches the runtime as an uncompressed BMP, decoded and preprocessed as any image.
 *
 * <p>A row that cannot be answered (an image path that cannot be read, bytes that are not an image,
 * a prompt past the context, ...) gets a result row with {@code error} and {@code error_kind} set;
 * the task goes on. Only a model that cannot be loaded fails the task.
 */
public final class PartitionInference implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  private final InferenceSettings settings;
  private final StructType requestSchema;
  private final Broadcast<SerializableConfiguration> hadoop;
  private final LongAccumulator rowsDone;
  private final LongAccumulator modelFailures;

  /**
   * @param requestSchema the schema of the rows the function will see
   * @param hadoop the Hadoop configuration for image paths and the model (the driver's, broadcast)
   * @param rowsDone adds every finished row, for progress; may be null
   * @param modelFailures adds every model call that failed on a batch, whose rows were then
   *     answered one by one ({@link Idefics3Runtime.Answering#modelFailures}); may be null
   */
  public PartitionInference(
      InferenceSettings settings,
      StructType requestSchema,
      Broadcast<SerializableConfiguration> hadoop,
      LongAccumulator rowsDone,
      LongAccumulator modelFailures) {
    InferenceSchema.results(requestSchema); // fails on a wrong request schema, naming the column
    this.settings = settings;
    this.requestSchema = requestSchema;
    this.hadoop = hadoop;
    this.rowsDone = rowsDone;
    this.modelFailures = modelFailures;
  }

  /**
   * The results of every request: {@code requests} mapped partition by partition, with the schema
   * {@link InferenceSchema#results}. Lazy, like any Dataset; fails at once when the request schema
   * is wrong or the model setting names something that is certainly not a model.
   *
   * @param rowsDone adds every finished row, for progress; may be null
   */
  public static Dataset<Row> apply(
      Dataset<Row> requests, InferenceSettings settings, LongAccumulator rowsDone) {
    return apply(requests, settings, rowsDone, null);
  }

  /**
   * As {@link #apply(Dataset, InferenceSettings, LongAccumulator)}, adding to {@code modelFailures}
   * every model call that failed on a batch, whose rows were then answered one by one (may be
   * null).
   */
  public static Dataset<Row> apply(
      Dataset<Row> requests,
      InferenceSettings settings,
      LongAccumulator rowsDone,
      LongAccumulator modelFailures) {
    StructType results = InferenceSchema.results(requests.schema());
    var spark = requests.sparkSession().sparkContext();
    try {
      LocalPackage.checkReachable(settings.modelUri(), spark.hadoopConfiguration());
    } catch (IOException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    Broadcast<SerializableConfiguration> hadoop = SerializableConfiguration.broadcast(spark);
    return requests.mapPartitions(
        new PartitionInference(settings, requests.schema(), hadoop, rowsDone, modelFailures),
        Encoders.row(results));
  }

  @Override
  public Iterator<Row> call(Iterator<Row> requests) {
    return new Results(requests);
  }

  /** One request row and what reading it gave. */
  private static final class Pending {
    final Row row;
    final int order;
    final int imageCount;
    final int textLength;
    Idefics3Request request;
    Idefics3Answer answer;
    long readNanos;
    String errorKind;
    String error;
    int imageGroup;

    Pending(Row row, int order, int imageCount, int textLength) {
      this.row = row;
      this.order = order;
      this.imageCount = imageCount;
      this.textLength = textLength;
    }
  }

  /** The result rows of a partition, produced a window at a time. */
  private final class Results implements Iterator<Row> {
    private final Iterator<Row> requests;
    private final Deque<Row> ready = new ArrayDeque<>();
    private final int idIndex = requestSchema.fieldIndex(InferenceSchema.ID);
    private final int imagesIndex = requestSchema.fieldIndex(InferenceSchema.IMAGES);
    private final int questionIndex = requestSchema.fieldIndex(InferenceSchema.QUESTION);
    private final int taskIndex = requestSchema.fieldIndex(InferenceSchema.TASK);
    private final int prefixIndex =
        InferenceSchema.hasColumn(requestSchema, InferenceSchema.ASSISTANT_PREFIX)
            ? requestSchema.fieldIndex(InferenceSchema.ASSISTANT_PREFIX)
            : -1;
    private final int markersIndex =
        InferenceSchema.hasColumn(requestSchema, InferenceSchema.IMAGE_MARKERS)
            ? requestSchema.fieldIndex(InferenceSchema.IMAGE_MARKERS)
            : -1;
    private final int slotsIndex =
        InferenceSchema.hasColumn(requestSchema, InferenceSchema.IMAGE_SLOTS)
            ? requestSchema.fieldIndex(InferenceSchema.IMAGE_SLOTS)
            : -1;
    private final int optionsIndex =
        InferenceSchema.hasColumn(requestSchema, InferenceSchema.MC_OPTIONS)
            ? requestSchema.fieldIndex(InferenceSchema.MC_OPTIONS)
            : -1;
    private final int[] passThrough;
    private final int inputErrorIndex =
        InferenceSchema.hasColumn(requestSchema, InferenceSchema.INPUT_ERROR)
            ? requestSchema.fieldIndex(InferenceSchema.INPUT_ERROR)
            : -1;
    private final int bytesIndex;
    private final int pathIndex;
    private final int pageIndex =
        InferenceSchema.hasPages(requestSchema)
            ? requestSchema.fieldIndex(InferenceSchema.PAGE)
            : -1;
    private final int pageErrorIndex =
        InferenceSchema.hasColumn(requestSchema, InferenceSchema.PAGE_ERROR)
            ? requestSchema.fieldIndex(InferenceSchema.PAGE_ERROR)
            : -1;
    private Idefics3Runtime model;
    private Idefics3Runtime.Answering<Started> answering;
    private long failuresReported; // answering's model failures added to modelFailures
    private final Deque<List<Pending>> unread = new ArrayDeque<>();
    private ImageFeatureCache imageCache;
    private DocumentPages documentPages;
    private Configuration conf;
    private AllowedRoots allowedRoots;

    Results(Iterator<Row> requests) {
      this.requests = requests;
      List<StructField> columns = InferenceSchema.passThrough(requestSchema);
      passThrough = new int[columns.size()];
      for (int i = 0; i < passThrough.length; i++) {
        passThrough[i] = requestSchema.fieldIndex(columns.get(i).name());
      }
      StructType image =
          (StructType)
              ((ArrayType) requestSchema.apply(InferenceSchema.IMAGES).dataType()).elementType();
      bytesIndex = image.fieldIndex("bytes");
      pathIndex = image.fieldIndex("path");
    }

    @Override
    public boolean hasNext() {
      if (ready.isEmpty() && answering == null && requests.hasNext()) {
        conf = hadoop.value().value();
        model = ModelCache.get(settings, conf, TaskResources.current());
        imageCache = ImageFeatureCache.ofMegabytes(settings.model().imageCacheMb());
        // the next batch is read and its images decode on the model's pool while the model
        // works; with continuous batching the slots stay full across batches and windows, and a
        // batch's rows may be answered after a later batch's
        answering = model.answering(this::nextBatch, Started::prepared, this::answered);
      }
      while (ready.isEmpty() && answering != null && answering.advance()) {
        // each advance answers at least one batch into ready
      }
      return !ready.isEmpty();
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return ready.poll();
    }

    /** The next batch of the partition, read and started; null when every row is. */
    private Started nextBatch() {
      if (unread.isEmpty()) {
        if (!requests.hasNext()) {
          return null;
        }
        readWindow();
      }
      return start(unread.poll());
    }

    /**
     * Reads the next window of rows and queues it as batches: sorted by image count, image (rows
     * sharing one next to each other) and text length, so a batch pads little.
     */
    private void readWindow() {
      int batchSize = settings.model().batchSize();
      int window = batchSize * settings.sortWindowBatches();
      List<Pending> rows = new ArrayList<>(window);
      Map<List<Object>, Integer> imageGroups = new HashMap<>();
      while (rows.size() < window && requests.hasNext()) {
        Row row = requests.next();
        List<Row> images = row.isNullAt(imagesIndex) ? List.of() : row.getList(imagesIndex);
        String question = row.getString(questionIndex);
        String prefix = prefixIndex < 0 ? null : row.getString(prefixIndex);
        int text =
            (question == null ? 0 : question.length()) + (prefix == null ? 0 : prefix.length());
        Pending pending = new Pending(row, rows.size(), images.size(), text);
        if (imageCache.enabled()) {
          pending.imageGroup = imageGroups.computeIfAbsent(imageIdentity(images), k -> rows.size());
        }
        rows.add(pending);
      }
      rows.sort(
          Comparator.comparingInt((Pending p) -> p.imageCount)
              .thenComparingInt(p -> p.imageGroup)
              .thenComparingInt(p -> p.textLength)
              .thenComparingInt(p -> p.order));
      for (int start = 0; start < rows.size(); start += batchSize) {
        unread.add(rows.subList(start, Math.min(rows.size(), start + batchSize)));
      }
    }

    /** A batch's answers in: its result rows (and those of rows that could not be asked) out. */
    private void answered(Started started, List<Idefics3Answer> answers) {
      for (int i = 0; i < answers.size(); i++) {
        started.answerable().get(i).answer = answers.get(i);
      }
      for (Pending pending : started.rows()) {
        ready.add(pending.answer != null ? result(pending, pending.answer) : failed(pending));
      }
      if (rowsDone != null) {
        rowsDone.add(started.rows().size());
      }
      long failures = answering.modelFailures(); // this partition's so far
      if (modelFailures != null && failures > failuresReported) {
        modelFailures.add(failures - failuresReported);
      }
      failuresReported = failures;
    }

    /**
     * What makes rows share their images, for grouping them: each image's bytes, or its path where
     * it has none (equal paths are equal images; equal bytes behind two paths still share their
     * encode through the cache's content hash, without being grouped).
     */
    private List<Object> imageIdentity(List<Row> images) {
      List<Object> identity = new ArrayList<>(images.size());
      for (Row image : images) {
        byte[] bytes = image == null ? null : (byte[]) image.get(bytesIndex);
        identity.add(
            bytes != null
                ? ByteBuffer.wrap(bytes)
                : image == null ? "" : image.getString(pathIndex));
      }
      return identity;
    }

    /**
     * A batch's rows read, and the model's batch of those that can be asked, started (null when
     * none can).
     */
    private record Started(
        List<Pending> rows, List<Pending> answerable, Idefics3Runtime.PreparedBatch prepared) {}

    private Started start(List<Pending> batch) {
      List<Pending> answerable = new ArrayList<>(batch.size());
      List<Idefics3Request> requests = new ArrayList<>(batch.size());
      for (Pending pending : batch) {
        read(pending);
        if (pending.error == null) {
          answerable.add(pending);
          requests.add(pending.request);
        }
      }
      return new Started(
          batch, answerable, requests.isEmpty() ? null : model.prepare(requests, imageCache));
    }

    /** Reads the row's images (bytes, or the path where bytes is null) into its request. */
    private void read(Pending pending) {
      long start = System.nanoTime();
      Row row = pending.row;
      if (inputErrorIndex >= 0 && !row.isNullAt(inputErrorIndex)) {
        pending.errorKind = InferenceSchema.MALFORMED_ROW;
        pending.error = row.getString(inputErrorIndex);
        return;
      }
      String question = row.getString(questionIndex);
      List<byte[]> images = new ArrayList<>(pending.imageCount);
      List<Row> structs = row.isNullAt(imagesIndex) ? List.of() : row.getList(imagesIndex);
      String failure = null;
      Integer page =
          pageIndex < 0 || row.isNullAt(pageIndex) || structs.size() != 1
              ? null
              : row.getInt(pageIndex);
      if (pageErrorIndex >= 0 && !row.isNullAt(pageErrorIndex)) {
        failure = row.getString(pageErrorIndex);
        pending.errorKind = InferenceSchema.BAD_PAGES;
      }
      for (int i = 0; i < structs.size() && failure == null; i++) {
        String which = structs.size() == 1 ? "the image" : "image " + (i + 1);
        Row image = structs.get(i);
        byte[] bytes = image == null ? null : (byte[]) image.get(bytesIndex);
        String path = image == null ? null : image.getString(pathIndex);
        if (bytes == null && path == null) {
          failure = which + " has neither bytes nor a path";
          continue;
        }
        try {
          byte[] rendered = page == null ? null : renderedPage(bytes, path, page);
          images.add(rendered != null ? rendered : bytes != null ? bytes : readPath(path));
        } catch (DocumentPageException e) {
          failure =
              (path == null ? "the document's bytes" : RedactedUri.of(path))
                  + " page "
                  + page
                  + ": "
                  + e.getMessage();
          pending.errorKind = kindOf(e);
        } catch (TooLarge e) {
          failure = which + ": " + RedactedUri.of(path) + " " + e.getMessage();
          pending.errorKind = Idefics3Answer.ErrorKind.TOO_LARGE.name();
        } catch (IOException | RuntimeException e) {
          failure =
              which
                  + ": cannot read "
                  + (path == null ? "its bytes" : RedactedUri.of(path))
                  + ": "
                  + RedactedUri.of(describe(e));
        }
      }
      pending.readNanos = System.nanoTime() - start;
      if (failure != null) {
        if (pending.errorKind == null) {
          pending.errorKind = InferenceSchema.UNREADABLE_IMAGE;
        }
        pending.error = failure;
      } else if (question == null) {
        pending.errorKind = Idefics3Answer.ErrorKind.BAD_PROMPT.name();
        pending.error = "the question is null; every request needs its text";
      } else {
        String prefix = prefixIndex < 0 ? null : row.getString(prefixIndex);
        boolean markers =
            markersIndex >= 0 && !row.isNullAt(markersIndex) && row.getBoolean(markersIndex);
        List<Integer> slots =
            slotsIndex < 0 || row.isNullAt(slotsIndex) ? null : row.getList(slotsIndex);
        try {
          pending.request =
              (slots != null
                      ? ImageSlots.request(question, images, slots)
                      : markers
                          ? ImageMarkers.request(question, images)
                          : Idefics3Request.question(question, images))
                  .withAssistantPrefix(prefix);
        } catch (IllegalArgumentException e) {
          pending.errorKind = Idefics3Answer.ErrorKind.BAD_PROMPT.name();
          pending.error = e.getMessage();
          return;
        }
        List<String> options =
            optionsIndex < 0 || row.isNullAt(optionsIndex) ? List.of() : row.getList(optionsIndex);
        if (!options.isEmpty()) {
          if (options.contains(null)) {
            pending.errorKind = Idefics3Answer.ErrorKind.BAD_PROMPT.name();
            pending.error = "an option of " + options + " is null; every option needs its text";
            pending.request = null;
            return;
          }
          if (!model.canScoreOptions()) {
            // Every row with options would fail the same way: stop the task with the reason.
            throw new IllegalStateException(
                "model package "
                    + model.packageDir()
                    + " has no score_options signature (it was converted by an older build),"
                    + " which scoring options by likelihood (--mc-scoring likelihood) runs;"
                    + " convert the checkpoint again and set --model to the new package, or use"
                    + " --mc-scoring generate");
          }
          pending.request = pending.request.withOptions(options);
        }
      }
    }

    /**
     * Page {@code page} of the document the image is, rendered and encoded as BMP; null when its
     * first bytes are no PDF or TIFF, or it is a TIFF of one frame (the image is then read as an
     * image).
     */
    private byte[] renderedPage(byte[] bytes, String path, int page) throws IOException {
      if (documentPages == null) {
        documentPages =
            new DocumentPages(
                settings.pageDpi(),
                settings.model().maxImagePixels(),
                "dpi",
                InferenceOption.MAX_IMAGE_PIXELS.key());
      }
      DocumentPages.Opener file =
          () -> bytes != null ? new RandomAccessReadBuffer(bytes) : openPath(path);
      DocumentPages.Format format = documentPages.pageFormat(file, page);
      if (format == null) {
        return null;
      }
      return documentPages.render(file.open(), format, page).toBmp(); // render closes it
    }

    private RandomAccessRead openPath(String path) throws IOException {
      org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(path);
      FileSystem fs = file.getFileSystem(conf);
      return HadoopRandomAccessRead.open(fs, allowed(fs, file));
    }

    /**
     * The path to read for {@code file}: itself, or its real path for a local file, once {@link
     * AllowedRoots} found it inside the allowed folders (an IOException naming them otherwise).
     */
    private org.apache.hadoop.fs.Path allowed(FileSystem fs, org.apache.hadoop.fs.Path file)
        throws IOException {
      if (settings.allowedRoots() == null) {
        return file;
      }
      if (allowedRoots == null) {
        allowedRoots = AllowedRoots.of(settings.allowedRoots(), conf);
      }
      return allowedRoots.check(fs.makeQualified(file));
    }

    private byte[] readPath(String path) throws IOException {
      org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(path);
      FileSystem fs = file.getFileSystem(conf);
      file = allowed(fs, file);
      FileStatus status = fs.getFileStatus(file);
      if (status.isDirectory()) {
        throw new IOException("it is a folder");
      }
      long maxBytes = settings.model().maxImageBytes();
      if (maxBytes > 0 && status.getLen() > maxBytes) {
        throw new TooLarge(
            "is "
                + status.getLen()
                + " bytes, more than the limit of "
                + maxBytes
                + " (max-image-bytes); shrink the image or raise max-image-bytes (0: no limit)");
      }
      if (status.getLen() > Integer.MAX_VALUE - 8) {
        throw new IOException("it is " + status.getLen() + " bytes, more than an image can be");
      }
      try (InputStream in = fs.open(file)) {
        return in.readAllBytes();
      }
    }

    private Row result(Pending pending, Idefics3Answer answer) {
      return row(
          pending,
          answer.text(),
          answer.promptTokens(),
          answer.generatedTokens(),
          answer.frames(),
          (pending.readNanos + answer.preprocessNanos()) / 1e6,
          answer.encodeNanos() / 1e6,
          answer.generateNanos() / 1e6,
          answer.error(),
          answer.errorKind() == null ? null : answer.errorKind().name(),
          answer.optionLogprobs());
    }

    private Row failed(Pending pending) {
      return row(
          pending,
          null,
          0,
          0,
          0,
          pending.readNanos / 1e6,
          0,
          0,
          pending.error,
          pending.errorKind,
          null);
    }

    private Row row(
        Pending pending,
        String answer,
        int promptTokens,
        int generatedTokens,
        int frames,
        double preprocessMs,
        double encodeMs,
        double generateMs,
        String error,
        String errorKind,
        double[] optionLogprobs) {
      Row row = pending.row;
      Object[] values = new Object[passThrough.length + 14 + (optionsIndex < 0 ? 0 : 1)];
      int i = 0;
      values[i++] = row.get(idIndex);
      for (int column : passThrough) {
        values[i++] = row.get(column);
      }
      values[i++] = row.get(taskIndex);
      values[i++] = row.get(questionIndex);
      values[i++] = pending.imageCount;
      values[i++] = answer;
      values[i++] = promptTokens;
      values[i++] = generatedTokens;
      values[i++] = frames;
      values[i++] = preprocessMs;
      values[i++] = encodeMs;
      values[i++] = generateMs;
      values[i++] = settings.modelUri();
      values[i++] = error;
      values[i++] = errorKind;
      if (optionsIndex >= 0) {
        values[i] = optionLogprobs == null ? null : optionLogprobs.clone(); // array<double>
      }
      return RowFactory.create(values);
    }
  }

  /** An image file larger than the max-image-bytes setting, found before it is read. */
  private static final class TooLarge extends IOException {
    private static final long serialVersionUID = 1L;

    TooLarge(String message) {
      super(message);
    }
  }

  private static String kindOf(DocumentPageException e) {
    return switch (e.problem()) {
      case ENCRYPTED -> InferenceSchema.ENCRYPTED_DOCUMENT;
      case CORRUPT -> Idefics3Answer.ErrorKind.CORRUPT_IMAGE.name();
      case NO_SUCH_PAGE -> InferenceSchema.BAD_PAGES;
      case TOO_MANY_PIXELS -> Idefics3Answer.ErrorKind.TOO_MANY_PIXELS.name();
      case TOO_LARGE -> Idefics3Answer.ErrorKind.TOO_LARGE.name();
    };
  }

  private static String describe(Exception e) {
    if (e instanceof FileNotFoundException) {
      return "no such file";
    }
    String message = e.getMessage();
    return message == null ? e.getClass().getSimpleName() : message;
  }
}
