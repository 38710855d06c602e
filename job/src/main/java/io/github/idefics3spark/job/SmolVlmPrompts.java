package io.github.idefics3spark.job;

import io.github.idefics3spark.eval.PythonLiteral;
import io.github.idefics3spark.idefics3.processor.Idefics3Processor;
import io.github.idefics3spark.python.PythonStr;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;

/**
 * SmolVLM's own evaluation prompts ({@code --prompt-style smolvlm}): what VLMEvalKit
 * (open-compass/VLMEvalKit, commit e8e78f0) asks SmolVLM, class {@code SmolVLM} of {@code
 * vlmeval/vlm/smolvlm.py}: {@code generate_inner} picks a {@code build_prompt_*} method by dataset,
 * which rewrites the message VLMEvalKit's dataset class built ({@code ImageVQADataset}, {@code
 * ImageMCQDataset}, {@code MMMUDataset}... {@code build_prompt}) into one raw prompt string, images
 * first as {@code <image>} (MMMU: each image labelled {@code <image k>:}, then the question naming
 * them), and for multiple-choice questions {@code Assistant: Answer:}, the answer's start.
 *
 * <p>That string is {@code <|im_start|>User:} (or {@code User: } when it starts with text), the
 * user turn, {@code <end_of_utterance>\nAssistant:}, then {@code " Answer:"} or nothing: exactly
 * SmolVLM's chat template around one user turn, with {@code Answer:} an assistant prefix (the
 * template writes {@code Assistant: } before a text). So a {@link Turn} holds the user turn with
 * {@code <image>} where each image goes ({@code image_slots}) and the prefix, and the job renders
 * it with the model's own template: with a SmolVLM checkpoint the text is VLMEvalKit's, character
 * for character (pinned by {@code eval/smolvlm_prompts.json}, which {@code make_smolvlm_prompts.py}
 * writes by running that code). The answer is the generated text stripped, as {@code
 * generate_inner} returns it; VLMEvalKit's own scorers then differ from the official ones the job
 * uses, and its {@code max_new_tokens} is 2048.
 *
 * <p>VLMEvalKit reads its own TSV files; each benchmark's rule reads the Hugging Face columns as
 * the TSV holds them (MMStar's inline options as columns A, B...; MathVista's {@code query} as the
 * question; an empty ScienceQA hint as none), as {@code make_smolvlm_prompts.py} documents.
 */
final class SmolVlmPrompts {
  /** Where the prompts come from. */
  static final String SOURCE =
      "open-compass/VLMEvalKit e8e78f05 vlmeval/vlm/smolvlm.py, class SmolVLM";

  /** What a multiple-choice answer starts with: smolvlm.py's {@code "Assistant: Answer:"}. */
  static final String ANSWER_PREFIX = "Answer:";

  private static final String IMAGE = Idefics3Processor.IMAGE_TOKEN;

  /** {@code ImageVQADataset.build_prompt}'s suffix of every question (DocVQA, TextVQA, ...). */
  static final String VQA_INSTRUCTION = "\nAnswer the question using a single word or phrase.";

  /** {@code build_prompt_default(add_brief=True)} (InfographicVQA, OCRBench). */
  static final String BRIEF = "\nGive a very brief answer.";

  /** {@code build_prompt_docvqa}'s instructions, after the image. */
  static final String DOCVQA =
      "Give a short and terse answer to the following question. Do not paraphrase or reformat"
          + " the text you see in the image. Do not include any full stops. Just give the answer"
          + " without additional explanation. Question: ";

  /** {@code build_prompt_textvqa}'s instructions, after the image. */
  static final String TEXTVQA =
      "Answer the following question about the image using as few words as possible. Follow"
          + " these additional instructions:\n"
          + "-Always answer a binary question with Yes or No.\n"
          + "-When asked what time it is, reply with the time seen in the image.\n"
          + "-Do not put any full stops at the end of the answer.\n"
          + "-Do not put quotation marks around the answer.\n"
          + "-An answer with one or two words is favorable.\n"
          + "-Do not apply common sense knowledge. The answer can be found in the image.\n"
          + "Question: ";

