package io.github.idefics3spark.idefics3.processor;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.idefics3.checkpoint.CheckpointException;
import io.github.idefics3spark.idefics3.checkpoint.ConfigJson;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A checkpoint's tokenizer (tokenizer.json through DJL's binding of Hugging Face tokenizers, plus
 * tokenizer_config.json), with the project's safe-tokenisation rule for prompts.
 *
 * <p>{@link #encode(List)} takes the prompt as segments of template text and user text. Added
 * tokens ({@code <image>}, {@code <end_of_utterance>}, {@code <|begin_of_text|>}, ...) are split
 * out of template text only, as tokenizers' {@code AddedVocabulary} splits them (see {@link
 * AddedVocabulary} for the flags); the pieces between them, user text included, are encoded by a
 * second tokenizer made from the same tokenizer.json with its "added_tokens" emptied, so user text
 * is always plain text: it can never add or remove an image slot or end a turn. Then the tokens the
 * post-processor puts around a single sequence are added (the 8B tokenizer's {@code
 * <|begin_of_text|>}). Whenever user text holds no added token's text this is exactly what the full
 * tokenizer gives (tools/reference/README.md, "Safe tokenisation").
 *
 * <p>The post-processor is tokenizer.json's, as in transformers 5, which ignores
 * tokenizer_config.json's "add_bos_token" and "add_eos_token" when tokenizer.json exists. Owns
 * native memory: close it.
 */
public final class Idefics3Tokenizer implements AutoCloseable {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String[] NAMED_SPECIAL_TOKENS = {
    "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"
  };
  private static final Map<String, String> DJL_OPTIONS =
      Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");

  /**
   * A piece of a prompt.
   *
   * @param text the characters
   * @param userText true for text a user wrote: tokenised as plain text, never split at added
   *     tokens
   */
  public record Segment(String text, boolean userText) {
    /** Text the chat template or the image expansion wrote. */
    public static Segment template(String text) {
      return new Segment(text, false);
    }

    /** Text a user wrote. */
    public static Segment user(String text) {
      return new Segment(text, true);
    }
  }

  private final HuggingFaceTokenizer full;
  private final HuggingFaceTokenizer plain;
  private final AddedVocabulary added;
  private final Map<String, Integer> modelVocab;
  private final Map<String, String> specialTokens;
  private final int[] prefix;
  private final int[] suffix;
  private final boolean cleanUpTokenizationSpaces;

  private Idefics3Tokenizer(
      HuggingFaceTokenizer full,
      HuggingFaceTokenizer plain,
      AddedVocabulary added,
      Map<String, Integer> modelVocab,
      Map<String, String> specialTokens,
      int[] prefix,
      int[] suffix,
      boolean cleanUpTokenizationSpaces) {
    this.full = full;
    this.plain = plain;
    this.added = added;
    this.modelVocab = modelVocab;
    this.specialTokens = specialTokens;
    this.prefix = prefix;
    this.suffix = suffix;
    this.cleanUpTokenizationSpaces = cleanUpTokenizationSpaces;
  }

  /** The tokenizer of a checkpoint folder: its tokenizer.json and tokenizer_config.json. */
  public static Idefics3Tokenizer of(Idefics3Checkpoint checkpoint) {
    return load(checkpoint.tokenizerJson(), checkpoint.folder().resolve("tokenizer_config.json"));
  }

