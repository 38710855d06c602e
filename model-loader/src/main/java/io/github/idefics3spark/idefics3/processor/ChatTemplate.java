package io.github.idefics3spark.idefics3.processor;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.JinjavaInterpreter.InterpreterScopeClosable;
import com.hubspot.jinjava.interpret.OutputTooBigException;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.expression.ExpressionStrategy;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.mode.ExecutionMode;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.tree.output.RenderedOutputNode;
import com.hubspot.jinjava.tree.parse.ExpressionToken;
import io.github.idefics3spark.idefics3.checkpoint.CheckpointException;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import io.github.idefics3spark.python.PythonJson;
import io.github.idefics3spark.python.PythonStr;
import java.beans.FeatureDescriptor;
import java.io.IOException;
import java.lang.reflect.Method;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * A checkpoint's Jinja chat template, rendered the way transformers renders it ({@code
 * render_jinja_template} in chat_template_utils.py), with Jinjava.
 *
 * <p>The environment mirrors transformers' jinja2 one: {@code trim_blocks} and {@code
 * lstrip_blocks} on, a single trailing newline of the template dropped and line endings made {@code
 * \n} (jinja2's lexer), {@code raise_exception(message)}, {@code strftime_now(format)}, the {@code
 * tojson} filter of transformers (Python's {@code json.dumps}, no HTML escaping), the {@code {%
 * generation %}} block, Python's {@code str} methods on strings ({@code role.capitalize()}, {@code
 * text.strip()}, ...) and jinja2's {@code capitalize} and {@code trim} filters. The template sees
 * {@code messages}, {@code add_generation_prompt} and the tokenizer's named special tokens ({@code
 * bos_token}, {@code eos_token}, ...), as transformers passes them.
 *
 * <p>Jinjava is not jinja2: a template that uses a filter Jinjava lacks fails when it is loaded,
 * and one that calls something Jinjava cannot evaluate fails when it is rendered, each with the
 * construct named. No template is ever written by hand here.
 */
public final class ChatTemplate {
  /** transformers' marker for continue_final_message (chat_template_utils.py). */
  static final String CONTINUE_FINAL_MESSAGE_TAG = "CONTINUE_FINAL_MESSAGE_TAG ";

  private static final Pattern BLOCK =
      Pattern.compile("\\{\\{.*?\\}\\}|\\{%.*?%\\}", Pattern.DOTALL);
  private static final Pattern STRING_LITERAL =
      Pattern.compile("'(?:[^'\\\\]|\\\\.)*'|\"(?:[^\"\\\\]|\\\\.)*\"", Pattern.DOTALL);
  private static final Pattern FILTER_NAME = Pattern.compile("\\|\\s*([A-Za-z_][A-Za-z0-9_]*)");

  private final String source;
  private final Map<String, String> specialTokens;
  private final Jinjava jinjava;

  /**
   * Prepares a template.
   *
   * @param source the template as the checkpoint ships it ({@link
   *     Idefics3Checkpoint#chatTemplate()})
   * @param specialTokens variables such as "bos_token" -> "&lt;|begin_of_text|&gt;", as {@link
   *     Idefics3Tokenizer#specialTokensMap()} gives them
   * @throws CheckpointException when the template uses a filter Jinjava does not have or does not
   *     parse
   */
  public ChatTemplate(String source, Map<String, String> specialTokens) {
    this.source = jinja2Source(source);
    this.specialTokens = Map.copyOf(specialTokens);
    this.jinjava = newEnvironment();
    checkFilters();
    checkParses();
  }

  /** The template text after jinja2's lexer rules (line endings, trailing newline). */
  public String source() {
    return source;
  }

