package io.github.idefics3spark.spark;

import java.io.Serializable;

/**
 * The user text of a request made from a row: a template in which {@value #QUESTION} stands for the
 * row's question, or fixed text (a caption prompt) when it has no placeholder. The images come
 * before the text in the user turn.
 *
 * @param text the template
 */
public record PromptTemplate(String text) implements Serializable {
  /** Where the row's question goes. */
  public static final String QUESTION = "{question}";

  /** The job's caption prompt. */
  public static final PromptTemplate CAPTION = new PromptTemplate("Describe this image.");

  /** The question as it is. */
  public static final PromptTemplate QUESTION_ONLY = new PromptTemplate(QUESTION);

  public PromptTemplate {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException(
          "the prompt template is empty; expected the user text, "
              + QUESTION
              + " standing for each row's question");
    }
  }

  /** Whether the template takes each row's question. */
  public boolean takesQuestion() {
    return text.contains(QUESTION);
  }

  /** The user text for this question; null when the template takes a question and it is null. */
  public String apply(String question) {
    if (!takesQuestion()) {
      return text;
    }
    return question == null ? null : text.replace(QUESTION, question);
  }
}