  /**
   * {@code build_prompt_chartqa}'s instructions, after the image; class SmolVLM writes {@code
   * Don’t} with U+2019 (SmolVLM2's copy has an ASCII apostrophe).
   */
  static final String CHARTQA =
      "For the question below, follow the following instructions:\n"
          + "-The answer should contain as few words as possible.\n"
          + "-Don\u2019t paraphrase or reformat the text you see in the image.\n"
          + "-Answer a binary question with Yes or No.\n"
          + "-When asked to give a numerical value, provide a number like 2 instead of Two.\n"
          + "-If the final answer has two or more items, provide it in the list format like"
          + " [1, 2].\n"
          + "-When asked to give a ratio, give out the decimal value like 0.25 instead of 1:4.\n"
          + "-When asked to give a percentage, give out the whole value like 17 instead of"
          + " decimal like 0.17%.\n"
          + "-Don\u2019t include any units in the answer.\n"
          + "-Do not include any full stops at the end of the answer.\n"
          + "-Try to include the full label from the graph when asked about an entity.\n"
          + "Question: ";

  /** {@code ImageMCQDataset.build_prompt}'s last line, which smolvlm.py replaces. */
  private static final String SELECT = "Please select the correct answer from the options above.";

  /** {@code build_prompt_mathvista}'s replacements, in order. */
  private static final String[][] MATHVISTA_REPLACEMENTS = {
    {"(A) ", "A. "},
    {"(B) ", "B. "},
    {"(C) ", "C. "},
    {"(D) ", "D. "},
    {"(E) ", "E. "},
    {"(F) ", "F. "},
    {"(G) ", "G. "},
    {"(H) ", "H. "},
    {"\nOptions:", "\nChoices:"},
    {"Hint: ", ""},
  };

  /** {@code build_prompt_puremcq}'s replacements, in order. */
  private static final String[][] PUREMCQ_REPLACEMENTS = {
    {"\nOptions:", "\nChoices:"}, {SELECT, "Answer with the letter."},
  };

  /** {@code build_prompt_mmmu}'s replacements, in order. */
  private static final String[][] MMMU_REPLACEMENTS = {
    {"Question:", ""}, {SELECT, "Answer with the letter."}, {"\nOptions:", "\nChoices:"},
  };

  /** MMStar's Hugging Face question: the question, then its options inline. */
  private static final String MMSTAR_OPTIONS = "\nOptions: ";

  private SmolVlmPrompts() {}

  /**
   * One question as SmolVLM's evaluation asks it.
   *
   * @param text the user turn, {@code <image>} where each image goes, the rest as written
   * @param slots for each {@code <image>} in order, which of the row's images (1-based) stands
   *     there
   * @param assistantPrefix what the answer starts with ({@link #ANSWER_PREFIX}), or null
   */
  record Turn(String text, List<Integer> slots, String assistantPrefix) implements Serializable {
    Turn {
      slots = List.copyOf(slots);
    }
  }

  /** Builds one question's {@link Turn} from its dataset row. */
  @FunctionalInterface
  interface Rule extends Serializable {
    /**
     * @param row the {@link Prompt#columns} of the row the dataset has
     * @param imageCount the row's images
     * @throws IllegalArgumentException when VLMEvalKit's code could not prompt the row
     */
    Turn turn(Row row, int imageCount);
  }

  /**
   * How SmolVLM's evaluation asks one benchmark's questions.
   *
   * @param method the {@code build_prompt_*} method of smolvlm.py and how it is called
   * @param dataset VLMEvalKit's name of the dataset, which picks the method
   * @param columns the dataset columns the rule reads, the question text first
   * @param rule the rule
   */
  record Prompt(String method, String dataset, List<BenchmarkColumn> columns, Rule rule)
      implements Serializable {
    /** The names of {@link #columns}. */
    List<String> columnNames() {
      return columns.stream().map(BenchmarkColumn::name).toList();
    }
  }

