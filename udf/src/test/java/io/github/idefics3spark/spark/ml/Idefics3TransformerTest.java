package io.github.idefics3spark.spark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.idefics3.checkpoint.PackageFiles.Verification;
import io.github.idefics3spark.idefics3.runtime.Idefics3Answer;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import io.github.idefics3spark.spark.InferenceSchema;
import io.github.idefics3spark.spark.InferenceSettings;
import io.github.idefics3spark.spark.ModelCache;
import io.github.idefics3spark.spark.PartitionInference;
import io.github.idefics3spark.spark.TinyModel;
import io.github.idefics3spark.spark.sql.Idefics3Functions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ML Transformer on a local session: the runtime's answers in batches, rows in their order with
 * every column; answers for good images and reasons for bad ones; saved and loaded alone and in a
 * Pipeline with the same output; schema refusals that name the column; one model load shared with
 * the job's partition function and the SQL functions.
 */
class Idefics3TransformerTest {
  private static final ModelSettings MODEL = ModelSettings.builder().maxNewTokens(8).build();

  private static final List<String> IMAGES =
      List.of(
          "tile_64x64.png",
          "landscape_49x31.jpg",
          "portrait_35x49.jpg",
          "gray_40x29.png",
          "palette_33x45.gif",
          "rgba_alpha_48x33.png",
          "cmyk_41x31.jpg");

  /** The user's table: a question column and a task column of its own, which pass through. */
  private static final StructType TABLE =
      new StructType()
          .add("id", DataTypes.StringType)
          .add("photo", DataTypes.BinaryType)
          .add("hf", InferenceSchema.IMAGE)
          .add("pages", DataTypes.createArrayType(DataTypes.BinaryType))
          .add("question", DataTypes.StringType)
          .add("task", DataTypes.IntegerType);

  @TempDir static Path temp;
  private static SparkSession spark;
  private static TinyModel runtime;
  private static Dataset<Row> table;
  private static int loadsBefore;

