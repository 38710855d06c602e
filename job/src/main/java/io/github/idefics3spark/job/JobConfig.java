package io.github.idefics3spark.job;

import io.github.idefics3spark.idefics3.checkpoint.PackageFiles.Verification;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import io.github.idefics3spark.image.DocumentPages;
import io.github.idefics3spark.spark.InferenceOption;
import io.github.idefics3spark.spark.InferenceSettings;
import io.github.idefics3spark.spark.RedactedUri;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Everything a {@code caption}, {@code vqa}, {@code eval} or {@code score} run is told, parsed in
 * one place from the command line and an optional {@code --conf} file (command-line options win).
 * Unknown keys, keys the command does not take ({@link JobOption#appliesTo}) and wrong values are
 * refused here, before any Spark work, naming the key and what is expected.
 *
 * <p>The {@code --conf} file is a Java properties file whose keys are the option names without the
 * dashes ({@code batch-size = 8}); see {@code conf/*.properties}.
 *
 * @param task caption, vqa, eval or score
 * @param benchmark eval and score: the benchmark; null for caption and vqa
 * @param input the input path or URI
 * @param inputFormat how to read it; {@link InputFormat#AUTO} decides from the input
 * @param glob folder input: the file-name glob, or null for the usual image extensions
 * @param recursive folder input: read sub-folders too
 * @param idColumn the id column, or null for the input's default
 * @param imageColumns the image columns in prompt order, or empty for the input's default
 * @param questionColumn the question column, or null for the input's default
 * @param allowPathPrefixes folders beside the input's where rows' image paths may lie; empty: the
 *     input's folder only
 * @param dpi PDF pages are rendered at this many dots per inch
 * @param limit read only this many rows; 0 reads all
 * @param partitions repartition into this many partitions; 0 keeps the input's
 * @param promptTemplate the user text, {@link Task#QUESTION_PLACEHOLDER} standing for the question
 * @param assistantPrefix the text answers start with, or null
 * @param promptStyle eval: whose prompts ask the benchmark's questions
 * @param mcScoring eval: how multiple-choice questions are answered
 * @param output the output Parquet path or URI
 * @param mode what to do with rows already at the output
 * @param retryErrors resume: the error rows already at the output to answer again
 * @param preview output rows printed at the end
 * @param model the model package or checkpoint URI; null for score
 * @param modelCache executors' local folder for copied or converted packages, or null for the
 *     default
 * @param verifyPackage how executors check a package used in place or found in their cache
 * @param splitProducts the parts a checkpoint the executors convert has its large products split in
 *     (convert's {@code --split-products}; 1: not split)
 * @param modelSettings threads, batch size, decoding and image settings (eval: the benchmark's
 *     max-new-tokens by default; document: {@link DocumentSettings#MAX_NEW_TOKENS}, special tokens
 *     kept and Docling's stop tokens)
 * @param document document: the conversions, crops and assembly; null for the other commands
 */
public record JobConfig(
    Task task,
    Benchmark benchmark,
    String input,
    InputFormat inputFormat,
    String glob,
    boolean recursive,
    String idColumn,
    List<String> imageColumns,
    String questionColumn,
    List<String> allowPathPrefixes,
    int dpi,
    long limit,
    int partitions,
    String promptTemplate,
    String assistantPrefix,
    PromptStyle promptStyle,
    McScoring mcScoring,
    String output,
    OutputMode mode,
    RetryErrors retryErrors,
    int preview,
    String model,
    String modelCache,
    Verification verifyPackage,
    int splitProducts,
    ModelSettings modelSettings,
    DocumentSettings document) {

  /** The option that names the configuration file; command line only. */
  public static final String CONF_OPTION = "--conf";

  public JobConfig {
    imageColumns = List.copyOf(imageColumns);
    allowPathPrefixes = List.copyOf(allowPathPrefixes);
  }

  /** What the inference stage needs: the model, its settings and the cache folder if one is set. */
  public InferenceSettings inferenceSettings() {
    InferenceSettings settings =
        InferenceSettings.of(model, modelSettings)
            .withVerification(verifyPackage)
            .withProductSplits(splitProducts)
            .withPageDpi(dpi);
    return modelCache == null ? settings : settings.withCacheDir(modelCache);
  }

  /**
   * What the inference stage needs for an input whose folder is {@code inputFolder}: {@link
   * #inferenceSettings()}, with rows' image paths allowed only under that folder and {@link
   * #allowPathPrefixes}.
   */
  public InferenceSettings inferenceSettings(String inputFolder) {
    List<String> roots = new ArrayList<>();
    roots.add(inputFolder);
    roots.addAll(allowPathPrefixes);
    return inferenceSettings().withAllowedRoots(roots);
  }

  /** Whether the prompt template takes each row's question. */
  public boolean usesQuestion() {
    return promptTemplate.contains(Task.QUESTION_PLACEHOLDER);
  }

  /**
   * Parses the options after the subcommand: {@code --key value}, {@code --key=value}, flags alone
   * for true, and {@code --conf FILE}, whose values the command line overrides.
   *
   * @throws JobConfigException naming the option or key at fault
   */
  public static JobConfig parse(Task task, String[] args) {
    Map<JobOption, Setting> settings = new EnumMap<>(JobOption.class);
    Path confFile = null;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("--")) {
        throw new JobConfigException(
            "unexpected argument '"
                + arg
                + "' for "
                + task.command()
                + ": every value follows an option (--input PATH ...); see "
                + task.command()
                + " --help");
      }
      int equals = arg.indexOf('=');
      String name = equals < 0 ? arg : arg.substring(0, equals);
      String inline = equals < 0 ? null : arg.substring(equals + 1);
      if (name.equals(CONF_OPTION)) {
        if (confFile != null) {
          throw new JobConfigException(CONF_OPTION + " is given twice; give one file");
        }
        String value = inline != null ? inline : valueAfter(args, i++, name);
        confFile = Path.of(value);
        continue;
      }
      JobOption option = JobOption.forKey(name.substring(2));
      if (option == null || !option.appliesTo(task)) {
        throw new JobConfigException(
            name
                + " is not an option of "
                + task.command()
                + "; expected one of: "
                + optionList(task));
      }
      String value;
      if (inline != null) {
        value = inline;
      } else if (option.isFlag()) {
        boolean explicit =
            i + 1 < args.length && (args[i + 1].equals("true") || args[i + 1].equals("false"));
        value = explicit ? args[++i] : "true";
      } else if (option.aloneValue() != null
          && (i + 1 >= args.length || args[i + 1].startsWith("--"))) {
        value = option.aloneValue();
      } else {
        value = valueAfter(args, i++, name);
      }
      if (settings.containsKey(option)) {
        throw new JobConfigException(option.option() + " is given twice; give it once");
      }
      settings.put(option, new Setting(unescape(value), "option " + option.option()));
    }
    if (confFile != null) {
      readConfFile(confFile, task).forEach(settings::putIfAbsent);
    }
    return of(task, settings);
  }

  /** A setting's text and where it came from, for error messages. */
  private record Setting(String value, String origin) {}

  private static String valueAfter(String[] args, int i, String name) {
    if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
      throw new JobConfigException(name + " needs a value");
    }
    return args[i + 1];
  }

  private static Map<JobOption, Setting> readConfFile(Path file, Task task) {
    Properties properties = new Properties();
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      properties.load(reader);
    } catch (NoSuchFileException e) {
      throw new JobConfigException(
          CONF_OPTION + " " + file + ": no such file (a properties file of job settings)", e);
    } catch (IOException | IllegalArgumentException e) {
      throw new JobConfigException(
          CONF_OPTION + " " + file + " cannot be read as a properties file: " + e.getMessage(), e);
    }
    Map<JobOption, Setting> settings = new EnumMap<>(JobOption.class);
    for (String key : properties.stringPropertyNames().stream().sorted().toList()) {
      JobOption option = JobOption.forKey(key);
      if (option == null || !option.appliesTo(task)) {
        throw new JobConfigException(
            file
                + ": key '"
                + key
                + "' is not a setting of "
                + task.command()
                + "; expected one of: "
                + JobOption.of(task).stream()
                    .map(JobOption::key)
                    .collect(Collectors.joining(", ")));
      }
      settings.put(
          option, new Setting(unescape(properties.getProperty(key).trim()), file + " " + key));
    }
    return settings;
  }

  private static String unescape(String value) {
    return value.replace("\\n", "\n");
  }

  private static String optionList(Task task) {
    return JobOption.of(task).stream().map(JobOption::option).collect(Collectors.joining(", "))
        + ", "
        + CONF_OPTION
        + ", --help";
  }

  private static JobConfig of(Task task, Map<JobOption, Setting> settings) {
    Values values = new Values(settings);
    Benchmark benchmark = null;
    if (task.isBenchmark()) {
      values.required(JobOption.BENCHMARK);
      benchmark =
          values.choice(JobOption.BENCHMARK, null, Benchmarks::forName, Benchmarks.choices());
    }
    Map<InferenceOption, Object> shared = new EnumMap<>(InferenceOption.class);
    for (JobOption option : settings.keySet()) {
      if (option.shared() != null) {
        shared.put(option.shared(), values.shared(option));
      }
    }
    ModelSettings defaults =
        benchmark != null
            ? ModelSettings.builder().maxNewTokens(benchmark.layout().maxNewTokens()).build()
            : task == Task.DOCUMENT
                ? ModelSettings.builder()
                    .maxNewTokens(DocumentSettings.MAX_NEW_TOKENS)
                    .keepSpecialTokens(true)
                    .stopTokens(DocumentSettings.STOP_TOKENS)
                    .build()
                : ModelSettings.DEFAULTS;
    ModelSettings model =
        InferenceOption.model(
            shared,
            defaults,
            () ->
                new JobConfigException(
                    "setting seed is given ("
                        + settings.get(JobOption.SEED).origin()
                        + ") but decoding is greedy; a seed needs sampling: set --temperature,"
                        + " --top-k or --top-p as well"));
    String template = values.string(JobOption.PROMPT_TEMPLATE, task.defaultPrompt());
    if (template.isBlank()) {
      throw new JobConfigException(
          "setting prompt-template is empty ("
              + settings.get(JobOption.PROMPT_TEMPLATE).origin()
              + "), expected the user text, with "
              + Task.QUESTION_PLACEHOLDER
              + " where each row's question goes");
    }
    String prefix = values.string(JobOption.ASSISTANT_PREFIX, null);
    PromptStyle promptStyle =
        values.choice(
            JobOption.PROMPT_STYLE,
            PromptStyle.LMMS_EVAL,
            PromptStyle::forValue,
            PromptStyle.choices());
    if (promptStyle == PromptStyle.SMOLVLM && benchmark.smolVlmPrompt() == null) {
      throw new JobConfigException(
          "setting prompt-style is 'smolvlm' ("
              + settings.get(JobOption.PROMPT_STYLE).origin()
              + ") but VLMEvalKit's smolvlm.py defines no prompt for "
              + benchmark.layout().name()
              + "; it defines one for "
              + Benchmarks.ALL.stream()
                  .filter(b -> b.smolVlmPrompt() != null)
                  .map(b -> b.layout().name())
                  .collect(Collectors.joining(", "))
              + ". Use --prompt-style lmms-eval for "
              + benchmark.layout().name());
    }
    OutputMode mode =
        values.choice(
            JobOption.MODE, OutputMode.RESUME, OutputMode::forValue, OutputMode.choices());
    RetryErrors retryErrors =
        values.choice(
            JobOption.RETRY_ERRORS, RetryErrors.NONE, RetryErrors::parse, RetryErrors.choices());
    McScoring mcScoring =
        values.choice(
            JobOption.MC_SCORING, McScoring.GENERATE, McScoring::forValue, McScoring.choices());
    if (mcScoring == McScoring.LIKELIHOOD && !benchmark.multipleChoice()) {
      throw new JobConfigException(
          "setting mc-scoring is 'likelihood' ("
              + settings.get(JobOption.MC_SCORING).origin()
              + ") but benchmark "
              + benchmark.layout().name()
              + " is not multiple choice; likelihood scoring ranks the option letters of "
              + Benchmarks.ALL.stream()
                  .filter(Benchmark::multipleChoice)
                  .map(b -> b.layout().name())
                  .collect(Collectors.joining(", "))
              + ": drop --mc-scoring or set it to generate");
    }
    if (mcScoring == McScoring.LIKELIHOOD && promptStyle == PromptStyle.SMOLVLM) {
      throw new JobConfigException(
          "settings mc-scoring 'likelihood' ("
              + settings.get(JobOption.MC_SCORING).origin()
              + ") and prompt-style 'smolvlm' ("
              + settings.get(JobOption.PROMPT_STYLE).origin()
              + ") do not go together: SmolVLM's prompts open the answer with 'Answer:', and"
              + " likelihood ranks the option letters right after the generation prompt as"
              + " lmms-eval asks; drop one of them");
    }
    if (!retryErrors.none() && mode != OutputMode.RESUME) {
      throw new JobConfigException(
          "setting retry-errors is given ("
              + settings.get(JobOption.RETRY_ERRORS).origin()
              + ") but --mode is "
              + mode.value()
              + "; error rows are answered again only by --mode resume (overwrite answers every"
              + " row again anyway)");
    }
    return new JobConfig(
        task,
        benchmark,
        values.required(JobOption.INPUT),
        values.choice(
            JobOption.INPUT_FORMAT, InputFormat.AUTO, InputFormat::forValue, InputFormat.choices()),
        values.string(JobOption.GLOB, null),
        values.bool(JobOption.RECURSIVE, true),
        values.name(JobOption.ID_COLUMN),
        values.names(JobOption.IMAGE_COLUMNS),
        values.name(JobOption.QUESTION_COLUMN),
        values.prefixes(JobOption.ALLOW_PATH_PREFIX),
        values.integer(JobOption.DPI, DocumentPages.DEFAULT_DPI, 1),
        values.longInteger(JobOption.LIMIT, 0L, 1),
        values.integer(JobOption.PARTITIONS, 0, 1),
        template,
        prefix == null || prefix.isEmpty() ? null : prefix,
        promptStyle,
        mcScoring,
        values.required(JobOption.OUTPUT),
        mode,
        retryErrors,
        values.integer(JobOption.PREVIEW, 0, 0),
        task.usesModel() ? values.required(JobOption.MODEL) : null,
        (String) shared.get(InferenceOption.MODEL_CACHE),
        InferenceOption.verification(shared.get(InferenceOption.VERIFY_PACKAGE)),
        InferenceOption.productSplits(shared.get(InferenceOption.SPLIT_PRODUCTS)),
        model,
        task == Task.DOCUMENT ? document(values) : null);
  }

  /** The document command's settings: formats, headers and footers, crops and assembly. */
  private static DocumentSettings document(Values values) {
    List<String> formats = List.of("markdown");
    if (values.settings.containsKey(JobOption.FORMATS)) {
      formats = new ArrayList<>();
      for (String format : values.string(JobOption.FORMATS, "").split(",", -1)) {
        String name = format.trim().toLowerCase(java.util.Locale.ROOT);
        if (!DocumentSettings.FORMATS.contains(name)) {
          throw values.wrong(
              JobOption.FORMATS,
              "formats among "
                  + String.join(", ", DocumentSettings.FORMATS)
                  + ", separated by commas");
        }
        formats.add(name);
      }
    }
    String output = values.required(JobOption.OUTPUT);
    String base = output.endsWith("/") ? output.substring(0, output.length() - 1) : output;
    String pictures = values.string(JobOption.PICTURES_OUTPUT, null);
    String assembled = values.string(JobOption.ASSEMBLE_OUTPUT, null);
    boolean crop = values.bool(JobOption.CROP_PICTURES, false);
    boolean assemble = values.bool(JobOption.ASSEMBLE, false);
    if (pictures != null && !crop) {
      throw values.wrong(
          JobOption.PICTURES_OUTPUT, "no value without --crop-pictures, which it serves");
    }
    if (assembled != null && !assemble) {
      throw values.wrong(JobOption.ASSEMBLE_OUTPUT, "no value without --assemble, which it serves");
    }
    return new DocumentSettings(
        formats.contains("html"),
        formats.contains("json"),
        values.bool(JobOption.KEEP_HEADERS_FOOTERS, false),
        crop
            ? (pictures != null ? values.required(JobOption.PICTURES_OUTPUT) : base + "-pictures")
            : null,
        assemble
            ? (assembled != null ? values.required(JobOption.ASSEMBLE_OUTPUT) : base + "-documents")
            : null,
        values.settings.containsKey(JobOption.MAX_NEW_TOKENS));
  }

  /** Typed reads of the settings, each refusing a wrong value with the key and its origin. */
  private static final class Values {
    private final Map<JobOption, Setting> settings;

    Values(Map<JobOption, Setting> settings) {
      this.settings = settings;
    }

    private JobConfigException wrong(JobOption option, String expected) {
      Setting setting = settings.get(option);
      return new JobConfigException(
          "setting "
              + option.key()
              + " is '"
              + setting.value()
              + "' ("
              + setting.origin()
              + "), expected "
              + expected);
    }

    String required(JobOption option) {
      Setting setting = settings.get(option);
      if (setting == null) {
        throw new JobConfigException(
            "setting "
                + option.key()
                + " is missing: give "
                + option.option()
                + " "
                + option.valueLabel()
                + " or '"
                + option.key()
                + " = ...' in the "
                + CONF_OPTION
                + " file");
      }
      if (setting.value().isBlank()) {
        throw wrong(option, option.valueLabel() + ", not empty");
      }
      if (RedactedUri.hasUserInfo(setting.value())) {
        // S3A ignores a URI's login; Spark and Hadoop print the paths they write in their logs
        throw new JobConfigException(
            "setting "
                + option.key()
                + " is '"
                + RedactedUri.of(setting.value())
                + "' ("
                + setting.origin()
                + "), expected a URI without user-info: give keys through the credential chain"
                + " (environment, profile, instance role), never in a path");
      }
      return setting.value();
    }

    String string(JobOption option, String fallback) {
      Setting setting = settings.get(option);
      return setting == null ? fallback : setting.value();
    }

    /** A column name, or null when not set. */
    String name(JobOption option) {
      Setting setting = settings.get(option);
      if (setting == null) {
        return null;
      }
      if (setting.value().isBlank()) {
        throw wrong(option, "a column name");
      }
      return setting.value().trim();
    }

    /** A comma-separated list of column names, or empty when not set. */
    List<String> names(JobOption option) {
      Setting setting = settings.get(option);
      if (setting == null) {
        return List.of();
      }
      List<String> names = new ArrayList<>();
      for (String name : setting.value().split(",", -1)) {
        if (name.isBlank()) {
          throw wrong(option, "column names separated by commas, none empty");
        }
        names.add(name.trim());
      }
      return names;
    }

    /** A comma-separated list of folder paths or URIs, or empty when not set. */
    List<String> prefixes(JobOption option) {
      Setting setting = settings.get(option);
      if (setting == null) {
        return List.of();
      }
      List<String> prefixes = new ArrayList<>();
      for (String prefix : setting.value().split(",", -1)) {
        if (prefix.isBlank()) {
          throw wrong(option, "folder paths or URIs separated by commas, none empty");
        }
        prefixes.add(prefix.trim());
      }
      return prefixes;
    }

    /** The value of a shared setting, read and checked as its declaration says. */
    Object shared(JobOption option) {
      try {
        return option.shared().parse(settings.get(option).value());
      } catch (InferenceOption.InvalidValue e) {
        throw wrong(option, option.shared().expected(e.problem()));
      }
    }

    int integer(JobOption option, int fallback, int min) {
      long value = longInteger(option, fallback, min);
      if (value > Integer.MAX_VALUE) {
        throw wrong(option, "a whole number <= " + Integer.MAX_VALUE);
      }
      return (int) value;
    }

    long longInteger(JobOption option, long fallback, long min) {
      Setting setting = settings.get(option);
      if (setting == null) {
        return fallback;
      }
      String expected = "a whole number >= " + min;
      long value;
      try {
        value = Long.parseLong(setting.value().trim().replace("_", ""));
      } catch (NumberFormatException e) {
        throw wrong(option, expected);
      }
      if (value < min) {
        throw wrong(option, expected);
      }
      return value;
    }

    boolean bool(JobOption option, boolean fallback) {
      Setting setting = settings.get(option);
      if (setting == null) {
        return fallback;
      }
      return switch (setting.value().trim()) {
        case "true" -> true;
        case "false" -> false;
        default -> throw wrong(option, "true or false");
      };
    }

    <T> T choice(JobOption option, T fallback, Function<String, T> lookup, String choices) {
      Setting setting = settings.get(option);
      if (setting == null) {
        return fallback;
      }
      T value = lookup.apply(setting.value().trim());
      if (value == null) {
        throw wrong(option, "one of " + choices);
      }
      return value;
    }
  }
}
