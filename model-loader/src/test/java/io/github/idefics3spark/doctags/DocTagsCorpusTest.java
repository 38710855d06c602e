package io.github.idefics3spark.doctags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Converts every page of the DocTags corpus ({@code src/test/resources/doctags}, described in its
 * README) and compares with the Markdown written by hand from docling-core's rules: {@code NAME.md}
 * with the default options, {@code NAME.keep.md} with page headers and footers kept, {@code
 * NAME.html}, and {@code NAME.warnings} (one per line; no file means no warnings).
 */
class DocTagsCorpusTest {
  private static final PageSize PAGE = new PageSize(612, 792);

  static Path corpus() throws URISyntaxException {
    return Path.of(DocTagsCorpusTest.class.getResource("/doctags").toURI());
  }

  static Stream<String> pages() throws IOException, URISyntaxException {
    try (Stream<Path> files = Files.list(corpus())) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".doctags"))
          .map(n -> n.substring(0, n.length() - ".doctags".length()))
          .sorted()
          .toList()
          .stream();
    }
  }

  private static String read(String file) throws IOException, URISyntaxException {
    return Files.readString(corpus().resolve(file), StandardCharsets.UTF_8);
  }

  private static boolean exists(String file) throws URISyntaxException {
    return Files.exists(corpus().resolve(file));
  }

  /** The expected files end with one newline, which the writers do not add. */
  private static String expected(String file) throws IOException, URISyntaxException {
    String text = read(file);
    return text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
  }

  @Test
  void corpusHasAtLeastThirtyPages() throws Exception {
    assertTrue(pages().count() >= 30, "pages in the corpus: " + pages().count());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("pages")
  void convertsAsTheHandWrittenExpectation(String name) throws Exception {
    DocTagsDocument document = DocTags.parse(read(name + ".doctags"), PAGE);

    assertEquals(expected(name + ".md"), document.toMarkdown(), name + ".md");
    List<String> warnings =
        exists(name + ".warnings") ? read(name + ".warnings").lines().toList() : List.of();
    assertEquals(warnings, document.warnings(), name + ".warnings");
    if (exists(name + ".keep.md")) {
      assertEquals(
          expected(name + ".keep.md"),
          document.toMarkdown(new ExportOptions(true)),
          name + ".keep.md");
    }
    if (exists(name + ".pages.md")) {
      assertEquals(
          expected(name + ".pages.md"),
          document.toMarkdown(new ExportOptions(false, "<!-- page break -->")),
          name + ".pages.md");
    }
    if (exists(name + ".html")) {
      assertEquals(read(name + ".html"), document.toHtml(ExportOptions.DEFAULT), name + ".html");
    }
  }

  /** Generation can stop anywhere: every prefix of every page converts without an exception. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("pages")
  void everyTruncationConverts(String name) throws Exception {
    String doctags = read(name + ".doctags");
    for (int end = 0; end <= doctags.length(); end++) {
      DocTagsDocument document = DocTags.parse(doctags.substring(0, end), PAGE);
      assertNotNull(document.toMarkdown());
      assertNotNull(document.toHtml(new ExportOptions(true)));
      assertNotNull(document.toJson(new ExportOptions(true)));
    }
  }
}
