package io.github.idefics3spark.idefics3.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import io.github.idefics3spark.idefics3.processor.Idefics3Processor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stop tokens ({@link ModelSettings#stopTokens}): those the tokenizer has as one token join the eos
 * ids of generation_config.json, as SmolDocling's {@code </doctag>} does for the document command.
 */
class StopTokensTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @TempDir Path temp;

  @Test
  void stopTokensTheTokenizerHasJoinTheEosIdsOnceAndOthersAreIgnored() {
    Path checkpoint = ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM);
    try (Idefics3Processor processor =
        Idefics3Processor.load(Idefics3Checkpoint.read(checkpoint))) {
      assertEquals(List.of(519), processor.eosTokenIds()); // <end_of_utterance>
      assertArrayEquals(new int[] {519}, Idefics3Runtime.eosTokenIds(processor, List.of()));
      // </doctag> is not a token of the tiny tokenizer: ignored; <end_of_utterance> is there once
      assertArrayEquals(
          new int[] {519, 518},
          Idefics3Runtime.eosTokenIds(
              processor, List.of("</doctag>", "<end_of_utterance>", "<image>")));
    }
  }

  @Test
  void anAddedDoctagEndTokenBecomesAnEosId() throws IOException {
    Path original = ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM);
    Path copy = Files.createDirectories(temp.resolve("with-doctag"));
    try (Stream<Path> files = Files.list(original)) {
      for (Path file : files.toList()) {
        Files.copy(file, copy.resolve(file.getFileName()));
      }
    }
    // SmolDocling's tokenizer has </doctag> as an added token; give the tiny one the same
    Path tokenizer = copy.resolve("tokenizer.json");
    ObjectNode json = (ObjectNode) MAPPER.readTree(tokenizer.toFile());
    ArrayNode added = (ArrayNode) json.get("added_tokens");
    int id = 0;
    for (var token : added) {
      id = Math.max(id, token.get("id").asInt() + 1);
    }
    ObjectNode doctagEnd = added.addObject();
    doctagEnd.put("id", id);
    doctagEnd.put("content", "</doctag>");
    doctagEnd.put("single_word", false);
    doctagEnd.put("lstrip", false);
    doctagEnd.put("rstrip", false);
    doctagEnd.put("normalized", false);
    doctagEnd.put("special", true);
    MAPPER.writeValue(tokenizer.toFile(), json);
    try (Idefics3Processor processor = Idefics3Processor.load(Idefics3Checkpoint.read(copy))) {
      assertArrayEquals(
          new int[] {519, id},
          Idefics3Runtime.eosTokenIds(
              processor, List.of("</doctag>", "<end_of_utterance>", "<|end_of_text|>")));
      assertArrayEquals(new int[] {id}, processor.tokenizer().encodeText("</doctag>", false));
    }
  }
}
