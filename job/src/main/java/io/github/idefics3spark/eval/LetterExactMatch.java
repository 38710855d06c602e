package io.github.idefics3spark.eval;

/**
 * An official exact match of a response with a multiple-choice question's gold letter, adding up
 * the accuracy question by question ({@link Ai2dExactMatch}, {@link ScienceQaExactMatch}).
 */
public interface LetterExactMatch {

  /** Scores one question and adds it to the accuracy; returns 1.0 or 0.0. */
  double add(String response, String goldLetter);

  /** The number of questions added. */
  int count();

  /** The mean of the scores: lmms-eval's {@code exact_match} for the benchmark's task. */
  double accuracy();
}
