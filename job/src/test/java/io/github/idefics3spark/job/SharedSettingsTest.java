package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.idefics3.checkpoint.PackageFiles.Verification;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import io.github.idefics3spark.spark.InferenceOption;
import io.github.idefics3spark.spark.InferenceOption.EntryPoint;
import io.github.idefics3spark.spark.InferenceSettings;
import io.github.idefics3spark.spark.ml.Idefics3Transformer;
import io.github.idefics3spark.spark.sql.FunctionSettings;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.junit.jupiter.api.Test;

/**
 * The job, the SQL functions and the ML Transformer take the shared settings of {@link
 * InferenceOption} by the same keys, with the same defaults, checks and rules.
 */
class SharedSettingsTest {
  private static final String MODEL = "/models/m";

  /** A value other than the default for every shared setting, as text. */
  private static final Map<InferenceOption, String> GIVEN = new EnumMap<>(InferenceOption.class);

  static {
    GIVEN.put(InferenceOption.MODEL_CACHE, "/tmp/cache");
    GIVEN.put(InferenceOption.VERIFY_PACKAGE, "quick");
    GIVEN.put(InferenceOption.SPLIT_PRODUCTS, "2");
    GIVEN.put(InferenceOption.BATCH_SIZE, "3");
    GIVEN.put(InferenceOption.SORT_WINDOW_BATCHES, "5");
    GIVEN.put(InferenceOption.MAX_NEW_TOKENS, "12");
    GIVEN.put(InferenceOption.TEMPERATURE, "0.5");
    GIVEN.put(InferenceOption.TOP_K, "7");
    GIVEN.put(InferenceOption.TOP_P, "0.75");
    GIVEN.put(InferenceOption.SEED, "42");
    GIVEN.put(InferenceOption.LONGEST_EDGE, "364");
    GIVEN.put(InferenceOption.IMAGE_SPLITTING, "false");
    GIVEN.put(InferenceOption.MAX_IMAGE_PIXELS, "1000");
    GIVEN.put(InferenceOption.MAX_IMAGE_BYTES, "2000");
    GIVEN.put(InferenceOption.IMAGE_DECODE_TIMEOUT_MS, "0");
    GIVEN.put(InferenceOption.MAX_QUESTION_CHARS, "300");
    GIVEN.put(InferenceOption.IMAGE_CACHE_MB, "64");
    GIVEN.put(InferenceOption.INTRA_OP_THREADS, "2");
  }

  @Test
  void theJobTakesEverySharedSettingDeclaredForItWithItsHelp() {
    for (InferenceOption option : InferenceOption.values()) {
      JobOption job = JobOption.forKey(option.key());
      if (option.takenBy(EntryPoint.JOB)) {
        assertNotNull(job, option.key());
        assertSame(option, job.shared());
        assertEquals(option.help(), job.help());
        assertEquals(option.valueLabel(), job.valueLabel());
        assertTrue(job.appliesTo(Task.CAPTION) && job.appliesTo(Task.EVAL), option.key());
      } else {
        assertNull(job, option.key());
      }
    }
    assertEquals(
        InferenceOption.of(EntryPoint.JOB),
        JobOption.of(Task.CAPTION).stream().map(JobOption::shared).filter(o -> o != null).toList());
  }

  @Test
  void theTransformerHasAParamPerSharedSettingWithItsDocAndDefault() {
    Idefics3Transformer transformer = new Idefics3Transformer();
    for (InferenceOption option : InferenceOption.of(EntryPoint.TRANSFORMER)) {
      Param<Object> param = transformer.getParam(option.paramName());
      assertEquals(option.paramDoc(), param.doc());
      if (option.defaultValue() == null) {
        assertTrue(transformer.getDefault(param).isEmpty(), option.paramName());
      } else {
        assertEquals(option.paramDefault(), transformer.getDefault(param).get());
      }
    }
  }

  @Test
  void theThreeEntryPointsHaveTheSameDefaults() {
    InferenceSettings job = JobConfig.parse(Task.CAPTION, required()).inferenceSettings();
    assertEquals(InferenceSettings.of(MODEL, ModelSettings.DEFAULTS), job);
    assertEquals(job, FunctionSettings.fromOptions(MODEL, Map.of()).inference());
    assertEquals(job, new Idefics3Transformer().setModelUri(MODEL).inferenceSettings());
  }

