package io.github.idefics3spark.idefics3.runtime;

import static io.github.idefics3spark.ReferenceFixtures.ints;
import static io.github.idefics3spark.ReferenceFixtures.messages;
import static io.github.idefics3spark.ReferenceFixtures.request;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.processor.ChatMessage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime end to end: image bytes and messages in, Hugging Face's greedy tokens out, for both
 * tiny checkpoints; bad requests answered with their reason without disturbing the others.
 */
class Idefics3RuntimeTest {
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
      MODELS.put(name, Idefics3Runtime.load(dir, ModelSettings.builder().maxNewTokens(24).build()));
    }
  }

  @AfterAll
  static void close() {
    MODELS.values().forEach(Idefics3Runtime::close);
  }

  /** The golden request as a runtime request: image bytes, messages, assistant prefix. */
  static Idefics3Request toRequest(JsonNode golden) {
    List<ChatMessage> messages = messages(golden.get("messages"));
    String prefix = null;
    if (golden.get("continue_final_message").asBoolean()) {
      ChatMessage last = messages.remove(messages.size() - 1);
      prefix = ((ChatMessage.Text) last.content().get(last.content().size() - 1)).text();
    }
    List<byte[]> images = new ArrayList<>();
    for (JsonNode image : golden.get("images")) {
      images.add(ReferenceFixtures.imageBytes(image.asText()));
    }
    return new Idefics3Request(messages, images, prefix);
  }

  private static JsonNode generation(JsonNode model, String request) {
    for (JsonNode g : model.get("generations")) {
      if (request.equals(g.path("request").asText(null)) && g.get("eos").asBoolean()) {
        return g;
      }
    }
    throw new AssertionError("no golden generation for " + request);
  }

  @TestFactory
  Stream<DynamicTest> everyRequestAloneGivesHuggingFaceGreedyTokens() {
    return CHECKPOINTS.stream()
        .flatMap(
            checkpoint -> {
              JsonNode processor = ReferenceFixtures.processorGoldens(checkpoint);
              JsonNode model = ReferenceFixtures.modelGoldens(checkpoint);
              List<DynamicTest> tests = new ArrayList<>();
              for (JsonNode golden : processor.get("requests")) {
                String name = golden.get("name").asText();
                tests.add(
                    DynamicTest.dynamicTest(
                        checkpoint + " " + name,
                        () -> {
                          Idefics3Answer answer =
                              MODELS.get(checkpoint).answer(List.of(toRequest(golden))).get(0);
                          assertNull(answer.error(), answer.error());
                          JsonNode expected = generation(model, name);
                          assertArrayEquals(ints(expected.get("tokens")), answer.tokens());
                          assertEquals(golden.get("input_ids").size(), answer.promptTokens());
                          assertEquals(
                              expected.get("text").asText().strip(), answer.text(), "decoded text");
                        }));
              }
              return tests.stream();
            });
  }

  @Test
  void aMixedBatchGivesEachRequestItsTokensAlone() {
    for (String checkpoint : CHECKPOINTS) {
      JsonNode processor = ReferenceFixtures.processorGoldens(checkpoint);
      JsonNode model = ReferenceFixtures.modelGoldens(checkpoint);
      JsonNode batch = processor.get("batches").get(0);
      List<Idefics3Request> requests = new ArrayList<>();
      List<String> names = new ArrayList<>();
      for (JsonNode member : batch.get("requests")) {
        names.add(member.asText());
        requests.add(toRequest(request(processor, member.asText())));
      }
      List<Idefics3Answer> answers = MODELS.get(checkpoint).answer(requests);
      assertEquals(requests.size(), answers.size());
      for (int i = 0; i < names.size(); i++) {
        assertArrayEquals(
            ints(generation(model, names.get(i)).get("tokens")),
            answers.get(i).tokens(),
            checkpoint + " batch row " + i + " (" + names.get(i) + ")");
      }
    }
  }

  @Test
  void badRequestsGetTheirReasonAndTheOthersTheirAnswers() {
    String checkpoint = ReferenceFixtures.TINY_SMOLVLM;
    JsonNode processor = ReferenceFixtures.processorGoldens(checkpoint);
    JsonNode model = ReferenceFixtures.modelGoldens(checkpoint);
    Idefics3Request good = toRequest(request(processor, "single_image"));
    byte[] page = ReferenceFixtures.imageBytes("page_5.png");
    List<Idefics3Request> requests =
        List.of(
            Idefics3Request.question("empty?", List.of(new byte[0])),
            good,
            Idefics3Request.question(
                "text?", List.of("not an image".getBytes(StandardCharsets.UTF_8))),
            Idefics3Request.question(
                "cut?", List.of(java.util.Arrays.copyOf(page, page.length / 3))),
            new Idefics3Request(good.messages(), List.of(page, page), null),
            good);
    List<Idefics3Answer> answers = MODELS.get(checkpoint).answer(requests);

    int[] expected = ints(generation(model, "single_image").get("tokens"));
    assertArrayEquals(expected, answers.get(1).tokens());
    assertArrayEquals(expected, answers.get(5).tokens());
    assertEquals(Idefics3Answer.ErrorKind.EMPTY_IMAGE, answers.get(0).errorKind());
    assertEquals(Idefics3Answer.ErrorKind.UNKNOWN_IMAGE_FORMAT, answers.get(2).errorKind());
    assertEquals(Idefics3Answer.ErrorKind.CORRUPT_IMAGE, answers.get(3).errorKind());
    assertEquals(Idefics3Answer.ErrorKind.BAD_PROMPT, answers.get(4).errorKind());
    assertTrue(answers.get(4).error().contains("2"), answers.get(4).error());
    for (int i : new int[] {0, 2, 3, 4}) {
      assertNull(answers.get(i).text());
      assertTrue(answers.get(i).error().length() > 20, answers.get(i).error());
    }
  }

  @Test
  void promptsPastTheContextAndImagesPastThePixelLimitAreRefusedByName() throws IOException {
    Path dir = PACKAGES.get(ReferenceFixtures.TINY_SMOLVLM);
    int context =
        MODELS
            .get(ReferenceFixtures.TINY_SMOLVLM)
            .checkpoint()
            .config()
            .text()
            .maxPositionEmbeddings();
    ModelSettings tight =
        ModelSettings.builder().maxNewTokens(context - 10).maxImagePixels(1000).build();
    try (Idefics3Runtime model = Idefics3Runtime.load(dir, tight)) {
      List<Idefics3Answer> answers =
          model.answer(
              List.of(
                  Idefics3Request.question("long?", List.of()),
                  Idefics3Request.question(
                      "big?", List.of(ReferenceFixtures.imageBytes("page_5.png")))));
      assertEquals(Idefics3Answer.ErrorKind.PROMPT_TOO_LONG, answers.get(0).errorKind());
      assertTrue(answers.get(0).error().contains("max_position_embeddings"));
      assertEquals(Idefics3Answer.ErrorKind.TOO_MANY_PIXELS, answers.get(1).errorKind());
      assertTrue(answers.get(1).error().contains("max_image_pixels"), answers.get(1).error());
    }
  }

  @Test
  void aQuestionPastMaxQuestionCharsIsABadPromptNamingItsLengthAndTheLimit() {
    Idefics3Runtime model =
        MODELS
            .get(ReferenceFixtures.TINY_SMOLVLM)
            .withSettings(ModelSettings.builder().maxNewTokens(4).maxQuestionChars(10).build());
    List<Idefics3Answer> answers =
        model.answer(
            List.of(
                Idefics3Request.question("x".repeat(11), List.of()),
                Idefics3Request.question("short?", List.of())));
    assertEquals(Idefics3Answer.ErrorKind.BAD_PROMPT, answers.get(0).errorKind());
    String error = answers.get(0).error();
    assertTrue(
        error.contains("11 characters") && error.contains("10") && error.contains("max_question"),
        error);
    assertNull(answers.get(1).error());
  }

  @Test
  void anImagePastMaxImageBytesIsTooLargeBeforeItIsDecoded() {
    Idefics3Runtime model =
        MODELS
            .get(ReferenceFixtures.TINY_SMOLVLM)
            .withSettings(ModelSettings.builder().maxNewTokens(4).maxImageBytes(100).build());
    byte[] notAnImage = new byte[101]; // decoding would say UNKNOWN_IMAGE_FORMAT
    List<Idefics3Answer> answers =
        model.answer(
            List.of(
                Idefics3Request.question("what?", List.of(notAnImage)),
                Idefics3Request.question("text only?", List.of())));
    assertEquals(Idefics3Answer.ErrorKind.TOO_LARGE, answers.get(0).errorKind());
    String error = answers.get(0).error();
    assertTrue(
        error.contains("101 bytes") && error.contains("100") && error.contains("max_image_bytes"),
        error);
    assertNull(answers.get(1).error());
  }

  @Test
  void aDecodePastTheTimeLimitIsTooLargeTheOthersAreAnsweredAndThreadsStayBounded()
      throws IOException {
    BufferedImage big = new BufferedImage(2500, 2500, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < big.getHeight(); y++) {
      for (int x = 0; x < big.getWidth(); x++) {
        big.setRGB(x, y, x * 7919 ^ y * 104729); // noise that compresses badly
      }
    }
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    ImageIO.write(big, "png", png);
    Idefics3Runtime model =
        MODELS
            .get(ReferenceFixtures.TINY_SMOLVLM)
            .withSettings(
                ModelSettings.builder()
                    .maxNewTokens(4)
                    .imageDecodeTimeoutMs(1)
                    .imageCacheMb(0) // each request decodes its own copy: many stuck decodes
                    .build());
    List<Idefics3Request> requests = new ArrayList<>();
    for (int i = 0; i < 3 * Idefics3Runtime.DECODE_THREADS; i++) {
      requests.add(Idefics3Request.question("slow?", List.of(png.toByteArray())));
    }
    requests.add(Idefics3Request.question("text only?", List.of()));
    List<Idefics3Answer> answers = model.answer(requests);
    for (int i = 0; i < requests.size() - 1; i++) {
      assertEquals(Idefics3Answer.ErrorKind.TOO_LARGE, answers.get(i).errorKind());
      assertTrue(answers.get(i).error().contains("image_decode_timeout_ms"));
    }
    assertNull(answers.get(requests.size() - 1).error());
    assertTrue(model.decodeThreadsBusy() <= Idefics3Runtime.DECODE_THREADS);
  }

  /**
   * DocVQA's shape: every golden request with images asked several times, interleaved across
   * batches of 3, so that images repeat inside a batch and across batches.
   */
  private static List<Idefics3Request> repeatedImages(String checkpoint, List<String> names) {
    JsonNode processor = ReferenceFixtures.processorGoldens(checkpoint);
    List<Idefics3Request> distinct = new ArrayList<>();
    for (JsonNode golden : processor.get("requests")) {
      if (golden.get("images").size() > 0) {
        distinct.add(toRequest(golden));
        names.add(golden.get("name").asText());
      }
    }
    List<Idefics3Request> requests = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      requests.addAll(distinct);
    }
    requests.add(0, distinct.get(0));
    return requests;
  }

  @Test
  void requestsSharingImagesGiveTheSameGreedyTokensWithTheCacheAndEncodeEachImageOnce() {
    for (String checkpoint : CHECKPOINTS) {
      JsonNode model = ReferenceFixtures.modelGoldens(checkpoint);
      List<String> names = new ArrayList<>();
      List<Idefics3Request> requests = repeatedImages(checkpoint, names);
      ModelSettings settings = ModelSettings.builder().maxNewTokens(24).batchSize(3).build();
      Idefics3Runtime without =
          MODELS.get(checkpoint).withSettings(settings.toBuilder().imageCacheMb(0).build());
      Idefics3Runtime with = MODELS.get(checkpoint).withSettings(settings);

      long before = with.framesEncoded();
      List<Idefics3Answer> plain = without.answer(requests);
      long plainFrames = with.framesEncoded() - before;
      ImageFeatureCache cache = new ImageFeatureCache(256L << 20);
      List<Idefics3Answer> cached = with.answer(requests, cache);
      long cachedFrames = with.framesEncoded() - before - plainFrames;

      long allFrames = 0;
      long distinctFrames = 0;
      for (int i = 0; i < requests.size(); i++) {
        String name = names.get(i == 0 ? 0 : (i - 1) % names.size());
        assertNull(cached.get(i).error(), cached.get(i).error());
        assertArrayEquals(plain.get(i).tokens(), cached.get(i).tokens(), checkpoint + " row " + i);
        assertArrayEquals(
            ints(generation(model, name).get("tokens")),
            cached.get(i).tokens(),
            checkpoint + " row " + i + " (" + name + ")");
        assertEquals(plain.get(i).promptTokens(), cached.get(i).promptTokens());
        assertEquals(plain.get(i).frames(), cached.get(i).frames());
        allFrames += plain.get(i).frames();
        if (i >= 1 && i <= names.size()) {
          distinctFrames += plain.get(i).frames();
        }
      }
      assertEquals(
          allFrames, plainFrames, checkpoint + ": without the cache every request encodes");
      assertEquals(distinctFrames, cachedFrames, checkpoint + ": with it each image once");
      assertTrue(cache.hits() > 0 && cache.bytes() > 0 && cache.bytes() <= cache.capacityBytes());
    }
  }

  @Test
  void aCacheTooSmallForAnImageStillSharesItsEncodeWithinABatchAndKeepsNothing() {
    String checkpoint = ReferenceFixtures.TINY_SMOLVLM;
    Idefics3Request request =
        toRequest(request(ReferenceFixtures.processorGoldens(checkpoint), "single_image"));
    Idefics3Runtime model =
        MODELS
            .get(checkpoint)
            .withSettings(ModelSettings.builder().maxNewTokens(24).batchSize(4).build());
    ImageFeatureCache tiny = new ImageFeatureCache(1024);
    long before = model.framesEncoded();
    List<Idefics3Answer> answers =
        model.answer(List.of(request, request, request, request, request), tiny);
    int frames = answers.get(0).frames();
    // batch of 4 shares one encode; the fifth request, in the next batch, finds nothing kept
    assertEquals(2L * frames, model.framesEncoded() - before);
    assertEquals(0, tiny.bytes());
    assertEquals(0, tiny.size());
    for (Idefics3Answer answer : answers) {
      assertArrayEquals(answers.get(0).tokens(), answer.tokens());
    }
  }

  @Test
  void anImageAtAnotherResolutionIsAnotherEntryOfTheSameCache() {
    String checkpoint = ReferenceFixtures.TINY_SMOLVLM;
    Idefics3Request request =
        Idefics3Request.question("what?", List.of(ReferenceFixtures.imageBytes("page_5.png")));
    Idefics3Runtime split =
        MODELS.get(checkpoint).withSettings(ModelSettings.builder().maxNewTokens(8).build());
    Idefics3Runtime whole =
        MODELS
            .get(checkpoint)
            .withSettings(ModelSettings.builder().maxNewTokens(8).imageSplitting(false).build());
    ImageFeatureCache cache = new ImageFeatureCache(256L << 20);
    Idefics3Answer splitAnswer = split.answer(List.of(request), cache).get(0);
    long before = whole.framesEncoded();
    Idefics3Answer wholeAnswer = whole.answer(List.of(request), cache).get(0);
    assertEquals(1, wholeAnswer.frames());
    assertTrue(splitAnswer.frames() > 1, "page_5.png is split into tiles");
    assertEquals(1, whole.framesEncoded() - before, "not the split image's features");
    assertEquals(2, cache.size());
    assertArrayEquals(
        whole.answer(List.of(request), new ImageFeatureCache(0)).get(0).tokens(),
        wholeAnswer.tokens());
  }

  @Test
  void prepareStartsTheDecodesAndReturnsWithoutWaitingForThem() throws IOException {
    BufferedImage big = new BufferedImage(2000, 2000, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < big.getHeight(); y++) {
      for (int x = 0; x < big.getWidth(); x++) {
        big.setRGB(x, y, x * 7919 ^ y * 104729);
      }
    }
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    ImageIO.write(big, "png", png);
    Idefics3Runtime model =
        MODELS
            .get(ReferenceFixtures.TINY_SMOLVLM)
            .withSettings(ModelSettings.builder().maxNewTokens(4).imageDecodeTimeoutMs(0).build());
    Idefics3Request request = Idefics3Request.question("noise?", List.of(png.toByteArray()));
    ImageFeatureCache cache = new ImageFeatureCache(256L << 20);
    long start = System.nanoTime();
    Idefics3Runtime.PreparedBatch prepared = model.prepare(List.of(request, request), cache);
    long prepareNanos = System.nanoTime() - start;
    assertTrue(model.decodeThreadsBusy() >= 1, "the decode runs on the pool");
    Idefics3Answer answer = model.answer(prepared).get(0);
    long answerNanos = System.nanoTime() - start - prepareNanos;
    assertNull(answer.error(), answer.error());
    assertTrue(
        prepareNanos < answer.preprocessNanos() && prepareNanos < answerNanos,
        "prepare took " + prepareNanos + " ns, the decode " + answer.preprocessNanos() + " ns");
    assertArrayEquals(
        model.answer(List.of(request), new ImageFeatureCache(0)).get(0).tokens(), answer.tokens());
  }
}
