package io.github.idefics3spark.doctags;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the DocTags of pages into {@link DocTagsItem}s, as docling-core's {@code
 * DoclingDocument.load_from_doctags} ({@code docling_core/types/doc/document.py}) does, and never
 * throws: what does not parse becomes a warning.
 *
 * <p>Root elements are found in order; each runs to its first closing tag (docling-core's regular
 * expression) unless a root element that cannot sit inside it opens first. Text is the element with
 * every tag removed except {@code <_..._>} tokens, stripped. The first four {@code <loc_N>} of an
 * element are its box, N over a 500 grid scaled to the page. Where docling-core differs, on
 * purpose:
 *
 * <ul>
 *   <li>An element that is never closed (generation cut at the token limit) keeps the text, list
 *       items or table rows it has, up to the next root element that cannot sit inside it or the
 *       end, less a cut-off tag at its end, with a warning; docling-core keeps only an empty
 *       element at the end of the page, and runs an unclosed element on to the next closing tag of
 *       its name.
 *   <li>A picture without a location is kept (docling-core drops it and keeps its caption alone).
 *   <li>{@code <paragraph>} is read as {@code <text>} (docling-core skips it).
 *   <li>{@code <document_index>} is a table of its OTSL cells (docling-core, at the commit read,
 *       fails on it: it makes a text item with a table's label).
 *   <li>{@code <page_break>} starts the next page.
 *   <li>Location values past 500 are clamped to 500, and boxes with left &gt; right or top &gt;
 *       bottom are put in order, each with a warning.
 * </ul>
 */
final class DocTagsParser {
  static final double LOC_GRID = 500.0;

  private static final Pattern ROOT =
      Pattern.compile(
          "<(title|document_index|checkbox_unselected|checkbox_selected|text|paragraph"
              + "|page_header|inline|page_footer|formula|caption|picture|footnote|code"
              + "|section_header_level_[1-6]|ordered_list|unordered_list|key_value_region"
              + "|chart|otsl)>");
  private static final Pattern LOC = Pattern.compile("<loc_(\\d+)>");
  private static final Pattern TAG_TO_STRIP = Pattern.compile("<(?!_.*?_>)[a-zA-Z/][^>]*>");
  private static final Pattern CODE_LANGUAGE = Pattern.compile("^<_([^>]+)_>");
  private static final Pattern CAPTION =
      Pattern.compile("<caption>(.*?)</caption>", Pattern.DOTALL);
  private static final Pattern CAPTION_OPEN = Pattern.compile("<caption>(.*)\\z", Pattern.DOTALL);
  private static final Pattern LIST_ITEM =
      Pattern.compile("<list_item>(.*?)(?:</list_item>|\\z)", Pattern.DOTALL);
  private static final Pattern KEY_VALUE_CELL =
      Pattern.compile("<(key|value)_(\\d{1,9})>(.*?)</\\1_\\2>", Pattern.DOTALL);
  private static final Pattern LINK = Pattern.compile("<link_(\\d{1,9})>");
  private static final Pattern ANY_TAG = Pattern.compile("<[^<>]{1,80}>");

  /** End-of-generation tokens a decoded answer may still hold; removed before parsing. */
  private static final List<String> END_TOKENS = List.of("<end_of_utterance>", "<|end_of_text|>");

  private static final Set<String> SILENT_TAGS = Set.of("<doctag>", "</doctag>");
  private static final String PAGE_BREAK = "<page_break>";
  private static final Pattern PARTIAL_TAG = Pattern.compile("<[^<>]*\\z");
  private static final Set<String> CONTAINERS =
      Set.of(
          "picture",
          "chart",
          "otsl",
          "ordered_list",
          "unordered_list",
          "key_value_region",
          "inline",
          "document_index");

  /** Picture classes in docling-core's search order; legacy SmolDocling names mapped. */
  private static final Map<String, String> PICTURE_CLASSES = pictureClasses();

  private final PageSize pageSize;
  private final List<DocTagsDocument.Warning> warnings = new ArrayList<>();
  private final List<DocTagsItem> items = new ArrayList<>();
  private int page;

  private DocTagsParser(PageSize pageSize) {
    this.pageSize = pageSize;
  }

  /** Parses one page (or several, separated by {@code <page_break>}) of DocTags. */
  static DocTagsDocument parse(String doctags, PageSize pageSize) {
    DocTagsParser parser = new DocTagsParser(pageSize);
    String input = doctags == null ? "" : doctags;
    for (String end : END_TOKENS) {
      input = input.replace(end, "");
    }
    parser.page = 1;
    if (input.isBlank()) {
      parser.warn("empty DocTags: no elements");
    }
    List<PageSize> pages = new ArrayList<>();
    int start = 0;
    while (true) {
      int pageBreak = input.indexOf(PAGE_BREAK, start);
      int end = pageBreak < 0 ? input.length() : pageBreak;
      parser.parsePage(input.substring(start, end));
      pages.add(pageSize);
      if (pageBreak < 0) {
        break;
      }
      start = pageBreak + PAGE_BREAK.length();
      parser.page++;
    }
    return new DocTagsDocument(pages, parser.items, parser.warnings);
  }

  private void warn(String message) {
    warnings.add(new DocTagsDocument.Warning(page, message));
  }

  private void parsePage(String doctags) {
    Matcher root = ROOT.matcher(doctags);
    int position = 0;
    while (position < doctags.length() && root.find(position)) {
      noteIgnored(doctags.substring(position, root.start()));
      String tag = root.group(1);
      String close = "</" + tag + ">";
      int contentStart = root.end();
      int closeAt = doctags.indexOf(close, contentStart);
      int nextRoot = nextRootOutside(doctags, contentStart, tag);
      String content;
      if (closeAt >= 0 && closeAt < nextRoot) {
        content = doctags.substring(contentStart, closeAt);
        position = closeAt + close.length();
      } else {
        content = PARTIAL_TAG.matcher(doctags.substring(contentStart, nextRoot)).replaceAll("");
        position = nextRoot;
        warn("<" + tag + "> not closed (truncated?): kept what it holds");
      }
      addElement(tag, content);
    }
    noteIgnored(doctags.substring(Math.min(position, doctags.length())));
  }

  /**
   * Where the next root element that cannot sit inside {@code tag} opens, or the page's end: a
   * caption can sit in a picture, chart or table, a table in a document index, text elements in an
   * inline group; nothing in a text element.
   */
  private static int nextRootOutside(String doctags, int from, String tag) {
    Matcher next = ROOT.matcher(doctags);
    int at = from;
    while (next.find(at)) {
      if (!canHold(tag, next.group(1))) {
        return next.start();
      }
      at = next.end();
    }
    return doctags.length();
  }

  private static boolean canHold(String container, String inner) {
    return switch (container) {
      case "picture", "chart", "otsl" -> inner.equals("caption");
      case "document_index" -> inner.equals("otsl");
      case "inline" -> !CONTAINERS.contains(inner);
      default -> false;
    };
  }

  /** Warns about text or tags between root elements that were not understood. */
  private void noteIgnored(String between) {
    String rest = between;
    for (String silent : SILENT_TAGS) {
      rest = rest.replace(silent, "");
    }
    rest = rest.strip();
    if (rest.isEmpty()) {
      return;
    }
    Matcher tag = ANY_TAG.matcher(rest);
    List<String> tags = new ArrayList<>();
    while (tag.find() && tags.size() < 5) {
      if (!tag.group().startsWith("<loc_")) {
        tags.add(tag.group());
      }
    }
    String sample = rest.length() > 60 ? rest.substring(0, 60) + "..." : rest;
    warn(
        "ignored content outside known elements"
            + (tags.isEmpty() ? "" : " (tags " + String.join(" ", tags) + ")")
            + ": \""
            + sample.replace("\n", "\\n")
            + "\"");
  }

  private void addElement(String tag, String content) {
    BoundingBox bbox = boxOf(content, tag);
    switch (tag) {
      case "otsl", "document_index" -> {
        TableData data = OtslTable.parse(content, this::warn);
        items.add(
            new DocTagsItem.Table(
                data, captionOf(content), tag.equals("document_index"), bbox, page));
      }
      case "picture", "chart" -> {
        TableData chart = tag.equals("chart") ? OtslTable.parse(content, this::warn) : null;
        if (bbox == null) {
          warn("<" + tag + "> without location: kept without a box");
        }
        items.add(new DocTagsItem.Picture(classOf(content), captionOf(content), chart, bbox, page));
      }
      case "ordered_list", "unordered_list" -> items.add(list(tag.equals("ordered_list"), content));
      case "key_value_region" -> items.add(keyValueRegion(content, bbox));
      case "inline" -> items.add(inline(content, bbox));
      default -> items.add(textElement(tag, content, bbox));
    }
  }

  private DocTagsItem textElement(String tag, String content, BoundingBox bbox) {
    String text = innerText(content);
    if (tag.equals("code")) {
      Matcher language = CODE_LANGUAGE.matcher(text);
      if (language.find()) {
        return new DocTagsItem.Code(language.group(1), text.substring(language.end()), bbox, page);
      }
      return new DocTagsItem.Code(null, text, bbox, page);
    }
    if (tag.equals("formula")) {
      return new DocTagsItem.Formula(text, bbox, page);
    }
    if (tag.startsWith("section_header_level_")) {
      int level = tag.charAt(tag.length() - 1) - '0';
      return new DocTagsItem.Text(TextKind.SECTION_HEADER, level, text, bbox, page);
    }
    TextKind kind =
        switch (tag) {
          case "title" -> TextKind.TITLE;
          case "footnote" -> TextKind.FOOTNOTE;
          case "caption" -> TextKind.CAPTION;
          case "page_header" -> TextKind.PAGE_HEADER;
          case "page_footer" -> TextKind.PAGE_FOOTER;
          case "checkbox_selected" -> TextKind.CHECKBOX_SELECTED;
          case "checkbox_unselected" -> TextKind.CHECKBOX_UNSELECTED;
          default -> TextKind.TEXT;
        };
    return new DocTagsItem.Text(kind, 0, text, bbox, page);
  }

  private DocTagsItem.ListBlock list(boolean ordered, String content) {
    List<DocTagsItem.ListEntry> entries = new ArrayList<>();
    Matcher item = LIST_ITEM.matcher(content);
    while (item.find()) {
      if (!item.group().endsWith("</list_item>")) {
        warn("<list_item> not closed (truncated?): kept its text");
      }
      entries.add(
          new DocTagsItem.ListEntry(innerText(item.group(1)), boxOf(item.group(1), "list_item")));
    }
    return new DocTagsItem.ListBlock(ordered, entries, page);
  }

  private DocTagsItem.KeyValueRegion keyValueRegion(String content, BoundingBox bbox) {
    Map<Integer, DocTagsItem.KeyValueCell> cells = new LinkedHashMap<>();
    Map<Integer, List<Integer>> links = new LinkedHashMap<>();
    Matcher cell = KEY_VALUE_CELL.matcher(content);
    while (cell.find()) {
      int id = Integer.parseInt(cell.group(2));
      String raw = cell.group(3);
      List<Integer> targets = new ArrayList<>();
      Matcher link = LINK.matcher(raw);
      while (link.find()) {
        targets.add(Integer.parseInt(link.group(1)));
      }
      String text = LINK.matcher(LOC.matcher(raw).replaceAll("")).replaceAll("").strip();
      cells.put(id, new DocTagsItem.KeyValueCell(id, cell.group(1).equals("key"), text, List.of()));
      links.put(id, targets);
    }
    List<DocTagsItem.KeyValueCell> linked = new ArrayList<>();
    for (DocTagsItem.KeyValueCell c : cells.values()) {
      List<Integer> valid = links.get(c.id()).stream().filter(cells::containsKey).toList();
      linked.add(new DocTagsItem.KeyValueCell(c.id(), c.key(), c.text(), valid));
    }
    return new DocTagsItem.KeyValueRegion(linked, bbox, page);
  }

  private DocTagsItem.Inline inline(String content, BoundingBox bbox) {
    List<DocTagsItem> children = new ArrayList<>();
    Matcher child = ROOT.matcher(content);
    int position = 0;
    while (child.find(position)) {
      String tag = child.group(1);
      String close = "</" + tag + ">";
      int closeAt = content.indexOf(close, child.end());
      int end = closeAt >= 0 ? closeAt : content.length();
      if (closeAt < 0) {
        warn("<" + tag + "> in <inline> not closed (truncated?): kept what it holds");
      }
      // docling-core gives every child the group's box
      children.add(textElement(tag, content.substring(child.end(), end), bbox));
      position = closeAt >= 0 ? closeAt + close.length() : content.length();
      if (position >= content.length()) {
        break;
      }
    }
    return new DocTagsItem.Inline(children, bbox, page);
  }

  /** The {@code <caption>} inside a table or picture; an unclosed one keeps its text. */
  private DocTagsItem.Text captionOf(String content) {
    Matcher caption = CAPTION.matcher(content);
    String inner;
    if (caption.find()) {
      inner = caption.group(1);
    } else {
      Matcher open = CAPTION_OPEN.matcher(content);
      if (!open.find()) {
        return null;
      }
      inner = open.group(1);
      warn("<caption> not closed (truncated?): kept its text");
    }
    return new DocTagsItem.Text(
        TextKind.CAPTION, 0, innerText(inner), boxOf(inner, "caption"), page);
  }

  private static String classOf(String content) {
    for (Map.Entry<String, String> entry : PICTURE_CLASSES.entrySet()) {
      if (content.contains("<" + entry.getKey() + ">")) {
        return entry.getValue();
      }
    }
    return null;
  }

  /** docling-core's {@code extract_inner_text}: tags removed except {@code <_..._>}, stripped. */
  static String innerText(String chunk) {
    return TAG_TO_STRIP.matcher(chunk).replaceAll("").strip();
  }

  /** The first four {@code <loc_N>} of the chunk scaled to the page, or null with fewer. */
  private BoundingBox boxOf(String chunk, String tag) {
    Matcher loc = LOC.matcher(chunk);
    double[] values = new double[4];
    int found = 0;
    while (found < 4 && loc.find()) {
      String digits = loc.group(1);
      double value = digits.length() > 6 ? Double.MAX_VALUE : Integer.parseInt(digits);
      if (value > LOC_GRID) {
        warn(
            "<"
                + tag
                + "> has <loc_"
                + (digits.length() > 12 ? digits.substring(0, 12) + "..." : digits)
                + ">, past the 0-500 grid: clamped to 500");
        value = LOC_GRID;
      }
      values[found++] = value;
    }
    if (found == 0) {
      return null;
    }
    if (found < 4) {
      warn("<" + tag + "> has " + found + " location tokens, 4 expected: no box");
      return null;
    }
    if (values[0] > values[2] || values[1] > values[3]) {
      warn("<" + tag + "> box has left > right or top > bottom: sides put in order");
    }
    double sx = pageSize.width() / LOC_GRID;
    double sy = pageSize.height() / LOC_GRID;
    return new BoundingBox(
        Math.min(values[0], values[2]) * sx,
        Math.min(values[1], values[3]) * sy,
        Math.max(values[0], values[2]) * sx,
        Math.max(values[1], values[3]) * sy);
  }

  private static Map<String, String> pictureClasses() {
    Map<String, String> classes = new LinkedHashMap<>();
    for (String name :
        List.of(
            "logo",
            "photograph",
            "icon",
            "engineering_drawing",
            "line_chart",
            "bar_chart",
            "other",
            "table",
            "flow_chart",
            "screenshot_from_computer",
            "signature",
            "screenshot_from_manual",
            "geographical_map",
            "pie_chart",
            "page_thumbnail",
            "stamp",
            "music",
            "calendar",
            "qr_code",
            "bar_code",
            "full_page_image",
            "scatter_plot",
            "chemistry_structure",
            "topographical_map",
            "crossword_puzzle",
            "box_plot",
            "stacked_bar_chart",
            "scatter_chart",
            "heatmap",
            "natural_image",
            "remote_sensing",
            "screenshot",
            "chemistry_molecular_structure",
            "chemistry_markush_structure",
            "picture_group")) {
      classes.put(name, name);
    }
    classes.put("line", "line_chart");
    classes.put("dot_line", "line_chart");
    classes.put("vbar_categorical", "bar_chart");
    classes.put("hbar_categorical", "bar_chart");
    return classes;
  }
}
