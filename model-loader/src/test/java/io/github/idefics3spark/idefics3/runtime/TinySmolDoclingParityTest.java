package io.github.idefics3spark.idefics3.runtime;

import static io.github.idefics3spark.ReferenceFixtures.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.doctags.DocTags;
import io.github.idefics3spark.doctags.DocTagsDocument;
import io.github.idefics3spark.doctags.PageSize;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.processor.Idefics3Processor;
import io.github.idefics3spark.idefics3.processor.Idefics3Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tiny-smoldocling (SmolDocling's traits: SmolVLM's architecture with docling-core's DocTags as
 * special added tokens, lm_head biased towards them) on SmolDocling's document prompt: the
 * runtime's greedy tokens equal transformers', and the DocTags text, decoded with the special
 * tokens kept, equals transformers' {@code decode(skip_special_tokens=False)} without the eos.
 */
class TinySmolDoclingParityTest {
  private static Idefics3Runtime model;
  private static JsonNode goldens;

  @TempDir static Path packages;

  @BeforeAll
  static void convertAndLoad() throws IOException {
    goldens = ReferenceFixtures.doctagsGoldens(ReferenceFixtures.TINY_SMOLDOCLING);
    Path dir = packages.resolve(ReferenceFixtures.TINY_SMOLDOCLING);
    Idefics3Package.write(ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLDOCLING), dir);
    model =
        Idefics3Runtime.load(
            dir,
            ModelSettings.builder().maxNewTokens(goldens.get("max_new_tokens").asInt()).build());
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static List<JsonNode> cases() {
    List<JsonNode> cases = new ArrayList<>();
    goldens.get("cases").forEach(cases::add);
    return cases;
  }

  private static Idefics3Request request(JsonNode golden) {
    List<byte[]> images = new ArrayList<>();
    for (JsonNode image : golden.get("images")) {
      images.add(ReferenceFixtures.imageBytes(image.asText()));
    }
    return new Idefics3Request(ReferenceFixtures.messages(golden.get("messages")), images, null);
  }

  @Test
  void theDocTagsAreSingleSpecialTokensAfterSmolVlmsIds() {
    Idefics3Tokenizer tokenizer = model.processor().tokenizer();
    int first = goldens.get("doctags_first_id").asInt();
    assertEquals(first, tokenizer.tokenId("<doctag>").getAsInt());
    assertEquals(goldens.get("doctag_end_id").asInt(), tokenizer.tokenId("</doctag>").getAsInt());
    int loc12 = tokenizer.tokenId("<loc_12>").getAsInt();
    assertArrayEquals(new int[] {loc12}, tokenizer.encodeText("<loc_12>", false));
    assertArrayEquals(
        new int[] {tokenizer.tokenId("<fcel>").getAsInt(), tokenizer.tokenId("<nl>").getAsInt()},
        tokenizer.encodeText("<fcel><nl>", false));
    assertEquals(goldens.get("vocab_size").asInt(), first + goldens.get("doctags_count").asInt());
    assertEquals("", tokenizer.decode(new int[] {loc12}, true), "special: skipped by default");
  }

  @Test
  void everyDocumentPromptGivesTransformersGreedyTokensAndDocTags() {
    Idefics3Processor processor = model.processor();
    for (JsonNode golden : cases()) {
      String name = golden.get("name").asText();
      Idefics3Answer answer = model.answer(List.of(request(golden))).get(0);
      assertNull(answer.error(), name + ": " + answer.error());
      assertEquals(golden.get("input_ids").size(), answer.promptTokens(), name);
      int[] expected = ints(golden.get("tokens"));
      assertArrayEquals(
          Arrays.copyOf(expected, golden.get("length").asInt()), answer.tokens(), name);
      assertEquals(golden.get("text").asText().strip(), answer.text(), name + " default text");
      String doctags = processor.decodeKeepingSpecialTokens(answer.tokens());
      assertEquals(golden.get("doctags").asText(), doctags, name + " DocTags");
      assertTrue(doctags.contains("<loc_"), name + ": " + doctags);
      assertNotEquals(doctags, answer.text());
    }
  }

  @Test
  void theThreePromptsInOneBatchGiveTheirTokensAlone() {
    List<JsonNode> cases = cases();
    List<Idefics3Request> requests = new ArrayList<>();
    cases.forEach(c -> requests.add(request(c)));
    List<Idefics3Answer> answers = model.answer(requests);
    for (int i = 0; i < cases.size(); i++) {
      JsonNode golden = cases.get(i);
      int[] expected = ints(golden.get("tokens"));
      assertArrayEquals(
          Arrays.copyOf(expected, golden.get("length").asInt()),
          answers.get(i).tokens(),
          golden.get("name").asText());
    }
  }

  @Test
  void aRunCutAtTheTokenLimitKeepsItsLastTokenAndOneStoppedAtEosDropsIt() {
    Idefics3Processor processor = model.processor();
    for (JsonNode golden : cases()) {
      int[] tokens = Arrays.copyOf(ints(golden.get("tokens")), golden.get("length").asInt());
      String raw = golden.get("text_raw").asText();
      String doctags = processor.decodeKeepingSpecialTokens(tokens);
      if ("eos".equals(golden.get("finish").asText())) {
        assertEquals(raw, doctags + "<end_of_utterance>", golden.get("name").asText());
      } else {
        assertEquals(raw, doctags, golden.get("name").asText());
      }
    }
  }

  @Test
  void theRandomDocTagsParseWithWarningsAndNeverThrow() {
    int warned = 0;
    for (JsonNode golden : cases()) {
      String doctags = golden.get("doctags").asText();
      for (PageSize page : List.of(PageSize.LOC_GRID, new PageSize(1856, 1620))) {
        DocTagsDocument document = DocTags.parse(doctags, page);
        assertFalse(document.toMarkdown() == null, golden.get("name").asText());
        warned += document.warnings().isEmpty() ? 0 : 1;
      }
    }
    assertTrue(warned > 0, "random DocTags are malformed: some page warns");
  }
}
