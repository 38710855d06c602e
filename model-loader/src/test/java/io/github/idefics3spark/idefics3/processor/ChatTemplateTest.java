package io.github.idefics3spark.idefics3.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.idefics3.checkpoint.CheckpointException;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * ChatTemplate renders as transformers' jinja2 environment does. Every expected string here is what
 * transformers 5.18's render_jinja_template (jinja2 3.1.6) printed for the same template and chat.
 */
class ChatTemplateTest {
  private static final Map<String, String> TOKENS = Map.of("bos_token", "<s>", "eos_token", "</s>");

  /** The chat every jinja2 case was rendered with (add_generation_prompt=True). */
  private static final List<ChatMessage> CHAT =
      List.of(
          ChatMessage.system(ChatMessage.text("  Be brief.  ")),
          ChatMessage.user(ChatMessage.image(), ChatMessage.text("What's THIS? \u00fcn\u00ef")),
          ChatMessage.assistant(ChatMessage.text("A cat")));

  /** Idefics3-8B-Llama3's template, as the model card gives it. */
  private static final String IDEFICS3 =
      "<|begin_of_text|>{% for message in messages %}{{message['role'].capitalize()}}"
          + "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
          + "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
          + "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}"
          + "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

  static Stream<Arguments> jinja2Renderings() {
    return Stream.of(
        Arguments.of(
            "{% for m in messages %}{{ m['role'] | capitalize }}|{{ m.role.capitalize() }}|{{ m.role.upper() }}|{{ m.role.title() }}\n{% endfor %}",
            "System|System|SYSTEM|System\nUser|User|USER|User\nAssistant|Assistant|ASSISTANT|Assistant\n"),
        Arguments.of(
            "line one\n{% for m in messages %}\n  {% if m.role == 'user' %}\n    U: {{ m.content[1].text }}\n  {% else %}\n    O\n  {% endif %}\n{% endfor %}\nend\n",
            "line one\n    O\n    U: What's THIS? \u00fcn\u00ef\n    O\nend"),
        Arguments.of(
            "{{ messages[0].content[0].text | trim }}|{{ messages[0].content[0].text.strip() }}|{{ messages[0].content[0].text.lstrip() }}|{{ messages[0].content[0].text.rstrip() }}|{{ 'a,b,,c'.split(',') | join('/') }}|{{ ' x  y '.split() | join('/') }}",
            "Be brief.|Be brief.|Be brief.  |  Be brief.|a/b//c|x/y"),
        Arguments.of(
            "{{ messages | tojson }}",
            "[{\"role\": \"system\", \"content\": [{\"type\": \"text\", \"text\": \"  Be brief.  \"}]}, {\"role\": \"user\", \"content\": [{\"type\": \"image\"}, {\"type\": \"text\", \"text\": \"What's THIS? \u00fcn\u00ef\"}]}, {\"role\": \"assistant\", \"content\": [{\"type\": \"text\", \"text\": \"A cat\"}]}]"),
        Arguments.of(
            "{{ messages[1] | tojson(indent=2) }}",
            "{\n  \"role\": \"user\",\n  \"content\": [\n    {\n      \"type\": \"image\"\n    },\n    {\n      \"type\": \"text\",\n      \"text\": \"What's THIS? \u00fcn\u00ef\"\n    }\n  ]\n}"),
        Arguments.of(
            "{{ {'b': 1, 'a': [1.5, true, none, 'q\"\\n']} | tojson(sort_keys=true) }}",
            "{\"a\": [1.5, true, null, \"q\\\"\\n\"], \"b\": 1}"),
        Arguments.of(
            "{{ bos_token }}{% for m in messages %}{% if loop.first %}F{% endif %}{{ loop.index0 }}{% if loop.last %}L{% endif %}{% endfor %}{{ eos_token }}",
            "<s>F012L</s>"),
        Arguments.of(
            "{%- for m in messages -%}\n  [{{ m.role }}]\n{%- endfor -%}\n",
            "[system][user][assistant]"),
        Arguments.of(
            "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}",
            "3"),
        Arguments.of(
            "{{ 'Hello World'.startswith('Hello') }} {{ 'x.png'.endswith(('.jpg', '.png')) }} {{ 'aaa'.replace('a', 'b', 2) }}",
            "True True bba"),
        Arguments.of(
            "{% for m in messages %}{% generation %}{{ m.role }}{% endgeneration %}{% endfor %}",
            "systemuserassistant"),
        Arguments.of("{# comment #}\n  {% if add_generation_prompt %}\nA:{% endif %}", "A:"),
        Arguments.of("a\r\nb\r\n", "a\nb"),
        Arguments.of(
            "{{ '\u01c6emo mIXed'.capitalize() }}|{{ 'hello wORLD it\\'s 3rd'.title() }}",
            "\u01c5emo mixed|Hello World It'S 3Rd"),
        Arguments.of(
            "{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}|{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}",
            "ab|a=1"),
        Arguments.of(
            "{% if messages[0]['role'] == 'system' %}{% set sys = messages[0]['content'][0]['text'] %}{% set rest = messages[1:] %}{% else %}{% set sys = '' %}{% endif %}[{{ sys }}]{{ rest | length }}",
            "[  Be brief.  ]2"),
        Arguments.of(
            "{{ undefined_thing }}|{{ tools is none }}|{{ 'x' if tools else 'y' }}|{{ messages[0].get('role') }}|{{ 'a' in 'cat' }}|{{ 'role' in messages[0] }}",
            "|True|y|system|True|True"),
        Arguments.of(
            "{{ raise_exception('Only user and assistant roles are supported!') if messages[0].role == 'nope' else 'fine' }}",
            "fine"),
        Arguments.of(
            "{{ [1, 'a', none, true, 2.5, \"it's\"] }}|{{ {'k': 'v'} }}|{{ 1 + 2 * 3 }}|{{ not true or true }}|{{ 7 // 2 }}|{{ 2 ** 3 }}|{{ 'ab' ~ 1 }}",
            "[1, 'a', None, True, 2.5, \"it's\"]|{'k': 'v'}|7|True|3|8|ab1"));
  }

