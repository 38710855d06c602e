package io.github.idefics3spark.spark;

import io.github.idefics3spark.idefics3.processor.ChatMessage;
import io.github.idefics3spark.idefics3.runtime.Idefics3Request;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Interleaved requests: the images of a request placed where its text names them with {@code <image
 * k>} markers (MMMU's convention: {@code <image 1>} ... {@code <image 7>} in the question and
 * options), for request rows whose {@link InferenceSchema#IMAGE_MARKERS} is true.
 *
 * <p>The text is cut at each marker {@code <image k>} with {@code k} from 1 to the number of
 * images: the first marker naming image {@code k} becomes the image item of the {@code k}-th image
 * of the row, in the user turn, between the text before it and the text after it. Each text piece
 * is stripped and left out when empty, as lmms-eval's interleaved MMMU messages do ({@code
 * mmmu_doc_to_messages}: {@code question.split("<image>")}, each piece {@code .strip()}). A marker
 * naming an image already placed, or a number past the row's images, stays in the text as written.
 * Images that no marker names come first, in their order, as in a request without markers.
 */
final class ImageMarkers {
  /** {@code <image k>}, k a decimal number. */
  static final Pattern MARKER = Pattern.compile("<image ([0-9]{1,9})>");

  private ImageMarkers() {}

  /**
   * A single-turn request whose image items stand where {@code text} names them.
   *
   * @param images the row's images, image {@code k} at index {@code k - 1}
   */
  static Idefics3Request request(String text, List<byte[]> images) {
    List<ChatMessage.Content> placed = new ArrayList<>();
    List<byte[]> order = new ArrayList<>();
    boolean[] named = new boolean[images.size()];
    Matcher m = MARKER.matcher(text);
    StringBuilder pending = new StringBuilder();
    int from = 0;
    while (m.find()) {
      int k = Integer.parseInt(m.group(1));
      pending.append(text, from, m.start());
      from = m.end();
      if (k < 1 || k > images.size() || named[k - 1]) {
        pending.append(m.group()); // not an image of this row, or already placed: text
        continue;
      }
      named[k - 1] = true;
      addText(placed, pending.toString());
      pending.setLength(0);
      placed.add(ChatMessage.image());
      order.add(images.get(k - 1));
    }
    pending.append(text, from, text.length());
    addText(placed, pending.toString());

    List<ChatMessage.Content> content = new ArrayList<>();
    List<byte[]> ordered = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) {
      if (!named[i]) {
        content.add(ChatMessage.image());
        ordered.add(images.get(i));
      }
    }
    content.addAll(placed);
    ordered.addAll(order);
    if (content.isEmpty()) {
      content.add(ChatMessage.text(text)); // no image and blank text: as a request without markers
    }
    return new Idefics3Request(
        List.of(ChatMessage.user(content.toArray(ChatMessage.Content[]::new))), ordered, null);
  }

  private static void addText(List<ChatMessage.Content> content, String piece) {
    String stripped = piece.strip();
    if (!stripped.isEmpty()) {
      content.add(ChatMessage.text(stripped));
    }
  }
}
