package io.github.idefics3spark.doctags;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Writes a document as JSON. The schema ({@code "schema": "idefics3-spark.doctags/1"}):
 *
 * <pre>
 * {"schema": "idefics3-spark.doctags/1",
 *  "pages": [{"page": 1, "width": 1224.0, "height": 1584.0}],
 *  "items": [ITEM, ...],                   reading order; page headers/footers only if kept
 *  "warnings": ["page 1: ...", ...]}
 * ITEM: {"type": T, "page": 1, "bbox": {"l":..,"t":..,"r":..,"b":..} or null, ...}
 *   page pixels, origin top-left; T and its other fields:
 *   title, text, footnote, caption, page_header, page_footer,
 *   checkbox_selected, checkbox_unselected  "text"
 *   section_header                          "text", "level" (1-6)
 *   code                                    "text", "language" (or null)
 *   formula                                 "text"
 *   list                                    "ordered", "items": [{"text", "bbox"}]  (list bbox null)
 *   table, document_index                   "caption" (ITEM or null), "num_rows", "num_cols",
 *                                           "cells": [{"text","row","col","row_span","col_span",
 *                                                      "kind": data|empty|column_header|row_header|section_row}]
 *   picture                                 "classification" (or null), "caption" (ITEM or null),
 *                                           "chart" ({"num_rows","num_cols","cells"} or null)
 *   key_value_region                        "cells": [{"id","kind": key|value,"text","links"}]
 *   inline                                  "children": [ITEM, ...]
 * </pre>
 */
final class JsonWriter {
  static final String SCHEMA = "idefics3-spark.doctags/1";
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private JsonWriter() {}

  static String write(DocTagsDocument document, ExportOptions options) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("schema", SCHEMA);
    ArrayNode pages = root.putArray("pages");
    for (int i = 0; i < document.pages().size(); i++) {
      PageSize size = document.pages().get(i);
      pages.addObject().put("page", i + 1).put("width", size.width()).put("height", size.height());
    }
    ArrayNode items = root.putArray("items");
    for (DocTagsItem item : document.items()) {
      if (options.includes(item)) {
        items.add(item(item));
      }
    }
    ArrayNode warnings = root.putArray("warnings");
    document.warnings().forEach(warnings::add);
    try {
      return MAPPER.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree of strings and numbers failed to serialise", e);
    }
  }

  private static ObjectNode item(DocTagsItem item) {
    ObjectNode node = MAPPER.createObjectNode();
    if (item instanceof DocTagsItem.Text text) {
      node.put("type", text.kind().label());
      if (text.kind() == TextKind.SECTION_HEADER) {
        node.put("level", text.level());
      }
      node.put("text", text.text());
    } else if (item instanceof DocTagsItem.Code code) {
      node.put("type", "code").put("language", code.language()).put("text", code.text());
    } else if (item instanceof DocTagsItem.Formula formula) {
      node.put("type", "formula").put("text", formula.text());
    } else if (item instanceof DocTagsItem.ListBlock list) {
      node.put("type", "list").put("ordered", list.ordered());
      ArrayNode entries = node.putArray("items");
      for (DocTagsItem.ListEntry entry : list.entries()) {
        ObjectNode e = entries.addObject().put("text", entry.text());
        e.set("bbox", bbox(entry.bbox()));
      }
    } else if (item instanceof DocTagsItem.Table table) {
      node.put("type", table.documentIndex() ? "document_index" : "table");
      node.set("caption", table.caption() == null ? null : item(table.caption()));
      table(node, table.data());
    } else if (item instanceof DocTagsItem.Picture picture) {
      node.put("type", "picture").put("classification", picture.classification());
      node.set("caption", picture.caption() == null ? null : item(picture.caption()));
      if (picture.chart() == null) {
        node.putNull("chart");
      } else {
        table(node.putObject("chart"), picture.chart());
      }
    } else if (item instanceof DocTagsItem.KeyValueRegion region) {
      node.put("type", "key_value_region");
      ArrayNode cells = node.putArray("cells");
      for (DocTagsItem.KeyValueCell cell : region.cells()) {
        ObjectNode c = cells.addObject().put("id", cell.id());
        c.put("kind", cell.key() ? "key" : "value").put("text", cell.text());
        ArrayNode links = c.putArray("links");
        cell.links().forEach(links::add);
      }
    } else if (item instanceof DocTagsItem.Inline inline) {
      node.put("type", "inline");
      ArrayNode children = node.putArray("children");
      inline.children().forEach(child -> children.add(item(child)));
    }
    node.put("page", item.page());
    node.set("bbox", bbox(item.bbox()));
    return node;
  }

  private static void table(ObjectNode node, TableData data) {
    node.put("num_rows", data.rows()).put("num_cols", data.columns());
    ArrayNode cells = node.putArray("cells");
    for (TableCell cell : data.cells()) {
      cells
          .addObject()
          .put("text", cell.text())
          .put("row", cell.row())
          .put("col", cell.column())
          .put("row_span", cell.rowSpan())
          .put("col_span", cell.columnSpan())
          .put("kind", cell.kind().name().toLowerCase(java.util.Locale.ROOT));
    }
  }

  private static ObjectNode bbox(BoundingBox box) {
    if (box == null) {
      return null;
    }
    return MAPPER
        .createObjectNode()
        .put("l", box.left())
        .put("t", box.top())
        .put("r", box.right())
        .put("b", box.bottom());
  }
}