  private static BenchmarkColumn question() {
    return BenchmarkColumn.QUESTION;
  }

  static final Prompt DOCVQA_PROMPT =
      new Prompt(
          "build_prompt_docvqa",
          "DocVQA_VAL",
          List.of(question()),
          (row, images) -> docVqa(BenchmarkRows.question(row)));

  static final Prompt INFOVQA_PROMPT =
      new Prompt(
          "build_prompt_default(add_brief=True)",
          "InfoVQA_VAL",
          List.of(question()),
          (row, images) -> brief(BenchmarkRows.question(row) + VQA_INSTRUCTION, images));

  static final Prompt TEXTVQA_PROMPT =
      new Prompt(
          "build_prompt_textvqa",
          "TextVQA_VAL",
          List.of(question()),
          (row, images) -> textVqa(BenchmarkRows.question(row)));

  static final Prompt CHARTQA_PROMPT =
      new Prompt(
          "build_prompt_chartqa",
          "ChartQA_TEST",
          List.of(question()),
          (row, images) -> chartQa(BenchmarkRows.question(row)));

  static final Prompt OCRBENCH_PROMPT =
      new Prompt(
          "build_prompt_default(add_brief=True)",
          "OCRBench",
          List.of(question()),
          (row, images) -> brief(BenchmarkRows.question(row), images));

  static final Prompt MATHVISTA_PROMPT =
      new Prompt(
          "build_prompt_mathvista",
          "MathVista_MINI",
          List.of(
              BenchmarkColumn.string(
                      "query", "the full query (hint, question, choices), VLMEvalKit's question")
                  .promptOnly()),
          (row, images) -> mathVista(BenchmarkRows.string(row, "query")));

  static final Prompt MMSTAR_PROMPT =
      new Prompt(
          "build_prompt_puremcq",
          "MMStar",
          List.of(question()),
          (row, images) -> mmStar(BenchmarkRows.question(row), images));

  static final Prompt AI2D_PROMPT =
      new Prompt(
          "build_prompt_puremcq",
          "AI2D_TEST",
          List.of(question(), BenchmarkColumn.strings("options", "the options")),
          (row, images) ->
              pureMcq(
                  null, BenchmarkRows.question(row), BenchmarkRows.list(row, "options"), images));

  static final Prompt SCIENCEQA_PROMPT =
      new Prompt(
          "build_prompt_puremcq",
          "ScienceQA_TEST",
          List.of(
              question(),
              BenchmarkColumn.string("hint", "the context, empty when none").promptOnly(),
              BenchmarkColumn.strings("choices", "the options")),
          (row, images) -> {
            String hint = BenchmarkRows.string(row, "hint");
            return pureMcq(
                hint == null || hint.isEmpty() ? null : hint, // an empty TSV field reads as NaN
                BenchmarkRows.question(row),
                BenchmarkRows.list(row, "choices"),
                images);
          });

  static final Prompt MMMU_PROMPT =
      new Prompt(
          "build_prompt_mmmu",
          "MMMU_DEV_VAL",
          List.of(
              BenchmarkColumn.string("question", "the question, with <image N> where image N goes")
                  .promptOnly(),
              BenchmarkColumn.string("options", "the options, a Python list literal")),
          (row, images) -> {
            String options = BenchmarkRows.string(row, "options");
            return mmmu(
                BenchmarkRows.question(row),
                options == null ? List.of() : PythonLiteral.stringList(options),
                images);
          });

  /** {@code build_prompt_docvqa} of {@code ImageVQADataset}'s message. */
  static Turn docVqa(String question) {
    return oneImage(DOCVQA + PythonStr.strip(question + VQA_INSTRUCTION), null);
  }

