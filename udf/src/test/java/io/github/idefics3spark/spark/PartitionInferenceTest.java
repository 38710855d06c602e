package io.github.idefics3spark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.runtime.Idefics3Answer;
import io.github.idefics3spark.idefics3.runtime.Idefics3Request;
import io.github.idefics3spark.idefics3.runtime.Idefics3Runtime;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The partition function in Spark local mode: the runtime's answers for the same requests, error
 * rows for bad rows and answers for the others, rows out = rows in with pass-through columns
 * unchanged, one model load for every task of the JVM.
 */
class PartitionInferenceTest {
  private static final ModelSettings MODEL =
      ModelSettings.builder().maxNewTokens(8).batchSize(3).build();

  /** id, images, question, assistant_prefix, task, then pass-through source, n, meta. */
  private static final StructType REQUESTS =
      InferenceSchema.requests()
          .add("source", DataTypes.StringType)
          .add("n", DataTypes.LongType)
          .add("meta", new StructType().add("a", DataTypes.IntegerType));

  /** Kept between runs (the cache is keyed by the checkpoint's listing); mvn clean empties it. */
  private static final Path CACHE = Path.of("target", "model-cache").toAbsolutePath();

  @TempDir static Path temp;
  private static SparkSession spark;
  private static InferenceSettings settings;
  private static int loadsBefore;

  @BeforeAll
  static void start() {
    spark =
        SparkSession.builder()
            .master("local[4]")
            .appName("PartitionInferenceTest")
            .config("spark.task.cpus", "2") // two tasks at a time, two cores each
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .getOrCreate();
    settings =
        InferenceSettings.of(
                ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM).toString(), MODEL)
            .withCacheDir(CACHE.toString())
            .withSortWindowBatches(2);
    loadsBefore = ModelCache.loads();
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static Row image(byte[] bytes, String path) {
    return RowFactory.create(bytes, path);
  }

  private static Row request(String id, List<Row> images, String question, String prefix) {
    return RowFactory.create(
        id,
        images,
        question,
        prefix,
        "vqa",
        "src-" + id,
        (long) id.hashCode(),
        RowFactory.create(id.length()));
  }

  private static Dataset<Row> dataset(List<Row> rows, int partitions) {
    return spark.createDataFrame(rows, REQUESTS).repartition(partitions);
  }

  private static Map<String, Row> byId(List<Row> rows) {
    Map<String, Row> map = new HashMap<>();
    for (Row row : rows) {
      assertNull(map.put(row.getAs("id"), row), "id " + row.getAs("id") + " twice");
    }
    return map;
  }

  private static final List<String> IMAGES =
      List.of(
          "tile_64x64.png",
          "landscape_49x31.jpg",
          "portrait_35x49.jpg",
          "gray_40x29.png",
          "palette_33x45.gif",
          "rgba_alpha_48x33.png",
          "cmyk_41x31.jpg",
          "tile_56x56.png");

