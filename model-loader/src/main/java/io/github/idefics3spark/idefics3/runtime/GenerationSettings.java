package io.github.idefics3spark.idefics3.runtime;

import io.github.idefics3spark.idefics3.checkpoint.GenerationConfig;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;

/**
 * How {@link Idefics3Package#generate} decodes: the length limit, the stop and pad ids, and greedy
 * or sampled choice of each token.
 *
 * @param maxNewTokens new tokens per row at most, at least 1
 * @param eosTokenIds a row stops at any of these (generation_config's eos_token_id)
 * @param padTokenId what a finished row emits
 * @param doSample false: greedy (argmax); true: sample with the three settings below
 * @param temperature logits are divided by it before sampling
 * @param topK keep the k most likely tokens; 0 keeps all
 * @param topP keep the smallest set of tokens whose probability reaches p; 1 keeps all
 * @param seed the same seed, batch and settings give the same tokens
 */
public record GenerationSettings(
    int maxNewTokens,
    int[] eosTokenIds,
    int padTokenId,
    boolean doSample,
    float temperature,
    int topK,
    float topP,
    long seed) {

  public GenerationSettings {
    if (maxNewTokens < 1) {
      throw new IllegalArgumentException("max_new_tokens is " + maxNewTokens + ", expected >= 1");
    }
    if (doSample && !(temperature > 0)) {
      throw new IllegalArgumentException("temperature is " + temperature + ", expected > 0");
    }
    if (topP <= 0 || topP > 1) {
      throw new IllegalArgumentException("top_p is " + topP + ", expected in (0, 1]");
    }
    eosTokenIds = eosTokenIds.clone();
  }

  /** Greedy decoding with the checkpoint's stop and pad ids from generation_config.json. */
  public static GenerationSettings greedy(GenerationConfig generation, int maxNewTokens) {
    int[] eos = generation.eosTokenIds().stream().mapToInt(Integer::intValue).toArray();
    int pad =
        generation.padTokenId() != null ? generation.padTokenId() : eos.length > 0 ? eos[0] : 0;
    return new GenerationSettings(maxNewTokens, eos, pad, false, 1f, 0, 1f, 0L);
  }

  /** The same settings without stop ids: every row runs to max_new_tokens. */
  public GenerationSettings withoutStop() {
    return new GenerationSettings(
        maxNewTokens, new int[0], padTokenId, doSample, temperature, topK, topP, seed);
  }

  /** The same settings with another limit on new tokens. */
  public GenerationSettings withMaxNewTokens(int maxNewTokens) {
    return new GenerationSettings(
        maxNewTokens, eosTokenIds, padTokenId, doSample, temperature, topK, topP, seed);
  }

  /** Sampling with the given settings. */
  public GenerationSettings sampling(float temperature, int topK, float topP, long seed) {
    return new GenerationSettings(
        maxNewTokens, eosTokenIds, padTokenId, true, temperature, topK, topP, seed);
  }
}
