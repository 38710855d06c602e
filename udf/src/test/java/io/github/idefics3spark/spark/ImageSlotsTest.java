package io.github.idefics3spark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.idefics3.processor.ChatMessage;
import io.github.idefics3spark.idefics3.processor.ChatMessage.Content;
import io.github.idefics3spark.idefics3.runtime.Idefics3Request;
import java.util.List;
import org.junit.jupiter.api.Test;

class ImageSlotsTest {
  private static final byte[] ONE = {1};
  private static final byte[] TWO = {2};
  private static final Content IMAGE = ChatMessage.image();

  private static List<Content> content(Idefics3Request request) {
    assertEquals(1, request.messages().size());
    assertEquals("user", request.messages().get(0).role());
    return request.messages().get(0).content();
  }

  @Test
  void eachSlotTakesTheImageItNamesAndTheTextStaysAsWritten() {
    Idefics3Request request =
        ImageSlots.request(
            "Question: <image 1>:<image>\n<image 2>:<image>\n <image 1> and <image 2> ",
            List.of(ONE, TWO),
            List.of(2, 1));
    assertEquals(
        List.of(
            ChatMessage.text("Question: <image 1>:"),
            IMAGE,
            ChatMessage.text("\n<image 2>:"),
            IMAGE,
            ChatMessage.text("\n <image 1> and <image 2> ")),
        content(request));
    assertSame(TWO, request.images().get(0));
    assertSame(ONE, request.images().get(1));
    assertEquals(null, request.assistantPrefix());
  }

  @Test
  void anImageMayStandInSeveralSlotsAndAnUnnamedOneIsLeftOut() {
    Idefics3Request request =
        ImageSlots.request("<image><image>Same?", List.of(ONE, TWO), List.of(1, 1));
    assertEquals(List.of(IMAGE, IMAGE, ChatMessage.text("Same?")), content(request));
    assertEquals(List.of(ONE, ONE), request.images());
  }

  @Test
  void aSlotCountOtherThanTheTextsIsRefusedNamingBoth() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ImageSlots.request("<image>What is <image>?", List.of(ONE), List.of(1)));
    assertTrue(e.getMessage().contains("has 2 <image> but image_slots names 1"), e.getMessage());
  }

  @Test
  void aSlotNamingNoImageOfTheRowIsRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ImageSlots.request("<image>What?", List.of(ONE), List.of(2)));
    assertTrue(e.getMessage().contains("names image 2 but the row has 1 images"), e.getMessage());
  }
}
