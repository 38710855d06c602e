package io.github.idefics3spark.idefics3.checkpoint;

/**
 * The model architecture, as config.json of an Idefics3 checkpoint describes it.
 *
 * <p>Field names follow the Hugging Face keys. Parsed by {@link Idefics3Checkpoint#read}; never
 * built from constants, because the class defaults of transformers are traps (a vision patch size
 * of 32 and image size of 224 that no released checkpoint uses).
 *
 * @param vision the SigLIP-style vision tower ("vision_config")
 * @param text the Llama decoder ("text_config")
 * @param scaleFactor the connector's pixel-shuffle factor ("scale_factor")
 * @param imageTokenId the id of the {@code <image>} placeholder token ("image_token_id")
 */
public record Idefics3Config(Vision vision, Text text, int scaleFactor, int imageTokenId) {

  /** Patches a side of one frame: image_size / patch_size. */
  public int patchesPerSide() {
    return vision.imageSize() / vision.patchSize();
  }

  /** Image tokens per frame after the connector: (patches a side / scale factor)^2. */
  public int imageSeqLen() {
    int side = patchesPerSide() / scaleFactor;
    return side * side;
  }

  /**
   * The parameters of {@code Idefics3ForConditionalGeneration} with this config, worked out from
   * the sizes alone (no graph is built), so that a config whose model could never fit is refused
   * before anything is allocated. Equals the graph's count ({@code Weights#parameterCount}) and
   * transformers' (Idefics3-8B: 8,462,086,384).
   */
  public long parameterCount() {
    long hv = vision.hiddenSize();
    long iv = vision.intermediateSize();
    long patch = vision.patchSize();
    long patches = (long) patchesPerSide() * patchesPerSide();
    long visionEmbeddings = vision.numChannels() * patch * patch * hv + hv + patches * hv;
    long visionLayer =
        4 * (hv * hv + hv) // q, k, v, out projections with biases
            + (hv * iv + iv) // fc1
            + (iv * hv + hv) // fc2
            + 4 * hv; // layer_norm1, layer_norm2 (weight, bias)
    long visionTower = visionEmbeddings + vision.numHiddenLayers() * visionLayer + 2 * hv;

    long connector = hv * scaleFactor * scaleFactor * text.hiddenSize(); // modality_projection

    long h = text.hiddenSize();
    long attention = (long) text.numAttentionHeads() * text.headDim();
    long keyValue = (long) text.numKeyValueHeads() * text.headDim();
    long textLayer =
        h * attention
            + 2 * h * keyValue
            + attention * h // q, k, v, o
            + 3 * h * text.intermediateSize() // gate, up, down
            + 2 * h; // input_layernorm, post_attention_layernorm
    long embeddings = (long) text.vocabSize() * h;
    long textModel = embeddings + text.numHiddenLayers() * textLayer + h;
    long lmHead = text.tieWordEmbeddings() ? 0 : embeddings;
    return visionTower + connector + textModel + lmHead;
  }

  /**
   * The vision tower ("vision_config").
   *
   * @param hiddenSize "hidden_size"
   * @param intermediateSize "intermediate_size"
   * @param numHiddenLayers "num_hidden_layers"
   * @param numAttentionHeads "num_attention_heads"
   * @param numChannels "num_channels"
   * @param imageSize "image_size", the side of one frame in pixels
   * @param patchSize "patch_size"
   * @param hiddenAct "hidden_act"
   * @param layerNormEps "layer_norm_eps"
   */
  public record Vision(
      int hiddenSize,
      int intermediateSize,
      int numHiddenLayers,
      int numAttentionHeads,
      int numChannels,
      int imageSize,
      int patchSize,
      String hiddenAct,
      double layerNormEps) {

    public int headDim() {
      return hiddenSize / numAttentionHeads;
    }
  }

  /**
   * The Llama text decoder ("text_config").
   *
   * @param hiddenSize "hidden_size"
   * @param intermediateSize "intermediate_size"
   * @param numHiddenLayers "num_hidden_layers"
   * @param numAttentionHeads "num_attention_heads"
   * @param numKeyValueHeads "num_key_value_heads" (defaults to the attention heads: no GQA)
   * @param headDim "head_dim" (defaults to hidden / heads)
   * @param vocabSize "vocab_size"
   * @param rmsNormEps "rms_norm_eps"
   * @param ropeTheta "rope_theta" (or "rope_parameters"."rope_theta")
   * @param ropeScaling "rope_scaling" (or "rope_parameters"), null when none
   * @param maxPositionEmbeddings "max_position_embeddings"
   * @param tieWordEmbeddings "tie_word_embeddings" of the text config: whether lm_head is the
   *     embedding matrix
   */
  public record Text(
      int hiddenSize,
      int intermediateSize,
      int numHiddenLayers,
      int numAttentionHeads,
      int numKeyValueHeads,
      int headDim,
      int vocabSize,
      double rmsNormEps,
      double ropeTheta,
      RopeScaling ropeScaling,
      int maxPositionEmbeddings,
      boolean tieWordEmbeddings) {}

  /**
   * Llama 3 RoPE frequency scaling ("rope_type": "llama3"); the only scaling this architecture's
   * checkpoints use.
   */
  public record RopeScaling(
      double factor,
      double lowFreqFactor,
      double highFreqFactor,
      int originalMaxPositionEmbeddings) {}
}
