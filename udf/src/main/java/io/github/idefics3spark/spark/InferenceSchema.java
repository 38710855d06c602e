package io.github.idefics3spark.spark;

import io.github.idefics3spark.idefics3.runtime.Idefics3Answer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The columns the inference stage reads and writes.
 *
 * <p>Requests (what the readers produce):
 *
 * <table>
 *   <caption>request columns</caption>
 *   <tr><th>column</th><th>type</th><th>meaning</th></tr>
 *   <tr><td>{@code id}</td><td>string</td><td>the row's identity, unique in the dataset</td></tr>
 *   <tr><td>{@code images}</td><td>array&lt;struct&lt;bytes: binary, path: string&gt;&gt;</td>
 *       <td>the images, in order (may be empty): the encoded bytes, or, where bytes is null, a
 *       path or URI read through Hadoop's file systems (local, hdfs:, s3a:)</td></tr>
 *   <tr><td>{@code question}</td><td>string</td><td>the user text, the task's prompt template
 *       already applied; the images come before it in the user turn</td></tr>
 *   <tr><td>{@code assistant_prefix}</td><td>string, optional, nullable</td><td>text the answer
 *       continues</td></tr>
 *   <tr><td>{@code task}</td><td>string</td><td>caption, vqa, a benchmark name...</td></tr>
 *   <tr><td>{@code image_markers}</td><td>boolean, optional, nullable</td><td>true: the images
 *       stand where the question names them, {@code <image k>} for the k-th image (MMMU's
 *       interleaved questions; {@link ImageMarkers}); null or false: images first, then the
 *       question</td></tr>
 *   <tr><td>{@code image_slots}</td><td>array&lt;int&gt;, optional, nullable</td><td>not null:
 *       the question is the whole user turn with {@code <image>} where each image goes, the n-th
 *       taking image {@code image_slots[n]} (1-based), the text between kept as written
 *       ({@link ImageSlots}: SmolVLM's own evaluation prompts); it overrides {@code
 *       image_markers}</td></tr>
 *   <tr><td>{@code mc_options}</td><td>array&lt;string&gt;, optional, nullable</td><td>a
 *       multiple-choice question's options as its answers name them ("A", "B"...): the row is
 *       answered by ranking them by likelihood (one forward, {@code score_options}) instead of
 *       generating; null or empty: generated</td></tr>
 *   <tr><td>{@code page}</td><td>int, optional, nullable</td><td>where the row's one image is
 *       a PDF or TIFF (known by its first bytes), the page (frame) of it the model sees, 1-based,
 *       rendered by the stage ({@link io.github.idefics3spark.image.DocumentPages}); ignored for
 *       other images; passed through like the columns below ({@link PageRequests} makes
 *       it)</td></tr>
 *   <tr><td>{@code page_error}</td><td>string, optional, nullable</td><td>set: the reader found
 *       no page to render (an invalid page range); the row becomes a {@code BAD_PAGES} error row
 *       with this message</td></tr>
 *   <tr><td>any other</td><td>any</td><td>passed through unchanged</td></tr>
 * </table>
 *
 * <p>Results: one row per request, these columns in this order:
 *
 * <table>
 *   <caption>result columns</caption>
 *   <tr><th>column</th><th>type</th><th>meaning</th></tr>
 *   <tr><td>{@code id}</td><td>string</td><td>the request's id</td></tr>
 *   <tr><td>pass-through columns</td><td>as read</td><td>every request column not named
 *       above, in input order</td></tr>
 *   <tr><td>{@code task}</td><td>string</td><td>the request's task</td></tr>
 *   <tr><td>{@code question}</td><td>string</td><td>the request's question</td></tr>
 *   <tr><td>{@code image_count}</td><td>int</td><td>images in the request</td></tr>
 *   <tr><td>{@code answer}</td><td>string, null on error</td><td>the generated text (after the
 *       assistant prefix, which it does not repeat), special tokens removed, stripped</td></tr>
 *   <tr><td>{@code prompt_tokens}</td><td>int</td><td>prompt length in tokens, image tokens
 *       included (0 when the row failed before tokenising)</td></tr>
 *   <tr><td>{@code generated_tokens}</td><td>int</td><td>new tokens, the stop token included</td></tr>
 *   <tr><td>{@code image_frames}</td><td>int</td><td>frames (tiles and global images) of the row's
 *       images, as the vision encoder reads them (once for rows sharing an image)</td></tr>
 *   <tr><td>{@code preprocess_ms}</td><td>double</td><td>reading, decoding, resizing and
 *       tokenising this row</td></tr>
 *   <tr><td>{@code encode_ms}</td><td>double</td><td>the vision encoder for the row's whole
 *       batch</td></tr>
 *   <tr><td>{@code generate_ms}</td><td>double</td><td>the decode loop for the row's whole
 *       batch</td></tr>
 *   <tr><td>{@code model}</td><td>string</td><td>the model setting as given</td></tr>
 *   <tr><td>{@code error}</td><td>string, null on success</td><td>what went wrong and what to
 *       change</td></tr>
 *   <tr><td>{@code error_kind}</td><td>string, null on success</td><td>{@code EMPTY_IMAGE},
 *       {@code UNKNOWN_IMAGE_FORMAT}, {@code CORRUPT_IMAGE}, {@code TOO_MANY_PIXELS}, {@code
 *       BAD_PROMPT}, {@code PROMPT_TOO_LONG} (the runtime's {@link
 *       io.github.idefics3spark.idefics3.runtime.Idefics3Answer.ErrorKind}), {@code UNREADABLE_IMAGE} (a
 *       path that cannot be read, an image with neither bytes nor path), {@code MALFORMED_ROW} (a
 *       manifest line that does not parse, named by file and line), {@code ENCRYPTED_DOCUMENT} (a PDF that needs a password), {@code BAD_PAGES} (a
 *       page range that does not parse, a page past the document's end, a document with no
 *       pages) or {@code MODEL_FAILURE}
 *       (the runtime failed on this row alone)</td></tr>
 *   <tr><td>{@code option_logprobs}</td><td>array&lt;double&gt;, only when the requests have
 *       {@code mc_options}</td><td>each option's log-probability after the prompt, in {@code
 *       mc_options} order; the answer is the first most likely; null for a generated or failed
 *       row</td></tr>
 * </table>
 */
