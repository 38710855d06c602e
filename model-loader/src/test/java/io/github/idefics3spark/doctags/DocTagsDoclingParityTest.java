package io.github.idefics3spark.doctags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Random well-formed DocTags pages converted by docling-core itself ({@code
 * src/test/resources/doctags-parity/make_pages.py}, run at a recorded docling-core commit): the
 * Markdown here must be the same, character for character, with page headers and footers dropped
 * (the default) and kept.
 */
class DocTagsDoclingParityTest {

  @Test
  void markdownIsDoclingCoresOnRandomPages() throws Exception {
    ObjectMapper mapper = new ObjectMapper();
    List<String> mismatches = new ArrayList<>();
    int pages = 0;
    try (BufferedReader lines =
        new BufferedReader(
            new InputStreamReader(
                getClass().getResourceAsStream("/doctags-parity/pages.jsonl"),
                StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        JsonNode page = mapper.readTree(line);
        String doctags = page.get("doctags").asText();
        String expected = page.get("markdown").asText();
        DocTagsDocument document = DocTags.parse(doctags, PageSize.LOC_GRID);
        String actual = document.toMarkdown();
        String expectedWithFurniture = page.get("markdown_with_furniture").asText();
        String withFurniture = document.toMarkdown(new ExportOptions(true));
        if (!expectedWithFurniture.equals(withFurniture)) {
          mismatches.add("page " + pages + " with page headers and footers:\n" + withFurniture);
        }
        if (!expected.equals(actual) && mismatches.size() < 5) {
          mismatches.add(
              "page "
                  + pages
                  + ":\n"
                  + doctags
                  + "\ndocling-core:\n"
                  + expected
                  + "\nhere:\n"
                  + actual);
        }
        if (!expected.equals(actual) || !document.warnings().isEmpty()) {
          mismatches.add("page " + pages + " warnings " + document.warnings());
        }
        pages++;
      }
    }
    assertTrue(pages >= 300, "pages in the fixture: " + pages);
    assertEquals(List.of(), mismatches);
  }
}
