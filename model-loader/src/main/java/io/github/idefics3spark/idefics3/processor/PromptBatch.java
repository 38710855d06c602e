package io.github.idefics3spark.idefics3.processor;

/**
 * Prompts of one batch, left-padded to the longest with the pad token, as transformers' processor
 * pads them with {@code padding_side="left"}.
 *
 * @param inputIds [batch][length] token ids, pad ids first
 * @param attentionMask [batch][length]: 0 on padding, 1 on tokens
 */
public record PromptBatch(int[][] inputIds, int[][] attentionMask) {

  /** Number of prompts. */
  public int batchSize() {
    return inputIds.length;
  }

  /** Padded length: the longest prompt's. */
  public int length() {
    return inputIds.length == 0 ? 0 : inputIds[0].length;
  }
}
