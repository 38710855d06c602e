package io.github.idefics3spark.idefics3.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A loaded model run with other settings shares its package and answers as a model loaded with
 * those settings; closing it leaves the model it came from working.
 */
class Idefics3RuntimeWithSettingsTest {
  @TempDir Path packages;

  @Test
  void otherSettingsAnswerAsAFreshLoadAndShareThePackage() throws IOException {
    Path dir = packages.resolve(ReferenceFixtures.TINY_SMOLVLM);
    Idefics3Package.write(ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM), dir);
    ModelSettings base = ModelSettings.builder().intraOpThreads(1).maxNewTokens(12).build();
    ModelSettings other =
        base.toBuilder().maxNewTokens(5).batchSize(2).longestEdge(64).imageSplitting(false).build();
    List<Idefics3Request> requests =
        List.of(
            Idefics3Request.question(
                "Describe this image.",
                List.of(ReferenceFixtures.imageBytes("landscape_49x31.jpg"))),
            Idefics3Request.question(
                "What is in it?", List.of(ReferenceFixtures.imageBytes("tile_64x64.png"))),
            Idefics3Request.question("Count to three.", List.of()));
    try (Idefics3Runtime loaded = Idefics3Runtime.load(dir, base);
        Idefics3Runtime fresh = Idefics3Runtime.load(dir, other)) {
      List<Idefics3Answer> before = loaded.answer(requests);
      List<Idefics3Answer> expected = fresh.answer(requests);
      try (Idefics3Runtime view = loaded.withSettings(other)) {
        assertSame(other, view.settings());
        assertSame(loaded.processor(), view.processor());
        List<Idefics3Answer> answers = view.answer(requests);
        for (int i = 0; i < requests.size(); i++) {
          assertNull(answers.get(i).error(), answers.get(i).error());
          assertArrayEquals(expected.get(i).tokens(), answers.get(i).tokens(), "request " + i);
          assertEquals(expected.get(i).frames(), answers.get(i).frames(), "request " + i);
          assertTrue(answers.get(i).generatedTokens() <= 5);
        }
        assertNotEquals(before.get(0).frames(), answers.get(0).frames(), "no splitting");
      }
      List<Idefics3Answer> after = loaded.answer(requests);
      for (int i = 0; i < requests.size(); i++) {
        assertArrayEquals(before.get(i).tokens(), after.get(i).tokens(), "after the view closed");
      }
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> loaded.withSettings(other.toBuilder().intraOpThreads(2).build()));
      assertTrue(e.getMessage().contains("intra_op_threads is 2"), e.getMessage());
    }
  }
}