public final class InferenceSchema {
  public static final String ID = "id";
  public static final String IMAGES = "images";
  public static final String QUESTION = "question";
  public static final String ASSISTANT_PREFIX = "assistant_prefix";
  public static final String TASK = "task";
  public static final String IMAGE_MARKERS = "image_markers";
  public static final String IMAGE_SLOTS = "image_slots";

  /**
   * Optional request column: why the row itself could not be read (a manifest line that does not
   * parse); a row where it is set is answered with that error and {@link #MALFORMED_ROW}.
   */
  public static final String INPUT_ERROR = "input_error";

  public static final String MC_OPTIONS = "mc_options";
  public static final String PAGE = "page";
  public static final String PAGE_ERROR = "page_error";

  public static final String IMAGE_COUNT = "image_count";
  public static final String ANSWER = "answer";
  public static final String PROMPT_TOKENS = "prompt_tokens";
  public static final String GENERATED_TOKENS = "generated_tokens";
  public static final String IMAGE_FRAMES = "image_frames";
  public static final String PREPROCESS_MS = "preprocess_ms";
  public static final String ENCODE_MS = "encode_ms";
  public static final String GENERATE_MS = "generate_ms";
  public static final String MODEL = "model";
  public static final String ERROR = "error";
  public static final String ERROR_KIND = "error_kind";
  public static final String OPTION_LOGPROBS = "option_logprobs";

  /** {@code error_kind} of an image path that cannot be read. */
  public static final String UNREADABLE_IMAGE = "UNREADABLE_IMAGE";

