package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import io.github.idefics3spark.idefics3.processor.ChatMessage;
import io.github.idefics3spark.idefics3.processor.Idefics3Processor;
import io.github.idefics3spark.idefics3.processor.ImageGrid;
import io.github.idefics3spark.idefics3.runtime.Idefics3Request;
import io.github.idefics3spark.spark.ImageSlots;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SmolVLM's prompts against VLMEvalKit's own code: eval/smolvlm_prompts.json holds, for sample rows
 * of every benchmark smolvlm.py defines a prompt for, the raw prompt string and image list that
 * class SmolVLM's {@code generate_inner} passes to the processor (make_smolvlm_prompts.py ran it at
 * e8e78f0). Each row's {@link SmolVlmPrompts.Turn}, placed by {@link ImageSlots} and rendered by
 * the tiny SmolVLM checkpoint's chat template as the job renders every request, must be that string
 * exactly, and its images those images in that order.
 */
class SmolVlmPromptsTest {
  private static JsonNode fixture;
  private static Idefics3Processor processor;

  @BeforeAll
  static void load() throws IOException {
    try (InputStream in =
        SmolVlmPromptsTest.class.getResourceAsStream("/eval/smolvlm_prompts.json")) {
      fixture = JsonMapper.builder().build().readTree(in);
    }
    processor =
        Idefics3Processor.load(
            Idefics3Checkpoint.read(ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM)));
  }

  @AfterAll
  static void close() {
    processor.close();
  }

  /** The row as the prompt UDF gets it: the prompt's columns, typed as the dataset has them. */
  private static Row row(SmolVlmPrompts.Prompt prompt, JsonNode values) {
    StructType schema = new StructType();
    List<Object> cells = new ArrayList<>();
    for (BenchmarkColumn column : prompt.columns()) {
      JsonNode v = values.get(column.name());
      if (column.kind().startsWith("array")) {
        schema = schema.add(column.name(), DataTypes.createArrayType(DataTypes.StringType), true);
        List<String> list = new ArrayList<>();
        v.forEach(e -> list.add(e.asText()));
        cells.add(scala.jdk.javaapi.CollectionConverters.asScala(list).toSeq());
      } else {
        schema = schema.add(column.name(), DataTypes.StringType, true);
        cells.add(v == null || v.isNull() ? null : v.asText());
      }
    }
    return new GenericRowWithSchema(cells.toArray(), schema);
  }

  /** The images the row has, by column name: image_1... for MMMU, else the one image column. */
  private static List<String> imageColumns(Benchmark benchmark, JsonNode values) {
    List<String> names = new ArrayList<>();
    for (String name : benchmark.layout().imageColumns()) {
      if (benchmark.layout().imageColumns().size() == 1 || values.path(name).asBoolean()) {
        names.add(name);
      }
    }
    return names;
  }

  @Test
  void everyPromptIsVlmEvalKitsStringRenderedByTheChatTemplate() {
    Set<String> covered = new TreeSet<>();
    for (JsonNode c : fixture.get("cases")) {
      Benchmark benchmark = Benchmarks.forName(c.get("benchmark").asText());
      SmolVlmPrompts.Prompt prompt = benchmark.smolVlmPrompt();
      assertEquals(c.get("dataset").asText(), prompt.dataset());
      List<String> columns = imageColumns(benchmark, c.get("row"));
      SmolVlmPrompts.Turn turn = prompt.rule().turn(row(prompt, c.get("row")), columns.size());

      Map<byte[], String> names = new HashMap<>();
      List<byte[]> images = new ArrayList<>();
      for (String name : columns) {
        byte[] bytes = name.getBytes();
        names.put(bytes, name);
        images.add(bytes);
      }
      Idefics3Request request =
          ImageSlots.request(turn.text(), images, turn.slots())
              .withAssistantPrefix(turn.assistantPrefix());
      List<ChatMessage> messages = new ArrayList<>(request.messages());
      boolean continueFinal = request.assistantPrefix() != null;
      if (continueFinal) {
        messages.add(ChatMessage.assistant(ChatMessage.text(request.assistantPrefix())));
      }
      List<ImageGrid> grids = request.images().stream().map(i -> new ImageGrid(0, 0)).toList();
      String rendered =
          processor.encodePrompt(messages, grids, !continueFinal, continueFinal).rendered();
      String where = c.get("dataset").asText() + " " + c.get("row");
      assertEquals(c.get("prompt").asText(), rendered, where);
      List<String> expectedImages = new ArrayList<>();
      c.get("images").forEach(n -> expectedImages.add(n.asText()));
      assertEquals(expectedImages, request.images().stream().map(names::get).toList(), where);
      covered.add(benchmark.layout().name());
    }
    Set<String> defined = new TreeSet<>();
    for (Benchmark b : Benchmarks.ALL) {
      if (b.smolVlmPrompt() != null) {
        defined.add(b.layout().name());
      }
    }
    assertEquals(defined, covered, "every benchmark with a SmolVLM prompt is pinned");
    assertEquals(25, fixture.get("cases").size());
  }

  @Test
  void smolVlmPyDefinesAPromptForEveryBenchmarkButVqaV2() {
    for (Benchmark b : Benchmarks.ALL) {
      if (b.layout().name().equals("vqav2")) {
        assertNull(b.smolVlmPrompt());
      } else {
        assertNotNull(b.smolVlmPrompt(), b.layout().name());
      }
    }
  }

  @Test
  void multipleChoiceAnswersStartWithAnswerAndShortAnswersDoNot() {
    assertEquals(
        "Answer:", SmolVlmPrompts.pureMcq(null, "Q?", List.of("a", "b"), 1).assistantPrefix());
    assertNull(SmolVlmPrompts.docVqa("Q?").assistantPrefix());
    assertNull(SmolVlmPrompts.mathVista("Question: How many?").assistantPrefix());
    assertEquals("Answer:", SmolVlmPrompts.mathVista("Choices:\n(A) 1\n(B) 2").assistantPrefix());
  }

  @Test
  void aNullOptionIsLeftOutWithItsLetterAsANaNColumnIs() {
    List<String> options = new ArrayList<>(List.of("a"));
    options.add(null);
    options.add("c");
    assertEquals(
        "<image>Question: Q?\nChoices:\nA. a\nC. c\nAnswer with the letter.",
        SmolVlmPrompts.pureMcq(null, "Q?", options, 1).text());
  }

  @Test
  void mmmuImageZeroIsTheLastImageAsPythonsMinusOneIndex() {
    SmolVlmPrompts.Turn turn = SmolVlmPrompts.mmmu("See <image 0>.", List.of(), 3);
    assertEquals(List.of(3), turn.slots());
    assertEquals("Question: <image 1>:<image>\nSee <image 1> .", turn.text());
  }

  @Test
  void anMmmuMentionSplitMmmuWouldRejectIsRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> SmolVlmPrompts.mmmu("See <image a> here", List.of(), 1));
    assertTrue(e.getMessage().contains("'<image a>'"), e.getMessage());
  }

  @Test
  void anMmStarQuestionWithoutItsOptionsIsRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> SmolVlmPrompts.mmStar("What is shown?", 1));
    assertTrue(e.getMessage().contains("Options: A:"), e.getMessage());
  }
}