  /** Good requests of several shapes: one image, two, none, with and without a prefix. */
  private static List<Row> goodRequests() {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < IMAGES.size(); i++) {
      byte[] bytes = ReferenceFixtures.imageBytes(IMAGES.get(i));
      rows.add(
          request(
              "img-" + i,
              List.of(image(bytes, IMAGES.get(i))),
              "Describe picture " + "number ".repeat(i) + i + ".",
              i % 3 == 0 ? "It shows" : null));
    }
    rows.add(
        request(
            "two",
            List.of(
                image(ReferenceFixtures.imageBytes("tile_64x64.png"), null),
                image(ReferenceFixtures.imageBytes("gray_40x29.png"), null)),
            "Compare the two pictures.",
            null));
    rows.add(request("text", List.of(), "What is two plus two?", null));
    return rows;
  }

  @Test
  void answersAreTheRuntimesAnswersForTheSameRequests() throws IOException {
    List<Row> rows = goodRequests();
    long start = System.nanoTime();
    List<Row> results = PartitionInference.apply(dataset(rows, 3), settings, null).collectAsList();
    double first = (System.nanoTime() - start) / 1e9;
    start = System.nanoTime();
    assertEquals(rows.size(), PartitionInference.apply(dataset(rows, 3), settings, null).count());
    double again = (System.nanoTime() - start) / 1e9;
    System.out.printf(
        "PartitionInferenceTest: %d rows on local[4] (2 tasks of 2 cores): %.2f s the first time (model converted"
            + " and loaded), %.2f s again (%.1f rows/s)%n",
        rows.size(), first, again, rows.size() / again);

    Path dir =
        LocalPackage.resolve(
            settings.modelUri(), new Configuration(), Path.of(settings.cacheDir()));
    Map<String, Row> byId = byId(results);
    assertEquals(rows.size(), byId.size());
    try (Idefics3Runtime model =
        Idefics3Runtime.load(dir, MODEL.toBuilder().intraOpThreads(2).build())) {
      for (Row row : rows) {
        List<byte[]> images = new ArrayList<>();
        @SuppressWarnings("unchecked")
        List<Row> structs = (List<Row>) row.get(1);
        for (Row image : structs) {
          images.add((byte[]) image.get(0));
        }
        Idefics3Request request =
            Idefics3Request.question(row.getString(2), images)
                .withAssistantPrefix(row.getString(3));
        Idefics3Answer expected = model.answer(List.of(request)).get(0);
        assertNull(expected.error());
        Row result = byId.get(row.getString(0));
        String id = row.getString(0);
        assertNull(result.getAs("error"), id);
        assertNull(result.getAs("error_kind"), id);
        assertEquals(expected.text(), result.getAs("answer"), id);
        assertEquals(expected.promptTokens(), (int) result.getAs("prompt_tokens"), id);
        assertEquals(expected.generatedTokens(), (int) result.getAs("generated_tokens"), id);
        assertEquals(expected.frames(), (int) result.getAs("image_frames"), id);
        assertEquals(images.size(), (int) result.getAs("image_count"), id);
        assertEquals(row.getString(2), result.getAs("question"));
        assertEquals("vqa", result.getAs("task"));
        assertEquals(settings.modelUri(), result.getAs("model"));
        assertTrue((double) result.getAs("preprocess_ms") > 0, id);
        assertTrue((double) result.getAs("generate_ms") > 0, id);
      }
    }
    assertTrue(ModelCache.loads() - loadsBefore <= 1, "at most one load in this JVM");
  }

  @Test
  void rowsSharingAnImageGetTheSameAnswersWithTheCacheAndEncodeItOncePerPartition() {
    // DocVQA's shape: 4 questions on each of 3 pages, interleaved; one page by bytes, one by
    // path, one by bytes in some rows and by the path to the same bytes in others
    String[] pages = {"tile_64x64.png", "landscape_49x31.jpg", "portrait_35x49.jpg"};
    List<Row> rows = new ArrayList<>();
    for (int q = 0; q < 4; q++) {
      for (int p = 0; p < pages.length; p++) {
        byte[] bytes = ReferenceFixtures.imageBytes(pages[p]);
        String path = ReferenceFixtures.image(pages[p]).toString();
        Row image = p == 0 || (p == 2 && q % 2 == 0) ? image(bytes, pages[p]) : image(null, path);
        rows.add(request("p" + p + "-q" + q, List.of(image), "Question " + q + " on page?", null));
      }
    }
    Idefics3Runtime shared =
        ModelCache.get(settings, new Configuration(), new TaskResources(2, List.of()));
    InferenceSettings without = settings.withModel(MODEL.toBuilder().imageCacheMb(0).build());

    long before = shared.framesEncoded();
    Map<String, Row> plain =
        byId(PartitionInference.apply(dataset(rows, 1), without, null).collectAsList());
    long plainFrames = shared.framesEncoded() - before;
    Map<String, Row> cached =
        byId(PartitionInference.apply(dataset(rows, 1), settings, null).collectAsList());
    long cachedFrames = shared.framesEncoded() - before - plainFrames;

    assertEquals(rows.size(), cached.size(), "rows out = rows in");
    long pageFrames = 0;
    for (Row row : rows) {
      String id = row.getString(0);
      Row result = cached.get(id);
      assertNull(result.getAs("error"), id + ": " + result.getAs("error"));
      assertEquals((String) plain.get(id).getAs("answer"), result.getAs("answer"), id);
      assertEquals(
          (int) plain.get(id).getAs("image_frames"), (int) result.getAs("image_frames"), id);
      if (id.endsWith("-q0")) {
        pageFrames += (int) result.getAs("image_frames");
      }
    }
    assertEquals(4 * pageFrames, plainFrames, "without the cache every row encodes its page");
    assertEquals(pageFrames, cachedFrames, "with it each page once");
  }

  @Test
  void badRowsGetTheirErrorAndTheOthersTheirAnswers() {
    byte[] page = ReferenceFixtures.imageBytes("tile_64x64.png");
    String path = ReferenceFixtures.image("landscape_49x31.jpg").toString();
    List<Row> rows = new ArrayList<>(goodRequests());
    rows.add(request("zero-bytes", List.of(image(new byte[0], "zero.png")), "What?", null));
    rows.add(
        request(
            "text-bytes",
            List.of(image("not an image".getBytes(StandardCharsets.UTF_8), null)),
            "What?",
            null));
    rows.add(request("cut", List.of(image(Arrays.copyOf(page, page.length / 2), null)), "?", null));
    rows.add(request("missing-path", List.of(image(null, "/no/such/image.png")), "What?", null));
    rows.add(request("neither", List.of(image(null, null)), "What?", null));
    rows.add(request("null-image", Arrays.asList(image(page, null), null), "What?", null));
    rows.add(request("null-question", List.of(image(page, null)), null, null));
    rows.add(request("too-long", List.of(), "word ".repeat(9000), null));
    rows.add(request("by-path", List.of(image(null, path)), "What is this?", null));
    rows.add(request("by-file-uri", List.of(image(null, "file:" + path)), "What?", null));
    Map<String, String> expectedKinds =
        Map.of(
            "zero-bytes", "EMPTY_IMAGE",
            "text-bytes", "UNKNOWN_IMAGE_FORMAT",
            "cut", "CORRUPT_IMAGE",
            "missing-path", "UNREADABLE_IMAGE",
            "neither", "UNREADABLE_IMAGE",
            "null-image", "UNREADABLE_IMAGE",
            "null-question", "BAD_PROMPT",
            "too-long", "PROMPT_TOO_LONG");

    Dataset<Row> requests = dataset(rows, 4);
    LongAccumulator done = spark.sparkContext().longAccumulator("rows done");
    List<Row> results = PartitionInference.apply(requests, settings, done).collectAsList();

    assertEquals(rows.size(), results.size(), "rows out = rows in");
    assertEquals(rows.size(), done.value());
    Map<String, Row> byId = byId(results);
    for (Row row : rows) {
      String id = row.getString(0);
      Row result = byId.get(id);
      assertNotNull(result, id);
      assertEquals(row.getString(5), result.getAs("source"), id);
      assertEquals(row.getLong(6), (long) result.getAs("n"), id);
      assertEquals(row.getStruct(7), result.getAs("meta"), id);
      String kind = expectedKinds.get(id);
      if (kind == null) {
        assertNull(result.getAs("error"), id + ": " + result.getAs("error"));
        assertNotNull(result.getAs("answer"), id);
      } else {
        assertEquals(kind, result.getAs("error_kind"), id + ": " + result.getAs("error"));
        String error = result.getAs("error");
        assertTrue(error != null && error.length() > 15, id + ": " + error);
        assertNull(result.getAs("answer"), id);
      }
    }
    assertTrue(
        ((String) byId.get("missing-path").getAs("error")).contains("/no/such/image.png"),
        (String) byId.get("missing-path").getAs("error"));
    assertTrue(
        ((String) byId.get("null-image").getAs("error")).startsWith("image 2"),
        (String) byId.get("null-image").getAs("error"));
    assertEquals(
        InferenceSchema.results(REQUESTS),
        PartitionInference.apply(requests, settings, null).schema());
    assertTrue(ModelCache.loads() - loadsBefore <= 1, "at most one load in this JVM");
  }

  @Test
  void anImageFileOrBytesPastMaxImageBytesIsTooLargeNamingItsSizeAndTheSetting() {
    Path file = ReferenceFixtures.image("tile_64x64.png");
    byte[] bytes = ReferenceFixtures.imageBytes("tile_64x64.png");
    long limit = bytes.length - 1;
    InferenceSettings small =
        settings.withModel(settings.model().toBuilder().maxImageBytes(limit).build());
    List<Row> rows =
        List.of(
            request("by-path", List.of(image(null, file.toString())), "What?", null),
            request("by-bytes", List.of(image(bytes, null)), "What?", null),
            request("text", List.of(), "What is two plus two?", null));

    Map<String, Row> byId =
        byId(PartitionInference.apply(dataset(rows, 1), small, null).collectAsList());

    for (String id : List.of("by-path", "by-bytes")) {
      Row result = byId.get(id);
      String error = result.getAs("error");
      assertEquals("TOO_LARGE", result.getAs("error_kind"), id + ": " + error);
      assertTrue(
          error.contains(bytes.length + " bytes")
              && error.contains(Long.toString(limit))
              && error.contains("max"),
          id + ": " + error);
    }
    assertTrue(((String) byId.get("by-path").getAs("error")).contains("max-image-bytes"));
    assertNull(byId.get("text").getAs("error"));
  }

  @Test
  void aPathOutsideTheAllowedRootsIsUnreadableNamingTheSettingAndInsideIsRead() throws IOException {
    Path allowed = java.nio.file.Files.createDirectories(temp.resolve("allowed/sub"));
    java.nio.file.Files.copy(ReferenceFixtures.image("tile_64x64.png"), allowed.resolve("in.png"));
    Path secret = java.nio.file.Files.writeString(temp.resolve("secret.png"), "key=hunter2");
    InferenceSettings rooted =
        settings.withAllowedRoots(List.of(temp.resolve("allowed").toString()));
    List<Row> rows =
        List.of(
            request(
                "inside", List.of(image(null, allowed.resolve("in.png").toString())), "?", null),
            request(
                "inside-uri",
                List.of(image(null, allowed.resolve("in.png").toUri().toString())),
                "?",
                null),
            request("outside", List.of(image(null, secret.toString())), "?", null),
            request("dot-dot", List.of(image(null, allowed + "/../../secret.png")), "?", null),
            request("etc", List.of(image(null, "/etc/passwd")), "?", null));

    Map<String, Row> byId =
        byId(PartitionInference.apply(dataset(rows, 1), rooted, null).collectAsList());

    assertNull(byId.get("inside").getAs("error"));
    assertNull(byId.get("inside-uri").getAs("error"));
    for (String id : List.of("outside", "dot-dot", "etc")) {
      Row result = byId.get(id);
      String error = result.getAs("error");
      assertEquals("UNREADABLE_IMAGE", result.getAs("error_kind"), id + ": " + error);
      assertTrue(
          error.contains("outside the allowed roots") && error.contains("--allow-path-prefix"),
          id + ": " + error);
      assertFalse(error.contains("hunter2"), error);
    }
  }

  /**
   * Issue 15.3: local paths are compared by their real paths, so a symbolic link inside an allowed
   * folder that leads outside every root is refused before a byte is read (the target here is a
   * real image that would otherwise be answered), and links that stay inside, or a root reached
   * through a link, are read.
   */
  @Test
  void aSymbolicLinkLeadingOutsideTheAllowedRootsIsRefusedAndOneStayingInsideIsRead()
      throws IOException {
    Path real = java.nio.file.Files.createDirectories(temp.resolve("links/real"));
    Path outside = java.nio.file.Files.createDirectories(temp.resolve("links/outside"));
    java.nio.file.Files.copy(ReferenceFixtures.image("tile_64x64.png"), real.resolve("in.png"));
    java.nio.file.Files.copy(
        ReferenceFixtures.image("tile_64x64.png"), outside.resolve("secret.png"));
    Path root = java.nio.file.Files.createSymbolicLink(temp.resolve("links/root"), real);
    java.nio.file.Files.createSymbolicLink(real.resolve("same.png"), real.resolve("in.png"));
    java.nio.file.Files.createSymbolicLink(real.resolve("away.png"), outside.resolve("secret.png"));
    java.nio.file.Files.createSymbolicLink(real.resolve("away"), outside);
    java.nio.file.Files.createSymbolicLink(real.resolve("etc"), Path.of("/etc"));
    java.nio.file.Files.createSymbolicLink(
        real.resolve("dangling.png"), outside.resolve("not-yet.png"));
    InferenceSettings rooted = settings.withAllowedRoots(List.of(root.toString()));
    Map<String, String> paths = new HashMap<>();
    paths.put("through-root", root.resolve("in.png").toString());
    paths.put("real-path", real.resolve("in.png").toString());
    paths.put("link-inside", root.resolve("same.png").toUri().toString());
    paths.put("file-link-out", root.resolve("away.png").toString());
    paths.put("folder-link-out", root.resolve("away/secret.png").toString());
    paths.put("etc-link", root.resolve("etc/passwd").toString());
    paths.put("dangling-link", root.resolve("dangling.png").toString());
    List<Row> rows = new ArrayList<>();
    paths.forEach((id, path) -> rows.add(request(id, List.of(image(null, path)), "?", null)));

    Map<String, Row> byId =
        byId(PartitionInference.apply(dataset(rows, 1), rooted, null).collectAsList());

    for (String id : List.of("through-root", "real-path", "link-inside")) {
      assertNull(byId.get(id).getAs("error"), id);
      assertNotNull(byId.get(id).getAs("answer"), id);
    }
    for (String id : List.of("file-link-out", "folder-link-out", "etc-link")) {
      Row result = byId.get(id);
      String error = result.getAs("error");
      assertEquals("UNREADABLE_IMAGE", result.getAs("error_kind"), id + ": " + error);
      assertTrue(
          error.contains("outside the allowed roots")
              && error.contains("once symbolic links are resolved")
              && error.contains("--allow-path-prefix"),
          id + ": " + error);
      assertFalse(error.contains("root:x:0"), error);
    }
    Row dangling = byId.get("dangling-link");
    assertEquals("UNREADABLE_IMAGE", dangling.getAs("error_kind"), () -> dangling.getAs("error"));
  }

  @Test
  void manyPartitionsAndJobsShareOneLoadedModel() {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      rows.add(request("r" + i, List.of(), "Count to " + i + ".", null));
    }
    assertEquals(24, PartitionInference.apply(dataset(rows, 8), settings, null).count());
    int loads = ModelCache.loads();
    assertTrue(loads - loadsBefore <= 1, "at most one load in this JVM");
    for (int job = 0; job < 3; job++) {
      assertEquals(24, PartitionInference.apply(dataset(rows, 8), settings, null).count());
    }
    assertEquals(loads, ModelCache.loads(), "no load for 24 more tasks in 3 more jobs");
  }

  @Test
  void imageMarkersPlaceTheImagesWhereTheQuestionNamesThemOnlyWhenTrue() throws IOException {
    StructType schema = REQUESTS.add(InferenceSchema.IMAGE_MARKERS, DataTypes.BooleanType);
    byte[] first = ReferenceFixtures.imageBytes("tile_64x64.png");
    byte[] second = ReferenceFixtures.imageBytes("gray_40x29.png");
    String question = "Is <image 2> darker than <image 1>?";
    List<Row> rows = new ArrayList<>();
    for (Boolean markers : Arrays.asList(true, false, null)) {
      Row base =
          request(
              "markers-" + markers,
              List.of(image(first, null), image(second, null)),
              question,
              null);
      Object[] values = new Object[base.length() + 1];
      for (int i = 0; i < base.length(); i++) {
        values[i] = base.get(i);
      }
      values[base.length()] = markers;
      rows.add(RowFactory.create(values));
    }
    Dataset<Row> requests = spark.createDataFrame(rows, schema);
    assertEquals(
        InferenceSchema.results(REQUESTS),
        PartitionInference.apply(requests, settings, null).schema(),
        "image_markers is read, not passed through");
    Map<String, Row> byId =
        byId(PartitionInference.apply(requests, settings, null).collectAsList());

    Path dir =
        LocalPackage.resolve(
            settings.modelUri(), new Configuration(), Path.of(settings.cacheDir()));
    try (Idefics3Runtime model =
        Idefics3Runtime.load(dir, MODEL.toBuilder().intraOpThreads(2).build())) {
      Idefics3Answer interleaved =
          model.answer(List.of(ImageMarkers.request(question, List.of(first, second)))).get(0);
      Idefics3Answer imagesFirst =
          model.answer(List.of(Idefics3Request.question(question, List.of(first, second)))).get(0);
      assertTrue(interleaved.promptTokens() < imagesFirst.promptTokens(), "markers left the text");
      for (Boolean markers : Arrays.asList(true, false, null)) {
        Idefics3Answer expected = Boolean.TRUE.equals(markers) ? interleaved : imagesFirst;
        Row result = byId.get("markers-" + markers);
        assertNull(result.getAs("error"), String.valueOf(markers));
        assertEquals(expected.text(), result.getAs("answer"), String.valueOf(markers));
        assertEquals(
            expected.promptTokens(), (int) result.getAs("prompt_tokens"), String.valueOf(markers));
        assertEquals(2, (int) result.getAs("image_count"));
      }
    }
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                PartitionInference.apply(
                    requests.withColumn(InferenceSchema.IMAGE_MARKERS, requests.col("source")),
                    settings,
                    null));
    assertTrue(
        e.getMessage().contains("image_markers is string, expected boolean"), e.getMessage());
  }

  @Test
  void aTaskSeesTheCoresItOwnsAndTheModelGetsAsManyThreads() {
    MapPartitionsFunction<Long, String> report =
        rows -> {
          TaskResources resources = TaskResources.current();
          return List.of(resources.cpus() + " " + resources.gpus()).iterator();
        };
    List<String> tasks =
        spark
            .range(0, 4, 1, 4)
            .as(Encoders.LONG())
            .mapPartitions(report, Encoders.STRING())
            .collectAsList();
    // local mode schedules no GPUs; on a cluster their addresses come the same way
    assertEquals(List.of("2 []", "2 []", "2 []", "2 []"), tasks);
    assertEquals(
        2,
        ModelCache.get(settings, new Configuration(), new TaskResources(2, List.of()))
            .settings()
            .intraOpThreads());
  }

  /**
   * Rows with {@code mc_options} get the runtime's ranking of those letters (the most likely as the
   * answer, each letter's log-probability in {@code option_logprobs}); rows without are generated
   * in the same partitions, with a null {@code option_logprobs}; a row with an assistant prefix as
   * well is a BAD_PROMPT row. Without the request column the result has no {@code option_logprobs};
   * another type is refused naming it.
   */
  @Test
  void mcOptionsRowsAreRankedAsTheRuntimeRanksThemBesideGeneratedRows() throws IOException {
    List<Row> rows = goodRequests();
    Dataset<Row> requests =
        dataset(rows, 2)
            .withColumn(
                InferenceSchema.MC_OPTIONS,
                functions
                    .when(
                        functions.col("id").startsWith("img-"),
                        functions.array(functions.lit("A"), functions.lit("B"), functions.lit("C")))
                    .otherwise(functions.lit(null).cast("array<string>")));
    Map<String, Row> byId =
        byId(PartitionInference.apply(requests, settings, null).collectAsList());
    assertFalse(
        Arrays.asList(
                PartitionInference.apply(dataset(rows, 1), settings, null).schema().fieldNames())
            .contains(InferenceSchema.OPTION_LOGPROBS));

    Path dir =
        LocalPackage.resolve(
            settings.modelUri(), new Configuration(), Path.of(settings.cacheDir()));
    try (Idefics3Runtime model =
        Idefics3Runtime.load(dir, MODEL.toBuilder().intraOpThreads(2).build())) {
      for (Row row : rows) {
        String id = row.getString(0);
        Row result = byId.get(id);
        if (id.startsWith("img-") && row.getString(3) != null) {
          assertEquals("BAD_PROMPT", result.getAs("error_kind"), id);
          assertTrue(
              ((String) result.getAs("error")).contains("drop the assistant prefix"),
              (String) result.getAs("error"));
          continue;
        }
        assertNull(result.getAs("error"), id);
        if (!id.startsWith("img-")) {
          assertNull(result.getAs(InferenceSchema.OPTION_LOGPROBS), id);
          continue;
        }
        List<byte[]> images = new ArrayList<>();
        @SuppressWarnings("unchecked")
        List<Row> structs = (List<Row>) row.get(1);
        for (Row image : structs) {
          images.add((byte[]) image.get(0));
        }
        Idefics3Answer expected =
            model
                .answer(
                    List.of(
                        Idefics3Request.question(row.getString(2), images)
                            .withOptions(List.of("A", "B", "C"))))
                .get(0);
        assertEquals(expected.text(), result.getAs("answer"), id);
        List<Double> logprobs = result.getList(result.fieldIndex(InferenceSchema.OPTION_LOGPROBS));
        assertEquals(3, logprobs.size(), id);
        for (int k = 0; k < 3; k++) {
          assertEquals(expected.optionLogprobs()[k], logprobs.get(k), 1e-4, id + " option " + k);
        }
      }
    }
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                PartitionInference.apply(
                    dataset(rows, 1).withColumn(InferenceSchema.MC_OPTIONS, functions.lit("A")),
                    settings,
                    null));
    assertTrue(
        e.getMessage().contains("mc_options is string, expected array<string>"), e.getMessage());
  }

  @Test
  void aWrongRequestSchemaOrModelFailsBeforeAnySparkWorkNamingIt() {
    Dataset<Row> requests = dataset(goodRequests(), 1);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> PartitionInference.apply(requests.drop("question"), settings, null));
    assertTrue(e.getMessage().contains("no column question"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                PartitionInference.apply(
                    requests.withColumn("answer", requests.col("source")), settings, null));
    assertTrue(e.getMessage().contains("request column answer"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                PartitionInference.apply(
                    requests.withColumn("task", requests.col("n")), settings, null));
    assertTrue(e.getMessage().contains("task is bigint, expected string"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                PartitionInference.apply(
                    requests,
                    InferenceSettings.of(temp.resolve("nothing").toString(), MODEL),
                    null));
    assertTrue(e.getMessage().contains("--model"), e.getMessage());
  }
}
