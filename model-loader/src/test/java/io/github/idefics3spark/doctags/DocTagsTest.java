package io.github.idefics3spark.doctags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

class DocTagsTest {

  @Test
  void locationsScaleFromTheFiveHundredGridToThePage() {
    DocTagsDocument page =
        DocTags.parse(
            "<doctag><text><loc_50><loc_100><loc_250><loc_400>x</text></doctag>",
            new PageSize(1000, 2000));
    assertEquals(new BoundingBox(100, 400, 500, 1600), page.items().get(0).bbox());
    assertEquals(
        new BoundingBox(50, 100, 250, 400),
        DocTags.parse("<text><loc_50><loc_100><loc_250><loc_400>x</text>", PageSize.LOC_GRID)
            .items()
            .get(0)
            .bbox());
  }

  @Test
  void jsonHoldsItemsWithBoxesTablesAndWarnings() throws Exception {
    String doctags =
        "<doctag><page_header><loc_0><loc_0><loc_500><loc_10>Header</page_header>"
            + "<section_header_level_2><loc_0><loc_20><loc_250><loc_30>Methods</section_header_level_2>"
            + "<code><loc_0><loc_40><loc_500><loc_60><_Java_>int x;</code>"
            + "<otsl><loc_0><loc_100><loc_500><loc_200><ched>A<lcel><nl><fcel>1<fcel>2<nl>"
            + "<caption><loc_0><loc_90><loc_500><loc_99>Table 1</caption></otsl>"
            + "<picture><loc_0><loc_250><loc_100><loc_300><logo></picture>"
            + "<text>cut";
    DocTagsDocument page = DocTags.parse(doctags, new PageSize(1000, 500));
    JsonNode json = new ObjectMapper().readTree(page.toJson(ExportOptions.DEFAULT));

    assertEquals("idefics3-spark.doctags/1", json.get("schema").asText());
    assertEquals(1000.0, json.get("pages").get(0).get("width").asDouble());
    JsonNode items = json.get("items");
    assertEquals(5, items.size(), "page header dropped by default: " + items);
    assertEquals("section_header", items.get(0).get("type").asText());
    assertEquals(2, items.get(0).get("level").asInt());
    assertEquals(500.0, items.get(0).get("bbox").get("r").asDouble());
    assertEquals(30.0, items.get(0).get("bbox").get("b").asDouble());
    assertEquals("Java", items.get(1).get("language").asText());
    JsonNode table = items.get(2);
    assertEquals("table", table.get("type").asText());
    assertEquals("Table 1", table.get("caption").get("text").asText());
    assertEquals(2, table.get("num_rows").asInt());
    assertEquals(2, table.get("num_cols").asInt());
    assertEquals(2, table.get("cells").get(0).get("col_span").asInt());
    assertEquals("column_header", table.get("cells").get(0).get("kind").asText());
    assertEquals("logo", items.get(3).get("classification").asText());
    assertEquals("cut", items.get(4).get("text").asText());
    assertEquals(true, items.get(4).get("bbox").isNull());
    assertEquals(
        "page 1: <text> not closed (truncated?): kept what it holds",
        json.get("warnings").get(0).asText());

    JsonNode kept = new ObjectMapper().readTree(page.toJson(new ExportOptions(true)));
    assertEquals("page_header", kept.get("items").get(0).get("type").asText());
  }

  @Test
  void assembleJoinsPagesInOrderAndRenumbersThem() {
    PageSize size = new PageSize(100, 100);
    DocTagsDocument first = DocTags.parse("<doctag><title>Book</title></doctag>", size);
    DocTagsDocument second =
        DocTags.parse("<doctag><text>Two</text><page_break><text>Three</text></doctag>", size);
    DocTagsDocument third = DocTags.parse("<doctag><text>Four", size);

    DocTagsDocument book = DocTags.assemble(List.of(first, second, third));

    assertEquals(4, book.pages().size());
    assertEquals(List.of(1, 2, 3, 4), book.items().stream().map(DocTagsItem::page).toList());
    assertEquals("# Book\n\nTwo\n\nThree\n\nFour", book.toMarkdown());
    assertEquals(
        List.of("page 4: <text> not closed (truncated?): kept what it holds"), book.warnings());
    assertEquals(List.of(), DocTags.assemble(List.of()).items());
  }

