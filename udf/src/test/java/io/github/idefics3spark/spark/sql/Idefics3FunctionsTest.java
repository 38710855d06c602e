package io.github.idefics3spark.spark.sql;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.idefics3.checkpoint.PackageFiles.Verification;
import io.github.idefics3spark.idefics3.runtime.Idefics3Answer;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import io.github.idefics3spark.spark.InferenceSchema;
import io.github.idefics3spark.spark.ModelCache;
import io.github.idefics3spark.spark.TinyModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SQL functions on a local session: the runtime's answers for bytes, HF structs, paths and
 * arrays; answers for good images and reasons for bad ones in one column; the same functions
 * registered the PySpark way (registerJavaFunction, settings from the Spark conf); options refused
 * naming the key.
 */
class Idefics3FunctionsTest {
  private static final ModelSettings MODEL = ModelSettings.builder().maxNewTokens(8).build();
  private static final Map<String, String> OPTIONS =
      Map.of("max-new-tokens", "8", "model-cache", TinyModel.CACHE.toString());

  private static final List<String> IMAGES =
      List.of("landscape_49x31.jpg", "tile_64x64.png", "gray_40x29.png", "palette_33x45.gif");

  private static final StructType TABLE =
      new StructType()
          .add("id", DataTypes.StringType)
          .add("bytes", DataTypes.BinaryType)
          .add("hf", InferenceSchema.IMAGE)
          .add("path", DataTypes.StringType)
          .add("pair", DataTypes.createArrayType(InferenceSchema.IMAGE))
          .add("question", DataTypes.StringType);

  @TempDir static Path temp;
  private static SparkSession spark;
  private static TinyModel runtime;
  private static int loadsBefore;