  /**
   * Loads tokenizer.json and, when the file exists, tokenizer_config.json.
   *
   * @throws CheckpointException when a file is missing or unreadable, or uses what this class does
   *     not support (normalized added tokens under a normalizer, split_special_tokens, a
   *     post-processor that does more than add tokens around the sequence)
   */
  public static Idefics3Tokenizer load(Path tokenizerJson, Path tokenizerConfig) {
    ObjectNode json = readObject(tokenizerJson);
    ObjectNode config =
        tokenizerConfig != null && Files.isRegularFile(tokenizerConfig)
            ? readObject(tokenizerConfig)
            : MAPPER.createObjectNode();
    String where = tokenizerJson.getFileName().toString();
    if (config.path("split_special_tokens").asBoolean(false)) {
      throw new CheckpointException(
          tokenizerConfig
              + ": \"split_special_tokens\" is true (special tokens tokenised as text everywhere);"
              + " not supported: the prompt's own <image> and <end_of_utterance> must stay tokens");
    }
    AddedVocabulary added = new AddedVocabulary(addedTokens(json, where), normalizerType(json));
    Map<String, Integer> modelVocab = modelVocab(json);
    Map<String, String> specialTokens = specialTokens(config);

    // Neither copy pads or truncates: a prompt is encoded whole.
    json.set("truncation", NullNode.getInstance());
    json.set("padding", NullNode.getInstance());
    HuggingFaceTokenizer full = djl(json, where);
    ObjectNode plainJson = json.deepCopy();
    plainJson.set("added_tokens", MAPPER.createArrayNode());
    HuggingFaceTokenizer plain = null;
    try {
      plain = djl(plainJson, where + " without its added tokens");
      int[][] around = postProcessorIds(full, json, where);
      boolean cleanUp =
          config.path("clean_up_tokenization_spaces").asBoolean(false)
              && (!"BPE".equals(json.path("model").path("type").asText())
                  || config
                      .path(
                          "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output")
                      .asBoolean(false));
      return new Idefics3Tokenizer(
          full, plain, added, modelVocab, specialTokens, around[0], around[1], cleanUp);
    } catch (RuntimeException e) {
      full.close();
      if (plain != null) {
        plain.close();
      }
      throw e;
    }
  }

  /**
   * Token ids of a prompt under the safe-tokenisation rule, with the post-processor's tokens around
   * it (what {@code tokenizer(text)} gives when user text holds no added token's text).
   */
  public int[] encode(List<Segment> segments) {
    StringBuilder text = new StringBuilder();
    BitSet userText = new BitSet();
    for (Segment segment : segments) {
      int start = text.length();
      text.append(segment.text());
      if (segment.userText()) {
        userText.set(start, text.length());
      }
    }
    String sentence = text.toString();
    IntList ids = new IntList();
    ids.addAll(prefix);
    for (AddedVocabulary.Split split : added.split(sentence, userText)) {
      if (split.token() != null) {
        ids.add(split.token().id());
      } else if (split.end() > split.start()) {
        long[] pieceIds =
            plain.encode(sentence.substring(split.start(), split.end()), false, false).getIds();
        for (long id : pieceIds) {
          ids.add((int) id);
        }
      }
    }
    ids.addAll(suffix);
    return ids.toArray();
  }

  /**
   * Token ids of user text that continues a prompt (an option scored after it): tokenised as plain
   * text, never split at added tokens' text, without the post-processor's tokens. For text that
   * starts at a pre-tokeniser boundary (after the generation prompt's {@code Assistant:}) these are
   * the ids transformers gives that text at the end of {@code tokenizer(prompt + text)}.
   */
  public int[] encodeContinuation(String text) {
    return toInts(plain.encode(text, false, false).getIds());
  }

  /**
   * Token ids of a string tokenised by the full tokenizer: {@code tokenizer(text,
   * add_special_tokens)}.
   */
  public int[] encodeText(String text, boolean addSpecialTokens) {
    return toInts(full.encode(text, addSpecialTokens, false).getIds());
  }

