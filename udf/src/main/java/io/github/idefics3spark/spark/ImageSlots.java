package io.github.idefics3spark.spark;

import io.github.idefics3spark.idefics3.processor.ChatMessage;
import io.github.idefics3spark.idefics3.processor.Idefics3Processor;
import io.github.idefics3spark.idefics3.runtime.Idefics3Request;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Requests whose text is the whole user turn with {@code <image>} where each image goes, as prompts
 * written for the model's own markup are (SmolVLM's evaluation prompts in VLMEvalKit {@code
 * smolvlm.py}: {@code "<image>Give a short and terse answer..."}, MMMU's {@code "Question: <image
 * 1>:<image>\n<image 2>:<image>\n..."}), for request rows whose {@link InferenceSchema#IMAGE_SLOTS}
 * is not null.
 *
 * <p>The text is cut at each {@code <image>}; the pieces between stay exactly as written (none is
 * stripped; empty ones are left out), and the n-th {@code <image>} takes the row's image {@code
 * slots[n]} (1-based), so an image may stand in several places and an image no slot names is left
 * out, as the prompt's own image list would have it.
 */
public final class ImageSlots {
  private ImageSlots() {}

  /**
   * A single-turn request whose image items stand where {@code text} has {@code <image>}.
   *
   * @param images the row's images, image {@code k} at index {@code k - 1}
   * @param slots for each {@code <image>} of the text in order, the number of its image
   * @throws IllegalArgumentException when the text's {@code <image>} count differs from the slots',
   *     or a slot names no image of the row
   */
  public static Idefics3Request request(String text, List<byte[]> images, List<Integer> slots) {
    String[] pieces = text.split(Pattern.quote(Idefics3Processor.IMAGE_TOKEN), -1);
    if (pieces.length - 1 != slots.size()) {
      throw new IllegalArgumentException(
          "the question has "
              + (pieces.length - 1)
              + " "
              + Idefics3Processor.IMAGE_TOKEN
              + " but image_slots names "
              + slots.size()
              + " images ("
              + slots
              + "); a question text holding "
              + Idefics3Processor.IMAGE_TOKEN
              + " itself cannot be asked with image slots");
    }
    List<ChatMessage.Content> content = new ArrayList<>();
    List<byte[]> ordered = new ArrayList<>();
    for (int i = 0; i < pieces.length; i++) {
      if (!pieces[i].isEmpty()) {
        content.add(ChatMessage.text(pieces[i]));
      }
      if (i < slots.size()) {
        Integer k = slots.get(i);
        if (k == null || k < 1 || k > images.size()) {
          throw new IllegalArgumentException(
              "image slot "
                  + (i + 1)
                  + " names image "
                  + k
                  + " but the row has "
                  + images.size()
                  + " images");
        }
        content.add(ChatMessage.image());
        ordered.add(images.get(k - 1));
      }
    }
    if (content.isEmpty()) {
      content.add(ChatMessage.text(text)); // an empty text and no slot: as a request without slots
    }
    return new Idefics3Request(
        List.of(ChatMessage.user(content.toArray(ChatMessage.Content[]::new))), ordered, null);
  }
}