  @Test
  void nullOrBlankInputIsAnEmptyDocumentWithAWarning() {
    DocTagsDocument empty = DocTags.parse(null, PageSize.LOC_GRID);
    assertEquals("", empty.toMarkdown());
    assertEquals(List.of("page 1: empty DocTags: no elements"), empty.warnings());
  }

  @Test
  void pictureCaptionAndChartAreKeptOnThePicture() {
    DocTagsItem.Picture chart =
        (DocTagsItem.Picture)
            DocTags.parse(
                    "<chart><loc_1><loc_2><loc_3><loc_4><line_chart><ched>x<ched>y<nl>"
                        + "<fcel>1<fcel>2<nl><caption>Fig. 1</caption></chart>",
                    PageSize.LOC_GRID)
                .items()
                .get(0);
    assertEquals("line_chart", chart.classification());
    assertEquals("Fig. 1", chart.caption().text());
    assertNull(chart.caption().bbox());
    assertEquals(2, chart.chart().rows());
  }

  /** Token soup from a fixed seed: any order of DocTags tokens converts without an exception. */
  @Test
  void randomTokenSequencesConvert() {
    String[] alphabet = {
      "<doctag>",
      "</doctag>",
      "<title>",
      "</title>",
      "<text>",
      "</text>",
      "<otsl>",
      "</otsl>",
      "<fcel>",
      "<ecel>",
      "<lcel>",
      "<ucel>",
      "<xcel>",
      "<nl>",
      "<ched>",
      "<rhed>",
      "<srow>",
      "<picture>",
      "</picture>",
      "<chart>",
      "</chart>",
      "<caption>",
      "</caption>",
      "<bar_chart>",
      "<unordered_list>",
      "</unordered_list>",
      "<ordered_list>",
      "<list_item>",
      "</list_item>",
      "<code>",
      "</code>",
      "<_Python_>",
      "<formula>",
      "</formula>",
      "<inline>",
      "</inline>",
      "<key_value_region>",
      "</key_value_region>",
      "<key_1>",
      "</key_1>",
      "<value_2>",
      "</value_2>",
      "<link_2>",
      "<page_break>",
      "<section_header_level_3>",
      "</section_header_level_3>",
      "<document_index>",
      "</document_index>",
      "<loc_0>",
      "<loc_499>",
      "<loc_500>",
      "<loc_123456789012>",
      "<loc_",
      "word",
      " ",
      "\n",
      "_",
      "<",
      ">",
      "&",
      "|",
      "</",
      "<_",
      "_>"
    };
    java.util.Random random = new java.util.Random(20261206L);
    for (int doc = 0; doc < 3000; doc++) {
      StringBuilder doctags = new StringBuilder();
      int length = random.nextInt(60);
      for (int i = 0; i < length; i++) {
        doctags.append(alphabet[random.nextInt(alphabet.length)]);
      }
      DocTagsDocument document = DocTags.parse(doctags.toString(), new PageSize(300, 400));
      document.toMarkdown(new ExportOptions(true));
      document.toHtml(ExportOptions.DEFAULT);
      document.toJson(ExportOptions.DEFAULT);
    }
  }

  /** A generation cut after 8192 tokens of one list item or table converts, no stack overflow. */
  @Test
  void longTruncatedElementsConvert() {
    String words = "word ".repeat(200_000);
    DocTagsDocument list =
        DocTags.parse("<doctag><unordered_list><list_item>" + words, PageSize.LOC_GRID);
    assertEquals("- " + words.strip(), list.toMarkdown());
    String rows = "<fcel>a<fcel>1<nl>".repeat(20_000);
    DocTagsDocument table =
        DocTags.parse(
            "<doctag><otsl><ched>k<ched>v<nl>" + rows + "<caption>cut", PageSize.LOC_GRID);
    DocTagsItem.Table parsed = (DocTagsItem.Table) table.items().get(0);
    assertEquals(20_001, parsed.data().rows());
    assertEquals("cut", parsed.caption().text());
  }

  @Test
  void pageSizeMustBePositiveAndFinite() {
    assertThrows(IllegalArgumentException.class, () -> new PageSize(0, 10));
    assertThrows(IllegalArgumentException.class, () -> new PageSize(10, Double.NaN));
  }
}
