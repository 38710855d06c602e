package io.github.idefics3spark.idefics3.runtime;

import io.github.idefics3spark.idefics3.processor.ChatMessage;
import java.util.List;

/**
 * One question to the model: a conversation whose image items are filled, in order, by {@code
 * images} (the encoded bytes of each image, any format {@link
 * io.github.idefics3spark.image.ImageDecoder} reads).
 *
 * @param messages the conversation, in Hugging Face's chat format; the last one is usually the
 *     user's
 * @param images encoded images, one per image item of the messages, in order
 * @param assistantPrefix text the answer must start with (transformers' {@code
 *     continue_final_message}), or null to let the model start the answer
 * @param options empty to generate the answer; else the candidate answers to rank by likelihood
 *     instead (a multiple-choice question's option letters, "A", "B"...), each scored as the text
 *     that follows the generation prompt (after {@code Assistant:}, with the space the model writes
 *     there: " A"). The answer is then the most likely option and every option's log-probability.
 * @param maxNewTokens this request's limit on generated tokens; 0 takes the runtime's {@link
 *     ModelSettings#maxNewTokens()}
 */
public record Idefics3Request(
    List<ChatMessage> messages,
    List<byte[]> images,
    String assistantPrefix,
    List<String> options,
    int maxNewTokens) {

  public Idefics3Request {
    messages = List.copyOf(messages);
    images = List.copyOf(images);
    options = List.copyOf(options);
    if (maxNewTokens < 0) {
      throw new IllegalArgumentException(
          "max_new_tokens of a request is " + maxNewTokens + ", expected >= 1 (or 0: the model's)");
    }
  }

  /** A request with the runtime's max_new_tokens. */
  public Idefics3Request(
      List<ChatMessage> messages,
      List<byte[]> images,
      String assistantPrefix,
      List<String> options) {
    this(messages, images, assistantPrefix, options, 0);
  }

  /** A request whose answer is generated. */
  public Idefics3Request(List<ChatMessage> messages, List<byte[]> images, String assistantPrefix) {
    this(messages, images, assistantPrefix, List.of());
  }

  /** A single-turn question about the given images: image items first, then the text. */
  public static Idefics3Request question(String text, List<byte[]> images) {
    ChatMessage.Content[] content = new ChatMessage.Content[images.size() + 1];
    for (int i = 0; i < images.size(); i++) {
      content[i] = ChatMessage.image();
    }
    content[images.size()] = ChatMessage.text(text);
    return new Idefics3Request(List.of(ChatMessage.user(content)), images, null);
  }

  /** The same request with an assistant prefix (null for none). */
  public Idefics3Request withAssistantPrefix(String prefix) {
    return new Idefics3Request(messages, images, prefix, options, maxNewTokens);
  }

  /**
   * The same request answered by ranking {@code options} by likelihood (empty: generated); see
   * {@link Idefics3Request the options parameter}.
   */
  public Idefics3Request withOptions(List<String> options) {
    return new Idefics3Request(messages, images, assistantPrefix, options, maxNewTokens);
  }

  /** The same request with its own limit on generated tokens (0: the runtime's). */
  public Idefics3Request withMaxNewTokens(int maxNewTokens) {
    return new Idefics3Request(messages, images, assistantPrefix, options, maxNewTokens);
  }

  /** Whether the answer is the most likely of {@link #options} rather than generated. */
  public boolean scoresOptions() {
    return !options.isEmpty();
  }
}
