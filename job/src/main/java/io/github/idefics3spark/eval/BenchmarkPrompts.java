package io.github.idefics3spark.eval;

import io.github.idefics3spark.python.PythonStr;
import java.util.ArrayList;
import java.util.List;

/**
 * The user text of each benchmark's questions, as lmms-eval (EvolvingLMMs-Lab/lmms-eval, commit
 * 75571cf, {@code lmms_eval/tasks/}) builds it with its default settings; lmms-eval is the harness
 * Idefics3 and SmolVLM results are commonly reproduced with, and its {@code idefics2} model puts
 * the images before this text in one user turn, as the job does (MMMU interleaves them: {@link
 * #mmmu}). No assistant prefix is used, and decoding is greedy.
 *
 * <table>
 *   <caption>prompts and their sources</caption>
 *   <tr><th>benchmark</th><th>user text</th><th>lmms-eval source</th></tr>
 *   <tr><td>DocVQA, InfographicVQA</td><td>{@code {question}\nAnswer the question using a single
 *       word or phrase.}</td><td>{@code docvqa/_default_template_docvqa_yaml}, {@code
 *       infovqa/_default_template_infovqa_yaml} ({@code post_prompt}); {@code
 *       docvqa_doc_to_text}</td></tr>
 *   <tr><td>TextVQA</td><td>{@code {question.capitalize()}\nAnswer the question using a single
 *       word or phrase.}</td><td>{@code textvqa/_default_template_textvqa_yaml}, {@code
 *       textvqa_doc_to_text} (OCR tokens off)</td></tr>
 *   <tr><td>MMMU</td><td>{@code {question}\nA. {option 1}\nB. {option 2}...\n\nAnswer with the
 *       option's letter from the given choices directly.}; open questions: {@code
 *       {question}\n\nAnswer the question using a single word or phrase.}</td><td>{@code
 *       mmmu/mmmu_val.yaml}, {@code mmmu/utils.py} {@code construct_prompt}, {@code
 *       parse_options}, {@code mmmu_doc_to_messages} (images where the text names them)</td></tr>
 *   <tr><td>MMStar</td><td>{@code {question.strip()}\nAnswer with the option's letter from the
 *       given choices directly} (no final period), " Please answer yes or no." removed from the
 *       question</td><td>{@code mmstar/_default_template_yaml}, {@code mmstar_doc_to_text}</td></tr>
 *   <tr><td>MathVista</td><td>{@code {question}[ (Unit: {unit})]\nA. {choice 1}\nB. ...\n{hint}}
 *       with the hint by answer type (below)</td><td>{@code mathvista/mathvista_testmini_format.yaml}
 *       (shot_type {@code format-prompt}, 0 shots), {@code mathvista_evals.py} {@code
 *       create_one_query}</td></tr>
 * </table>
 *
 * <p>Generation lengths follow the same files where they set one (DocVQA and InfographicVQA 32 new
 * tokens, MMMU 128); the job's defaults for the others are in {@code Benchmark}.
 */
public final class BenchmarkPrompts {

  /** lmms-eval's {@code post_prompt} of DocVQA, InfographicVQA and TextVQA. */
  public static final String SHORT_ANSWER = "Answer the question using a single word or phrase.";

  /** lmms-eval's MMMU {@code multiple_choice_prompt}. */
  public static final String MMMU_MULTIPLE_CHOICE =
      "Answer with the option's letter from the given choices directly.";

  /** lmms-eval's MMStar {@code post_prompt}, without a final period as in its yaml. */
  public static final String MMSTAR_POST_PROMPT =
      "\nAnswer with the option's letter from the given choices directly";

  /** What lmms-eval's MMStar task removes from questions ({@code replace_prompt}). */
  static final String MMSTAR_YES_NO = " Please answer yes or no.";

  private BenchmarkPrompts() {}

  /** DocVQA and InfographicVQA: {@code f"{question}\nAnswer the question using ..."}. */
  public static String docVqa(String question) {
    return question + "\n" + SHORT_ANSWER;
  }