  /**
   * Text of token ids, as {@code tokenizer.decode(ids, skip_special_tokens)} in transformers 5
   * (with tokenizer_config's clean_up_tokenization_spaces, which transformers ignores for BPE).
   */
  public String decode(int[] ids, boolean skipSpecialTokens) {
    long[] longs = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      longs[i] = ids[i];
    }
    String text = full.decode(longs, skipSpecialTokens);
    if (cleanUpTokenizationSpaces) {
      text =
          text.replace(" .", ".")
              .replace(" ?", "?")
              .replace(" !", "!")
              .replace(" ,", ",")
              .replace(" ' ", "'")
              .replace(" n't", "n't")
              .replace(" 'm", "'m")
              .replace(" 's", "'s")
              .replace(" 've", "'ve")
              .replace(" 're", "'re");
    }
    return text;
  }

  /** The id of an added token or of a model vocabulary entry, as convert_tokens_to_ids finds it. */
  public OptionalInt tokenId(String token) {
    return lookup(token, added, modelVocab);
  }

  private static OptionalInt lookup(
      String token, AddedVocabulary added, Map<String, Integer> modelVocab) {
    if (token == null) {
      return OptionalInt.empty();
    }
    AddedVocabulary.AddedToken addedToken = added.get(token);
    if (addedToken != null) {
      return OptionalInt.of(addedToken.id());
    }
    Integer id = modelVocab.get(token);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  /** Whether {@code token} is one of tokenizer.json's added tokens. */
  public boolean isAddedToken(String token) {
    return added.get(token) != null;
  }

  /** Whether {@code text} contains the text of any added token anywhere. */
  public boolean containsAddedToken(String text) {
    return added.occursIn(text);
  }

  /**
   * The named special tokens of tokenizer_config.json ("bos_token", "eos_token", "pad_token", ...)
   * as transformers hands them to the chat template.
   */
  public Map<String, String> specialTokensMap() {
    return specialTokens;
  }

  /** The id of tokenizer_config.json's "pad_token", the id transformers pads with. */
  public OptionalInt padTokenId() {
    return namedId("pad_token");
  }

  /** The id of tokenizer_config.json's "bos_token". */
  public OptionalInt bosTokenId() {
    return namedId("bos_token");
  }

  /** The id of tokenizer_config.json's "eos_token". */
  public OptionalInt eosTokenId() {
    return namedId("eos_token");
  }

  /** Ids the post-processor puts before a single sequence (the 8B's &lt;|begin_of_text|&gt;). */
  public int[] prefixIds() {
    return prefix.clone();
  }

  /** Ids the post-processor puts after a single sequence. */
  public int[] suffixIds() {
    return suffix.clone();
  }

  @Override
  public void close() {
    full.close();
    plain.close();
  }

  private OptionalInt namedId(String name) {
    String token = specialTokens.get(name);
    return token == null ? OptionalInt.empty() : tokenId(token);
  }

  /**
   * {prefix, suffix}: what the post-processor adds around one sequence. transformers 5 drops
   * tokenizer_config.json's add_bos_token and add_eos_token when tokenizer.json exists, and a
   * missing post-processor becomes "$A": nothing is added.
   */
  private static int[][] postProcessorIds(
      HuggingFaceTokenizer full, ObjectNode json, String where) {
    JsonNode postProcessor = json.get("post_processor");
    if (postProcessor == null || postProcessor.isNull()) {
      return new int[][] {new int[0], new int[0]};
    }
    String probe = "a b";
    int[] with = toInts(full.encode(probe, true, false).getIds());
    int[] without = toInts(full.encode(probe, false, false).getIds());
    for (int at = 0; at + without.length <= with.length; at++) {
      if (Arrays.equals(with, at, at + without.length, without, 0, without.length)) {
        int[] before = Arrays.copyOfRange(with, 0, at);
        int[] after = Arrays.copyOfRange(with, at + without.length, with.length);
        int[] emptyWith = toInts(full.encode("", true, false).getIds());
        int[] both = new int[before.length + after.length];
        System.arraycopy(before, 0, both, 0, before.length);
        System.arraycopy(after, 0, both, before.length, after.length);
        if (Arrays.equals(emptyWith, both)) {
          return new int[][] {before, after};
        }
        break;
      }
    }
    throw new CheckpointException(
        where
            + ": the post-processor turns "
            + Arrays.toString(without)
            + " into "
            + Arrays.toString(with)
            + "; expected it to only add tokens before or after the sequence (as TemplateProcessing"
            + " \"<bos> $A\" does)");
  }

  private static List<AddedVocabulary.AddedToken> addedTokens(ObjectNode json, String where) {
    JsonNode list = json.get("added_tokens");
    List<AddedVocabulary.AddedToken> tokens = new ArrayList<>();
    if (list == null || list.isNull()) {
      return tokens;
    }
    if (!(list instanceof ArrayNode array)) {
      throw new CheckpointException(
          where + ": \"added_tokens\" is " + list.getNodeType() + ", expected a list");
    }
    for (JsonNode token : array) {
      if (!token.path("id").isIntegralNumber() || !token.path("content").isTextual()) {
        throw new CheckpointException(
            where + ": added token " + token + " lacks an integer \"id\" or a string \"content\"");
      }
      tokens.add(
          new AddedVocabulary.AddedToken(
              token.get("id").intValue(),
              token.get("content").textValue(),
              token.path("single_word").asBoolean(false),
              token.path("lstrip").asBoolean(false),
              token.path("rstrip").asBoolean(false),
              token.path("normalized").asBoolean(true),
              token.path("special").asBoolean(false)));
    }
    return tokens;
  }

  private static String normalizerType(ObjectNode json) {
    JsonNode normalizer = json.get("normalizer");
    if (normalizer == null || normalizer.isNull()) {
      return null;
    }
    return normalizer.path("type").asText("unknown");
  }

  private static Map<String, Integer> modelVocab(ObjectNode json) {
    JsonNode vocab = json.path("model").path("vocab");
    Map<String, Integer> out = new LinkedHashMap<>();
    if (vocab.isObject()) {
      vocab.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().intValue()));
    } else if (vocab.isArray()) {
      // Unigram: [[piece, score], ...], the id is the position
      for (int i = 0; i < vocab.size(); i++) {
        out.putIfAbsent(vocab.get(i).path(0).asText(), i);
      }
    }
    return out;
  }

  /** Named special tokens: a string, or an AddedToken object with "content". */
  private static Map<String, String> specialTokens(ObjectNode config) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String name : NAMED_SPECIAL_TOKENS) {
      String token = tokenText(config.get(name));
      if (token != null) {
        out.put(name, token);
      }
    }
    JsonNode extra = config.get("extra_special_tokens");
    if (extra != null && extra.isObject()) {
      extra
          .fields()
          .forEachRemaining(
              e -> {
                String token = tokenText(e.getValue());
                if (token != null) {
                  out.putIfAbsent(e.getKey(), token);
                }
              });
    }
    return Collections.unmodifiableMap(out);
  }

  private static String tokenText(JsonNode value) {
    if (value == null || value.isNull()) {
      return null;
    }
    if (value.isTextual()) {
      return value.textValue();
    }
    JsonNode content = value.get("content");
    return content != null && content.isTextual() ? content.textValue() : null;
  }

  private static ObjectNode readObject(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new CheckpointException(
          "missing file "
              + file
              + ": the tokenizer needs it (save it with transformers' save_pretrained)");
    }
    try {
      JsonNode root = MAPPER.readTree(file.toFile());
      if (root instanceof ObjectNode object) {
        return object;
      }
      throw new CheckpointException(
          file + " holds " + root.getNodeType() + ", expected a JSON object");
    } catch (IOException e) {
      throw ConfigJson.notJson(file.toString(), e);
    }
  }

  private static HuggingFaceTokenizer djl(ObjectNode json, String what) {
    try {
      byte[] bytes = MAPPER.writeValueAsString(json).getBytes(StandardCharsets.UTF_8);
      return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), DJL_OPTIONS);
    } catch (IOException | RuntimeException e) {
      throw new CheckpointException(
          "Hugging Face tokenizers (through DJL) cannot load " + what + ": " + e.getMessage(), e);
    }
  }

  private static int[] toInts(long[] ids) {
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }

  /** A growable int array. */
  private static final class IntList {
    private int[] values = new int[64];
    private int size;

    void add(int value) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = value;
    }

    void addAll(int[] more) {
      for (int value : more) {
        add(value);
      }
    }

    int[] toArray() {
      return Arrays.copyOf(values, size);
    }
  }
}
