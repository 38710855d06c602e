package io.github.idefics3spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.idefics3spark.idefics3.processor.ChatMessage;
import io.github.idefics3spark.safetensors.SafeTensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The committed Hugging Face reference fixtures (made by tools/reference/generate.py): tiny
 * checkpoints, input images and golden outputs, as the tests read them.
 */
public final class ReferenceFixtures {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** The two tiny checkpoints: Idefics3-8B's traits and SmolVLM's. */
  public static final String TINY_IDEFICS3 = "tiny-idefics3";

  public static final String TINY_SMOLVLM = "tiny-smolvlm";

  /** SmolDocling's traits: tiny-smolvlm's shapes with the DocTags as special added tokens. */
  public static final String TINY_SMOLDOCLING = "tiny-smoldocling";

  private ReferenceFixtures() {}

  /**
   * The small PDFs and TIFFs of {@code tools/reference/document_fixtures.py} and pdfium's
   * renderings of them: {@code model-loader/src/test/resources/document}.
   */
  public static Path documents() {
    return root().resolveSibling("document");
  }

  /**
   * model-loader/src/test/resources/reference, found from model-loader, from a sibling module (udf,
   * job) or from the repository root.
   */
  public static Path root() {
    for (Path candidate :
        new Path[] {
          Path.of("src/test/resources/reference"),
          Path.of("../model-loader/src/test/resources/reference"),
          Path.of("model-loader/src/test/resources/reference")
        }) {
      if (Files.isDirectory(candidate)) {
        return candidate.toAbsolutePath().normalize();
      }
    }
    throw new IllegalStateException(
        "reference fixtures not found from "
            + Path.of("").toAbsolutePath()
            + "; run the tests from the repository root, model-loader or a sibling module");
  }

  public static Path checkpoint(String name) {
    return root().resolve("checkpoints").resolve(name);
  }

  /**
   * model-loader/src/test/resources/demo: the trained demo checkpoint (demo-smolvlm), its
   * evaluation set (captions/, pages/, docvqa/) and transformers' answers on it (expected.json),
   * all written by tools/demo-model/train_demo_model.py.
   */
  public static Path demo() {
    return root().resolveSibling("demo");
  }

  /** demo/demo-smolvlm: the trained demonstration checkpoint. */
  public static Path demoCheckpoint() {
    return demo().resolve("demo-smolvlm");
  }

  /** demo/expected.json: transformers' greedy tokens, answers and ANLS on the demo set. */
  public static JsonNode demoExpected() {
    return json(demo().resolve("expected.json"));
  }

  public static Path image(String name) {
    return root().resolve("images").resolve(name);
  }

  public static byte[] imageBytes(String name) {
    try {
      return Files.readAllBytes(image(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** goldens/&lt;checkpoint&gt;/processor.json. */
  public static JsonNode processorGoldens(String checkpoint) {
    return json(root().resolve("goldens").resolve(checkpoint).resolve("processor.json"));
  }

  /** goldens/&lt;checkpoint&gt;/pixels.safetensors.gz: uint8 frames and the float32 table. */
  public static SafeTensors pixelGoldens(String checkpoint) {
    return tensors(root().resolve("goldens").resolve(checkpoint).resolve("pixels.safetensors.gz"));
  }

  /** goldens/&lt;checkpoint&gt;/model.json. */
  public static JsonNode modelGoldens(String checkpoint) {
    return json(root().resolve("goldens").resolve(checkpoint).resolve("model.json"));
  }

  /** goldens/&lt;checkpoint&gt;/model.safetensors.gz: image features and logits. */
  public static SafeTensors modelTensors(String checkpoint) {
    return tensors(root().resolve("goldens").resolve(checkpoint).resolve("model.safetensors.gz"));
  }

  /**
   * goldens/&lt;checkpoint&gt;/options.json: multiple-choice prompts and option log-probabilities.
   */
  public static JsonNode optionGoldens(String checkpoint) {
    return json(root().resolve("goldens").resolve(checkpoint).resolve("options.json"));
  }

  /**
   * goldens/&lt;checkpoint&gt;/doctags.json: document prompts, greedy DocTags tokens and their
   * decodes (tiny-smoldocling).
   */
  public static JsonNode doctagsGoldens(String checkpoint) {
    return json(root().resolve("goldens").resolve(checkpoint).resolve("doctags.json"));
  }

  /** goldens/decoded.safetensors.gz: Pillow's decoded RGB of the made images. */
  public static SafeTensors decodedGoldens() {
    return tensors(root().resolve("goldens").resolve("decoded.safetensors.gz"));
  }

  /** goldens/real-preprocessors.json: pixel hashes under the released checkpoints' settings. */
  public static JsonNode realPreprocessorGoldens() {
    return json(root().resolve("goldens").resolve("real-preprocessors.json"));
  }

  /** A golden request's messages (Hugging Face's chat format) as {@link ChatMessage}s. */
  public static List<ChatMessage> messages(JsonNode json) {
    List<ChatMessage> messages = new ArrayList<>();
    for (JsonNode message : json) {
      List<ChatMessage.Content> content = new ArrayList<>();
      for (JsonNode item : message.get("content")) {
        content.add(
            "image".equals(item.get("type").asText())
                ? ChatMessage.image()
                : ChatMessage.text(item.get("text").asText()));
      }
      messages.add(new ChatMessage(message.get("role").asText(), content));
    }
    return messages;
  }

  /** The entry of processor.json's "requests" with this name. */
  public static JsonNode request(JsonNode processorGoldens, String name) {
    for (JsonNode request : processorGoldens.get("requests")) {
      if (request.get("name").asText().equals(name)) {
        return request;
      }
    }
    throw new AssertionError("no golden request " + name);
  }

  /** A JSON array of integers. */
  public static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }

  private static JsonNode json(Path file) {
    try {
      return MAPPER.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read fixture " + file, e);
    }
  }

  private static SafeTensors tensors(Path file) {
    try {
      return SafeTensors.open(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read fixture " + file, e);
    }
  }
}