  /**
   * Renders a chat, as {@code processor.apply_chat_template(messages, add_generation_prompt=...,
   * continue_final_message=...)} does.
   *
   * @param continueFinalMessage end the text right after the final message's last text, so the
   *     model continues it (transformers' rule: the template renders that text followed by a marker
   *     and the output is cut at the marker's last occurrence)
   * @throws PromptException when both flags are set, when the template calls raise_exception, or
   *     when the final message cannot be continued
   */
  public String render(
      List<ChatMessage> messages, boolean addGenerationPrompt, boolean continueFinalMessage) {
    return render(messages, addGenerationPrompt, continueFinalMessage, UnaryOperator.identity());
  }

  /**
   * Renders with every user text passed through {@code texts} first (sentinels, see the processor).
   */
  String render(
      List<ChatMessage> messages,
      boolean addGenerationPrompt,
      boolean continueFinalMessage,
      UnaryOperator<String> texts) {
    List<Map<String, Object>> values = new ArrayList<>(messages.size());
    for (ChatMessage message : messages) {
      values.add(message.toTemplateValue(texts));
    }
    String finalText = null;
    if (continueFinalMessage) {
      if (addGenerationPrompt) {
        throw new PromptException(
            "continue_final_message and add_generation_prompt are both set; they are not"
                + " compatible: use continue_final_message to continue the final (assistant)"
                + " message, add_generation_prompt to open a new one");
      }
      if (messages.isEmpty()) {
        throw new PromptException("continue_final_message is set but the chat has no message");
      }
      if (!source.contains("content")) {
        throw new CheckpointException(
            "continue_final_message is set but the chat template never reads \"content\"");
      }
      finalText = markFinalText(messages.get(messages.size() - 1), values.get(values.size() - 1));
    }
    String rendered = renderValues(values, addGenerationPrompt);
    if (continueFinalMessage) {
      rendered = cutAtFinalMessage(rendered, finalText);
    }
    return rendered;
  }

  /** Appends the marker to the last text of the final message; returns that text. */
  @SuppressWarnings("unchecked")
  private static String markFinalText(ChatMessage last, Map<String, Object> value) {
    List<Object> items = (List<Object>) value.get("content");
    for (int i = items.size() - 1; i >= 0; i--) {
      Map<String, Object> item = (Map<String, Object>) items.get(i);
      if (item.containsKey("text")) {
        String text = (String) item.get("text");
        item.put("text", text + CONTINUE_FINAL_MESSAGE_TAG);
        return text;
      }
    }
    throw new PromptException(
        "continue_final_message is set but the final message (role \""
            + last.role()
            + "\") has no text to continue; end the chat with a message holding the text to"
            + " continue");
  }

  private static String cutAtFinalMessage(String rendered, String finalText) {
    String tag = CONTINUE_FINAL_MESSAGE_TAG.strip();
    if (!rendered.contains(PythonStr.strip(finalText, null)) || !rendered.contains(tag)) {
      throw new PromptException(
          "continue_final_message is set but the final message does not appear in the chat after"
              + " applying the chat template (the template deletes parts of it); final message: "
              + PythonStr.strip(finalText, null));
    }
    int at = rendered.lastIndexOf(tag);
    if (rendered.startsWith(CONTINUE_FINAL_MESSAGE_TAG, at)) {
      return rendered.substring(0, at);
    }
    return PythonStr.rstrip(rendered.substring(0, at), null);
  }

