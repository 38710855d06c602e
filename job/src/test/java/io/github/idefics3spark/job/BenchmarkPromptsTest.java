package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The user texts lmms-eval's task files build, written out by hand from its code. */
class BenchmarkPromptsTest {

  @Test
  void docVqaAndInfographicVqaAppendTheShortAnswerInstruction() {
    assertEquals(
        "What is the date?\nAnswer the question using a single word or phrase.",
        DocVqa.prompt("What is the date?"));
  }

  @Test
  void textVqaCapitalizesAsPythonDoes() {
    assertEquals(
        "What brand is this camera?\nAnswer the question using a single word or phrase.",
        TextVqa.prompt("what brand is this CAMERA?"));
    assertEquals("ǅx", TextVqa.capitalize("ǆX"), "title case, not upper case");
    assertEquals("", TextVqa.capitalize(""));
    assertEquals("1st place", TextVqa.capitalize("1ST Place"));
  }

  @Test
  void chartQaAsksForASingleWord() {
    assertEquals(
        "How many bars are there?\nAnswer the question with a single word.",
        ChartQa.prompt("How many bars are there?"));
  }

  @Test
  void ocrBenchSendsTheQuestionStripped() {
    // lmms-eval's ocrbench_doc_to_text, as eval/ocrbench_cases.json records it
    assertEquals("What is the total?", OcrBench.prompt("  What is the total?\n"));
    assertEquals("Q", OcrBench.prompt("Q"));
  }

  @Test
  void ai2dLettersEachOptionOnItsOwnLine() {
    // lmms-eval's ai2d_doc_to_text, as eval/ai2d_cases.json records it
    assertEquals(
        "What eats grass?\nA. deer\nB. wolf\n"
            + "Answer with the option's letter from the given choices directly.",
        Ai2d.prompt("What eats grass?", List.of("deer", "wolf")));
    assertEquals(
        "Label E?\nA. a\nB. b\nC. c\nD. d\nE. e\nF. f\n"
            + "Answer with the option's letter from the given choices directly.",
        Ai2d.prompt("Label E?", List.of("a", "b", "c", "d", "e", "f")));
  }

  @Test
  void scienceQaPutsANonEmptyHintAsContextBeforeTheQuestion() {
    // lmms-eval's sqa_doc_to_text, as eval/scienceqa_img_cases.json records it
    String post = "Answer with the option's letter from the given choices directly.";
    assertEquals(
        "Which is shown?\nA. sun\nB. moon\nC. earth\n" + post,
        ScienceQaImg.prompt("", "Which is shown?", List.of("sun", "moon", "earth")));
    assertEquals(
        "Context: The diagram shows a food web.\nWhat eats grass?\nA. deer\nB. wolf\n" + post,
        ScienceQaImg.prompt(
            "The diagram shows a food web.", "What eats grass?", List.of("deer", "wolf")));
    assertEquals(
        "NoneLabel E?\nA. a\nB. b\nC. c\nD. d\nE. e\n" + post,
        ScienceQaImg.prompt(null, "Label E?", List.of("a", "b", "c", "d", "e")));
    assertEquals(
        "Context:   \nWhich?\nA. x\n" + post, ScienceQaImg.prompt("  ", "Which?", List.of("x")));
  }

  @Test
  void vqaV2KeepsTheQuestionAsItIs() {
    assertEquals(
        "what brand is this CAMERA?\nAnswer the question using a single word or phrase.",
        VqaV2.prompt("what brand is this CAMERA?"));
  }

  @Test
  void mmmuLettersTheOptionsAndKeepsTheImageMarkers() {
    assertEquals(
        "Which cell is shown in <image 1>?\nA. a neuron\nB. <image 2>\nC. an egg\n\n"
            + "Answer with the option's letter from the given choices directly.",
        Mmmu.prompt(
            "Which cell is shown in <image 1>?",
            "multiple-choice",
            List.of("a neuron", "<image 2>", "an egg")));
    assertEquals(
        "How many moles?\n\nAnswer the question using a single word or phrase.",
        Mmmu.prompt("How many moles?", "open", List.of()));
  }

  @Test
  void mmstarStripsTheQuestionAndDropsTheYesNoRequest() {
    assertEquals(
        "Is it a dog? Options: A: yes, B: no\n"
            + "Answer with the option's letter from the given choices directly",
        MmStar.prompt(" Is it a dog? Please answer yes or no. Options: A: yes, B: no\n"));
  }

  @Test
  void mathVistaFormatPromptByQuestionAndAnswerType() {
    assertEquals(
        "What is the angle? (Unit: degrees)\nA. 30\nB. 60\n"
            + "Answer with the option's letter from the given choices directly.",
        MathVista.prompt(
            "What is the angle?", "degrees", List.of("30", "60"), "multi_choice", "text", null));
    assertEquals(
        "How many bars?\nAnswer the question using a single integer number.",
        MathVista.prompt("How many bars?", "", null, "free_form", "integer", null));
    assertEquals(
        "Mean?\nAnswer the question using a single floating-point number with one decimal place.",
        MathVista.prompt("Mean?", null, List.of(), "free_form", "float", 1.0));
    assertEquals(
        "Mean?\nAnswer the question using a single floating-point number with two decimal"
            + " places.",
        MathVista.prompt("Mean?", null, null, "free_form", "float", 2.0));
    assertEquals(
        "Mean?\nAnswer the question using a single floating-point number with 3 decimal places.",
        MathVista.prompt("Mean?", null, null, "free_form", "float", 3.0));
    assertEquals(
        "Points?\nAnswer the question using a Python list.",
        MathVista.prompt("  Points?", null, null, "free_form", "list", null));
  }
}
