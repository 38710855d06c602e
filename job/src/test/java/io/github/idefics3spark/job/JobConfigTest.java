package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.idefics3.checkpoint.PackageFiles.Verification;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobConfigTest {
  private static final String[] REQUIRED = {"--input", "in", "--output", "out", "--model", "m"};

  @TempDir Path dir;

  private static String[] with(String... more) {
    String[] args = new String[REQUIRED.length + more.length];
    System.arraycopy(REQUIRED, 0, args, 0, REQUIRED.length);
    System.arraycopy(more, 0, args, REQUIRED.length, more.length);
    return args;
  }

  private static String refusal(Task task, String... args) {
    return assertThrows(JobConfigException.class, () -> JobConfig.parse(task, args)).getMessage();
  }

  @Test
  void defaultsAreVisibleAndGreedy() {
    JobConfig config = JobConfig.parse(Task.CAPTION, REQUIRED);
    assertEquals("in", config.input());
    assertEquals(InputFormat.AUTO, config.inputFormat());
    assertTrue(config.recursive());
    assertNull(config.glob());
    assertEquals(List.of(), config.imageColumns());
    assertEquals(OutputMode.RESUME, config.mode());
    assertEquals(Task.CAPTION.defaultPrompt(), config.promptTemplate());
    assertFalse(config.usesQuestion());
    assertNull(config.assistantPrefix());
    assertEquals(ModelSettings.DEFAULTS, config.modelSettings());
    assertTrue(JobConfig.parse(Task.VQA, REQUIRED).usesQuestion());
  }

  @Test
  void everyOptionReachesItsField() {
    JobConfig config =
        JobConfig.parse(
            Task.VQA,
            with(
                "--input-format=hf-parquet",
                "--glob",
                "*.{jpg,png}",
                "--recursive",
                "false",
                "--id-column",
                "questionId",
                "--image-columns",
                "image_1, image_2",
                "--question-column",
                "query",
                "--limit",
                "10",
                "--partitions",
                "4",
                "--prompt-template",
                "Q: {question}\\nA:",
                "--assistant-prefix",
                "Answer:",
                "--mode",
                "overwrite",
                "--preview",
                "3",
                "--model-cache",
                "/tmp/cache",
                "--batch-size",
                "2",
                "--max-new-tokens",
                "16",
                "--temperature",
                "0.7",
                "--top-k",
                "50",
                "--top-p",
                "0.9",
                "--seed",
                "42",
                "--longest-edge",
                "364",
                "--image-splitting=false",
                "--max-image-pixels",
                "1_000_000",
                "--max-image-bytes",
                "2000000",
                "--image-decode-timeout-ms",
                "5000",
                "--max-question-chars",
                "500",
                "--image-cache-mb",
                "64",
                "--intra-op-threads",
                "2"));
    assertEquals(InputFormat.HF_PARQUET, config.inputFormat());
    assertEquals("*.{jpg,png}", config.glob());
    assertFalse(config.recursive());
    assertEquals("questionId", config.idColumn());
    assertEquals(List.of("image_1", "image_2"), config.imageColumns());
    assertEquals("query", config.questionColumn());
    assertEquals(10, config.limit());
    assertEquals(4, config.partitions());
    assertEquals("Q: {question}\nA:", config.promptTemplate());
    assertEquals("Answer:", config.assistantPrefix());
    assertEquals(OutputMode.OVERWRITE, config.mode());
    assertEquals(3, config.preview());
    assertEquals("/tmp/cache", config.modelCache());
    assertEquals(
        new ModelSettings(
            2,
            2,
            16,
            true,
            0.7f,
            50,
            0.9f,
            42L,
            364,
            false,
            1_000_000L,
            2_000_000L,
            5_000L,
            500,
            64,
            true,
            false,
            List.of()),
        config.modelSettings());
  }

  @Test
  void imagePathsAreAllowedUnderTheInputFolderAndTheGivenPrefixesOnly() {
    assertEquals(
        List.of("/data/in"),
        JobConfig.parse(Task.VQA, REQUIRED).inferenceSettings("/data/in").allowedRoots());
    JobConfig config =
        JobConfig.parse(Task.VQA, with("--allow-path-prefix", "/shared/images, hdfs://nn/imgs"));
    assertEquals(List.of("/shared/images", "hdfs://nn/imgs"), config.allowPathPrefixes());
    assertEquals(
        List.of("/data/in", "/shared/images", "hdfs://nn/imgs"),
        config.inferenceSettings("/data/in").allowedRoots());
    JobConfigException empty =
        assertThrows(
            JobConfigException.class,
            () -> JobConfig.parse(Task.VQA, with("--allow-path-prefix", "/a,,/b")));
    assertTrue(empty.getMessage().contains("allow-path-prefix"), empty.getMessage());
  }

  @Test
  void aFlagAloneMeansTrue() {
    JobConfig config = JobConfig.parse(Task.CAPTION, with("--image-splitting", "--recursive"));
    assertTrue(config.modelSettings().imageSplitting());
    assertTrue(config.recursive());
  }

  @Test
  void retryErrorsTakesAllKindsAloneOrTheKindsNamedAndNeedsResume() {
    assertEquals(RetryErrors.NONE, JobConfig.parse(Task.VQA, REQUIRED).retryErrors());
    assertEquals(RetryErrors.ALL, JobConfig.parse(Task.VQA, with("--retry-errors")).retryErrors());
    assertEquals(
        RetryErrors.ALL,
        JobConfig.parse(Task.VQA, with("--retry-errors", "--batch-size", "2")).retryErrors());
    assertEquals(
        Set.of("PROMPT_TOO_LONG", "UNREADABLE_IMAGE"),
        JobConfig.parse(
                Task.EVAL,
                with("--benchmark", "docvqa", "--retry-errors", "PROMPT_TOO_LONG,UNREADABLE_IMAGE"))
            .retryErrors()
            .kinds());
    String wrongKind = refusal(Task.VQA, with("--retry-errors", "TIMEOUT"));
    assertTrue(
        wrongKind.startsWith(
            "setting retry-errors is 'TIMEOUT' (option --retry-errors), expected one of all or"
                + " error kinds separated by commas: EMPTY_IMAGE, "),
        wrongKind);
    assertEquals(
        "setting retry-errors is given (option --retry-errors) but --mode is overwrite; error rows"
            + " are answered again only by --mode resume (overwrite answers every row again"
            + " anyway)",
        refusal(Task.VQA, with("--retry-errors", "--mode", "overwrite")));
  }

  @Test
  void aConfFileGivesValuesTheCommandLineOverrides() throws IOException {
    Path conf = dir.resolve("vqa.properties");
    Files.writeString(
        conf,
        "# DocVQA\n"
            + "input = s3a://bucket/docvqa/validation.parquet\n"
            + "output = s3a://bucket/out\n"
            + "model = s3a://bucket/models/idefics3\n"
            + "batch-size = 4\n"
            + "prompt-template = {question}\\nAnswer briefly.\n"
            + "mode = overwrite\n");
    JobConfig config =
        JobConfig.parse(Task.VQA, new String[] {"--conf", conf.toString(), "--batch-size", "2"});
    assertEquals("s3a://bucket/docvqa/validation.parquet", config.input());
    assertEquals("s3a://bucket/models/idefics3", config.model());
    assertEquals(2, config.modelSettings().batchSize());
    assertEquals("{question}\nAnswer briefly.", config.promptTemplate());
    assertEquals(OutputMode.OVERWRITE, config.mode());
  }

  @Test
  void theShippedConfFilesParse() {
    for (String name : List.of("caption-folder", "vqa-docvqa", "vqa-manifest", "document-pages")) {
      Path conf = Path.of("..", "conf", name + ".properties");
      Task task =
          name.startsWith("vqa")
              ? Task.VQA
              : name.startsWith("document") ? Task.DOCUMENT : Task.CAPTION;
      JobConfig config = JobConfig.parse(task, new String[] {"--conf", conf.toString()});
      assertFalse(config.input().isBlank(), name);
    }
  }

  @Test
  void mcScoringDefaultsToGenerateAndLikelihoodNeedsAMultipleChoiceBenchmark() {
    assertEquals(
        McScoring.GENERATE, JobConfig.parse(Task.EVAL, with("--benchmark", "mmstar")).mcScoring());
    for (String benchmark : List.of("mmmu", "mmstar", "ai2d", "scienceqa_img")) {
      assertEquals(
          McScoring.LIKELIHOOD,
          JobConfig.parse(Task.EVAL, with("--benchmark", benchmark, "--mc-scoring", "likelihood"))
              .mcScoring(),
          benchmark);
    }
    String refused =
        refusal(Task.EVAL, with("--benchmark", "textvqa", "--mc-scoring", "likelihood"));
    assertTrue(
        refused.startsWith(
            "setting mc-scoring is 'likelihood' (option --mc-scoring) but benchmark textvqa is"
                + " not multiple choice; likelihood scoring ranks the option letters of mmmu,"
                + " mmstar, ai2d, scienceqa_img"),
        refused);
    assertTrue(
        refusal(Task.EVAL, with("--benchmark", "mmstar", "--mc-scoring", "loglik"))
            .contains("expected one of generate|likelihood"));
    assertTrue(
        refusal(Task.VQA, with("--mc-scoring", "likelihood")).contains("mc-scoring"),
        "vqa does not take it");
  }

  @Test
  void anUnknownOptionIsRefusedNamingIt() {
    String message = refusal(Task.CAPTION, with("--batchsize", "4"));
    assertTrue(message.startsWith("--batchsize is not an option of caption"), message);
    assertTrue(message.contains("--batch-size"), message);
  }

  @Test
  void anUnknownConfKeyIsRefusedNamingItAndTheFile() throws IOException {
    Path conf = dir.resolve("bad.properties");
    Files.writeString(conf, "input = x\nbatch_size = 4\n");
    String message = refusal(Task.CAPTION, "--conf", conf.toString());
    assertTrue(message.contains(conf + ": key 'batch_size' is not a setting of caption"), message);
    assertTrue(message.contains("batch-size"), message);
  }

  @Test
  void wrongValuesAreRefusedNamingTheKeyTheValueAndWhatIsExpected() {
    assertEquals(
        "setting batch-size is 'four' (option --batch-size), expected a whole number >= 1",
        refusal(Task.CAPTION, with("--batch-size", "four")));
    assertEquals(
        "setting batch-size is '0' (option --batch-size), expected a whole number >= 1",
        refusal(Task.CAPTION, with("--batch-size", "0")));
    assertEquals(
        "setting top-p is '1.5' (option --top-p), expected a number in (0, 1]",
        refusal(Task.CAPTION, with("--top-p", "1.5")));
    assertEquals(
        "setting temperature is '0' (option --temperature), expected a number > 0",
        refusal(Task.CAPTION, with("--temperature", "0")));
    assertEquals(
        "setting mode is 'replace' (option --mode), expected one of overwrite|append|resume",
        refusal(Task.CAPTION, with("--mode", "replace")));
    assertEquals(
        "setting input-format is 'csv' (option --input-format), expected one of"
            + " auto|folder|manifest|hf-parquet",
        refusal(Task.CAPTION, with("--input-format", "csv")));
    assertEquals(
        "setting image-splitting is 'yes' (option --image-splitting), expected true or false",
        refusal(Task.CAPTION, with("--image-splitting=yes")));
    assertEquals(
        "setting image-columns is 'a,,b' (option --image-columns), expected column names"
            + " separated by commas, none empty",
        refusal(Task.CAPTION, with("--image-columns", "a,,b")));
  }

  @Test
  void aWrongValueFromTheConfFileNamesTheFile() throws IOException {
    Path conf = dir.resolve("c.properties");
    Files.writeString(conf, "max-new-tokens = lots\n");
    assertEquals(
        "setting max-new-tokens is 'lots' ("
            + conf
            + " max-new-tokens), expected a whole number"
            + " >= 1",
        refusal(Task.CAPTION, with("--conf", conf.toString())));
  }

  @Test
  void missingRequiredSettingsAreNamed() {
    assertEquals(
        "setting model is missing: give --model URI or 'model = ...' in the --conf file",
        refusal(Task.CAPTION, "--input", "in", "--output", "out"));
    assertTrue(refusal(Task.CAPTION, "--output", "o", "--model", "m").contains("setting input"));
  }

  @Test
  void malformedCommandLinesAreRefused() {
    assertTrue(refusal(Task.CAPTION, with("extra")).startsWith("unexpected argument 'extra'"));
    assertEquals("--output needs a value", refusal(Task.CAPTION, "--input", "i", "--output"));
    assertEquals(
        "--batch-size is given twice; give it once",
        refusal(Task.CAPTION, with("--batch-size", "1", "--batch-size", "2")));
    assertTrue(
        refusal(Task.CAPTION, with("--conf", dir.resolve("none.properties").toString()))
            .contains("no such file"));
  }

  @Test
  void evalAndScoreTakeABenchmarkAndOnlyTheirOptions() {
    JobConfig eval = JobConfig.parse(Task.EVAL, with("--benchmark", "MMMU"));
    assertInstanceOf(Mmmu.class, eval.benchmark());
    assertEquals(128, eval.modelSettings().maxNewTokens(), "the benchmark's default");
    assertEquals(
        8,
        JobConfig.parse(Task.EVAL, with("--benchmark", "docvqa", "--max-new-tokens", "8"))
            .modelSettings()
            .maxNewTokens());
    assertNull(JobConfig.parse(Task.VQA, REQUIRED).benchmark());

    JobConfig score =
        JobConfig.parse(
            Task.SCORE, new String[] {"--benchmark", "mmstar", "--input", "p", "--output", "o"});
    assertInstanceOf(MmStar.class, score.benchmark());
    assertNull(score.model());

    assertEquals(
        "setting benchmark is 'ocrbench-v9' (option --benchmark), expected one of"
            + " docvqa|infographicvqa|textvqa|vqav2|mmmu|mmstar|mathvista|chartqa|ai2d|ocrbench|scienceqa_img",
        refusal(Task.EVAL, with("--benchmark", "ocrbench-v9")));
    assertTrue(refusal(Task.EVAL, REQUIRED).startsWith("setting benchmark is missing"));
    String message = refusal(Task.EVAL, with("--benchmark", "mmmu", "--prompt-template", "x"));
    assertTrue(message.startsWith("--prompt-template is not an option of eval"), message);
    assertTrue(message.contains("--benchmark"), message);
    assertTrue(
        refusal(Task.SCORE, "--benchmark", "mmmu", "--input", "p", "--output", "o", "--model", "m")
            .startsWith("--model is not an option of score"));
    assertTrue(
        refusal(Task.VQA, with("--benchmark", "mmmu"))
            .startsWith("--benchmark is not an option of vqa"));
  }

  @Test
  void aSeedWithoutSamplingIsRefused() {
    String message = refusal(Task.CAPTION, with("--seed", "7"));
    assertTrue(message.contains("decoding is greedy"), message);
    assertTrue(JobConfig.parse(Task.CAPTION, with("--top-k", "5")).modelSettings().doSample());
  }

  @Test
  void verifyPackageIsFullByDefaultAndReachesTheInferenceSettings() {
    assertEquals(
        Verification.FULL,
        JobConfig.parse(Task.CAPTION, REQUIRED).inferenceSettings().verification());
    JobConfig quick = JobConfig.parse(Task.CAPTION, with("--verify-package", "quick"));
    assertEquals(Verification.QUICK, quick.verifyPackage());
    assertEquals(Verification.QUICK, quick.inferenceSettings().verification());
    assertEquals(
        "setting verify-package is 'none' (option --verify-package), expected one of quick|full",
        refusal(Task.CAPTION, with("--verify-package", "none")));
  }

  @Test
  void splitProductsIsOneByDefaultReachesTheInferenceSettingsAndIsRefusedOutsideOneTo64() {
    assertEquals(1, JobConfig.parse(Task.CAPTION, REQUIRED).inferenceSettings().productSplits());
    JobConfig split = JobConfig.parse(Task.CAPTION, with("--split-products", "2"));
    assertEquals(2, split.splitProducts());
    assertEquals(2, split.inferenceSettings().productSplits());
    for (String wrong : new String[] {"0", "65"}) {
      String message = refusal(Task.CAPTION, with("--split-products", wrong));
      assertTrue(
          message.startsWith(
              "setting split-products is '" + wrong + "' (option --split-products), expected"),
          message);
      assertTrue(message.contains("64"), message);
    }
  }
}