  private String renderValues(List<Map<String, Object>> messages, boolean addGenerationPrompt) {
    Map<String, Object> context = new HashMap<>(specialTokens);
    context.put("messages", messages);
    context.put("add_generation_prompt", addGenerationPrompt);
    context.put("tools", null);
    context.put("documents", null);
    RenderResult result;
    RenderBudget.start();
    try {
      result = jinjava.renderForResult(source, context);
    } catch (RenderBudget.Exceeded e) {
      throw new CheckpointException(
          "the chat template was stopped: " + e.getMessage() + RenderBudget.ADVICE, e);
    } finally {
      RenderBudget.end();
    }
    List<String> problems = new ArrayList<>();
    for (TemplateError error : result.getErrors()) {
      if (error.getSeverity() != TemplateError.ErrorType.FATAL) {
        continue;
      }
      RaisedException raised = causeOf(error.getException(), RaisedException.class);
      if (raised != null) {
        throw new PromptException(
            "the chat template rejects this chat: " + raised.getMessage(), raised);
      }
      RenderBudget.Exceeded exceeded = causeOf(error.getException(), RenderBudget.Exceeded.class);
      if (exceeded != null) {
        throw new CheckpointException(
            "the chat template was stopped: " + exceeded.getMessage() + RenderBudget.ADVICE,
            exceeded);
      }
      if (causeOf(error.getException(), OutputTooBigException.class) != null
          || String.valueOf(error.getMessage()).startsWith("OutputTooBigException")) {
        throw new CheckpointException(
            "the chat template was stopped: it rendered more than "
                + RenderBudget.MAX_OUTPUT_CHARS
                + " characters"
                + RenderBudget.ADVICE);
      }
      for (String tag : RenderBudget.FILE_TAGS) {
        if (String.valueOf(error.getMessage()).startsWith("'" + tag + "' is disabled")) {
          throw new CheckpointException(
              "the chat template uses {% "
                  + tag
                  + " %}, which reads another template file; a chat template may read no file"
                  + RenderBudget.ADVICE);
        }
      }
      problems.add(error.getMessage() + " (line " + error.getLineno() + ")");
    }
    if (!problems.isEmpty()) {
      throw new CheckpointException(
          "the chat template cannot be rendered by Jinjava: "
              + String.join("; ", problems)
              + "; the template uses a construct this project's Jinja environment lacks (see"
              + " ChatTemplate)");
    }
    return result.getOutput();
  }

