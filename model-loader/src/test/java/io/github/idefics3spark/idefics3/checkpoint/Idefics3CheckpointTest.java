package io.github.idefics3spark.idefics3.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.graph.Idefics3Graph;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Idefics3CheckpointTest {

  /** config.json of Idefics3-8B-Llama3 as transformers 4.x writes it (values of spec section 1). */
  private static final String IDEFICS3_8B_CONFIG =
      """
      {
        "architectures": ["Idefics3ForConditionalGeneration"],
        "image_token_id": 128257,
        "model_type": "idefics3",
        "scale_factor": 2,
        "text_config": {
          "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
          "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
          "vocab_size": 128259, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
          "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                           "original_max_position_embeddings": 8192, "rope_type": "llama3"},
          "max_position_embeddings": 131072, "hidden_act": "silu", "pad_token_id": 128002,
          "tie_word_embeddings": false, "torch_dtype": "bfloat16"
        },
        "tie_word_embeddings": false,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.44.0",
        "use_cache": true,
        "vision_config": {
          "hidden_size": 1152, "image_size": 364, "intermediate_size": 4304,
          "model_type": "idefics3", "num_attention_heads": 16, "num_hidden_layers": 27,
          "patch_size": 14, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-06
        }
      }
      """;

  private static final String PREPROCESSOR =
      """
      {
        "do_convert_rgb": true, "do_image_splitting": true, "do_normalize": true,
        "do_pad": true, "do_rescale": true, "do_resize": true,
        "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "Idefics3ImageProcessor",
        "image_std": [0.5, 0.5, 0.5], "max_image_size": {"longest_edge": 364},
        "processor_class": "Idefics3Processor", "resample": 1,
        "rescale_factor": 0.00392156862745098, "size": {"longest_edge": 1456}
      }
      """;

  private static final String GENERATION =
      """
      {"bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009, 128258],
       "pad_token_id": 128002, "transformers_version": "4.44.0"}
      """;

  @TempDir Path folder;

  private Path write8b() throws IOException {
    Files.writeString(folder.resolve("config.json"), IDEFICS3_8B_CONFIG);
    Files.writeString(folder.resolve("preprocessor_config.json"), PREPROCESSOR);
    Files.writeString(folder.resolve("generation_config.json"), GENERATION);
    Files.writeString(folder.resolve("processor_config.json"), "{\"image_seq_len\": 169}");
    Files.writeString(folder.resolve("tokenizer.json"), "{}");
    Files.writeString(
        folder.resolve("chat_template.json"), "{\"chat_template\": \"<|begin_of_text|>\"}");
    return folder;
  }

  @Test
  void readsIdefics3_8bValuesFromTheFilesNotFromDefaults() throws IOException {
    Idefics3Checkpoint checkpoint = Idefics3Checkpoint.read(write8b());
    Idefics3Config config = checkpoint.config();

    assertEquals(1152, config.vision().hiddenSize());
    assertEquals(27, config.vision().numHiddenLayers());
    assertEquals(72, config.vision().headDim());
    assertEquals(26, config.patchesPerSide());
    assertEquals(169, config.imageSeqLen());
    assertEquals(169, checkpoint.imageSeqLen());
    assertEquals(128, config.text().headDim());
    assertEquals(8, config.text().numKeyValueHeads());
    assertEquals(500000.0, config.text().ropeTheta());
    assertEquals(new Idefics3Config.RopeScaling(8.0, 1.0, 4.0, 8192), config.text().ropeScaling());
    assertFalse(config.text().tieWordEmbeddings());
    assertEquals(128257, config.imageTokenId());

    assertEquals(1456, checkpoint.preprocessor().longestEdge());
    assertEquals(364, checkpoint.preprocessor().maxImageSize());
    assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, checkpoint.preprocessor().imageStd());
    assertEquals(List.of(128001, 128008, 128009, 128258), checkpoint.generation().eosTokenIds());
    assertEquals(128002, checkpoint.generation().padTokenId());
    assertEquals("<|begin_of_text|>", checkpoint.chatTemplate());
    assertTrue(checkpoint.ignoredKeys().isEmpty(), checkpoint.ignoredKeys().toString());
  }

  @Test
  void readsTransformers5RopeParameters() throws IOException {
    write8b();
    String v5 =
        IDEFICS3_8B_CONFIG
            .replace("\"rope_theta\": 500000.0,", "")
            .replace("\"rope_scaling\": {", "\"rope_parameters\": {\"rope_theta\": 500000.0, ");
    Files.writeString(folder.resolve("config.json"), v5);
    Idefics3Config.Text text = Idefics3Checkpoint.read(folder).config().text();
    assertEquals(500000.0, text.ropeTheta());
    assertEquals(8.0, text.ropeScaling().factor());
  }

  @Test
  void defaultRopeTypeMeansNoScaling() throws IOException {
    write8b();
    String plain =
        IDEFICS3_8B_CONFIG.replaceAll(
            "\"rope_scaling\": \\{[^}]*\\},", "\"rope_scaling\": {\"rope_type\": \"default\"},");
    Files.writeString(folder.resolve("config.json"), plain);
    assertNull(Idefics3Checkpoint.read(folder).config().text().ropeScaling());
  }

  @Test
  void missingRequiredKeyIsNamedWithTheFile() throws IOException {
    write8b();
    Files.writeString(
        folder.resolve("config.json"), IDEFICS3_8B_CONFIG.replace("\"patch_size\": 14,", ""));
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> Idefics3Checkpoint.read(folder));
    assertTrue(e.getMessage().contains("config.json > vision_config"), e.getMessage());
    assertTrue(e.getMessage().contains("\"patch_size\""), e.getMessage());
  }

  @Test
  void otherModelTypeIsRefused() throws IOException {
    write8b();
    Files.writeString(
        folder.resolve("config.json"),
        IDEFICS3_8B_CONFIG.replace(
            "\"model_type\": \"idefics3\",\n  \"scale", "\"model_type\": \"llava\",\n  \"scale"));
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> Idefics3Checkpoint.read(folder));
    assertTrue(e.getMessage().contains("\"llava\""), e.getMessage());
  }

  @Test
  void wrongValueTypeSaysWhatWasExpected() throws IOException {
    write8b();
    Files.writeString(
        folder.resolve("config.json"),
        IDEFICS3_8B_CONFIG.replace("\"scale_factor\": 2", "\"scale_factor\": \"two\""));
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> Idefics3Checkpoint.read(folder));
    assertTrue(e.getMessage().contains("scale_factor") && e.getMessage().contains("integer"));
  }

  @Test
  void zeroOrNegativeSizesAndDivisorsAreRefusedNamingKeyValueFileAndRange() throws IOException {
    // each of these ended in "ArithmeticException: / by zero" or an empty model before
    Map<String, String> broken = new LinkedHashMap<>();
    broken.put("\"scale_factor\": 2", "\"scale_factor\": 0");
    broken.put("\"patch_size\": 14", "\"patch_size\": 0");
    broken.put("\"image_size\": 364", "\"image_size\": -364");
    broken.put("\"num_attention_heads\": 16", "\"num_attention_heads\": 0");
    broken.put("\"num_attention_heads\": 32", "\"num_attention_heads\": 0");
    broken.put("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 0");
    broken.put("\"hidden_size\": 4096", "\"hidden_size\": 0");
    for (Map.Entry<String, String> edit : broken.entrySet()) {
      write8b();
      Files.writeString(
          folder.resolve("config.json"),
          IDEFICS3_8B_CONFIG.replace(edit.getKey(), edit.getValue()));
      CheckpointException e =
          assertThrows(
              CheckpointException.class, () -> Idefics3Checkpoint.read(folder), edit.getValue());
      String key = edit.getValue().substring(0, edit.getValue().indexOf(':'));
      String value = edit.getValue().substring(edit.getValue().indexOf(':') + 2);
      assertTrue(e.getMessage().contains("config.json"), e.getMessage());
      assertTrue(e.getMessage().contains(key + " is " + value), e.getMessage());
      assertTrue(e.getMessage().contains("expected an integer of at least 1"), e.getMessage());
    }
  }

  @Test
  void absurdSizesAreRefusedInAMomentNamingKeyValueAndBound() throws IOException {
    // "num_hidden_layers": 1000000 had convert grow to 20 GB and build for minutes
    Map<String, String> absurd = new LinkedHashMap<>();
    absurd.put("\"num_hidden_layers\": 32", "\"num_hidden_layers\": 1000000");
    absurd.put("\"num_hidden_layers\": 27", "\"num_hidden_layers\": 100000");
    absurd.put("\"hidden_size\": 4096", "\"hidden_size\": 1048576");
    absurd.put("\"intermediate_size\": 14336", "\"intermediate_size\": 2000000000");
    absurd.put("\"vocab_size\": 128259", "\"vocab_size\": 2000000000");
    absurd.put("\"image_size\": 364", "\"image_size\": 1000076");
    absurd.put("\"max_position_embeddings\": 131072", "\"max_position_embeddings\": 2000000000");
    for (Map.Entry<String, String> edit : absurd.entrySet()) {
      write8b();
      Files.writeString(
          folder.resolve("config.json"),
          IDEFICS3_8B_CONFIG.replace(edit.getKey(), edit.getValue()));
      long start = System.nanoTime();
      CheckpointException e =
          assertThrows(
              CheckpointException.class, () -> Idefics3Checkpoint.read(folder), edit.getValue());
      assertTrue(System.nanoTime() - start < 5_000_000_000L, "refused at once");
      String key = edit.getValue().substring(0, edit.getValue().indexOf(':'));
      String value = edit.getValue().substring(edit.getValue().indexOf(':') + 2);
      assertTrue(e.getMessage().contains(key + " is " + value), e.getMessage());
      assertTrue(e.getMessage().contains("expected at most "), e.getMessage());
      assertTrue(e.getMessage().contains("no Idefics3 checkpoint comes near it"), e.getMessage());
    }

    // each size within its bound, the whole too big: 1024 layers 65,536 wide
    write8b();
    Files.writeString(
        folder.resolve("config.json"),
        IDEFICS3_8B_CONFIG
            .replace("\"num_hidden_layers\": 32", "\"num_hidden_layers\": 1024")
            .replace("\"hidden_size\": 4096", "\"hidden_size\": 65536")
            .replace("\"intermediate_size\": 14336", "\"intermediate_size\": 262144"));
    CheckpointException whole =
        assertThrows(CheckpointException.class, () -> Idefics3Checkpoint.read(folder));
    assertTrue(
        whole.getMessage().contains("expected at most 1,000,000,000,000"), whole.getMessage());
  }

  @Test
  void theParameterCountWorkedOutFromTheConfigIsTheGraphs() {
    for (Path checkpoint :
        List.of(
            ReferenceFixtures.checkpoint("tiny-idefics3"),
            ReferenceFixtures.checkpoint("tiny-smolvlm"))) {
      Idefics3Config config = Idefics3Checkpoint.read(checkpoint).config();
      try (Idefics3Graph graph = Idefics3Graph.build(config)) {
        assertEquals(
            graph.weights().parameterCount(), config.parameterCount(), checkpoint.toString());
      }
    }
  }

  @Test
  void textHiddenSizeNotDivisibleByHeadsWithoutHeadDimIsRefused() throws IOException {
    write8b();
    Files.writeString(
        folder.resolve("config.json"),
        IDEFICS3_8B_CONFIG.replace("\"hidden_size\": 4096", "\"hidden_size\": 4100"));
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> Idefics3Checkpoint.read(folder));
    assertTrue(e.getMessage().contains("config.json > text_config"), e.getMessage());
    assertTrue(e.getMessage().contains("hidden_size 4100"), e.getMessage());
    assertTrue(e.getMessage().contains("num_attention_heads 32"), e.getMessage());
  }

  @Test
  void zeroTileSideInThePreprocessorIsRefused() throws IOException {
    write8b();
    Files.writeString(
        folder.resolve("preprocessor_config.json"),
        PREPROCESSOR.replace(
            "\"max_image_size\": {\"longest_edge\": 364}",
            "\"max_image_size\": {\"longest_edge\": 0}"));
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> Idefics3Checkpoint.read(folder));
    assertTrue(
        e.getMessage().contains("preprocessor_config.json > max_image_size"), e.getMessage());
    assertTrue(e.getMessage().contains("\"longest_edge\" is 0"), e.getMessage());
  }

  @Test
  void unknownKeysAreReportedByName() throws IOException {
    write8b();
    Files.writeString(
        folder.resolve("config.json"),
        IDEFICS3_8B_CONFIG.replace("\"scale_factor\": 2,", "\"scale_factor\": 2, \"mystery\": 1,"));
    assertEquals(List.of("config.json: mystery"), Idefics3Checkpoint.read(folder).ignoredKeys());
  }

  @Test
  void imageSeqLenThatDisagreesWithTheArchitectureIsRefused() throws IOException {
    write8b();
    Files.writeString(folder.resolve("processor_config.json"), "{\"image_seq_len\": 64}");
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> Idefics3Checkpoint.read(folder));
    assertTrue(e.getMessage().contains("64") && e.getMessage().contains("169"), e.getMessage());
  }

  @Test
  void unsupportedResampleFilterIsRefused() throws IOException {
    write8b();
    Files.writeString(
        folder.resolve("preprocessor_config.json"),
        PREPROCESSOR.replace("\"resample\": 1", "\"resample\": 3"));
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> Idefics3Checkpoint.read(folder));
    assertTrue(e.getMessage().contains("LANCZOS"), e.getMessage());
  }

  @Test
  void missingChatTemplateSaysWhereItIsLookedFor() throws IOException {
    write8b();
    Files.delete(folder.resolve("chat_template.json"));
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> Idefics3Checkpoint.read(folder));
    assertTrue(e.getMessage().contains("chat_template.jinja"), e.getMessage());
  }

  @Test
  void configThatIsNoJsonIsRefusedWithoutQuotingItsText() throws IOException {
    // config.json linked to /etc/shadow, say: the error says where JSON breaks, not what is there
    write8b();
    Files.writeString(
        folder.resolve("config.json"), "root:$6$s3cr3tSalt$hashhash:19000:0:99999:7:::\n");
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> Idefics3Checkpoint.read(folder));
    assertTrue(e.getMessage().contains("config.json"), e.getMessage());
    assertTrue(e.getMessage().contains("line 1, column"), e.getMessage());
    assertFalse(e.getMessage().contains("root"), e.getMessage());
    assertFalse(e.getMessage().contains("s3cr3t"), e.getMessage());
  }

  @Test
  void missingFolderIsNamed() {
    Path missing = folder.resolve("nope");
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> Idefics3Checkpoint.read(missing));
    assertTrue(e.getMessage().contains(missing.toString()));
  }
}