  /**
   * TextVQA: {@code f"{question.capitalize()}\nAnswer the question using ..."}. Python's {@code
   * capitalize}: the first character in title case, the others lower-cased (Java's simple
   * title-case mapping for the first one).
   */
  public static String textVqa(String question) {
    return capitalize(question) + "\n" + SHORT_ANSWER;
  }

  static String capitalize(String s) {
    if (s.isEmpty()) {
      return s;
    }
    int first = s.codePointAt(0);
    int rest = Character.charCount(first);
    return new String(Character.toChars(Character.toTitleCase(first)))
        + PythonStr.lower(s.substring(rest));
  }

  /**
   * MMMU: a multiple-choice question followed by its options lettered {@code A. }, {@code B. }...,
   * one a line, a blank line and the instruction; an open question followed by a blank line and
   * {@link #SHORT_ANSWER}. The {@code <image k>} markers of the question and options stay: the
   * request places image k there (lmms-eval's interleaved messages).
   *
   * @param options the parsed {@code options} list (see {@link PythonLiteral#stringList})
   */
  public static String mmmu(String question, String questionType, List<String> options) {
    if (MmmuScore.isMultipleChoice(questionType)) {
      return question + "\n" + lettered(options, ". ") + "\n\n" + MMMU_MULTIPLE_CHOICE;
    }
    return question + "\n\n" + SHORT_ANSWER;
  }

  /** MMStar: the stripped question without " Please answer yes or no.", then the instruction. */
  public static String mmstar(String question) {
    return PythonStr.strip(question).replace(MMSTAR_YES_NO, "") + MMSTAR_POST_PROMPT;
  }

  /**
   * MathVista, lmms-eval's {@code format-prompt}: the question (with {@code " (Unit: u)"} when it
   * has a unit), the choices lettered {@code A. }..., and a hint by type: multiple choice {@code
   * Answer with the option's letter from the given choices directly.}; integer {@code Answer the
   * question using a single integer number.}; float with precision 1 or 2 {@code Answer the
   * question using a single floating-point number with one decimal place.} (two decimal places);
   * list {@code Answer the question using a Python list.}; the non-empty parts joined by new lines.
   *
   * <p>lmms-eval has no hint for a float with another precision (its code fails there); this
   * project says {@code with N decimal places}, or nothing about places when the precision is
   * missing, and no hint for a free-form text answer.
   */
  public static String mathVista(
      String question,
      String unit,
      List<String> choices,
      String questionType,
      String answerType,
      Double precision) {
    String questionText = question;
    if (unit != null && !unit.isEmpty()) {
      questionText += " (Unit: " + unit + ")";
    }
    String choicesText = choices == null || choices.isEmpty() ? "" : lettered(choices, ". ");
    String hint;
    if ("multi_choice".equals(questionType)) {
      hint = MMMU_MULTIPLE_CHOICE;
    } else if ("integer".equals(answerType)) {
      hint = "Answer the question using a single integer number.";
    } else if ("float".equals(answerType)) {
      hint = "Answer the question using a single floating-point number" + places(precision) + ".";
    } else if ("list".equals(answerType)) {
      hint = "Answer the question using a Python list.";
    } else {
      hint = "";
    }
    List<String> elements = new ArrayList<>();
    for (String e : List.of(questionText, choicesText, hint)) {
      if (!e.isEmpty()) {
        elements.add(e);
      }
    }
    return PythonStr.strip("\n\n" + String.join("\n", elements));
  }

  private static String places(Double precision) {
    if (precision == null || precision.isNaN() || precision.isInfinite()) {
      return "";
    }
    int n = (int) precision.doubleValue();
    return switch (n) {
      case 1 -> " with one decimal place";
      case 2 -> " with two decimal places";
      default -> " with " + n + " decimal places";
    };
  }

  /** {@code "\n".join(f"{chr(ord('A') + i)}{separator}{option}")}. */
  private static String lettered(List<String> options, String separator) {
    List<String> lines = new ArrayList<>(options.size());
    for (int i = 0; i < options.size(); i++) {
      lines.add((char) ('A' + i) + separator + options.get(i));
    }
    return String.join("\n", lines);
  }
}