  /** {@code build_prompt_textvqa} of {@code ImageVQADataset}'s message. */
  static Turn textVqa(String question) {
    return oneImage(TEXTVQA + PythonStr.strip(question + VQA_INSTRUCTION), null);
  }

  /** {@code build_prompt_chartqa} of {@code ImageVQADataset}'s message. */
  static Turn chartQa(String question) {
    return oneImage(CHARTQA + PythonStr.strip(question + VQA_INSTRUCTION), null);
  }

  /**
   * {@code build_prompt_default(add_brief=True)}: each image, the text stripped, {@link #BRIEF}.
   */
  static Turn brief(String text, int imageCount) {
    return new Turn(
        IMAGE.repeat(imageCount) + PythonStr.strip(text) + BRIEF, firstImages(imageCount), null);
  }

  /**
   * {@code build_prompt_mathvista} of the query (VLMEvalKit's MathVista question): {@code (A) }
   * made {@code A. }..., {@code Hint: } dropped, stripped; {@link #ANSWER_PREFIX} when the prompt
   * holds {@code A.} and {@code B.} (nothing else around it can form them).
   */
  static Turn mathVista(String query) {
    String text = PythonStr.strip(replaced(PythonStr.strip(query), MATHVISTA_REPLACEMENTS));
    return oneImage(text, hasOptions(text) ? ANSWER_PREFIX : null);
  }

  /**
   * {@code build_prompt_puremcq} of {@code ImageMCQDataset}'s message: each image, the stripped
   * text with {@code Choices:} and {@code Answer with the letter.}, and {@link #ANSWER_PREFIX}.
   *
   * @param hint the hint, null for none
   * @param options the options, lettered A, B... in order; a null one is left out, its letter too
   *     (a NaN column of the TSV)
   */
  static Turn pureMcq(String hint, String question, List<String> options, int imageCount) {
    String text =
        IMAGE.repeat(imageCount)
            + replaced(PythonStr.strip(mcqText(hint, question, options)), PUREMCQ_REPLACEMENTS);
    return new Turn(text, firstImages(imageCount), ANSWER_PREFIX);
  }

  /**
   * MMStar through {@code build_prompt_puremcq}: the Hugging Face question {@code "...\nOptions: A:
   * x, B: y, ..."} read as VLMEvalKit's TSV holds it, the text before the last {@code \nOptions: }
   * as the question and the options, cut at {@code ", B: "}, {@code ", C: "}..., in columns A, B...
   *
   * @throws IllegalArgumentException when the question has no {@code \nOptions: A: } part
   */
  static Turn mmStar(String question, int imageCount) {
    int at = question.lastIndexOf(MMSTAR_OPTIONS);
    if (at < 0 || !question.startsWith("A: ", at + MMSTAR_OPTIONS.length())) {
      throw new IllegalArgumentException(
          "the question has no options part '\\nOptions: A: ..., B: ...' as MMStar's questions"
              + " do, which SmolVLM's prompt lists as choices");
    }
    List<String> options = new ArrayList<>();
    String rest = question.substring(at + MMSTAR_OPTIONS.length() + "A: ".length());
    for (char letter = 'B'; letter <= 'Z'; letter++) {
      String separator = ", " + letter + ": ";
      int cut = rest.indexOf(separator);
      if (cut < 0) {
        break;
      }
      options.add(rest.substring(0, cut));
      rest = rest.substring(cut + separator.length());
    }
    options.add(rest);
    return pureMcq(null, question.substring(0, at), options, imageCount);
  }