  @BeforeAll
  static void start() {
    ModelCache.closeAll();
    loadsBefore = ModelCache.loads();
    spark = TinyModel.spark("Idefics3FunctionsTest");
    Idefics3Functions.register(spark, TinyModel.uri(), OPTIONS);
    runtime = TinyModel.load(MODEL);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < IMAGES.size(); i++) {
      String name = IMAGES.get(i);
      String next = IMAGES.get((i + 1) % IMAGES.size());
      byte[] bytes = TinyModel.imageBytes(name);
      rows.add(
          RowFactory.create(
              "r" + i,
              bytes,
              // odd rows: an HF struct with the path alone, read through Hadoop
              i % 2 == 0
                  ? RowFactory.create(bytes, name)
                  : RowFactory.create(null, TinyModel.imagePath(name)),
              TinyModel.imagePath(name),
              List.of(
                  RowFactory.create(bytes, null),
                  RowFactory.create(TinyModel.imageBytes(next), null)),
              "What is in picture " + i + "?"));
    }
    spark.createDataFrame(rows, TABLE).repartition(2).createOrReplaceTempView("images");
  }

  @AfterAll
  static void stop() {
    runtime.close();
    spark.stop();
    ModelCache.closeAll();
  }

  private static Map<String, Row> byId(List<Row> rows) {
    Map<String, Row> map = new HashMap<>();
    for (Row row : rows) {
      map.put(row.getString(0), row);
    }
    return map;
  }

  private static Idefics3Answer expected(String text, String... images) {
    List<byte[]> bytes = new ArrayList<>();
    for (String image : images) {
      bytes.add(TinyModel.imageBytes(image));
    }
    Idefics3Answer answer = runtime.answer(text, bytes);
    assertNull(answer.error(), answer.error());
    return answer;
  }

  @Test
  void captionsAndAnswersAreTheRuntimesForBytesStructsPathsAndArrays() {
    long start = System.nanoTime();
    Map<String, Row> results =
        byId(
            spark
                .sql(
                    "SELECT id, vlm_caption(bytes) AS from_bytes, vlm_caption(hf) AS from_struct,"
                        + " vlm_caption(path) AS from_path, vlm_answer(pair, question) AS pair,"
                        + " vlm_answer(bytes, question) AS answer FROM images")
                .collectAsList());
    System.out.printf(
        "Idefics3FunctionsTest: %d calls in %.2f s%n",
        5 * IMAGES.size(), (System.nanoTime() - start) / 1e9);
    assertEquals(IMAGES.size(), results.size());
    for (int i = 0; i < IMAGES.size(); i++) {
      String image = IMAGES.get(i);
      String next = IMAGES.get((i + 1) % IMAGES.size());
      String question = "What is in picture " + i + "?";
      Row row = results.get("r" + i);
      String caption = expected("Describe this image.", image).text();
      assertEquals(caption, row.getAs("from_bytes"), image);
      assertEquals(caption, row.getAs("from_struct"), image);
      assertEquals(caption, row.getAs("from_path"), image);
      assertEquals(expected(question, image, next).text(), row.getAs("pair"), image);
      assertEquals(expected(question, image).text(), row.getAs("answer"), image);
    }
    assertEquals(1, ModelCache.loads() - loadsBefore, "one load for every call in this JVM");
  }

  @Test
  void theColumnFunctionsAndTheResultStructGiveTheSameAnswers() {
    Dataset<Row> table = spark.table("images");
    List<Row> rows =
        table
            .select(
                col("id"),
                Idefics3Functions.vlmCaption(col("bytes")).as("caption"),
                Idefics3Functions.vlmCaptionResult(col("hf")).as("result"),
                Idefics3Functions.vlmAnswerResult(col("bytes"), col("question")).as("answer"))
            .collectAsList();
    assertEquals(
        Idefics3Functions.RESULT,
        table
            .select(Idefics3Functions.vlmCaptionResult(col("hf")))
            .schema()
            .fields()[0]
            .dataType());
    for (Row row : rows) {
      int i = Integer.parseInt(row.getString(0).substring(1));
      Row result = row.getStruct(2);
      assertEquals(row.getString(1), result.getString(0));
      assertNull(result.get(1));
      assertNull(result.get(2));
      Row answer = row.getStruct(3);
      assertEquals(expected("What is in picture " + i + "?", IMAGES.get(i)).text(), answer.get(0));
    }
  }

  @Test
  void aColumnOfGoodAndBadImagesGivesAnswersForTheGoodAndReasonsForTheBad() {
    byte[] good = TinyModel.imageBytes("portrait_35x49.jpg");
    StructType schema =
        new StructType()
            .add("id", DataTypes.StringType)
            .add("image", DataTypes.BinaryType)
            .add("hf", InferenceSchema.IMAGE);
    List<Row> rows =
        List.of(
            RowFactory.create("good", good, RowFactory.create(good, null)),
            RowFactory.create("zero-bytes", new byte[0], RowFactory.create(new byte[0], null)),
            RowFactory.create(
                "text-bytes",
                "not an image".getBytes(StandardCharsets.UTF_8),
                RowFactory.create(null, TinyModel.imagePath("SOURCE.md"))),
            RowFactory.create("null", null, null),
            RowFactory.create(
                "cut",
                Arrays.copyOf(good, good.length / 2),
                RowFactory.create(null, "/no/such/image.png")),
            RowFactory.create("good-2", good, RowFactory.create(null, null)));
    spark.createDataFrame(rows, schema).repartition(2).createOrReplaceTempView("mixed");
    Map<String, Row> results =
        byId(
            spark
                .sql(
                    "SELECT id, vlm_caption(image) AS caption, vlm_caption_result(image) AS r,"
                        + " vlm_caption_result(hf) AS s FROM mixed")
                .collectAsList());
    Map<String, String> kinds =
        Map.of(
            "zero-bytes", "EMPTY_IMAGE",
            "text-bytes", "UNKNOWN_IMAGE_FORMAT",
            "null", "UNREADABLE_IMAGE",
            "cut", "CORRUPT_IMAGE");
    Map<String, String> structKinds =
        Map.of(
            "zero-bytes", "EMPTY_IMAGE",
            "text-bytes", "UNKNOWN_IMAGE_FORMAT",
            "null", "UNREADABLE_IMAGE",
            "cut", "UNREADABLE_IMAGE",
            "good-2", "UNREADABLE_IMAGE");
    String caption = expected("Describe this image.", "portrait_35x49.jpg").text();
    assertEquals(rows.size(), results.size());
    for (Row row : rows) {
      String id = row.getString(0);
      Row result = results.get(id);
      Row struct = result.getStruct(2);
      String kind = kinds.get(id);
      if (kind == null) {
        assertEquals(caption, result.getString(1), id);
        assertEquals(caption, struct.getString(0), id);
        assertNull(struct.get(1), id);
      } else {
        assertNull(result.get(1), id);
        assertNull(struct.get(0), id);
        assertEquals(kind, struct.getString(2), id + ": " + struct.getString(1));
        assertTrue(struct.getString(1).length() > 15, id + ": " + struct.getString(1));
      }
      Row fromStruct = result.getStruct(3);
      String structKind = structKinds.get(id);
      if (structKind == null) {
        assertEquals(caption, fromStruct.getString(0), id);
      } else {
        assertNull(fromStruct.get(0), id);
        assertEquals(structKind, fromStruct.getString(2), id + ": " + fromStruct.getString(1));
      }
    }
    assertTrue(results.get("null").getStruct(2).getString(1).startsWith("the image is null"));
    assertTrue(
        results.get("cut").getStruct(3).getString(1).contains("/no/such/image.png"),
        results.get("cut").getStruct(3).getString(1));
  }

  @Test
  void theReadmeQueryCaptionsAFolderOfImagesCallingTheModelOncePerRow() throws IOException {
    Path folder = Files.createDirectories(temp.resolve("photos"));
    for (String name : List.of("tile_64x64.png", "gray_40x29.png", "landscape_49x31.jpg")) {
      Files.write(folder.resolve(name), TinyModel.imageBytes(name));
    }
    spark.sql(
        "CREATE OR REPLACE TEMPORARY VIEW photos USING binaryFile"
            + " OPTIONS (path '"
            + folder
            + "', pathGlobFilter '*.png')");
    Dataset<Row> captions =
        spark.sql(
            "SELECT path, r.answer AS caption, r.error, r.error_kind"
                + " FROM (SELECT path, vlm_caption_result(content) AS r FROM photos)");
    Map<String, Row> rows = new HashMap<>();
    for (Row row : captions.collectAsList()) {
      rows.put(Path.of(java.net.URI.create(row.getString(0))).getFileName().toString(), row);
    }
    assertEquals(Set.of("tile_64x64.png", "gray_40x29.png"), rows.keySet());
    for (Map.Entry<String, Row> row : rows.entrySet()) {
      assertEquals(
          expected("Describe this image.", row.getKey()).text(), row.getValue().getString(1));
      assertNull(row.getValue().get(2));
    }
    String plan = captions.queryExecution().optimizedPlan().toString();
    assertEquals(1, plan.split("vlm_caption_result\\(", -1).length - 1, plan);
  }

  @Test
  void registeredThePySparkWayTheFunctionsReadTheirSettingsFromTheSparkConf() {
    spark.conf().set("spark.idefics3.model", TinyModel.uri());
    spark.conf().set("spark.idefics3.max-new-tokens", "8");
    spark.conf().set("spark.idefics3.model-cache", TinyModel.CACHE.toString());
    spark.conf().set("spark.idefics3.caption-prompt", "What is this?");
    try {
      DataType result = DataType.fromDDL("struct<answer:string,error:string,error_kind:string>");
      // what PySpark's spark.udf.registerJavaFunction(name, class, returnType) calls
      spark.udf().registerJava("py_caption", VlmCaption.class.getName(), DataTypes.StringType);
      spark.udf().registerJava("py_caption_result", VlmCaptionResult.class.getName(), result);
      spark.udf().registerJava("py_answer", VlmAnswer.class.getName(), DataTypes.StringType);
      spark.udf().registerJava("py_answer_result", VlmAnswerResult.class.getName(), result);
      Map<String, Row> results =
          byId(
              spark
                  .sql(
                      "SELECT id, py_caption(bytes), py_caption_result(hf).answer,"
                          + " py_answer(bytes, question), py_answer_result(pair, question).answer"
                          + " FROM images")
                  .collectAsList());
      for (int i = 0; i < IMAGES.size(); i++) {
        String image = IMAGES.get(i);
        String question = "What is in picture " + i + "?";
        Row row = results.get("r" + i);
        String caption = expected("What is this?", image).text();
        assertEquals(caption, row.getString(1), image);
        assertEquals(caption, row.getString(2), image);
        assertEquals(expected(question, image).text(), row.getString(3), image);
        String next = IMAGES.get((i + 1) % IMAGES.size());
        assertEquals(expected(question, image, next).text(), row.getString(4), image);
      }
      Idefics3Functions.register(spark);
      assertEquals(
          expected("What is this?", IMAGES.get(0)).text(),
          spark.sql("SELECT vlm_caption(bytes) FROM images WHERE id = 'r0'").first().getString(0));
    } finally {
      spark.conf().unset("spark.idefics3.model");
      spark.conf().unset("spark.idefics3.max-new-tokens");
      spark.conf().unset("spark.idefics3.model-cache");
      spark.conf().unset("spark.idefics3.caption-prompt");
      Idefics3Functions.register(spark, TinyModel.uri(), OPTIONS);
    }
    assertEquals(1, ModelCache.loads() - loadsBefore, "one load for every call in this JVM");
  }

  private static String refusal(Runnable register) {
    return assertThrows(IllegalArgumentException.class, register::run).getMessage();
  }

  @Test
  void wrongSettingsAreRefusedNamingTheKeyAndWhatIsExpected() {
    String uri = TinyModel.uri();
    String message =
        refusal(() -> Idefics3Functions.register(spark, uri, Map.of("max-new-token", "8")));
    assertTrue(
        message.contains("option max-new-token of Idefics3Functions.register is not a setting")
            && message.contains("max-new-tokens"),
        message);
    message = refusal(() -> Idefics3Functions.register(spark, uri, Map.of("top-p", "1.5")));
    assertTrue(message.contains("top-p") && message.contains("'1.5', expected in (0, 1]"), message);
    message =
        refusal(() -> Idefics3Functions.register(spark, uri, Map.of("image-splitting", "yes")));
    assertTrue(message.contains("'yes', expected true or false"), message);
    message = refusal(() -> Idefics3Functions.register(spark, uri, Map.of("seed", "3")));
    assertTrue(message.contains("option seed") && message.contains("greedy"), message);
    message = refusal(() -> Idefics3Functions.register(spark, uri, Map.of("batch-size", "8")));
    assertTrue(message.contains("Idefics3Transformer.setBatchSize"), message);
    message =
        refusal(
            () ->
                Idefics3Functions.register(
                    spark, uri, Map.of("prompt-template", "Answer briefly.")));
    assertTrue(
        message.contains("option prompt-template") && message.contains("would ignore"), message);
    message =
        refusal(
            () -> Idefics3Functions.register(spark, temp.resolve("no-model").toString(), Map.of()));
    assertTrue(message.contains("not found") && message.contains("no-model"), message);
    message = refusal(() -> Idefics3Functions.register(spark));
    assertTrue(message.contains("spark.idefics3.model is not set"), message);
    spark.conf().set("spark.idefics3.model", uri);
    spark.conf().set("spark.idefics3.max-new-tokens", "0");
    try {
      message = refusal(() -> new VlmCaption());
      assertTrue(
          message.contains("Spark conf spark.idefics3.max-new-tokens is '0', expected >= 1"),
          message);
    } finally {
      spark.conf().unset("spark.idefics3.model");
      spark.conf().unset("spark.idefics3.max-new-tokens");
    }
  }

  @Test
  void aQuestionThatIsNotAStringFailsTheQueryNamingTheCast() {
    Exception e =
        assertThrows(
            Exception.class,
            () -> spark.sql("SELECT vlm_answer(bytes, 42) FROM images").collectAsList());
    Throwable cause = e;
    while (cause != null && !(cause instanceof IllegalArgumentException)) {
      cause = cause.getCause();
    }
    assertNotNull(cause, e.toString());
    assertTrue(cause.getMessage().contains("cast the column to string"), cause.getMessage());
  }

  @Test
  void verifyPackageIsFullByDefaultQuickOnRequestAndNothingElse() {
    String uri = TinyModel.uri();
    assertEquals(
        Verification.FULL, FunctionSettings.fromOptions(uri, Map.of()).inference().verification());
    assertEquals(
        Verification.QUICK,
        FunctionSettings.fromOptions(uri, Map.of("verify-package", "quick"))
            .inference()
            .verification());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> FunctionSettings.fromOptions(uri, Map.of("verify-package", "none")));
    assertEquals(
        "option verify-package of Idefics3Functions.register is 'none', expected quick or full",
        e.getMessage());
  }
}
