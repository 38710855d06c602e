package io.github.idefics3spark.idefics3.processor;

/**
 * One prompt as the model takes it, with the texts it was made from.
 *
 * @param rendered the chat template's output, {@code <image>} markers not yet expanded
 * @param expanded the text after each image's {@code <image>} marker became its image string
 * @param inputIds token ids, the post-processor's tokens included (the 8B's two {@code
 *     <|begin_of_text|>})
 * @param attentionMask 1 per token
 */
public record EncodedPrompt(String rendered, String expanded, int[] inputIds, int[] attentionMask) {

  /** Number of tokens. */
  public int length() {
    return inputIds.length;
  }

  /**
   * How many times {@code tokenId} occurs (the image token: the image features the prompt takes).
   */
  public int count(int tokenId) {
    int count = 0;
    for (int id : inputIds) {
      if (id == tokenId) {
        count++;
      }
    }
    return count;
  }
}
