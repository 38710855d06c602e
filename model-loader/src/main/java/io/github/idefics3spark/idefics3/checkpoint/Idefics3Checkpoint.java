package io.github.idefics3spark.idefics3.checkpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A Hugging Face Idefics3 checkpoint folder: its configs, parsed here and nowhere else.
 *
 * <p>Reads config.json, preprocessor_config.json, processor_config.json, generation_config.json,
 * tokenizer_config.json and the chat template (chat_template.jinja, chat_template.json, or the
 * "chat_template" key of tokenizer_config.json or processor_config.json, in that order). Missing
 * required keys and unsupported values fail with the file and key named; keys this project does not
 * read are collected in {@link #ignoredKeys()} so a caller can report them.
 *
 * @param folder the checkpoint folder
 * @param config the architecture
 * @param preprocessor the image processor settings
 * @param generation the decoding defaults
 * @param imageSeqLen image tokens per frame ("image_seq_len" of processor_config.json, checked
 *     against the architecture)
 * @param chatTemplate the Jinja chat template, as the checkpoint ships it
 * @param tokenizerJson the tokenizer.json file
 * @param ignoredKeys "file: key" for each key present but not used
 */
public record Idefics3Checkpoint(
    Path folder,
    Idefics3Config config,
    PreprocessorConfig preprocessor,
    GenerationConfig generation,
    int imageSeqLen,
    String chatTemplate,
    Path tokenizerJson,
    List<String> ignoredKeys) {

  /** Standard keys of every transformers config that carry no meaning for inference here. */
  private static final String[] METADATA_KEYS = {
    "architectures",
    "model_type",
    "torch_dtype",
    "dtype",
    "transformers_version",
    "_name_or_path",
    "use_cache",
    "initializer_range",
    "attention_dropout",
    "output_attentions",
    "output_hidden_states",
    "return_dict",
    "is_encoder_decoder",
    "tie_encoder_decoder",
    "is_decoder",
    "add_cross_attention",
    "chunk_size_feed_forward",
    "problem_type",
    "id2label",
    "label2id",
    "finetuning_task",
    "tokenizer_class",
    "prefix",
    "task_specific_params",
    "cross_attention_hidden_size",
    "pruned_heads",
    "torchscript",
    "use_bfloat16",
    "tf_legacy_loss",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "sep_token_id",
    "decoder_start_token_id",
    "pretraining_tp",
    "_attn_implementation_autoset",
    "max_length",
    "min_length",
    "do_sample",
    "early_stopping",
    "num_beams",
    "num_beam_groups",
    "diversity_penalty",
    "temperature",
    "top_k",
    "top_p",
    "typical_p",
    "repetition_penalty",
    "length_penalty",
    "no_repeat_ngram_size",
    "encoder_no_repeat_ngram_size",
    "bad_words_ids",
    "num_return_sequences",
    "output_scores",
    "return_dict_in_generate",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "remove_invalid_values",
    "exponential_decay_length_penalty",
    "suppress_tokens",
    "begin_suppress_tokens",
    "label_smoothing",
    "qk_layernorm",
    "neftune_noise_alpha",
    "_flash_attn_2_enabled",
    "attn_implementation",
    "is_llama_config",
    "rope_interleaved",
    "vocab_size",
    "perceiver_config",
    "tie_word_embeddings"
  };

  /*
   * Upper bounds on config.json's sizes, far past any checkpoint of this architecture
   * (Idefics3-8B: 32 text layers 4,096 wide, 14,336 in the MLP, 128,259 tokens, 131,072
   * positions; Llama 3.1 405B: 126 layers 16,384 wide, 53,248 in the MLP): a config past them is
   * damaged or hostile, and would have convert build a graph for hours or run out of memory.
   */
  private static final int MAX_LAYERS = 1024;
  private static final int MAX_WIDTH = 65_536;
  private static final int MAX_INTERMEDIATE = 262_144;
  private static final int MAX_HEADS = 1024;
  private static final int MAX_VOCAB = 4_194_304;
  private static final int MAX_IMAGE_SIZE = 16_384;
  private static final int MAX_POSITIONS = 1 << 24;

  /** A trillion parameters: ten times the largest open Llama. */
  static final long MAX_PARAMETERS = 1_000_000_000_000L;

  /** Reads and checks every config file of {@code folder}. */
  public static Idefics3Checkpoint read(Path folder) {
    if (!Files.isDirectory(folder)) {
      throw new CheckpointException(
          "checkpoint folder " + folder + " does not exist or is not a folder");
    }
    List<String> ignored = new ArrayList<>();

    ConfigJson configJson = ConfigJson.read(folder.resolve("config.json"));
    Idefics3Config config = parseConfig(configJson, ignored);

    ConfigJson preprocessorJson = ConfigJson.read(folder.resolve("preprocessor_config.json"));
    PreprocessorConfig preprocessor = parsePreprocessor(preprocessorJson);
    collectIgnored(preprocessorJson, ignored);

    Path generationFile = folder.resolve("generation_config.json");
    GenerationConfig generation;
    if (Files.isRegularFile(generationFile)) {
      ConfigJson generationJson = ConfigJson.read(generationFile);
      generation = parseGeneration(generationJson);
      collectIgnored(generationJson, ignored);
    } else {
      generation = new GenerationConfig(List.of(), null, null, 20, false, 1.0, 50, 1.0);
    }

    Path processorFile = folder.resolve("processor_config.json");
    ConfigJson processorJson =
        Files.isRegularFile(processorFile) ? ConfigJson.read(processorFile) : null;
    int imageSeqLen = config.imageSeqLen();
    if (processorJson != null && processorJson.has("image_seq_len")) {
      int declared = processorJson.requiredInt("image_seq_len");
      if (declared != imageSeqLen) {
        throw new CheckpointException(
            "processor_config.json: image_seq_len is "
                + declared
                + " but config.json gives (image_size / patch_size / scale_factor)^2 = "
                + imageSeqLen
                + "; the two files come from different checkpoints");
      }
    }

    Path tokenizerJson = folder.resolve("tokenizer.json");
    if (!Files.isRegularFile(tokenizerJson)) {
      throw new CheckpointException(
          "missing file "
              + tokenizerJson
              + ": the fast tokenizer is needed (save it with"
              + " tokenizer.save_pretrained in transformers)");
    }
    String chatTemplate = readChatTemplate(folder, processorJson);
    if (processorJson != null) {
      processorJson.ignore("chat_template", "processor_class", "image_seq_len");
      collectIgnored(processorJson, ignored);
    }
    return new Idefics3Checkpoint(
        folder,
        config,
        preprocessor,
        generation,
        imageSeqLen,
        chatTemplate,
        tokenizerJson,
        List.copyOf(ignored));
  }

  /**
   * Parses and checks the text of a checkpoint's {@code config.json} alone, for a driver that only
   * needs the model's sizes (its context, its image tokens) before any executor loads it.
   *
   * @param where how to name the file in errors
   */
  public static Idefics3Config parseConfig(String where, String json) {
    return parseConfig(ConfigJson.parse(where, json), new ArrayList<>());
  }

  /**
   * Parses and checks the text of a checkpoint's {@code preprocessor_config.json} alone, for a
   * driver that only needs the image sizes (how many frames a page gives) before any executor loads
   * the model.
   *
   * @param where how to name the file in errors
   */
  public static PreprocessorConfig parsePreprocessorConfig(String where, String json) {
    return parsePreprocessor(ConfigJson.parse(where, json));
  }

  private static Idefics3Config parseConfig(ConfigJson json, List<String> ignored) {
    String modelType = json.requiredString("model_type");
    if (!modelType.equals("idefics3")) {
      throw new CheckpointException(
          "config.json: model_type is \""
              + modelType
              + "\", expected \"idefics3\" (Idefics3-8B-Llama3, SmolVLM, SmolDocling share it)");
    }
    ConfigJson visionJson = json.object("vision_config");
    Idefics3Config.Vision vision = parseVision(visionJson);
    ConfigJson textJson = json.object("text_config");
    Idefics3Config.Text text = parseText(textJson);
    int scaleFactor =
        json.intAtLeastOr("scale_factor", 2, 1, "the connector divides the patches a side by it");
    int imageTokenId = json.requiredInt("image_token_id");

    int side = vision.imageSize() / vision.patchSize();
    if (vision.imageSize() % vision.patchSize() != 0 || side % scaleFactor != 0) {
      throw new CheckpointException(
          "config.json: vision image_size "
              + vision.imageSize()
              + " / patch_size "
              + vision.patchSize()
              + " must give a whole number of patches a side, divisible by scale_factor "
              + scaleFactor);
    }
    if (imageTokenId < 0 || imageTokenId >= text.vocabSize()) {
      throw new CheckpointException(
          "config.json: image_token_id "
              + imageTokenId
              + " is outside the text vocabulary (0.."
              + (text.vocabSize() - 1)
              + ")");
    }
    json.ignore(METADATA_KEYS);
    visionJson.ignore(METADATA_KEYS);
    textJson.ignore(METADATA_KEYS);
    collectIgnored(json, ignored);
    collectIgnored(visionJson, ignored);
    collectIgnored(textJson, ignored);
    Idefics3Config config = new Idefics3Config(vision, text, scaleFactor, imageTokenId);
    long parameters = config.parameterCount();
    if (parameters > MAX_PARAMETERS) {
      throw new CheckpointException(
          String.format(
              "%s: its sizes make a model of %,d parameters, expected at most %,d (no Idefics3"
                  + " checkpoint comes near it); the file is damaged or not an Idefics3"
                  + " checkpoint's",
              json.where(), parameters, MAX_PARAMETERS));
    }
    return config;
  }

  private static Idefics3Config.Vision parseVision(ConfigJson json) {
    String act = json.stringOr("hidden_act", "gelu_pytorch_tanh");
    if (!act.equals("gelu_pytorch_tanh")) {
      throw new CheckpointException(
          json.where()
              + ": hidden_act \""
              + act
              + "\" is not supported; expected gelu_pytorch_tanh");
    }
    int hidden = json.requiredIntIn("hidden_size", 1, MAX_WIDTH, "the width of every vision layer");
    int heads = json.requiredIntIn("num_attention_heads", 1, MAX_HEADS, "it divides hidden_size");
    if (hidden % heads != 0) {
      throw new CheckpointException(
          json.where()
              + ": hidden_size "
              + hidden
              + " is not divisible by num_attention_heads "
              + heads);
    }
    return new Idefics3Config.Vision(
        hidden,
        json.requiredIntIn("intermediate_size", 1, MAX_INTERMEDIATE, "the width of the vision MLP"),
        json.requiredIntIn("num_hidden_layers", 1, MAX_LAYERS, "the vision encoder's layers"),
        heads,
        json.intInOr("num_channels", 3, 1, 4, "colour channels of a patch"),
        // Required on purpose: the class defaults (224 and 32) match no released checkpoint.
        json.requiredIntIn("image_size", 1, MAX_IMAGE_SIZE, "the side of a frame in pixels"),
        json.requiredIntAtLeast("patch_size", 1, "it divides image_size"),
        act,
        json.doubleOr("layer_norm_eps", 1e-6));
  }

  private static Idefics3Config.Text parseText(ConfigJson json) {
    String textType = json.stringOr("model_type", "llama");
    if (!textType.equals("llama")) {
      throw new CheckpointException(
          json.where() + ": model_type \"" + textType + "\" is not supported; expected llama");
    }
    String act = json.stringOr("hidden_act", "silu");
    if (!act.equals("silu")) {
      throw new CheckpointException(
          json.where() + ": hidden_act \"" + act + "\" is not supported; expected silu");
    }
    if (json.booleanOr("attention_bias", false) || json.booleanOr("mlp_bias", false)) {
      throw new CheckpointException(
          json.where() + ": attention_bias or mlp_bias is true; Idefics3's Llama has no biases");
    }
    int hidden = json.requiredIntIn("hidden_size", 1, MAX_WIDTH, "the width of every text layer");
    int heads =
        json.requiredIntIn(
            "num_attention_heads", 1, MAX_HEADS, "it divides hidden_size into heads");
    int kvHeads =
        json.intAtLeastOr("num_key_value_heads", heads, 1, "it divides num_attention_heads");
    if (heads % kvHeads != 0) {
      throw new CheckpointException(
          json.where()
              + ": num_attention_heads "
              + heads
              + " is not a multiple of"
              + " num_key_value_heads "
              + kvHeads);
    }
    Integer headDim =
        json.has("head_dim")
            ? json.requiredIntIn("head_dim", 2, MAX_WIDTH, "the width of one attention head")
            : null;
    if (headDim == null && hidden % heads != 0) {
      throw new CheckpointException(
          json.where()
              + ": hidden_size "
              + hidden
              + " is not divisible by num_attention_heads "
              + heads
              + " and no head_dim is given; expected hidden_size = num_attention_heads * head_dim");
    }
    if ((headDim != null ? headDim : hidden / heads) % 2 != 0) {
      throw new CheckpointException(
          json.where()
              + ": the attention head width "
              + (headDim != null ? "head_dim " + headDim : "hidden_size / num_attention_heads")
              + " is odd; expected an even width (rotary embeddings rotate pairs of values)");
    }

    // transformers 4.x writes rope_theta and rope_scaling; 5.x writes both into rope_parameters.
    ConfigJson rope = json.objectOrNull("rope_parameters");
    ConfigJson scaling = json.objectOrNull("rope_scaling");
    Double theta = json.doubleOrNull("rope_theta");
    if (theta == null && rope != null) {
      theta = rope.doubleOrNull("rope_theta");
    }
    if (theta == null) {
      theta = 10000.0; // LlamaConfig's default
    }
    Idefics3Config.RopeScaling ropeScaling = parseRopeScaling(scaling != null ? scaling : rope);

    return new Idefics3Config.Text(
        hidden,
        json.requiredIntIn("intermediate_size", 1, MAX_INTERMEDIATE, "the width of the text MLP"),
        json.requiredIntIn("num_hidden_layers", 1, MAX_LAYERS, "the text decoder's layers"),
        heads,
        kvHeads,
        headDim != null ? headDim : hidden / heads,
        json.requiredIntIn("vocab_size", 1, MAX_VOCAB, "rows of the token embedding"),
        json.doubleOr("rms_norm_eps", 1e-6),
        theta,
        ropeScaling,
        json.intInOr(
            "max_position_embeddings",
            2048,
            1,
            MAX_POSITIONS,
            "the longest prompt and answer, in tokens"),
        json.booleanOr("tie_word_embeddings", false));
  }

  private static Idefics3Config.RopeScaling parseRopeScaling(ConfigJson json) {
    if (json == null) {
      return null;
    }
    String type =
        json.has("rope_type") ? json.requiredString("rope_type") : json.stringOr("type", "default");
    json.ignore("rope_theta");
    if (type.equals("default")) {
      return null;
    }
    if (!type.equals("llama3")) {
      throw new CheckpointException(
          json.where()
              + ": rope_type \""
              + type
              + "\" is not supported; expected llama3 or default");
    }
    double factor = json.requiredDouble("factor");
    double low = json.requiredDouble("low_freq_factor");
    double high = json.requiredDouble("high_freq_factor");
    if (!(factor > 0 && low > 0 && high > low)) {
      throw new CheckpointException(
          json.where()
              + ": llama3 rope scaling has factor "
              + factor
              + ", low_freq_factor "
              + low
              + ", high_freq_factor "
              + high
              + "; expected factor > 0 and 0 < low_freq_factor < high_freq_factor (the frequencies"
              + " are divided by each)");
    }
    return new Idefics3Config.RopeScaling(
        factor,
        low,
        high,
        json.requiredIntAtLeast(
            "original_max_position_embeddings", 1, "it divides the rotary wavelengths"));
  }

  private static PreprocessorConfig parsePreprocessor(ConfigJson json) {
    int resample = json.intOr("resample", PreprocessorConfig.LANCZOS);
    if (resample != PreprocessorConfig.LANCZOS) {
      throw new CheckpointException(
          "preprocessor_config.json: resample is "
              + resample
              + ", only 1 (LANCZOS, what Idefics3 checkpoints use) is supported");
    }
    float[] mean = json.floats("image_mean", new float[] {0.5f, 0.5f, 0.5f});
    float[] std = json.floats("image_std", new float[] {0.5f, 0.5f, 0.5f});
    mean = perChannel("image_mean", mean);
    std = perChannel("image_std", std);
    json.ignore(
        "image_processor_type",
        "processor_class",
        "return_row_col_info",
        "data_format",
        "input_data_format",
        "return_tensors",
        "device",
        "disable_grouping",
        "default_to_square",
        "crop_size",
        "do_center_crop",
        "image_seq_len");
    return new PreprocessorConfig(
        json.object("size").requiredIntAtLeast("longest_edge", 1, "images are resized to it"),
        json.object("max_image_size")
            .requiredIntAtLeast("longest_edge", 1, "the side of a tile, which divides the image"),
        json.booleanOr("do_image_splitting", true),
        json.booleanOr("do_convert_rgb", true),
        json.booleanOr("do_resize", true),
        json.booleanOr("do_rescale", true),
        json.doubleOr("rescale_factor", 1.0 / 255),
        json.booleanOr("do_normalize", true),
        mean,
        std,
        json.booleanOr("do_pad", true),
        resample);
  }

  private static float[] perChannel(String key, float[] values) {
    if (values.length == 1) {
      return new float[] {values[0], values[0], values[0]};
    }
    if (values.length != 3) {
      throw new CheckpointException(
          "preprocessor_config.json: "
              + key
              + " has "
              + values.length
              + " values, expected 1 or 3");
    }
    return values;
  }

  private static GenerationConfig parseGeneration(ConfigJson json) {
    json.ignore(
        "transformers_version",
        "_from_model_config",
        "use_cache",
        "num_beams",
        "repetition_penalty",
        "length_penalty",
        "no_repeat_ngram_size",
        "max_length",
        "min_length",
        "early_stopping",
        "num_return_sequences",
        "output_scores",
        "return_dict_in_generate",
        "decoder_start_token_id");
    return new GenerationConfig(
        json.intList("eos_token_id"),
        json.intOrNull("pad_token_id"),
        json.intOrNull("bos_token_id"),
        json.intOr("max_new_tokens", 20),
        json.booleanOr("do_sample", false),
        json.doubleOr("temperature", 1.0),
        json.intOr("top_k", 50),
        json.doubleOr("top_p", 1.0));
  }

  private static String readChatTemplate(Path folder, ConfigJson processorJson) {
    try {
      Path jinja = folder.resolve("chat_template.jinja");
      if (Files.isRegularFile(jinja)) {
        return Files.readString(jinja, StandardCharsets.UTF_8);
      }
      Path json = folder.resolve("chat_template.json");
      if (Files.isRegularFile(json)) {
        return ConfigJson.read(json).requiredString("chat_template");
      }
    } catch (IOException e) {
      throw new CheckpointException("cannot read the chat template in " + folder + ": " + e, e);
    }
    Path tokenizerConfig = folder.resolve("tokenizer_config.json");
    if (Files.isRegularFile(tokenizerConfig)) {
      ConfigJson json = ConfigJson.read(tokenizerConfig);
      if (json.has("chat_template")) {
        return json.requiredString("chat_template");
      }
    }
    if (processorJson != null && processorJson.has("chat_template")) {
      return processorJson.requiredString("chat_template");
    }
    throw new CheckpointException(
        "no chat template in "
            + folder
            + ": expected chat_template.jinja, chat_template.json, or a \"chat_template\" key in"
            + " tokenizer_config.json");
  }

  private static void collectIgnored(ConfigJson json, List<String> ignored) {
    Set<String> unread = json.unreadKeys();
    for (String key : unread) {
      ignored.add(json.where() + ": " + key);
    }
  }
}
