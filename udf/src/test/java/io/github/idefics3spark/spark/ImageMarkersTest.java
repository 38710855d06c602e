package io.github.idefics3spark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.github.idefics3spark.idefics3.processor.ChatMessage;
import io.github.idefics3spark.idefics3.processor.ChatMessage.Content;
import io.github.idefics3spark.idefics3.runtime.Idefics3Request;
import java.util.List;
import org.junit.jupiter.api.Test;

class ImageMarkersTest {
  private static final byte[] ONE = {1};
  private static final byte[] TWO = {2};
  private static final byte[] THREE = {3};

  private static Content text(String text) {
    return ChatMessage.text(text);
  }

  private static final Content IMAGE = ChatMessage.image();

  private static List<Content> content(Idefics3Request request) {
    assertEquals(1, request.messages().size());
    assertEquals("user", request.messages().get(0).role());
    return request.messages().get(0).content();
  }

  @Test
  void eachMarkerBecomesItsImageBetweenTheStrippedTextAroundIt() {
    Idefics3Request request =
        ImageMarkers.request(
            "Compare <image 2> and <image 1>.\nA. <image 3>\nB. none", List.of(ONE, TWO, THREE));
    assertEquals(
        List.of(text("Compare"), IMAGE, text("and"), IMAGE, text(".\nA."), IMAGE, text("B. none")),
        content(request));
    assertEquals(3, request.images().size());
    assertSame(TWO, request.images().get(0));
    assertSame(ONE, request.images().get(1));
    assertSame(THREE, request.images().get(2));
    assertEquals(null, request.assistantPrefix());
  }

  @Test
  void aRepeatedMarkerOrANumberPastTheImagesStaysText() {
    Idefics3Request request =
        ImageMarkers.request("<image 1> is <image 1>, not <image 4> or <image 0>", List.of(ONE));
    assertEquals(
        List.of(IMAGE, text("is <image 1>, not <image 4> or <image 0>")), content(request));
    assertEquals(List.of(ONE), request.images());
  }

  @Test
  void imagesNoMarkerNamesComeFirstInTheirOrder() {
    Idefics3Request request =
        ImageMarkers.request("Is <image 2> brighter?", List.of(ONE, TWO, THREE));
    assertEquals(List.of(IMAGE, IMAGE, text("Is"), IMAGE, text("brighter?")), content(request));
    assertSame(ONE, request.images().get(0));
    assertSame(THREE, request.images().get(1));
    assertSame(TWO, request.images().get(2));
  }

  @Test
  void withoutMarkersItIsTheDefaultLayout() {
    assertEquals(
        content(Idefics3Request.question("What is it?", List.of(ONE, TWO))),
        content(ImageMarkers.request("What is it?", List.of(ONE, TWO))));
    assertEquals(List.of(text("")), content(ImageMarkers.request("", List.of())));
    assertEquals(List.of(IMAGE), content(ImageMarkers.request(" <image 1> ", List.of(ONE))));
  }
}