  /** {@code error_kind} of a row whose input could not be read ({@link #INPUT_ERROR}). */
  public static final String MALFORMED_ROW = "MALFORMED_ROW";

  /** {@code error_kind} of a PDF page whose document needs a password. */
  public static final String ENCRYPTED_DOCUMENT = "ENCRYPTED_DOCUMENT";

  /**
   * {@code error_kind} of a page range that does not parse, a page past its document's end, or a
   * document with no pages.
   */
  public static final String BAD_PAGES = "BAD_PAGES";

  /** {@code error_kind} of a row the runtime failed on alone. */
  public static final String MODEL_FAILURE = "MODEL_FAILURE";

  /** Every {@code error_kind}: the runtime's, then the stage's own. */
  public static final List<String> ERROR_KINDS =
      Stream.concat(
              Arrays.stream(Idefics3Answer.ErrorKind.values()).map(Enum::name),
              Stream.of(
                  UNREADABLE_IMAGE, MALFORMED_ROW, ENCRYPTED_DOCUMENT, BAD_PAGES, MODEL_FAILURE))
          .toList();

  /** The type of one image: encoded bytes, or a path read where bytes is null. */
  public static final StructType IMAGE =
      new StructType()
          .add("bytes", DataTypes.BinaryType, true)
          .add("path", DataTypes.StringType, true);

  /** The columns the stage reads; the others pass through. */
  private static final Set<String> REQUEST_COLUMNS =
      Set.of(
          ID,
          IMAGES,
          QUESTION,
          ASSISTANT_PREFIX,
          TASK,
          IMAGE_MARKERS,
          IMAGE_SLOTS,
          INPUT_ERROR,
          MC_OPTIONS,
          PAGE_ERROR);

  /** The columns the stage adds after the pass-through columns. */
  private static final List<StructField> RESULT_COLUMNS =
      List.of(
          DataTypes.createStructField(TASK, DataTypes.StringType, true),
          DataTypes.createStructField(QUESTION, DataTypes.StringType, true),
          DataTypes.createStructField(IMAGE_COUNT, DataTypes.IntegerType, false),
          DataTypes.createStructField(ANSWER, DataTypes.StringType, true),
          DataTypes.createStructField(PROMPT_TOKENS, DataTypes.IntegerType, false),
          DataTypes.createStructField(GENERATED_TOKENS, DataTypes.IntegerType, false),
          DataTypes.createStructField(IMAGE_FRAMES, DataTypes.IntegerType, false),
          DataTypes.createStructField(PREPROCESS_MS, DataTypes.DoubleType, false),
          DataTypes.createStructField(ENCODE_MS, DataTypes.DoubleType, false),
          DataTypes.createStructField(GENERATE_MS, DataTypes.DoubleType, false),
          DataTypes.createStructField(MODEL, DataTypes.StringType, false),
          DataTypes.createStructField(ERROR, DataTypes.StringType, true),
          DataTypes.createStructField(ERROR_KIND, DataTypes.StringType, true));

  private InferenceSchema() {}

  /** The least a request dataset has: id, images, question and task. */
  public static StructType requests() {
    return new StructType()
        .add(ID, DataTypes.StringType, false)
        .add(IMAGES, DataTypes.createArrayType(IMAGE, true), true)
        .add(QUESTION, DataTypes.StringType, true)
        .add(ASSISTANT_PREFIX, DataTypes.StringType, true)
        .add(TASK, DataTypes.StringType, true);
  }

