package io.github.idefics3spark.idefics3.runtime;

import static io.github.idefics3spark.ReferenceFixtures.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trained demo checkpoint (demo-smolvlm, tools/demo-model/) on its own evaluation set: the
 * runtime's greedy tokens equal transformers' on every caption and every page question, batched as
 * the job batches them, and its answers are the pictures' (the model really reads them).
 */
class DemoModelParityTest {
  private static final int BATCH = 8;
  private static Idefics3Runtime model;
  private static JsonNode expected;

  @TempDir static Path packages;

  @BeforeAll
  static void convertAndLoad() throws IOException {
    expected = ReferenceFixtures.demoExpected();
    Path dir = packages.resolve("demo-smolvlm");
    Idefics3Package.write(ReferenceFixtures.demoCheckpoint(), dir);
    model =
        Idefics3Runtime.load(
            dir,
            ModelSettings.builder().maxNewTokens(expected.get("max_new_tokens").asInt()).build());
  }

  @AfterAll
  static void close() {
    model.close();
  }

  /** Every case of one section of expected.json, answered in batches of {@link #BATCH}. */
  private static void assertSectionMatches(String section, String folder) throws IOException {
    List<JsonNode> cases = new ArrayList<>();
    expected.get(section).forEach(cases::add);
    for (int start = 0; start < cases.size(); start += BATCH) {
      List<JsonNode> chunk = cases.subList(start, Math.min(cases.size(), start + BATCH));
      List<Idefics3Request> requests = new ArrayList<>();
      for (JsonNode c : chunk) {
        byte[] image =
            Files.readAllBytes(
                ReferenceFixtures.demo().resolve(folder).resolve(c.get("image").asText()));
        requests.add(Idefics3Request.question(c.get("prompt").asText(), List.of(image)));
      }
      List<Idefics3Answer> answers = model.answer(requests);
      for (int i = 0; i < chunk.size(); i++) {
        JsonNode c = chunk.get(i);
        Idefics3Answer answer = answers.get(i);
        String label = section + " " + c.get("image").asText() + " " + c.get("prompt").asText();
        assertNull(answer.error(), label + ": " + answer.error());
        assertEquals(c.get("prompt_tokens").asInt(), answer.promptTokens(), label);
        assertArrayEquals(ints(c.get("tokens")), answer.tokens(), label);
        assertEquals(c.get("text").asText(), answer.text(), label);
      }
    }
  }

  @Test
  void captionsAreTransformersGreedyTokens() throws IOException {
    assertSectionMatches("captions", "captions");
  }

  @Test
  void pageAnswersAreTransformersGreedyTokens() throws IOException {
    assertSectionMatches("docvqa", "pages");
  }

  @Test
  void theRecordedAnswersMatchThePictures() {
    int right = 0;
    for (JsonNode c : expected.get("captions")) {
      right += c.get("text").asText().equals(c.get("truth").asText()) ? 1 : 0;
    }
    // Most captions are right (the README gives the measured numbers): a model that answers noise,
    // or fixtures made from one, fail here.
    assertTrue(right * 2 > expected.get("captions").size(), right + " right captions");
    assertTrue(expected.get("docvqa_anls").asDouble() > 0.5, expected.get("docvqa_anls").asText());
  }
}