  @ParameterizedTest
  @MethodSource("jinja2Renderings")
  void rendersAsJinja2WithTransformersEnvironment(String template, String expected) {
    assertEquals(expected, new ChatTemplate(template, TOKENS).render(CHAT, true, false));
  }

  @Test
  void idefics3TemplateWritesOneImageMarkerPerImageItem() {
    String rendered =
        new ChatTemplate(IDEFICS3, TOKENS)
            .render(
                List.of(
                    ChatMessage.user(
                        ChatMessage.image(), ChatMessage.image(), ChatMessage.text("Compare."))),
                true,
                false);
    assertEquals(
        "<|begin_of_text|>User:<image><image>Compare.<end_of_utterance>\nAssistant:", rendered);
  }

  @Test
  void continueFinalMessageKeepsTheFinalTextsTrailingSpace() {
    // transformers 5.18 cuts at its marker, so "Sure: " keeps its space
    String rendered =
        new ChatTemplate(IDEFICS3, TOKENS)
            .render(
                List.of(
                    ChatMessage.user(ChatMessage.text("Count to five.")),
                    ChatMessage.assistant(ChatMessage.text("Sure: "))),
                false,
                true);
    assertEquals(
        "<|begin_of_text|>User: Count to five.<end_of_utterance>\nAssistant: Sure: ", rendered);
  }

  @Test
  void continueFinalMessageUnderATrimmingTemplateEndsStripped() {
    String template =
        "{% for m in messages %}{{ m.role }}: {{ m.content[-1].text | trim }}\n{% endfor %}";
    String rendered =
        new ChatTemplate(template, TOKENS)
            .render(
                List.of(
                    ChatMessage.user(ChatMessage.text("Count")),
                    ChatMessage.assistant(ChatMessage.text("Sure: "))),
                false,
                true);
    assertEquals("user: Count\nassistant: Sure:", rendered);
  }

  @Test
  void continueFinalMessageDropsWhatFollowsTheLastText() {
    String rendered =
        new ChatTemplate(IDEFICS3, TOKENS)
            .render(
                List.of(
                    ChatMessage.user(ChatMessage.text("Say A")),
                    ChatMessage.assistant(ChatMessage.text("A"), ChatMessage.image())),
                false,
                true);
    assertEquals("<|begin_of_text|>User: Say A<end_of_utterance>\nAssistant: A", rendered);
  }

  @Test
  void continueFinalMessageNeedsTextInTheFinalMessage() {
    ChatTemplate template = new ChatTemplate(IDEFICS3, TOKENS);
    PromptException error =
        assertThrows(
            PromptException.class,
            () ->
                template.render(
                    List.of(
                        ChatMessage.user(ChatMessage.text("Hi")),
                        ChatMessage.assistant(ChatMessage.image())),
                    false,
                    true));
    assertTrue(error.getMessage().contains("no text to continue"), error.getMessage());
  }