  /**
   * The result schema for these request columns.
   *
   * @throws IllegalArgumentException naming the column when a request column is missing or has
   *     another type, or a pass-through column has the name of a result column
   */
  public static StructType results(StructType requests) {
    require(requests, ID, DataTypes.StringType);
    require(requests, QUESTION, DataTypes.StringType);
    require(requests, TASK, DataTypes.StringType);
    if (hasColumn(requests, ASSISTANT_PREFIX)) {
      require(requests, ASSISTANT_PREFIX, DataTypes.StringType);
    }
    if (hasColumn(requests, IMAGE_MARKERS)) {
      require(requests, IMAGE_MARKERS, DataTypes.BooleanType);
    }
    if (hasColumn(requests, IMAGE_SLOTS)) {
      require(requests, IMAGE_SLOTS, DataTypes.createArrayType(DataTypes.IntegerType, true));
    }
    if (hasColumn(requests, INPUT_ERROR)) {
      require(requests, INPUT_ERROR, DataTypes.StringType);
    }
    if (hasColumn(requests, MC_OPTIONS)) {
      DataType options = field(requests, MC_OPTIONS).dataType();
      if (!(options instanceof ArrayType array) || array.elementType() != DataTypes.StringType) {
        throw new IllegalArgumentException(
            "request column "
                + MC_OPTIONS
                + " is "
                + options.simpleString()
                + ", expected array<string> (the options' letters)");
      }
    }
    if (hasColumn(requests, PAGE_ERROR)) {
      require(requests, PAGE_ERROR, DataTypes.StringType);
    }
    StructField images = field(requests, IMAGES);
    if (!(images.dataType() instanceof ArrayType array)
        || !(array.elementType() instanceof StructType image)
        || !hasField(image, "bytes", DataTypes.BinaryType)
        || !hasField(image, "path", DataTypes.StringType)) {
      throw new IllegalArgumentException(
          "request column "
              + IMAGES
              + " is "
              + images.dataType().simpleString()
              + ", expected array<struct<bytes:binary,path:string>>");
    }
    List<StructField> resultColumns = new ArrayList<>(RESULT_COLUMNS);
    resultColumns.add(DataTypes.createStructField(OPTION_LOGPROBS, DataTypes.StringType, true));
    List<StructField> fields = new ArrayList<>();
    fields.add(field(requests, ID));
    for (StructField column : passThrough(requests)) {
      for (StructField result : resultColumns) {
        if (result.name().equalsIgnoreCase(column.name())) {
          throw new IllegalArgumentException(
              "request column "
                  + column.name()
                  + " would pass through under the name of the result column "
                  + result.name()
                  + "; rename it in the input (a reference answer as reference_answer, say)");
        }
      }
      fields.add(column);
    }
    fields.addAll(RESULT_COLUMNS);
    if (hasColumn(requests, MC_OPTIONS)) {
      fields.add(
          DataTypes.createStructField(
              OPTION_LOGPROBS, DataTypes.createArrayType(DataTypes.DoubleType, false), true));
    }
    return DataTypes.createStructType(fields);
  }

  /** The request columns that pass through unchanged, in input order. */
  public static List<StructField> passThrough(StructType requests) {
    List<StructField> columns = new ArrayList<>();
    for (StructField column : requests.fields()) {
      if (!REQUEST_COLUMNS.contains(column.name())) {
        columns.add(column);
      }
    }
    return columns;
  }

  /** Whether the requests say which page of a document each row is: an int {@code page}. */
  static boolean hasPages(StructType requests) {
    return hasColumn(requests, PAGE)
        && requests.apply(PAGE).dataType().equals(DataTypes.IntegerType);
  }

  static boolean hasColumn(StructType schema, String name) {
    return List.of(schema.fieldNames()).contains(name);
  }

  private static StructField field(StructType schema, String name) {
    if (!hasColumn(schema, name)) {
      throw new IllegalArgumentException(
          "the requests have no column "
              + name
              + " (columns: "
              + String.join(", ", schema.fieldNames())
              + "); expected "
              + requests().simpleString());
    }
    return schema.apply(name);
  }

  private static void require(StructType schema, String name, DataType type) {
    StructField column = field(schema, name);
    if (!column.dataType().equals(type)) {
      throw new IllegalArgumentException(
          "request column "
              + name
              + " is "
              + column.dataType().simpleString()
              + ", expected "
              + type.simpleString());
    }
  }

  private static boolean hasField(StructType struct, String name, DataType type) {
    return hasColumn(struct, name) && struct.apply(name).dataType().equals(type);
  }
}
