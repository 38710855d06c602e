package io.github.idefics3spark.idefics3.checkpoint;

import java.util.List;

/**
 * Decoding defaults, from generation_config.json.
 *
 * @param eosTokenIds "eos_token_id": one id or several; generation stops at any of them
 * @param padTokenId "pad_token_id", or null when the file has none
 * @param bosTokenId "bos_token_id", or null
 * @param maxNewTokens "max_new_tokens", or transformers' default of 20
 * @param doSample "do_sample", false unless the file says otherwise
 * @param temperature "temperature", 1.0 by default
 * @param topK "top_k", 50 by default (transformers' default)
 * @param topP "top_p", 1.0 by default
 */
public record GenerationConfig(
    List<Integer> eosTokenIds,
    Integer padTokenId,
    Integer bosTokenId,
    int maxNewTokens,
    boolean doSample,
    double temperature,
    int topK,
    double topP) {}