  private static <E extends Throwable> E causeOf(Throwable error, Class<E> type) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }

  /** jinja2's lexer: every line ending becomes \n and one trailing newline is dropped. */
  private static String jinja2Source(String source) {
    String normalized = source.replace("\r\n", "\n").replace('\r', '\n');
    return normalized.endsWith("\n")
        ? normalized.substring(0, normalized.length() - 1)
        : normalized;
  }

  private void checkFilters() {
    Set<String> missing = new LinkedHashSet<>();
    Matcher block = BLOCK.matcher(source);
    while (block.find()) {
      String code = STRING_LITERAL.matcher(block.group()).replaceAll("''");
      Matcher filter = FILTER_NAME.matcher(code);
      while (filter.find()) {
        if (jinjava.getGlobalContext().getFilter(filter.group(1)) == null) {
          missing.add(filter.group(1));
        }
      }
    }
    if (!missing.isEmpty()) {
      throw new CheckpointException(
          "the chat template uses the filter(s) "
              + missing
              + " that Jinjava does not provide (jinja2 would fail the same way if they were"
              + " unknown to it); the template cannot be rendered as transformers renders it");
    }
  }

  private void checkParses() {
    List<Map<String, Object>> probe =
        List.of(ChatMessage.user(ChatMessage.text("probe")).toTemplateValue(t -> t));
    try {
      renderValues(probe, true);
    } catch (PromptException e) {
      // raise_exception on a one-message chat is the template's business, not a parse error
    }
  }

  private static Jinjava newEnvironment() {
    CompositeELResolver resolver = new CompositeELResolver();
    resolver.add(new StrMethods());
    resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
    JinjavaConfig config =
        JinjavaConfig.newBuilder()
            .withTrimBlocks(true)
            .withLstripBlocks(true)
            .withElResolver(resolver)
            // never render a value as a template: user text holding "{{ ... }}" stays text
            .withNestedInterpretationEnabled(false)
            // a template is the checkpoint's code, run on every executor: it reads no file,
            // produces no more than a prompt's worth of text and stops within its budget
            .withDisabled(Map.of(Context.Library.TAG, RenderBudget.FILE_TAGS))
            .withMaxOutputSize(RenderBudget.MAX_OUTPUT_CHARS)
            .withMaxStringLength(RenderBudget.MAX_OUTPUT_CHARS)
            .withMaxListSize(RenderBudget.MAX_COLLECTION_SIZE)
            .withMaxMapSize(RenderBudget.MAX_COLLECTION_SIZE)
            .withMaxMacroRecursionDepth(RenderBudget.MAX_RECURSION)
            .withNodePreProcessor(RenderBudget::countNode)
            .withExecutionMode(new PythonPrintMode())
            .withLegacyOverrides(
                LegacyOverrides.newBuilder()
                    .withEvaluateMapKeys(true)
                    .withIterateOverMapKeys(true)
                    .withUseNaturalOperatorPrecedence(true)
                    .withKeepNullableLoopValues(true)
                    .build())
            .build();
    Jinjava jinjava = new Jinjava(config);
    jinjava.setResourceLocator(
        (name, encoding, interpreter) -> {
          throw new IOException(
              "the chat template asks for the file '"
                  + name
                  + "'; a chat template may read no file");
        });
    jinjava.getGlobalContext().registerFunction(function("raise_exception", "raiseException"));
    jinjava.getGlobalContext().registerFunction(function("strftime_now", "strftimeNow"));
    jinjava.getGlobalContext().registerFilter(new ToJson());
    jinjava.getGlobalContext().registerFilter(new Capitalize());
    jinjava.getGlobalContext().registerFilter(new Trim());
    jinjava.getGlobalContext().registerTag(new Generation());
    return jinjava;
  }

  private static ELFunctionDefinition function(String name, String method) {
    try {
      Method target = Functions.class.getDeclaredMethod(method, String.class);
      target.setAccessible(true);
      return new ELFunctionDefinition("", name, target);
    } catch (NoSuchMethodException e) {
      throw new IllegalStateException("missing template function " + method, e);
    }
  }

  /** What the template's {@code raise_exception(message)} throws. */
  private static final class RaisedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RaisedException(String message) {
      super(message);
    }
  }

  /** The template globals transformers adds. */
  private static final class Functions {
    private Functions() {}

    static String raiseException(String message) {
      throw new RaisedException(message);
    }

    static String strftimeNow(String format) {
      return StrftimeFormatter.format(ZonedDateTime.now(), format, Locale.ENGLISH);
    }
  }

  /**
   * transformers' {@code tojson}: json.dumps(x, ensure_ascii=False, indent, separators, sort_keys).
   */
  private static final class ToJson implements Filter {
    @Override
    public String getName() {
      return "tojson";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      return new PythonJson(null, null, null, false).dumps(var);
    }

    @Override
    public Object filter(
        Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
      Object indent = kwargs.getOrDefault("indent", args.length > 1 ? args[1] : null);
      Object separators = kwargs.getOrDefault("separators", args.length > 2 ? args[2] : null);
      Object sortKeys = kwargs.getOrDefault("sort_keys", args.length > 3 ? args[3] : null);
      String itemSeparator = null;
      String keySeparator = null;
      if (separators instanceof List<?> pair && pair.size() == 2) {
        itemSeparator = String.valueOf(pair.get(0));
        keySeparator = String.valueOf(pair.get(1));
      }
      Integer spaces = indent instanceof Number n ? n.intValue() : null;
      return new PythonJson(spaces, itemSeparator, keySeparator, Boolean.TRUE.equals(sortKeys))
          .dumps(var);
    }
  }

  /** jinja2's {@code capitalize}: Python's str.capitalize (the rest is lowered). */
  private static final class Capitalize implements Filter {
    @Override
    public String getName() {
      return "capitalize";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      return var == null ? "" : PythonStr.capitalize(var.toString());
    }
  }

  /** jinja2's {@code trim(value, chars=None)}: Python's str.strip. */
  private static final class Trim implements Filter {
    @Override
    public String getName() {
      return "trim";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      String chars = args.length > 0 ? args[0] : null;
      return var == null ? "" : PythonStr.strip(var.toString(), chars);
    }
  }

  /** Jinjava's default execution, with {@link PythonPrint} for every {@code {{ ... }}}. */
  private static final class PythonPrintMode implements ExecutionMode {
    @Override
    public void prepareContext(Context context) {
      context.setExpressionStrategy(new PythonPrint());
    }
  }

  /**
   * {@code {{ value }}} prints Python's str(value): True, False, lists and dicts as Python does.
   */
  private static final class PythonPrint implements ExpressionStrategy {
    private static final long serialVersionUID = 1L;

    @Override
    public RenderedOutputNode interpretOutput(
        ExpressionToken master, JinjavaInterpreter interpreter) {
      Object value = interpreter.resolveELExpression(master.getExpr(), master.getLineNumber());
      return new RenderedOutputNode(PythonStr.str(value));
    }
  }

  /** transformers' {@code {% generation %}...{% endgeneration %}}: renders its body unchanged. */
  private static final class Generation implements Tag {
    private static final long serialVersionUID = 1L;

    @Override
    public String getName() {
      return "generation";
    }

    @Override
    public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
      StringBuilder out = new StringBuilder();
      try (InterpreterScopeClosable scope = interpreter.enterScope()) {
        for (Node child : tagNode.getChildren()) {
          out.append(child.render(interpreter).getValue());
        }
      }
      return out.toString();
    }
  }

  /** Python's str methods on Java strings: {@code role.capitalize()}, {@code text.strip()}, ... */
  private static final class StrMethods extends ELResolver {
    @Override
    public Object invoke(
        ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
      if (!(base instanceof String s) || method == null) {
        return null;
      }
      Object[] p = params == null ? new Object[0] : params;
      Object result =
          switch (method.toString()) {
            case "capitalize" -> p.length == 0 ? PythonStr.capitalize(s) : null;
            case "title" -> p.length == 0 ? PythonStr.title(s) : null;
            case "upper" -> p.length == 0 ? s.toUpperCase(Locale.ROOT) : null;
            case "lower" -> p.length == 0 ? s.toLowerCase(Locale.ROOT) : null;
            case "strip" -> p.length <= 1 ? PythonStr.strip(s, str(p, 0)) : null;
            case "lstrip" -> p.length <= 1 ? PythonStr.lstrip(s, str(p, 0)) : null;
            case "rstrip" -> p.length <= 1 ? PythonStr.rstrip(s, str(p, 0)) : null;
            case "startswith" -> p.length == 1 ? affix(s, p[0], true) : null;
            case "endswith" -> p.length == 1 ? affix(s, p[0], false) : null;
            case "split" -> p.length <= 2 ? PythonStr.split(s, str(p, 0), integer(p, 1, -1)) : null;
            case "replace" ->
                p.length == 2 || p.length == 3
                    ? PythonStr.replace(s, str(p, 0), str(p, 1), integer(p, 2, -1))
                    : null;
            case "join" -> p.length == 1 ? join(s, p[0]) : null;
            default -> null;
          };
      if (result != null) {
        context.setPropertyResolved(true);
      }
      return result;
    }

    private static String str(Object[] p, int i) {
      return i < p.length && p[i] != null ? p[i].toString() : null;
    }

    private static int integer(Object[] p, int i, int orElse) {
      return i < p.length && p[i] instanceof Number n ? n.intValue() : orElse;
    }

    private static Boolean affix(String s, Object affixes, boolean prefix) {
      List<Object> options = new ArrayList<>();
      if (affixes instanceof Iterable<?> many) {
        many.forEach(options::add);
      } else {
        options.add(affixes);
      }
      for (Object option : options) {
        String a = String.valueOf(option);
        if (prefix ? s.startsWith(a) : s.endsWith(a)) {
          return true;
        }
      }
      return false;
    }

    private static String join(String separator, Object items) {
      List<String> parts = new ArrayList<>();
      if (items instanceof Iterable<?> many) {
        many.forEach(item -> parts.add(String.valueOf(item)));
      } else {
        return null;
      }
      return String.join(separator, parts);
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
      return null;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
      return Collections.emptyIterator();
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
      return null;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
      return null;
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
      return true;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}
  }
}
