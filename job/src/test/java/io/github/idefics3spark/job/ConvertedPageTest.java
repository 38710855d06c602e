package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.image.RgbImage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The document command's conversion of one page ({@link ConvertedPage}), on the DocTags corpus of
 * model-loader's tests (its pages with the Markdown, HTML and warnings written by hand from
 * docling-core's rules), and the crops of pictures.
 */
class ConvertedPageTest {
  private static final DocumentSettings ALL_FORMATS =
      new DocumentSettings(true, true, false, null, null, false);

  @TempDir Path dir;

  /** The corpus pages: the names of doctags/*.doctags. */
  static List<String> corpusPages() throws IOException {
    // the corpus folder of model-loader's sources (the test-jar is a jar in a reactor verify)
    Path folder = ReferenceFixtures.root().resolveSibling("doctags");
    assertTrue(Files.isDirectory(folder), "the DocTags corpus at " + folder);
    try (Stream<Path> files = Files.list(folder)) {
      return files
          .map(file -> file.getFileName().toString())
          .filter(name -> name.endsWith(".doctags"))
          .map(name -> name.substring(0, name.length() - ".doctags".length()))
          .sorted()
          .toList();
    }
  }

  private static String corpus(String file) {
    try (InputStream in = ConvertedPageTest.class.getResourceAsStream("/doctags/" + file)) {
      return in == null ? null : new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** An expected Markdown file: it ends with one newline, which the writers do not add. */
  private static String expected(String file) {
    String text = corpus(file);
    return text != null && text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
  }

  private static RgbImage blank(int width, int height) {
    return new RgbImage(width, height, new byte[width * height * 3]);
  }

  @ParameterizedTest
  @MethodSource("corpusPages")
  void everyCorpusPageGivesItsMarkdownHtmlAndWarnings(String name) {
    ConvertedPage page =
        ConvertedPage.of(corpus(name + ".doctags"), blank(1000, 1000), null, ALL_FORMATS);
    assertEquals(expected(name + ".md"), page.markdown(), name);
    String html = corpus(name + ".html");
    if (html != null) {
      assertEquals(html, page.html(), name);
    }
    String warnings = corpus(name + ".warnings");
    assertEquals(
        warnings == null ? List.of() : warnings.lines().filter(l -> !l.isBlank()).toList(),
        page.warnings(),
        name);
    assertNotNull(page.json(), name);
    assertEquals(1000, page.width());
    assertEquals(1000, page.height());
    String keep = expected(name + ".keep.md");
    if (keep != null) {
      ConvertedPage kept =
          ConvertedPage.of(
              corpus(name + ".doctags"),
              blank(1000, 1000),
              null,
              new DocumentSettings(false, false, true, null, null, false));
      assertEquals(keep, kept.markdown(), name);
      assertNull(kept.html());
      assertNull(kept.json());
    }
  }

  @Test
  void theCorpusIsThere() throws Exception {
    assertTrue(corpusPages().size() >= 30, "corpus pages: " + corpusPages());
  }

  @Test
  void boxesAreScaledToThePageImageInTheJson() throws IOException {
    String doctags =
        "<doctag><text><loc_100><loc_50><loc_400><loc_250>Body</text></doctag><end_of_utterance>";
    ConvertedPage page = ConvertedPage.of(doctags, blank(1000, 600), null, ALL_FORMATS);
    assertEquals("Body", page.markdown());
    assertEquals(List.of(), page.warnings());
    JsonNode bbox = new ObjectMapper().readTree(page.json()).findValue("bbox");
    assertEquals(200.0, bbox.get("l").asDouble(), 1e-9);
    assertEquals(60.0, bbox.get("t").asDouble(), 1e-9);
    assertEquals(800.0, bbox.get("r").asDouble(), 1e-9);
    assertEquals(300.0, bbox.get("b").asDouble(), 1e-9);
  }

  @Test
  void aPageWithoutItsImageKeepsLocUnitsAndSaysSo() {
    ConvertedPage page =
        ConvertedPage.of(
            "<doctag><text><loc_1><loc_2><loc_3><loc_4>x</text></doctag>",
            null,
            "the row has no image",
            ALL_FORMATS);
    assertEquals("x", page.markdown());
    assertNull(page.width());
    assertEquals(
        List.of(
            "page image not read (the row has no image): boxes are in <loc_N> units (0 to 500),"
                + " not page pixels"),
        page.warnings());
  }

  @Test
  void truncatedAndRandomTextIsConvertedAsFarAsItParsesWithWarnings() {
    String cut = corpus("truncated_mid_table.doctags");
    ConvertedPage page = ConvertedPage.of(cut, blank(50, 50), null, ALL_FORMATS);
    assertEquals(expected("truncated_mid_table.md"), page.markdown());
    assertFalse(page.warnings().isEmpty());
    for (String text : List.of("", "random words <image> ?", "<doctag><otsl><fcel>", "<loc_")) {
      ConvertedPage random = ConvertedPage.of(text, blank(10, 10), null, ALL_FORMATS);
      assertFalse(random.warnings().isEmpty(), text);
      assertNotNull(random.markdown(), text);
    }
  }

  @Test
  void picturesAreCroppedFromTheirBoxesScaledToThePage() throws IOException {
    // a 1000 x 600 white page with a red block at x 200..600, y 120..300 and a blue one below
    int width = 1000;
    int height = 600;
    byte[] rgb = new byte[width * height * 3];
    java.util.Arrays.fill(rgb, (byte) 255);
    paint(rgb, width, 200, 120, 600, 300, 255, 0, 0);
    paint(rgb, width, 0, 420, 500, 600, 0, 0, 255);
    RgbImage image = new RgbImage(width, height, rgb);
    String doctags =
        "<doctag><picture><loc_100><loc_100><loc_300><loc_250><chart></picture>"
            + "<text><loc_0><loc_0><loc_10><loc_10>text</text>"
            + "<picture><loc_0><loc_350><loc_250><loc_500></picture>"
            + "<picture></picture></doctag>";
    DocumentSettings crops = new DocumentSettings(false, false, false, dir.toString(), null, false);
    ConvertedPage page = ConvertedPage.of(doctags, image, null, crops);
    assertEquals(2, page.pictures().size(), "the picture without a box has no crop");
    RgbImage red = page.pictures().get(0);
    assertEquals(400, red.width());
    assertEquals(180, red.height());
    for (int i = 0; i < red.rgb().length; i += 3) {
      assertEquals(255, red.rgb()[i] & 0xFF);
      assertEquals(0, red.rgb()[i + 1] & 0xFF);
    }
    RgbImage blue = page.pictures().get(1);
    assertEquals(500, blue.width());
    assertEquals(180, blue.height());
    assertEquals(255, blue.rgb()[2] & 0xFF);
    assertEquals(0, blue.rgb()[0] & 0xFF);

    // written as PNG files through Hadoop's file system, read back pixel for pixel
    org.apache.hadoop.fs.Path file =
        new org.apache.hadoop.fs.Path(dir.resolve("doc_1").resolve("page-1-picture-1.png").toUri());
    PageConversion.writePng(red, file, new Configuration());
    BufferedImage back = ImageIO.read(dir.resolve("doc_1/page-1-picture-1.png").toFile());
    assertEquals(400, back.getWidth());
    assertEquals(180, back.getHeight());
    assertEquals(0xFF0000, back.getRGB(17, 33) & 0xFFFFFF);
    assertEquals(0xFF0000, back.getRGB(399, 179) & 0xFFFFFF);
    BufferedImage again = ImageIO.read(new ByteArrayInputStream(PageConversion.png(blue)));
    assertEquals(0x0000FF, again.getRGB(0, 0) & 0xFFFFFF);
  }

  @Test
  void noCropsUnlessAsked() {
    ConvertedPage page =
        ConvertedPage.of(
            "<doctag><picture><loc_0><loc_0><loc_500><loc_500></picture></doctag>",
            blank(20, 20),
            null,
            DocumentSettings.DEFAULTS);
    assertTrue(page.pictures().isEmpty());
  }

  @Test
  void documentIdsBecomeSafeFileNames() {
    List<String> names = new ArrayList<>();
    for (String id : List.of("report.pdf", "sub/dir/a b.png", "..", "", "é")) {
      names.add(PageConversion.fileName(id));
    }
    assertEquals(List.of("report.pdf", "sub_dir_a_b.png", "_..", "_", "_"), names);
  }

  private static void paint(
      byte[] rgb, int width, int x0, int y0, int x1, int y1, int r, int g, int b) {
    for (int y = y0; y < y1; y++) {
      for (int x = x0; x < x1; x++) {
        int i = (y * width + x) * 3;
        rgb[i] = (byte) r;
        rgb[i + 1] = (byte) g;
        rgb[i + 2] = (byte) b;
      }
    }
  }
}