  @Test
  void theThreeEntryPointsMakeTheSameSettingsOfTheSameValues() {
    InferenceSettings job = job(GIVEN);
    assertEquals(
        ModelSettings.builder()
            .intraOpThreads(2)
            .batchSize(3)
            .maxNewTokens(12)
            .sampling(0.5f, 7, 0.75f, 42)
            .longestEdge(364)
            .imageSplitting(false)
            .maxImagePixels(1000)
            .maxImageBytes(2000)
            .imageDecodeTimeoutMs(0)
            .maxQuestionChars(300)
            .imageCacheMb(64)
            .build(),
        job.model());
    assertEquals("/tmp/cache", job.cacheDir());
    assertEquals(Verification.QUICK, job.verification());
    assertEquals(2, job.productSplits());
    assertEquals(job.withSortWindowBatches(5), transformer(GIVEN));

    Map<InferenceOption, String> sqlGiven = new EnumMap<>(GIVEN);
    sqlGiven.remove(InferenceOption.BATCH_SIZE);
    sqlGiven.remove(InferenceOption.IMAGE_CACHE_MB);
    assertEquals(job(sqlGiven), sql(sqlGiven));
  }

  @Test
  void aTemperatureTopKOrTopPAloneTurnsSamplingOnInEachEntryPoint() {
    for (InferenceOption option :
        List.of(InferenceOption.TEMPERATURE, InferenceOption.TOP_K, InferenceOption.TOP_P)) {
      Map<InferenceOption, String> given = Map.of(option, GIVEN.get(option));
      InferenceSettings job = job(given);
      assertTrue(job.model().doSample(), option.key());
      assertEquals(job, sql(given));
      assertEquals(job, transformer(given));
    }
  }

  @Test
  void aSeedWithoutSamplingIsRefusedByEachEntryPointInItsWords() {
    Map<InferenceOption, String> seed = Map.of(InferenceOption.SEED, "7");
    assertTrue(
        assertThrows(JobConfigException.class, () -> job(seed))
            .getMessage()
            .startsWith("setting seed is given (option --seed) but decoding is greedy"));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> sql(seed))
            .getMessage()
            .startsWith(
                "option seed of Idefics3Functions.register is given but decoding is greedy"));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> transformer(seed))
            .getMessage()
            .startsWith("Idefics3Transformer: seed is set but decoding is greedy"));
  }

  @Test
  void aWrongValueIsRefusedByTheJobAndTheFunctionsNamingTheSetting() {
    for (InferenceOption option : InferenceOption.of(EntryPoint.SQL)) {
      if (option.type() == InferenceOption.Type.TEXT) {
        continue;
      }
      Map<InferenceOption, String> wrong = Map.of(option, "-1.5x");
      String job = assertThrows(JobConfigException.class, () -> job(wrong)).getMessage();
      assertTrue(
          job.startsWith("setting " + option.key() + " is '-1.5x' (option --" + option.key()), job);
      String sql = assertThrows(IllegalArgumentException.class, () -> sql(wrong)).getMessage();
      assertTrue(
          sql.startsWith("option " + option.key() + " of Idefics3Functions.register is '-1.5x'"),
          sql);
    }
  }

  private static String[] required() {
    return new String[] {"--input", "in", "--output", "out", "--model", MODEL};
  }

  private static InferenceSettings job(Map<InferenceOption, String> given) {
    List<String> args = new ArrayList<>(List.of(required()));
    given.forEach(
        (option, value) -> {
          if (option.takenBy(EntryPoint.JOB)) {
            args.add("--" + option.key() + "=" + value);
          }
        });
    return JobConfig.parse(Task.CAPTION, args.toArray(String[]::new)).inferenceSettings();
  }

  private static InferenceSettings sql(Map<InferenceOption, String> given) {
    Map<String, String> options = new LinkedHashMap<>();
    given.forEach(
        (option, value) -> {
          if (option.takenBy(EntryPoint.SQL)) {
            options.put(option.key(), value);
          }
        });
    return FunctionSettings.fromOptions(MODEL, options).inference();
  }

  private static InferenceSettings transformer(Map<InferenceOption, String> given) {
    Idefics3Transformer transformer = new Idefics3Transformer().setModelUri(MODEL);
    ParamMap params = new ParamMap();
    given.forEach(
        (option, text) -> {
          if (!option.takenBy(EntryPoint.TRANSFORMER)) {
            return;
          }
          Object value = option.parse(text);
          if (value instanceof Float decimal) {
            value = decimal.doubleValue();
          } else if (value instanceof Verification verification) {
            value = verification.flag();
          }
          params.put(transformer.getParam(option.paramName()), value);
        });
    return transformer.copy(params).inferenceSettings();
  }
}
