package io.github.idefics3spark.idefics3.runtime;

import static io.github.idefics3spark.ReferenceFixtures.ints;
import static io.github.idefics3spark.ReferenceFixtures.messages;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.checkpoint.PackageFiles;
import io.github.idefics3spark.idefics3.graph.Idefics3Graph;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Likelihood scoring of options ({@link Idefics3Request#options}) against transformers: each
 * option's log-probability after its prompt (goldens/&lt;checkpoint&gt;/options.json, one forward
 * of prompt + option per option in fp32) within 1e-4, for both tiny checkpoints, options of one and
 * of two tokens, with and without images, alone and batched with other lengths and with generation.
 */
class Idefics3RuntimeOptionScoresTest {
  private static final double TOLERANCE = 1e-4;
  private static final List<String> CHECKPOINTS =
      List.of(ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM);
  private static final Map<String, Idefics3Runtime> MODELS = new HashMap<>();
  private static final Map<String, Path> PACKAGES = new HashMap<>();

  @TempDir static Path packages;

  @BeforeAll
  static void convertAndLoad() throws IOException {
    for (String name : CHECKPOINTS) {
      Path dir = packages.resolve(name);
      Idefics3Package.write(ReferenceFixtures.checkpoint(name), dir);
      PACKAGES.put(name, dir);
      MODELS.put(
          name,
          Idefics3Runtime.load(dir, ModelSettings.builder().maxNewTokens(4).batchSize(8).build()));
    }
  }

  @AfterAll
  static void close() {
    MODELS.values().forEach(Idefics3Runtime::close);
  }

  private static Idefics3Request toRequest(JsonNode golden) {
    List<byte[]> images = new ArrayList<>();
    for (JsonNode image : golden.get("images")) {
      images.add(ReferenceFixtures.imageBytes(image.asText()));
    }
    List<String> options = new ArrayList<>();
    for (JsonNode option : golden.get("options")) {
      // the golden scores " A", the text after "Assistant:"; the request names the answer, "A"
      options.add(option.get("option").asText().substring(1));
    }
    return new Idefics3Request(messages(golden.get("messages")), images, null, options);
  }

  private static void assertMatches(JsonNode golden, Idefics3Answer answer, String checkpoint) {
    String where = checkpoint + " " + golden.get("name").asText();
    assertNull(answer.error(), where);
    assertEquals(golden.get("input_ids").size(), answer.promptTokens(), where + ": prompt tokens");
    JsonNode options = golden.get("options");
    assertNotNull(answer.optionLogprobs(), where);
    assertEquals(options.size(), answer.optionLogprobs().length, where);
    int best = 0;
    for (int k = 0; k < options.size(); k++) {
      double expected = options.get(k).get("logprob").asDouble();
      assertEquals(
          expected,
          answer.optionLogprobs()[k],
          TOLERANCE,
          where + " option '" + options.get(k).get("option").asText() + "'");
      if (expected > options.get(best).get("logprob").asDouble()) {
        best = k;
      }
    }
    JsonNode chosen = options.get(best);
    assertEquals(chosen.get("option").asText().strip(), answer.text(), where + ": the argmax");
    assertArrayEquals(ints(chosen.get("ids")), answer.tokens(), where);
  }

  @TestFactory
  Stream<DynamicTest> eachRequestAloneMatchesTransformersWithin1e4() {
    List<DynamicTest> tests = new ArrayList<>();
    for (String checkpoint : CHECKPOINTS) {
      for (JsonNode golden : ReferenceFixtures.optionGoldens(checkpoint).get("cases")) {
        tests.add(
            DynamicTest.dynamicTest(
                checkpoint + " " + golden.get("name").asText(),
                () ->
                    assertMatches(
                        golden,
                        MODELS.get(checkpoint).answer(List.of(toRequest(golden))).get(0),
                        checkpoint)));
      }
    }
    return tests.stream();
  }

  /**
   * All cases in one batch (prompts of different lengths left-padded, 3 and 4 options, options of
   * one and two tokens padded), between requests that generate: the same log-probabilities, and the
   * generated answers those of the requests alone.
   */
  @Test
  void aBatchOfScoringAndGeneratingRequestsMatchesEachAlone() {
    for (String checkpoint : CHECKPOINTS) {
      Idefics3Runtime model = MODELS.get(checkpoint);
      JsonNode cases = ReferenceFixtures.optionGoldens(checkpoint).get("cases");
      List<Idefics3Request> batch = new ArrayList<>();
      Idefics3Request generating =
          Idefics3Request.question(
              "Describe it.", List.of(ReferenceFixtures.imageBytes("tile_56x56.png")));
      batch.add(generating);
      for (JsonNode golden : cases) {
        batch.add(toRequest(golden));
      }
      batch.add(generating);
      List<Idefics3Answer> answers = model.answer(batch);
      Idefics3Answer alone = model.answer(List.of(generating)).get(0);
      for (int i : new int[] {0, answers.size() - 1}) {
        assertNull(answers.get(i).optionLogprobs(), "a generated answer has no option scores");
        assertArrayEquals(alone.tokens(), answers.get(i).tokens(), checkpoint + " generated");
      }
      for (int i = 0; i < cases.size(); i++) {
        assertMatches(cases.get(i), answers.get(i + 1), checkpoint);
      }
    }
  }

  @Test
  void anOptionWithoutTokensIsABadPromptNamingTheOptions() {
    Idefics3Request request =
        new Idefics3Request(
            Idefics3Request.question("Pick one.", List.of()).messages(),
            List.of(),
            null,
            List.of("A", ""));
    Idefics3Answer answer =
        MODELS.get(ReferenceFixtures.TINY_IDEFICS3).answer(List.of(request)).get(0);
    assertEquals(Idefics3Answer.ErrorKind.BAD_PROMPT, answer.errorKind());
    assertTrue(answer.error().contains("has no tokens"), answer.error());
  }

  /**
   * A package converted before {@value Idefics3Graph#SCORE_OPTIONS} existed (its manifest lists
   * three signatures) still generates, and refuses scoring saying to convert again.
   */
  @Test
  void aPackageWithoutTheScoringSignatureSaysToConvertAgain() throws IOException {
    Path old = packages.resolve("old-" + ReferenceFixtures.TINY_IDEFICS3);
    Idefics3Package.write(ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_IDEFICS3), old);
    Path manifestFile = old.resolve(PackageFiles.MANIFEST);
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode manifest = (ObjectNode) mapper.readTree(manifestFile.toFile());
    ((ObjectNode) manifest.get("signatures")).remove(Idefics3Graph.SCORE_OPTIONS);
    Files.writeString(manifestFile, mapper.writeValueAsString(manifest));
    try (Idefics3Runtime model = Idefics3Runtime.load(old, ModelSettings.builder().build())) {
      assertFalse(model.canScoreOptions());
      JsonNode golden =
          ReferenceFixtures.optionGoldens(ReferenceFixtures.TINY_IDEFICS3).get("cases").get(0);
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> model.answer(List.of(toRequest(golden))));
      assertTrue(e.getMessage().contains("has no score_options signature"), e.getMessage());
      assertTrue(e.getMessage().contains("convert the checkpoint again"), e.getMessage());
      assertNull(
          model
              .answer(List.of(Idefics3Request.question("Count to three.", List.of())))
              .get(0)
              .error());
    }
  }
}
