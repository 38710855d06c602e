package io.github.idefics3spark.job;

import java.util.Locale;
import java.util.Set;

/**
 * The names input columns pass through to the output under: an input column whose name the output
 * also uses, in any case ({@code answer}, {@code question}, {@code error}...), is passed through as
 * {@code input_<name>}; MMMU's reference {@code answer} becomes {@code input_answer}.
 */
final class PassThrough {
  /** Prefix of pass-through columns renamed because the output uses their name. */
  static final String RENAMED_PREFIX = "input_";

  /** Column names of the inference stage's output, which pass-through columns must not take. */
  static final Set<String> OUTPUT_NAMES =
      Set.of(
          "id",
          "images",
          "question",
          "assistant_prefix",
          "task",
          "image_slots",
          "image_count",
          "answer",
          "prompt_tokens",
          "generated_tokens",
          "image_frames",
          "preprocess_ms",
          "encode_ms",
          "generate_ms",
          "model",
          "error",
          "error_kind",
          "mc_options",
          "option_logprobs");

  private PassThrough() {}

  /** The name an input column passes through under: {@code input_<name>} if the output uses it. */
  static String name(String name) {
    return OUTPUT_NAMES.contains(name.toLowerCase(Locale.ROOT)) ? RENAMED_PREFIX + name : name;
  }
}
