package io.github.idefics3spark.idefics3.processor;

import io.github.idefics3spark.idefics3.checkpoint.CheckpointException;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The prompt side of transformers' {@code Idefics3Processor}: chat messages and image grids in,
 * token ids out, with user text that can never inject control tokens.
 *
 * <p>{@link #encodePrompt} follows tools/reference/README.md ("Safe tokenisation"): the chat
 * template is rendered with each user text replaced by a sentinel; the {@code <image>} markers the
 * template wrote (only those) are expanded, in order, into the image strings of reference section 3
 * ({@link #imageString}); the user texts are put back; the tokenizer splits added tokens out of the
 * template's and the expansion's text only and encodes everything else as plain text. The template
 * is also rendered with the real texts, and the two renderings must agree, so a template that
 * rewrites user text is caught rather than guessed at. Whenever user text holds no added token's
 * text, the ids are exactly {@code processor(text=processor.apply_chat_template(...),
 * images=...)}'s, including the 8B's two {@code <|begin_of_text|>} (the template writes one, the
 * post-processor adds one).
 */
public final class Idefics3Processor implements AutoCloseable {
  /** {@code Idefics3Processor.fake_image_token}. */
  public static final String FAKE_IMAGE_TOKEN = "<fake_token_around_image>";

  /** {@code Idefics3Processor.image_token}: one per image feature, and the template's marker. */
  public static final String IMAGE_TOKEN = "<image>";

  /** {@code Idefics3Processor.end_of_utterance_token}. */
  public static final String END_OF_UTTERANCE_TOKEN = "<end_of_utterance>";

  /** {@code Idefics3Processor.global_image_tag}. */
  public static final String GLOBAL_IMAGE_TAG = "<global-img>";

  /** Marks user text in the sentinel rendering; user text may not contain it. */
  private static final char SENTINEL = '\u0000';

  private final ChatTemplate chatTemplate;
  private final Idefics3Tokenizer tokenizer;
  private final int imageSeqLen;
  private final int imageTokenId;
  private final OptionalInt padTokenId;
  private final List<Integer> eosTokenIds;
  private final boolean ownsTokenizer;

  /**
   * A processor over parts the caller owns (the tokenizer is not closed by {@link #close()}).
   *
   * @param imageSeqLen image tokens per frame
   * @param padTokenId the pad id, or empty when the checkpoint has none (then only prompts of one
   *     length can be batched)
   * @param eosTokenIds the ids that end generation
   * @throws CheckpointException when the tokenizer lacks Idefics3's added tokens
   */
  public Idefics3Processor(
      ChatTemplate chatTemplate,
      Idefics3Tokenizer tokenizer,
      int imageSeqLen,
      OptionalInt padTokenId,
      List<Integer> eosTokenIds) {
    this(chatTemplate, tokenizer, imageSeqLen, padTokenId, eosTokenIds, false);
  }

  private Idefics3Processor(
      ChatTemplate chatTemplate,
      Idefics3Tokenizer tokenizer,
      int imageSeqLen,
      OptionalInt padTokenId,
      List<Integer> eosTokenIds,
      boolean ownsTokenizer) {
    if (imageSeqLen <= 0) {
      throw new IllegalArgumentException("image_seq_len is " + imageSeqLen + ", expected > 0");
    }
    for (String token : List.of(FAKE_IMAGE_TOKEN, IMAGE_TOKEN, END_OF_UTTERANCE_TOKEN)) {
      if (!tokenizer.isAddedToken(token)) {
        throw new CheckpointException(
            "tokenizer.json has no added token "
                + token
                + "; Idefics3Processor adds it when it is built: save the processor with"
                + " transformers' save_pretrained so tokenizer.json lists it");
      }
    }
    this.chatTemplate = chatTemplate;
    this.tokenizer = tokenizer;
    this.imageSeqLen = imageSeqLen;
    this.imageTokenId = tokenizer.tokenId(IMAGE_TOKEN).getAsInt();
    this.padTokenId = padTokenId;
    this.eosTokenIds = List.copyOf(eosTokenIds);
    this.ownsTokenizer = ownsTokenizer;
  }

  /**
   * The processor of a checkpoint folder: its chat template, tokenizer, image_seq_len, pad id
   * (tokenizer_config.json's pad_token, as transformers pads, else generation_config.json's
   * pad_token_id) and eos ids (generation_config.json's, else the tokenizer's eos_token). Close it:
   * it owns the tokenizer.
   *
   * @throws CheckpointException when config.json's image_token_id is not the tokenizer's {@code
   *     <image>}
   */
  public static Idefics3Processor load(Idefics3Checkpoint checkpoint) {
    Idefics3Tokenizer tokenizer = Idefics3Tokenizer.of(checkpoint);
    try {
      ChatTemplate template =
          new ChatTemplate(checkpoint.chatTemplate(), tokenizer.specialTokensMap());
      OptionalInt pad = tokenizer.padTokenId();
      if (pad.isEmpty() && checkpoint.generation().padTokenId() != null) {
        pad = OptionalInt.of(checkpoint.generation().padTokenId());
      }
      List<Integer> eos = checkpoint.generation().eosTokenIds();
      if (eos.isEmpty() && tokenizer.eosTokenId().isPresent()) {
        eos = List.of(tokenizer.eosTokenId().getAsInt());
      }
      Idefics3Processor processor =
          new Idefics3Processor(template, tokenizer, checkpoint.imageSeqLen(), pad, eos, true);
      int configured = checkpoint.config().imageTokenId();
      if (processor.imageTokenId != configured) {
        throw new CheckpointException(
            "config.json: image_token_id is "
                + configured
                + " but tokenizer.json gives "
                + IMAGE_TOKEN
                + " the id "
                + processor.imageTokenId
                + "; the two files come from different checkpoints");
      }
      return processor;
    } catch (RuntimeException e) {
      tokenizer.close();
      throw e;
    }
  }

  /**
   * Encodes one request: renders the chat, expands the image markers the template wrote and
   * tokenises it under the safe rule.
   *
   * @param messages the chat; every text item is user text
   * @param images one grid per image, in the order of the image items
   * @param addGenerationPrompt end with the assistant's turn opening ("Assistant:")
   * @param continueFinalMessage end inside the final message so the model continues it
   * @throws PromptException when the template wrote more or fewer image slots than images were
   *     given, a text contains U+0000, the template rejects the chat, or the template rewrites user
   *     text so that it cannot be told from the template's own
   */
  public EncodedPrompt encodePrompt(
      List<ChatMessage> messages,
      List<ImageGrid> images,
      boolean addGenerationPrompt,
      boolean continueFinalMessage) {
    if (messages.isEmpty()) {
      throw new PromptException("the chat has no message; give at least one user message");
    }
    // 1. every distinct user text gets a sentinel: U+0000, its index, U+0000
    Map<String, String> sentinels = new LinkedHashMap<>();
    List<String> texts = new ArrayList<>();
    for (ChatMessage message : messages) {
      for (ChatMessage.Content item : message.content()) {
        if (item instanceof ChatMessage.Text text && !sentinels.containsKey(text.text())) {
          if (text.text().indexOf(SENTINEL) >= 0) {
            throw new PromptException(
                "a text of the "
                    + message.role()
                    + " message contains the character U+0000 (NUL), which this project reserves"
                    + " to mark user text in the prompt; remove it from the text");
          }
          sentinels.put(text.text(), SENTINEL + Integer.toString(texts.size()) + SENTINEL);
          texts.add(text.text());
        }
      }
    }
    String masked =
        chatTemplate.render(messages, addGenerationPrompt, continueFinalMessage, sentinels::get);
    String rendered = chatTemplate.render(messages, addGenerationPrompt, continueFinalMessage);

    // 2. template text and user text, in order; the template's <image> markers expanded
    List<Idefics3Tokenizer.Segment> segments = new ArrayList<>();
    StringBuilder unmasked = new StringBuilder();
    int slots = countMarkers(masked);
    if (slots != images.size()) {
      throw new PromptException(
          "the chat template wrote "
              + slots
              + " "
              + IMAGE_TOKEN
              + " slot(s) for messages holding "
              + messages.stream().mapToInt(ChatMessage::imageCount).sum()
              + " image item(s), but "
              + images.size()
              + " image(s) were given; give exactly one image per {\"type\": \"image\"} item, in"
              + " order");
    }
    int imageIndex = 0;
    int at = 0;
    while (at < masked.length()) {
      int open = masked.indexOf(SENTINEL, at);
      String template = open < 0 ? masked.substring(at) : masked.substring(at, open);
      unmasked.append(template);
      StringBuilder expandedTemplate = new StringBuilder();
      int from = 0;
      for (int marker = template.indexOf(IMAGE_TOKEN);
          marker >= 0;
          marker = template.indexOf(IMAGE_TOKEN, from)) {
        expandedTemplate
            .append(template, from, marker)
            .append(imageString(images.get(imageIndex++)));
        from = marker + IMAGE_TOKEN.length();
      }
      expandedTemplate.append(template.substring(from));
      if (expandedTemplate.length() > 0) {
        segments.add(Idefics3Tokenizer.Segment.template(expandedTemplate.toString()));
      }
      if (open < 0) {
        break;
      }
      int close = masked.indexOf(SENTINEL, open + 1);
      String text = close < 0 ? null : textOf(masked.substring(open + 1, close), texts);
      if (text == null) {
        throw transformed(rendered);
      }
      unmasked.append(text);
      if (!text.isEmpty()) {
        segments.add(Idefics3Tokenizer.Segment.user(text));
      }
      at = close + 1;
    }
    // 3. the sentinel rendering, user texts put back, must be the real rendering
    if (!unmasked.toString().equals(rendered)) {
      throw transformed(rendered);
    }
    StringBuilder expanded = new StringBuilder();
    for (Idefics3Tokenizer.Segment segment : segments) {
      expanded.append(segment.text());
    }
    int[] ids = tokenizer.encode(segments);
    int[] mask = new int[ids.length];
    Arrays.fill(mask, 1);
    return new EncodedPrompt(rendered, expanded.toString(), ids, mask);
  }

  /**
   * Left-pads prompts to the longest with the pad id; attention 0 on padding.
   *
   * @throws CheckpointException when lengths differ and the checkpoint names no pad token
   */
  public PromptBatch pad(List<EncodedPrompt> prompts) {
    int length = 0;
    for (EncodedPrompt prompt : prompts) {
      length = Math.max(length, prompt.length());
    }
    int[][] ids = new int[prompts.size()][length];
    int[][] mask = new int[prompts.size()][length];
    for (int b = 0; b < prompts.size(); b++) {
      EncodedPrompt prompt = prompts.get(b);
      int padding = length - prompt.length();
      if (padding > 0) {
        if (padTokenId.isEmpty()) {
          throw new CheckpointException(
              "prompts of different lengths cannot be batched: the checkpoint names no pad token"
                  + " (tokenizer_config.json \"pad_token\" or generation_config.json"
                  + " \"pad_token_id\"); add one");
        }
        Arrays.fill(ids[b], 0, padding, padTokenId.getAsInt());
      }
      System.arraycopy(prompt.inputIds(), 0, ids[b], padding, prompt.length());
      System.arraycopy(prompt.attentionMask(), 0, mask[b], padding, prompt.length());
    }
    return new PromptBatch(ids, mask);
  }

  /**
   * The text one image's {@code <image>} marker becomes ({@code
   * Idefics3Processor.replace_image_token}): {@code F <global-img> I*S F} for a single frame, else
   * for each row (for each column {@code F <row_r_col_c> I*S}) then "\n", then "\n" and the global
   * frame's {@code F <global-img> I*S F}.
   */
  public String imageString(ImageGrid grid) {
    String images = IMAGE_TOKEN.repeat(imageSeqLen);
    String global = FAKE_IMAGE_TOKEN + GLOBAL_IMAGE_TAG + images + FAKE_IMAGE_TOKEN;
    if (grid.rows() == 0 && grid.cols() == 0) {
      return global;
    }
    StringBuilder out = new StringBuilder();
    for (int r = 0; r < grid.rows(); r++) {
      for (int c = 0; c < grid.cols(); c++) {
        out.append(FAKE_IMAGE_TOKEN)
            .append("<row_")
            .append(r + 1)
            .append("_col_")
            .append(c + 1)
            .append('>')
            .append(images);
      }
      out.append('\n');
    }
    return out.append('\n').append(global).toString();
  }

  /** Image tokens per frame ("image_seq_len"). */
  public int imageSeqLen() {
    return imageSeqLen;
  }

  /** The id of {@code <image>}, the positions that take image features. */
  public int imageTokenId() {
    return imageTokenId;
  }

  /** The id prompts are padded with, if the checkpoint names one. */
  public OptionalInt padTokenId() {
    return padTokenId;
  }

  /** The ids that end generation (generation_config.json's eos_token_id). */
  public List<Integer> eosTokenIds() {
    return eosTokenIds;
  }

  public Idefics3Tokenizer tokenizer() {
    return tokenizer;
  }

  /**
   * Generated tokens as text with the special tokens kept, the final stop token (one of {@link
   * #eosTokenIds()}) removed when the run ended on one: {@code tokenizer.decode(tokens,
   * skip_special_tokens=False)} of what precedes the stop (an answer's tokens carry no padding).
   * This is the text a DocTags model (SmolDocling, granite-docling) answers: its {@code <doctag>},
   * {@code <loc_N>}, OTSL and element tags are special added tokens, which the default decode
   * (special tokens skipped) removes; Docling decodes with skip_special_tokens=False and drops the
   * end-of-utterance marker the same way. White space is kept as decoded.
   */
  public String decodeKeepingSpecialTokens(int[] tokens) {
    int end = tokens.length;
    if (end > 0 && eosTokenIds.contains(tokens[end - 1])) {
      end--;
    }
    return tokenizer.decode(Arrays.copyOf(tokens, end), false);
  }

  public ChatTemplate chatTemplate() {
    return chatTemplate;
  }

  @Override
  public void close() {
    if (ownsTokenizer) {
      tokenizer.close();
    }
  }

  /** The {@code <image>} markers in the template's text (outside the sentinels). */
  private static int countMarkers(String masked) {
    int count = 0;
    boolean inside = false;
    int from = 0;
    for (int i = 0; i <= masked.length(); i++) {
      if (i == masked.length() || masked.charAt(i) == SENTINEL) {
        if (!inside) {
          String template = masked.substring(from, i);
          for (int m = template.indexOf(IMAGE_TOKEN);
              m >= 0;
              m = template.indexOf(IMAGE_TOKEN, m + 1)) {
            count++;
          }
        }
        inside = !inside;
        from = i + 1;
      }
    }
    return count;
  }

  private static String textOf(String index, List<String> texts) {
    try {
      int i = Integer.parseInt(index);
      return i >= 0 && i < texts.size() ? texts.get(i) : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static PromptException transformed(String rendered) {
    return new PromptException(
        "the chat template changes user text (it trims, cuts, escapes or rewrites it), so user text"
            + " cannot be told from the template's own and tokenised safely; rendered: "
            + abbreviate(rendered)
            + ". Use a template that writes each text as given");
  }

  private static String abbreviate(String text) {
    return text.length() <= 200 ? text : text.substring(0, 200) + "...";
  }
}