  @BeforeAll
  static void start() {
    ModelCache.closeAll();
    loadsBefore = ModelCache.loads();
    spark = TinyModel.spark("Idefics3TransformerTest");
    runtime = TinyModel.load(MODEL);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < IMAGES.size(); i++) {
      byte[] bytes = TinyModel.imageBytes(IMAGES.get(i));
      rows.add(
          RowFactory.create(
              "r" + i,
              bytes,
              RowFactory.create(null, TinyModel.imagePath(IMAGES.get(i))),
              List.of(bytes, TinyModel.imageBytes(IMAGES.get((i + 3) % IMAGES.size()))),
              // lengths out of order, so batches are sorted and put back
              "What " + "really ".repeat((i * 5) % 7) + "is in picture " + i + "?",
              i));
    }
    table = spark.createDataFrame(rows, TABLE).repartition(2).cache();
  }

  @AfterAll
  static void stop() {
    runtime.close();
    spark.stop();
    ModelCache.closeAll();
  }

  private static Idefics3Transformer transformer() {
    return new Idefics3Transformer()
        .setModelUri(TinyModel.uri())
        .setModelCacheDir(TinyModel.CACHE.toString())
        .setMaxNewTokens(8)
        .setBatchSize(2)
        .setSortWindowBatches(2);
  }

  private static Idefics3Answer expected(String text, byte[]... images) {
    Idefics3Answer answer = runtime.answer(text, Arrays.asList(images));
    assertNull(answer.error(), answer.error());
    return answer;
  }

  private static List<String> ids(Dataset<Row> rows) {
    return rows.select("id").as(org.apache.spark.sql.Encoders.STRING()).collectAsList();
  }

  @Test
  void answersAreTheRuntimesAndRowsKeepTheirOrderAndColumns() {
    Dataset<Row> answered =
        transformer().setInputCol("photo").setQuestionCol("question").transform(table);
    long start = System.nanoTime();
    List<Row> rows = answered.collectAsList();
    System.out.printf(
        "Idefics3TransformerTest: %d rows in %.2f s%n",
        rows.size(), (System.nanoTime() - start) / 1e9);

    StructType schema = answered.schema();
    assertEquals(
        List.of("id", "photo", "hf", "pages", "question", "task", "answer", "error", "error_kind"),
        Arrays.asList(schema.fieldNames()));
    assertEquals(DataTypes.IntegerType, schema.apply("task").dataType());
    assertEquals(ids(table), ids(answered), "the input's order");
    List<Row> input = table.collectAsList();
    for (int r = 0; r < rows.size(); r++) {
      Row row = rows.get(r);
      Row in = input.get(r);
      assertEquals(in.getString(0), row.getString(0));
      assertTrue(Arrays.equals((byte[]) in.get(1), (byte[]) row.get(1)));
      assertEquals(in.getStruct(2), row.getStruct(2));
      assertEquals(in.getList(3).size(), row.getList(3).size());
      assertEquals(in.getString(4), row.getString(4));
      assertEquals(in.getInt(5), row.getInt(5));
      int i = row.getInt(5);
      String id = row.getString(0);
      assertEquals(
          expected(row.getString(4), TinyModel.imageBytes(IMAGES.get(i))).text(),
          row.getAs("answer"),
          id);
      assertNull(row.getAs("error"), id);
      assertNull(row.getAs("error_kind"), id);
    }
  }

  @Test
  void captionsFromPathStructsAndAnswersAboutImageArraysAreTheRuntimes() {
    List<Row> captions =
        transformer()
            .setInputCol("hf")
            .setOutputCol("caption")
            .setErrorCol("why")
            .setErrorKindCol("why_kind")
            .transform(table)
            .collectAsList();
    List<Row> answers =
        transformer()
            .setInputCol("pages")
            .setQuestionCol("question")
            .setPromptTemplate("Look at both. {question}")
            .setBatchSize(3)
            .transform(table)
            .collectAsList();
    for (int r = 0; r < captions.size(); r++) {
      int i = captions.get(r).getInt(5);
      byte[] image = TinyModel.imageBytes(IMAGES.get(i));
      assertEquals(
          expected("Describe this image.", image).text(), captions.get(r).getAs("caption"));
      assertNull(captions.get(r).getAs("why"));
      Row answer = answers.get(r);
      assertEquals(
          expected(
                  "Look at both. " + answer.getString(4),
                  image,
                  TinyModel.imageBytes(IMAGES.get((i + 3) % IMAGES.size())))
              .text(),
          answer.getAs("answer"));
    }
  }

  @Test
  void samplingParamsReachTheModel() {
    Idefics3Transformer sampler =
        transformer()
            .setInputCol("photo")
            .setBatchSize(1)
            // static batches of one: each row samples as the model does for it alone (in slots,
            // a row's draws follow those of the rows before it)
            .setContinuousBatching(false)
            .setTemperature(0.8)
            .setTopK(5)
            .setSeed(7);
    assertTrue(sampler.sampling());
    assertFalse(transformer().sampling());
    List<Row> rows = sampler.transform(table.limit(3)).collectAsList();
    try (TinyModel sampling = TinyModel.load(MODEL.toBuilder().sampling(0.8f, 5, 1f, 7).build())) {
      for (Row row : rows) {
        byte[] image = row.getAs("photo");
        assertEquals(
            sampling.answer("Describe this image.", List.of(image)).text(), row.getAs("answer"));
      }
    }
  }

  @Test
  void aColumnOfGoodAndBadImagesGivesAnswersForTheGoodAndReasonsForTheBad() {
    byte[] good = TinyModel.imageBytes("portrait_35x49.jpg");
    StructType schema =
        new StructType().add("id", DataTypes.StringType).add("image", DataTypes.BinaryType);
    List<Row> rows = new ArrayList<>();
    Map<String, String> kinds =
        Map.of(
            "zero-bytes", "EMPTY_IMAGE",
            "text-bytes", "UNKNOWN_IMAGE_FORMAT",
            "null", "UNREADABLE_IMAGE",
            "cut", "CORRUPT_IMAGE");
    for (int copy = 0; copy < 2; copy++) {
      rows.add(RowFactory.create("good-" + copy, good));
      rows.add(RowFactory.create("zero-bytes-" + copy, new byte[0]));
      rows.add(
          RowFactory.create("text-bytes-" + copy, "no image".getBytes(StandardCharsets.UTF_8)));
      rows.add(RowFactory.create("null-" + copy, null));
      rows.add(RowFactory.create("cut-" + copy, Arrays.copyOf(good, good.length / 2)));
    }
    Dataset<Row> mixed = spark.createDataFrame(rows, schema).repartition(2).cache();
    Dataset<Row> answered = transformer().transform(mixed);
    List<Row> results = answered.collectAsList();
    assertEquals(ids(mixed), ids(answered));
    String caption = expected("Describe this image.", good).text();
    for (Row row : results) {
      String id = row.getString(0);
      String kind = kinds.get(id.substring(0, id.lastIndexOf('-')));
      if (kind == null) {
        assertEquals(caption, row.getAs("answer"), id);
        assertNull(row.getAs("error"), id);
      } else {
        assertNull(row.getAs("answer"), id);
        assertEquals(kind, row.getAs("error_kind"), id + ": " + row.getAs("error"));
        String error = row.getAs("error");
        assertTrue(error.length() > 15, id + ": " + error);
      }
    }
  }

  @Test
  void aPipelineWithTheTransformerIsSavedLoadedAndGivesTheSameOutput() throws IOException {
    Idefics3Transformer captioner = transformer().setInputCol("photo").setLongestEdge(48);
    SQLTransformer length =
        new SQLTransformer()
            .setStatement("SELECT *, length(answer) AS answer_length FROM __THIS__");
    Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {captioner, length});
    PipelineModel model = pipeline.fit(table);
    List<Row> before = model.transform(table).drop("photo", "pages", "hf").collectAsList();

    String modelPath = temp.resolve("pipeline-model").toString();
    model.write().overwrite().save(modelPath);
    PipelineModel loaded = PipelineModel.load(modelPath);
    assertEquals(before, loaded.transform(table).drop("photo", "pages", "hf").collectAsList());
    Idefics3Transformer stage = (Idefics3Transformer) loaded.stages()[0];
    assertEquals(captioner.uid(), stage.uid());
    assertEquals(48, stage.getLongestEdge());
    assertEquals(TinyModel.uri(), stage.getModelUri());

    String pipelinePath = temp.resolve("pipeline").toString();
    pipeline.write().overwrite().save(pipelinePath);
    Pipeline unfitted = Pipeline.load(pipelinePath);
    assertEquals(
        before, unfitted.fit(table).transform(table).drop("photo", "pages", "hf").collectAsList());

    Idefics3Transformer sampler = transformer().setTopP(0.9).setQuestionCol("question");
    String alone = temp.resolve("transformer").toString();
    sampler.save(alone);
    Idefics3Transformer read = Idefics3Transformer.load(alone);
    assertEquals(sampler.extractParamMap().toString(), read.extractParamMap().toString());
    assertTrue(read.sampling(), "set and default params kept apart");
    assertEquals(0.9, read.getTopP());
    assertEquals("{question}", read.getPromptTemplate());
  }

  private static String refusal(Idefics3Transformer transformer, StructType schema) {
    return assertThrows(IllegalArgumentException.class, () -> transformer.transformSchema(schema))
        .getMessage();
  }

  @Test
  void transformSchemaRefusesNamingTheColumnAndItsType() {
    StructType schema = table.schema();
    String message = refusal(transformer(), schema);
    assertTrue(
        message.contains("inputCol image is not a column of the input (columns: id, photo"),
        message);
    message = refusal(transformer().setInputCol("task"), schema);
    assertTrue(message.contains("input column task (inputCol) is int, expected binary"), message);
    message = refusal(transformer().setInputCol("photo").setQuestionCol("task"), schema);
    assertTrue(
        message.contains("question column task (questionCol) is int, expected string"), message);
    message = refusal(transformer().setInputCol("photo").setQuestionCol("asked"), schema);
    assertTrue(message.contains("questionCol asked is not a column"), message);
    message = refusal(transformer().setInputCol("photo").setOutputCol("Question"), schema);
    assertTrue(
        message.contains("output column Question (outputCol) is already an input column"), message);
    message = refusal(transformer().setInputCol("photo").setErrorCol("answer"), schema);
    assertTrue(message.contains("errorCol is answer, the name of another output"), message);
    message = refusal(new Idefics3Transformer().setInputCol("photo"), schema);
    assertTrue(message.contains("modelUri is not set"), message);
    message =
        refusal(transformer().setInputCol("photo").setPromptTemplate("Say {question}"), schema);
    assertTrue(message.contains("questionCol is not set"), message);
    message =
        refusal(
            transformer()
                .setInputCol("photo")
                .setQuestionCol("question")
                .setPromptTemplate("Describe it."),
            schema);
    assertTrue(message.contains("questionCol question would be ignored"), message);
    message = refusal(transformer().setInputCol("photo").setSeed(3), schema);
    assertTrue(message.contains("seed is set but decoding is greedy"), message);
    StructType nested =
        new StructType().add("image", new StructType().add("bytes", DataTypes.StringType), true);
    message = refusal(transformer(), nested);
    assertTrue(message.contains("is struct<bytes:string>, expected"), message);

    IllegalArgumentException bad =
        assertThrows(IllegalArgumentException.class, () -> transformer().setBatchSize(0));
    assertTrue(bad.getMessage().contains("batchSize"), bad.getMessage());
    bad = assertThrows(IllegalArgumentException.class, () -> transformer().setTopP(1.5));
    assertTrue(bad.getMessage().contains("topP"), bad.getMessage());
    bad = assertThrows(IllegalArgumentException.class, () -> transformer().setModelUri(" "));
    assertTrue(bad.getMessage().contains("modelUri"), bad.getMessage());

    IllegalArgumentException missing =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                transformer()
                    .setModelUri(temp.resolve("no-model").toString())
                    .setInputCol("photo")
                    .transform(table));
    assertTrue(missing.getMessage().contains("no-model"), missing.getMessage());
  }

  @Test
  void copyKeepsTheUidAndTakesTheExtraParams() {
    Idefics3Transformer original = transformer().setInputCol("photo");
    Idefics3Transformer copy = original.copy(new ParamMap().put(original.batchSize().w(5)));
    assertEquals(original.uid(), copy.uid());
    assertEquals(5, copy.getBatchSize());
    assertEquals(2, original.getBatchSize());
    assertEquals("photo", copy.getInputCol());
    assertNotEquals(original, copy);
  }

  @Test
  void theJobTheSqlFunctionsAndTheTransformerShareOneLoad() {
    // the job's partition function, batches of 4 and 6 new tokens
    List<Row> requests = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      requests.add(
          RowFactory.create(
              "q" + i,
              List.of(RowFactory.create(TinyModel.imageBytes(IMAGES.get(i)), null)),
              "What is this?",
              null,
              "vqa"));
    }
    InferenceSettings job =
        InferenceSettings.of(
                TinyModel.uri(), MODEL.toBuilder().batchSize(4).maxNewTokens(6).build())
            .withCacheDir(TinyModel.CACHE.toString());
    Dataset<Row> results =
        PartitionInference.apply(
            spark.createDataFrame(requests, InferenceSchema.requests()), job, null);
    assertEquals(4, results.filter("error IS NULL").count());
    // the SQL functions, a batch of one and 5 new tokens
    Idefics3Functions.register(
        spark,
        TinyModel.uri(),
        Map.of("max-new-tokens", "5", "model-cache", TinyModel.CACHE.toString()));
    table.createOrReplaceTempView("shared");
    assertEquals(0, spark.sql("SELECT * FROM shared WHERE vlm_caption(photo) IS NULL").count());
    // the Transformer, batches of 3 and a lower resolution
    assertEquals(
        0,
        transformer()
            .setInputCol("photo")
            .setBatchSize(3)
            .setLongestEdge(32)
            .transform(table)
            .filter("answer IS NULL")
            .count());
    assertEquals(1, ModelCache.loads() - loadsBefore, "one load in this JVM for all three");
  }

  @Test
  void verifyPackageIsFullByDefaultQuickOnRequestAndNothingElse() {
    Idefics3Transformer transformer = new Idefics3Transformer().setModelUri(TinyModel.uri());
    assertEquals("full", transformer.getVerifyPackage());
    assertEquals(Verification.FULL, transformer.inferenceSettings().verification());
    transformer.setVerifyPackage("quick");
    assertEquals(Verification.QUICK, transformer.inferenceSettings().verification());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> transformer.setVerifyPackage("none"));
    assertTrue(e.getMessage().contains("verifyPackage given invalid value none"), e.getMessage());
  }
}
