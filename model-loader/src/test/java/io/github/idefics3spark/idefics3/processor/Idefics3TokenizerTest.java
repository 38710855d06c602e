package io.github.idefics3spark.idefics3.processor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.CheckpointException;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import io.github.idefics3spark.idefics3.processor.Idefics3Tokenizer.Segment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Idefics3Tokenizer's safe rule agrees with Hugging Face tokenizers (the full tokenizer.json
 * through DJL) wherever user text holds no added token, and keeps user text plain where it does.
 */
class Idefics3TokenizerTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Map<String, Idefics3Tokenizer> TOKENIZERS = new HashMap<>();

  /** Texts around and between added tokens: spaces, newlines, digits, words, non-ASCII. */
  private static final List<String> TEXTS =
      List.of(
          "Hello <end_of_utterance>  \n world",
          "x<image>y",
          "x <image> y",
          "<image>",
          "word<image> <image>word",
          "a <fake_token_around_image> b\t<fake_token_around_image>\n",
          "  <end_of_utterance>",
          "<end_of_utterance>\n\nAssistant: 2024-11-27",
          "\u65e5\u672c<image>\u8a9e caf\u00e9 \ud83d\ude42",
          "<global-img><row_1_col_2>\n\n<image><image>",
          "_<image>_ 3<image>4 \u00e9<image>");

  @BeforeAll
  static void loadTokenizers() {
    for (String name : List.of(ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM)) {
      TOKENIZERS.put(
          name, Idefics3Tokenizer.of(Idefics3Checkpoint.read(ReferenceFixtures.checkpoint(name))));
    }
  }

  @AfterAll
  static void closeTokenizers() {
    TOKENIZERS.values().forEach(Idefics3Tokenizer::close);
  }

  @ParameterizedTest
  @ValueSource(strings = {ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM})
  void templateTextTokenisesAsTheFullTokenizer(String name) {
    Idefics3Tokenizer tokenizer = TOKENIZERS.get(name);
    for (String text : TEXTS) {
      assertArrayEquals(
          tokenizer.encodeText(text, true),
          tokenizer.encode(List.of(Segment.template(text))),
          text);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM})
  void userTextWithoutAddedTokensTokenisesAsTheFullTokenizer(String name) {
    Idefics3Tokenizer tokenizer = TOKENIZERS.get(name);
    List<String> users = List.of("What is this?", "  spaced  ", "caf\u00e9 123\n", "", "a");
    for (String text : TEXTS) {
      for (String user : users) {
        int cut = text.length() / 2;
        List<Segment> segments =
            List.of(
                Segment.template(text.substring(0, cut)),
                Segment.user(user),
                Segment.template(text.substring(cut)));
        String whole = text.substring(0, cut) + user + text.substring(cut);
        assertArrayEquals(tokenizer.encodeText(whole, true), tokenizer.encode(segments), whole);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM})
  void userTextThatSpellsAddedTokensStaysPlainText(String name) {
    Idefics3Tokenizer tokenizer = TOKENIZERS.get(name);
    String spelled = "<image><end_of_utterance><fake_token_around_image>";
    int[] ids = tokenizer.encode(List.of(Segment.user(spelled)));
    for (String token : List.of("<image>", "<end_of_utterance>", "<fake_token_around_image>")) {
      int id = tokenizer.tokenId(token).getAsInt();
      assertFalse(
          Arrays.stream(ids).anyMatch(i -> i == id),
          token + " leaked into " + Arrays.toString(ids));
    }
    assertEquals(spelled, tokenizer.decode(ids, true));
  }

  @Test
  void lstripAndRstripTakeTheWhiteSpaceAroundTheToken(@TempDir Path temp) throws IOException {
    try (Idefics3Tokenizer tokenizer =
        variant(temp, token -> flags(token, "<end_of_utterance>", "lstrip", "rstrip"))) {
      assertAgreesWithFullTokenizer(tokenizer);
      int eou = tokenizer.tokenId("<end_of_utterance>").getAsInt();
      int[] ids = tokenizer.encode(List.of(Segment.template("a  \n<end_of_utterance> \t b")));
      assertArrayEquals(
          concat(
              tokenizer.prefixIds(),
              tokenizer.encodeText("a", false),
              new int[] {eou},
              tokenizer.encodeText("b", false),
              tokenizer.suffixIds()),
          ids,
          "the white space went into the token");
      // white space of the neighbouring user text is taken too, as the reference would
      List<Segment> segments =
          List.of(
              Segment.user("hi  "),
              Segment.template("<end_of_utterance>"),
              Segment.user("  there"));
      assertArrayEquals(
          tokenizer.encodeText("hi  <end_of_utterance>  there", true), tokenizer.encode(segments));
    }
  }

  @Test
  void singleWordTokensMatchOnlyBetweenNonWordCharacters(@TempDir Path temp) throws IOException {
    try (Idefics3Tokenizer tokenizer =
        variant(temp, token -> flags(token, "<image>", "single_word"))) {
      assertAgreesWithFullTokenizer(tokenizer);
      int image = tokenizer.tokenId("<image>").getAsInt();
      assertFalse(
          Arrays.stream(tokenizer.encode(List.of(Segment.template("word<image>"))))
              .anyMatch(i -> i == image));
      assertTrue(
          Arrays.stream(tokenizer.encode(List.of(Segment.template("word <image>"))))
              .anyMatch(i -> i == image));
    }
  }

  @Test
  void normalizedTokensWithoutANormalizerMatchInASecondPass(@TempDir Path temp) throws IOException {
    try (Idefics3Tokenizer tokenizer =
        variant(
            temp,
            token -> {
              flags(token, "<fake_token_around_image>", "normalized");
              flags(token, "<image>", "normalized", "lstrip");
            })) {
      assertAgreesWithFullTokenizer(tokenizer);
    }
  }

  @Test
  void normalizedTokensUnderANormalizerAreRefused(@TempDir Path temp) throws IOException {
    Path folder = copyTokenizer(temp, ReferenceFixtures.TINY_SMOLVLM);
    ObjectNode json = (ObjectNode) MAPPER.readTree(folder.resolve("tokenizer.json").toFile());
    json.set("normalizer", MAPPER.readTree("{\"type\": \"Lowercase\"}"));
    for (JsonNode token : json.get("added_tokens")) {
      flags((ObjectNode) token, "<image>", "normalized");
    }
    MAPPER.writeValue(folder.resolve("tokenizer.json").toFile(), json);
    CheckpointException error =
        assertThrows(
            CheckpointException.class,
            () ->
                Idefics3Tokenizer.load(
                    folder.resolve("tokenizer.json"), folder.resolve("tokenizer_config.json")));
    assertTrue(error.getMessage().contains("\"<image>\""), error.getMessage());
    assertTrue(error.getMessage().contains("Lowercase"), error.getMessage());
  }

  @Test
  void theEightBTokenizerPrependsBeginOfTextAndSmolVlmsAddsNothing() {
    Idefics3Tokenizer idefics3 = TOKENIZERS.get(ReferenceFixtures.TINY_IDEFICS3);
    assertArrayEquals(
        new int[] {idefics3.tokenId("<|begin_of_text|>").getAsInt()}, idefics3.prefixIds());
    assertArrayEquals(new int[0], idefics3.suffixIds());
    Idefics3Tokenizer smolvlm = TOKENIZERS.get(ReferenceFixtures.TINY_SMOLVLM);
    assertArrayEquals(new int[0], smolvlm.prefixIds());
    assertArrayEquals(new int[0], smolvlm.suffixIds());
  }

  @Test
  void aMissingPostProcessorAddsNothingEvenWithAddBosToken(@TempDir Path temp) throws IOException {
    Path folder = copyTokenizer(temp, ReferenceFixtures.TINY_IDEFICS3);
    ObjectNode json = (ObjectNode) MAPPER.readTree(folder.resolve("tokenizer.json").toFile());
    json.putNull("post_processor");
    MAPPER.writeValue(folder.resolve("tokenizer.json").toFile(), json);
    // transformers 5 ignores add_bos_token when tokenizer.json exists
    ObjectNode config =
        (ObjectNode) MAPPER.readTree(folder.resolve("tokenizer_config.json").toFile());
    config.put("add_bos_token", true);
    MAPPER.writeValue(folder.resolve("tokenizer_config.json").toFile(), config);
    try (Idefics3Tokenizer tokenizer =
        Idefics3Tokenizer.load(
            folder.resolve("tokenizer.json"), folder.resolve("tokenizer_config.json"))) {
      assertArrayEquals(new int[0], tokenizer.prefixIds());
    }
  }

  @Test
  void aPostProcessorThatAppendsGivesASuffix(@TempDir Path temp) throws IOException {
    Path folder = copyTokenizer(temp, ReferenceFixtures.TINY_SMOLVLM);
    ObjectNode json = (ObjectNode) MAPPER.readTree(folder.resolve("tokenizer.json").toFile());
    int eou = 0;
    for (JsonNode token : json.get("added_tokens")) {
      if (token.get("content").asText().equals("<end_of_utterance>")) {
        eou = token.get("id").asInt();
      }
    }
    json.set(
        "post_processor",
        MAPPER.readTree(
            "{\"type\": \"TemplateProcessing\","
                + " \"single\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}},"
                + " {\"SpecialToken\": {\"id\": \"<end_of_utterance>\", \"type_id\": 0}}],"
                + " \"pair\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}},"
                + " {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}],"
                + " \"special_tokens\": {\"<end_of_utterance>\": {\"id\": \"<end_of_utterance>\","
                + " \"ids\": ["
                + eou
                + "], \"tokens\": [\"<end_of_utterance>\"]}}}"));
    MAPPER.writeValue(folder.resolve("tokenizer.json").toFile(), json);
    try (Idefics3Tokenizer tokenizer =
        Idefics3Tokenizer.load(
            folder.resolve("tokenizer.json"), folder.resolve("tokenizer_config.json"))) {
      assertArrayEquals(new int[] {eou}, tokenizer.suffixIds());
      assertAgreesWithFullTokenizer(tokenizer);
    }
  }

  @Test
  void splitSpecialTokensIsRefused(@TempDir Path temp) throws IOException {
    Path folder = copyTokenizer(temp, ReferenceFixtures.TINY_SMOLVLM);
    ObjectNode config =
        (ObjectNode) MAPPER.readTree(folder.resolve("tokenizer_config.json").toFile());
    config.put("split_special_tokens", true);
    MAPPER.writeValue(folder.resolve("tokenizer_config.json").toFile(), config);
    CheckpointException error =
        assertThrows(
            CheckpointException.class,
            () ->
                Idefics3Tokenizer.load(
                    folder.resolve("tokenizer.json"), folder.resolve("tokenizer_config.json")));
    assertTrue(error.getMessage().contains("split_special_tokens"), error.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM})
  void decodeRestoresTheTextAndSkipsSpecialTokensOnRequest(String name) {
    Idefics3Tokenizer tokenizer = TOKENIZERS.get(name);
    String text = "User:<image>What is this? caf\u00e9<end_of_utterance>\nAssistant: A cat.";
    int[] ids = tokenizer.encode(List.of(Segment.template(text)));
    String prefix = tokenizer.decode(tokenizer.prefixIds(), false);
    assertEquals(prefix + text, tokenizer.decode(ids, false));
    assertEquals("User:What is this? caf\u00e9\nAssistant: A cat.", tokenizer.decode(ids, true));
  }

  @ParameterizedTest
  @ValueSource(strings = {ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM})
  void namedSpecialTokensAndTheirIdsComeFromTokenizerConfig(String name) throws IOException {
    Idefics3Tokenizer tokenizer = TOKENIZERS.get(name);
    JsonNode config =
        MAPPER.readTree(
            ReferenceFixtures.checkpoint(name).resolve("tokenizer_config.json").toFile());
    for (String key : List.of("bos_token", "eos_token", "pad_token")) {
      assertEquals(config.get(key).asText(), tokenizer.specialTokensMap().get(key), key);
    }
    assertEquals(tokenizer.tokenId(config.get("pad_token").asText()), tokenizer.padTokenId());
    assertEquals(tokenizer.tokenId(config.get("eos_token").asText()), tokenizer.eosTokenId());
  }

  private static void assertAgreesWithFullTokenizer(Idefics3Tokenizer tokenizer) {
    for (String text : TEXTS) {
      assertArrayEquals(
          tokenizer.encodeText(text, true),
          tokenizer.encode(List.of(Segment.template(text))),
          text);
    }
  }

  /** The tiny SmolVLM tokenizer with some added tokens' flags changed. */
  private static Idefics3Tokenizer variant(Path temp, Consumer<ObjectNode> change)
      throws IOException {
    Path folder = copyTokenizer(temp, ReferenceFixtures.TINY_SMOLVLM);
    ObjectNode json = (ObjectNode) MAPPER.readTree(folder.resolve("tokenizer.json").toFile());
    for (JsonNode token : json.get("added_tokens")) {
      change.accept((ObjectNode) token);
    }
    MAPPER.writeValue(folder.resolve("tokenizer.json").toFile(), json);
    return Idefics3Tokenizer.load(
        folder.resolve("tokenizer.json"), folder.resolve("tokenizer_config.json"));
  }

  private static void flags(ObjectNode token, String content, String... flags) {
    if (token.get("content").asText().equals(content)) {
      for (String flag : flags) {
        token.put(flag, true);
      }
    }
  }

  private static Path copyTokenizer(Path temp, String checkpoint) throws IOException {
    Path folder = Files.createDirectories(temp.resolve(checkpoint));
    for (String file : List.of("tokenizer.json", "tokenizer_config.json")) {
      Files.copy(ReferenceFixtures.checkpoint(checkpoint).resolve(file), folder.resolve(file));
    }
    return folder;
  }

  private static int[] concat(int[]... parts) {
    return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
  }
}
