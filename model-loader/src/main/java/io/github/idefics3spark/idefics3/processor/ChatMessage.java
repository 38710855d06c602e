package io.github.idefics3spark.idefics3.processor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * One turn of a chat, as Hugging Face's chat templates see it: a role and a list of content items,
 * each an image slot or a piece of text.
 *
 * <p>The template receives it as {@code {"role": role, "content": [{"type": "image"}, {"type":
 * "text", "text": ...}]}}, the layout that {@code Idefics3Processor.apply_chat_template} expects.
 * Roles are names such as {@code user}, {@code assistant} or {@code system}; they are written into
 * the prompt by the template, so they are restricted to letters, digits, '_' and '-'.
 *
 * @param role who speaks: "user", "assistant", "system", ...
 * @param content the items of the turn, in order
 */
public record ChatMessage(String role, List<Content> content) {
  private static final Pattern ROLE = Pattern.compile("[A-Za-z0-9_-]+");

  public ChatMessage {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(content, "content");
    if (!ROLE.matcher(role).matches()) {
      throw new PromptException(
          "chat message role \""
              + role
              + "\" is not a plain name; expected letters, digits, '_' or '-' such as \"user\","
              + " \"assistant\" or \"system\"");
    }
    if (content.isEmpty()) {
      throw new PromptException(
          "chat message of role \""
              + role
              + "\" has no content; give at least one image or text item");
    }
    content = List.copyOf(content);
  }

  /** A message of role "user". */
  public static ChatMessage user(Content... content) {
    return new ChatMessage("user", List.of(content));
  }

  /** A message of role "assistant" (with continue_final_message: the answer's beginning). */
  public static ChatMessage assistant(Content... content) {
    return new ChatMessage("assistant", List.of(content));
  }

  /** A message of role "system". */
  public static ChatMessage system(Content... content) {
    return new ChatMessage("system", List.of(content));
  }

  /** An image slot: {@code {"type": "image"}}. */
  public static Content image() {
    return Image.INSTANCE;
  }

  /** A piece of text: {@code {"type": "text", "text": text}}. */
  public static Content text(String text) {
    return new Text(text);
  }

  /** How many image slots the message has. */
  public int imageCount() {
    int count = 0;
    for (Content item : content) {
      if (item instanceof Image) {
        count++;
      }
    }
    return count;
  }

  /** The message as the Jinja template sees it, with each text replaced as {@code texts} says. */
  Map<String, Object> toTemplateValue(UnaryOperator<String> texts) {
    List<Object> items = new ArrayList<>(content.size());
    for (Content item : content) {
      Map<String, Object> value = new LinkedHashMap<>();
      if (item instanceof Text text) {
        value.put("type", "text");
        value.put("text", texts.apply(text.text()));
      } else {
        value.put("type", "image");
      }
      items.add(value);
    }
    Map<String, Object> message = new LinkedHashMap<>();
    message.put("role", role);
    message.put("content", items);
    return message;
  }

  /** One content item of a message: an {@link Image} slot or a {@link Text}. */
  public sealed interface Content permits Image, Text {}

  /** An image slot; the image itself travels separately, in the same order as the slots. */
  public record Image() implements Content {
    static final Image INSTANCE = new Image();
  }

  /**
   * Text written by whoever builds the request; always tokenised as plain text.
   *
   * @param text the text, never null
   */
  public record Text(String text) implements Content {
    public Text {
      Objects.requireNonNull(text, "text");
    }
  }
}
