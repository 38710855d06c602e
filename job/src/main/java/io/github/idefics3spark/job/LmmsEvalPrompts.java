package io.github.idefics3spark.job;

import java.util.ArrayList;
import java.util.List;

/**
 * The parts of lmms-eval's prompts that several benchmarks share; each benchmark's class builds its
 * own user text from them as lmms-eval (EvolvingLMMs-Lab/lmms-eval, commit 75571cf, {@code
 * lmms_eval/tasks/}) builds it with its default settings. lmms-eval is the harness Idefics3 and
 * SmolVLM results are commonly reproduced with, and its {@code idefics2} model puts the images
 * before this text in one user turn, as the job does (MMMU interleaves them: {@link Mmmu}). No
 * assistant prefix is used, and decoding is greedy.
 *
 * <p>Generation lengths follow the same files where they set one (DocVQA and InfographicVQA 32 new
 * tokens, MMMU 128); the job's defaults for the others are in each benchmark's class.
 */
final class LmmsEvalPrompts {

  /** lmms-eval's {@code post_prompt} of DocVQA, InfographicVQA and TextVQA. */
  static final String SHORT_ANSWER = "Answer the question using a single word or phrase.";

  /**
   * lmms-eval's MMMU {@code multiple_choice_prompt}, also MathVista's multiple-choice hint and the
   * AI2D and ScienceQA {@code post_prompt} ({@link #withLetteredOptions}).
   */
  static final String LETTER_ANSWER =
      "Answer with the option's letter from the given choices directly.";

  private LmmsEvalPrompts() {}

  /** The letters {@link #lettered} puts before {@code count} options: A, B, C... */
  static List<String> letters(int count) {
    List<String> letters = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      letters.add(String.valueOf((char) ('A' + i)));
    }
    return letters;
  }

  /**
   * lmms-eval's lettered multiple-choice text (AI2D's {@code ai2d_doc_to_text}, ScienceQA's {@code
   * sqa_doc_to_text} after the context): the question, each option after its letter ({@code A. })
   * on its own line, then {@link #LETTER_ANSWER}, the default {@code post_prompt} of both.
   */
  static String withLetteredOptions(String question, List<String> options) {
    return question + "\n" + lettered(options) + "\n" + LETTER_ANSWER;
  }

  /** {@code "\n".join(f"{chr(ord('A') + i)}. {option}")}. */
  static String lettered(List<String> options) {
    List<String> lines = new ArrayList<>(options.size());
    for (int i = 0; i < options.size(); i++) {
      lines.add((char) ('A' + i) + ". " + options.get(i));
    }
    return String.join("\n", lines);
  }
}