  /**
   * {@code build_prompt_mmmu} of {@code MMMUDataset}'s message. The message is {@code
   * ImageMCQDataset}'s text cut at each {@code "<image "} ({@code split_MMMU}): the digit after it
   * names the image (0 the last one, Python's {@code images[-1]}), the two characters {@code "k>"}
   * are dropped, so each mention is one image in the message, repeated mentions and all; a text
   * without mentions has all the row's images first. The turn: {@code Question: }, {@code <image
   * k>:<image>\n} for the k-th image of the message, then the message with each image as {@code "
   * <image k> "} and each text piece stripped, {@code Question:} dropped, {@code Choices:} and
   * {@code Answer with the letter.}; {@link #ANSWER_PREFIX} when it holds {@code A.} and {@code
   * B.}.
   *
   * @throws IllegalArgumentException where split_MMMU's assertion fails: {@code "<image "} not
   *     followed by a digit and {@code >}
   */
  static Turn mmmu(String question, List<String> options, int imageCount) {
    String text = mcqText(null, question, options);
    String[] segments = text.split(Pattern.quote("<image "), -1);
    List<String> texts = new ArrayList<>(); // the message's text pieces, one before each image
    List<Integer> images = new ArrayList<>();
    if (segments.length == 1) {
      for (int k = 1; k <= imageCount; k++) {
        texts.add("");
        images.add(k);
      }
      texts.add(text);
    } else {
      texts.add(segments[0]);
      for (int i = 1; i < segments.length; i++) {
        String s = segments[i];
        if (s.length() < 2 || s.charAt(0) < '0' || s.charAt(0) > '9' || s.charAt(1) != '>') {
          throw new IllegalArgumentException(
              "'<image "
                  + s.substring(0, Math.min(2, s.length()))
                  + "' in the question or its options is not an image mention <image k>, k one"
                  + " digit, which VLMEvalKit's split_MMMU asserts");
        }
        int k = s.charAt(0) - '0';
        images.add(k == 0 ? imageCount : k);
        texts.add(s.substring(2));
      }
    }
    StringBuilder turn = new StringBuilder("Question: ");
    for (int k = 1; k <= images.size(); k++) {
      turn.append("<image ").append(k).append(">:").append(IMAGE).append('\n');
    }
    for (int i = 0; i < texts.size(); i++) {
      if (i > 0) {
        turn.append(" <image ").append(i).append("> ");
      }
      turn.append(PythonStr.strip(replaced(PythonStr.strip(texts.get(i)), MMMU_REPLACEMENTS)));
    }
    String built = turn.toString();
    return new Turn(built, images, hasOptions(built) ? ANSWER_PREFIX : null);
  }

  /**
   * {@code ImageMCQDataset.build_prompt}'s text: {@code Hint: h\n} when there is a hint, {@code
   * Question: q\n}, and with options {@code Options:\n}, {@code X. option\n} each and the {@code
   * Please select...} line.
   */
  static String mcqText(String hint, String question, List<String> options) {
    StringBuilder p = new StringBuilder();
    if (hint != null) {
      p.append("Hint: ").append(hint).append('\n');
    }
    p.append("Question: ").append(question).append('\n');
    List<String> given = options == null ? List.of() : options;
    if (given.stream().anyMatch(o -> o != null)) {
      p.append("Options:\n");
      for (int i = 0; i < given.size(); i++) {
        if (given.get(i) != null) {
          p.append((char) ('A' + i)).append(". ").append(given.get(i)).append('\n');
        }
      }
      p.append(SELECT).append(" \n");
    }
    return p.toString();
  }

  /** smolvlm.py's {@code "A." in prompt and "B." in prompt}. */
  private static boolean hasOptions(String text) {
    return text.contains("A.") && text.contains("B.");
  }

  private static String replaced(String text, String[][] replacements) {
    String out = text;
    for (String[] r : replacements) {
      out = out.replace(r[0], r[1]);
    }
    return out;
  }

  /** The single {@code <image>} the method writes, then the text. */
  private static Turn oneImage(String text, String prefix) {
    return new Turn(IMAGE + text, List.of(1), prefix);
  }

  private static List<Integer> firstImages(int count) {
    List<Integer> slots = new ArrayList<>(count);
    for (int k = 1; k <= count; k++) {
      slots.add(k);
    }
    return Collections.unmodifiableList(slots);
  }
}