  @Test
  void raiseExceptionRejectsTheChatWithTheTemplatesMessage() {
    ChatTemplate template =
        new ChatTemplate(
            "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start with"
                + " a user message') }}{% endif %}ok",
            TOKENS);
    assertEquals(
        "ok", template.render(List.of(ChatMessage.user(ChatMessage.text("x"))), true, false));
    PromptException error =
        assertThrows(
            PromptException.class,
            () -> template.render(List.of(ChatMessage.system(ChatMessage.text("x"))), true, false));
    assertTrue(
        error.getMessage().contains("Conversation must start with a user message"),
        error.getMessage());
  }

  @Test
  void aFilterJinjavaLacksFailsWhenTheTemplateIsLoaded() {
    CheckpointException error =
        assertThrows(
            CheckpointException.class,
            () ->
                new ChatTemplate("{{ messages | no_such_filter }}{{ '| not_a_filter' }}", TOKENS));
    assertTrue(error.getMessage().contains("[no_such_filter]"), error.getMessage());
  }

  @Test
  void aTemplateThatDoesNotParseFailsWhenLoaded() {
    CheckpointException error =
        assertThrows(CheckpointException.class, () -> new ChatTemplate("{% if %}x", TOKENS));
    assertTrue(error.getMessage().contains("cannot be rendered"), error.getMessage());
  }

  @Test
  void userTextThatLooksLikeJinjaIsNeverEvaluated() {
    String text = "{{ raise_exception('boom') }}{% if true %}x{% endif %}{{ 6 * 7 }}";
    String rendered =
        new ChatTemplate(IDEFICS3, TOKENS)
            .render(List.of(ChatMessage.user(ChatMessage.text(text))), false, false);
    assertEquals("<|begin_of_text|>User: " + text + "<end_of_utterance>\n", rendered);
  }

  @Test
  void controlCharactersInUserTextArePrintedAsThemselves() {
    String text = "tab\tbell\u0007 escape\u001b end";
    String rendered =
        new ChatTemplate("{{ messages[0]['content'][0]['text'] }}", TOKENS)
            .render(List.of(ChatMessage.user(ChatMessage.text(text))), false, false);
    assertEquals(text, rendered);
  }

  @Test
  void strftimeNowFormatsTheCurrentDate() {
    String year = new ChatTemplate("{{ strftime_now('%Y') }}", TOKENS).render(CHAT, false, false);
    assertEquals(String.valueOf(java.time.Year.now().getValue()), year);
  }

  /** The message of the refusal of a template, at load (its probe render) or at render. */
  private static String refusal(String template) {
    RuntimeException e =
        assertThrows(
            RuntimeException.class,
            () -> new ChatTemplate(template, TOKENS).render(CHAT, true, false));
    return e.getMessage();
  }

  @Test
  void hostileTemplatesAreStoppedQuicklyWithAClearError() {
    long start = System.nanoTime();
    Map<String, String> refusals = new java.util.LinkedHashMap<>();
    refusals.put("{% include 'META-INF/MANIFEST.MF' %}{{ messages[0]['content'] }}", "include");
    refusals.put("{% import 'macros.j2' as m %}hello", "import");
    refusals.put("{% from 'macros.j2' import x %}hello", "from");
    refusals.put("{% extends 'base.j2' %}hello", "extends");
    refusals.put(
        "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}x"
            + "{% endfor %}{% endfor %}{% endfor %}",
        "rendered more than 2000000 template nodes");
    refusals.put(
        "{% set s = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' %}"
            + "{% for i in range(1000) %}{% for j in range(1000) %}{{ s }}{% endfor %}"
            + "{% endfor %}",
        "rendered more than 8388608 characters");
    for (Map.Entry<String, String> hostile : refusals.entrySet()) {
      String message = refusal(hostile.getKey());
      System.out.println("ChatTemplateTest hostile: " + message);
      assertTrue(
          message.toLowerCase(java.util.Locale.ROOT).contains(hostile.getValue()),
          hostile.getKey() + " -> " + message);
    }
    assertTrue(System.nanoTime() - start < 60_000_000_000L, "each stopped within its budget");
    // a macro calling itself renders nothing: Jinjava allows no recursive macro call
    assertEquals(
        "",
        new ChatTemplate("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", TOKENS)
            .render(CHAT, true, false));
  }

  @Test
  void aTemplateReachesNoJavaClass() {
    for (String template :
        List.of(
            "{{ messages.getClass().forName('java.lang.Runtime') }}",
            "{{ bos_token.getClass().getName() }}",
            "{{ messages.class.name }}")) {
      String rendered;
      try {
        rendered = new ChatTemplate(template, TOKENS).render(CHAT, true, false);
      } catch (RuntimeException e) {
        continue; // refused: fine
      }
      assertFalse(rendered.contains("java."), template + " -> " + rendered);
      assertFalse(rendered.contains("Runtime"), template + " -> " + rendered);
    }
  }
}
