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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Continuous batching on both tiny checkpoints: every golden request, each with its own
 * max_new_tokens, through 3 slots; each answer must be Hugging Face's greedy tokens for that
 * request alone (cut at its limit), whatever ran beside it, and the slots must have been refilled
 * one request at a time.
 */
class ContinuousBatchTest {
  private static final List<String> CHECKPOINTS =
      List.of(ReferenceFixtures.TINY_IDEFICS3, ReferenceFixtures.TINY_SMOLVLM);

  /** Limits that end rows at different steps: the slots free at different times. */
  private static final int[] LIMITS = {24, 5, 17, 1, 24, 9, 3, 24, 12, 2};

  private static final Map<String, Idefics3Runtime> MODELS = new HashMap<>();

  @TempDir static Path packages;

  @BeforeAll
  static void convertAndLoad() throws IOException {
    for (String name : CHECKPOINTS) {
      Path dir = packages.resolve(name);
      Idefics3Package.write(ReferenceFixtures.checkpoint(name), dir);
      MODELS.put(
          name,
          Idefics3Runtime.load(dir, ModelSettings.builder().maxNewTokens(24).batchSize(3).build()));
    }
  }

  @AfterAll
  static void close() {
    MODELS.values().forEach(Idefics3Runtime::close);
  }

  /** Transformers' greedy tokens for the request alone (stop ids on), cut at {@code limit}. */
  private static int[] expected(JsonNode model, String request, int limit) {
    for (JsonNode g : model.get("generations")) {
      if (request.equals(g.path("request").asText(null)) && g.get("eos").asBoolean()) {
        int[] tokens = ints(g.get("tokens"));
        return Arrays.copyOf(tokens, Math.min(limit, tokens.length));
      }
    }
    throw new AssertionError("no golden generation for " + request);
  }

  private static List<Idefics3Request> requests(String checkpoint, List<String> names) {
    JsonNode processor = ReferenceFixtures.processorGoldens(checkpoint);
    List<Idefics3Request> requests = new ArrayList<>();
    int i = 0;
    for (JsonNode golden : processor.get("requests")) {
      names.add(golden.get("name").asText());
      requests.add(
          Idefics3RuntimeTest.toRequest(golden).withMaxNewTokens(LIMITS[i++ % LIMITS.length]));
    }
    return requests;
  }

  @Test
  void eachRequestGetsItsTokensAloneWhileTheSlotsRefill() {
    for (String checkpoint : CHECKPOINTS) {
      Idefics3Runtime model = MODELS.get(checkpoint);
      JsonNode goldens = ReferenceFixtures.modelGoldens(checkpoint);
      List<String> names = new ArrayList<>();
      List<Idefics3Request> requests = requests(checkpoint, names);
      long prefillsBefore = model.slotPrefills();
      long failuresBefore = model.modelFailures();
      List<Idefics3Answer> answers = model.answer(requests);
      long prefills = model.slotPrefills() - prefillsBefore;
      assertEquals(failuresBefore, model.modelFailures(), "no call answered alone after a failure");
      for (int i = 0; i < requests.size(); i++) {
        Idefics3Answer answer = answers.get(i);
        assertNull(answer.error(), answer.error());
        assertArrayEquals(
            expected(goldens, names.get(i), LIMITS[i % LIMITS.length]),
            answer.tokens(),
            checkpoint + " " + names.get(i) + " with max_new_tokens " + LIMITS[i % LIMITS.length]);
      }
      // static batches of 3 would take ceil(10 / 3) = 4 calls; slots freeing one at a time take
      // more, smaller prefills
      assertTrue(
          prefills > (requests.size() + 2) / 3,
          checkpoint + ": " + prefills + " prefill_slots calls for " + requests.size() + " rows");
    }
  }

  /**
   * A batch with nothing to generate (every image undecodable) arrives while rows are decoding: the
   * slots go on with no row to insert, in the slots, not by answering each request alone.
   */
  @Test
  void aBatchWithNothingToGenerateLeavesTheSlotsDecoding() {
    String checkpoint = ReferenceFixtures.TINY_SMOLVLM;
    Idefics3Runtime model = MODELS.get(checkpoint);
    JsonNode goldens = ReferenceFixtures.modelGoldens(checkpoint);
    List<String> names = new ArrayList<>();
    List<Idefics3Request> good = requests(checkpoint, names).subList(0, 3);
    List<Idefics3Request> requests = new ArrayList<>(good);
    for (int i = 0; i < 3; i++) {
      requests.add(Idefics3Request.question("What is this?", List.of(new byte[] {1, 2, 3})));
    }
    long failuresBefore = model.modelFailures();
    List<Idefics3Answer> answers = model.answer(requests);
    assertEquals(failuresBefore, model.modelFailures(), "no call answered alone after a failure");
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(
          expected(goldens, names.get(i), LIMITS[i]), answers.get(i).tokens(), names.get(i));
      assertTrue(answers.get(3 + i).error() != null, "undecodable image " + i + " answered");
    }
  }

  @Test
  void staticBatchesGiveTheSameTokens() {
    for (String checkpoint : CHECKPOINTS) {
      Idefics3Runtime model = MODELS.get(checkpoint);
      Idefics3Runtime fixed =
          model.withSettings(model.settings().toBuilder().continuousBatching(false).build());
      List<Idefics3Request> requests = requests(checkpoint, new ArrayList<>());
      long prefillsBefore = fixed.slotPrefills();
      List<Idefics3Answer> slotted = model.answer(requests);
      List<Idefics3Answer> batched = fixed.answer(requests);
      assertEquals(prefillsBefore, fixed.slotPrefills(), "no slots with continuous batching off");
      for (int i = 0; i < requests.size(); i++) {
        assertArrayEquals(slotted.get(i).tokens(), batched.get(i).tokens(), checkpoint + " " + i);
      }
    }
  }

  @Test
  void samplingThroughSlotsIsReproducibleWithASeed() {
    Idefics3Runtime model = MODELS.get(ReferenceFixtures.TINY_SMOLVLM);
    Idefics3Runtime sampling =
        model.withSettings(
            model.settings().toBuilder().doSample(true).temperature(1.5f).seed(7L).build());
    List<Idefics3Request> requests = requests(ReferenceFixtures.TINY_SMOLVLM, new ArrayList<>());
    List<Idefics3Answer> first = sampling.answer(requests);
    List<Idefics3Answer> second = sampling.answer(requests);
    boolean differsFromGreedy = false;
    List<Idefics3Answer> greedy = model.answer(requests);
    for (int i = 0; i < requests.size(); i++) {
      assertArrayEquals(first.get(i).tokens(), second.get(i).tokens(), "request " + i);
      assertTrue(first.get(i).tokens().length <= LIMITS[i % LIMITS.length]);
      differsFromGreedy |= !Arrays.equals(first.get(i).tokens(), greedy.get(i).tokens());
    }
    assertTrue(differsFromGreedy, "temperature 1.5 sampled the greedy tokens for every request");
  }
}
