package io.github.idefics3spark.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.image.DocumentPageException.Problem;
import io.github.idefics3spark.image.DocumentPages.Format;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.pdfbox.io.RandomAccessRead;
import org.apache.pdfbox.io.RandomAccessReadBuffer;
import org.apache.pdfbox.io.RandomAccessReadBufferedFile;
import org.junit.jupiter.api.Test;

class DocumentPagesTest {
  private static final Path DOCUMENTS = ReferenceFixtures.documents();
  private static final DocumentPages PAGES =
      new DocumentPages(144, ImageDecoder.DEFAULT_MAX_PIXELS, "--dpi", "--max-image-pixels");

  private static RandomAccessRead open(String name) throws IOException {
    return new RandomAccessReadBufferedFile(DOCUMENTS.resolve(name).toFile());
  }

  private static int count(String name) throws IOException {
    try (RandomAccessRead source = open(name)) {
      return PAGES.count(source, Format.of(source));
    }
  }

  private static RgbImage render(DocumentPages pages, String name, int page) throws IOException {
    try (RandomAccessRead source = open(name)) {
      return pages.render(source, Format.of(source), page);
    }
  }

  private static DocumentPageException failure(DocumentPages pages, String name, int page) {
    return assertThrows(DocumentPageException.class, () -> render(pages, name, page));
  }

  @Test
  void formatsAreKnownByTheirFirstBytes() throws IOException {
    try (RandomAccessRead pdf = open("sample.pdf");
        RandomAccessRead tiff = open("two-frames.tiff")) {
      assertEquals(Format.PDF, Format.of(pdf));
      assertEquals(0, pdf.getPosition());
      assertEquals(Format.TIFF, Format.of(tiff));
    }
    byte[] bigEndianTiff = {'M', 'M', 0, 42};
    assertEquals(Format.TIFF, Format.of(bigEndianTiff, 4));
    assertNull(Format.of("%PDF".getBytes(), 4));
    assertNull(Format.of(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 0, 0}, 5));
    try (RandomAccessRead empty = new RandomAccessReadBuffer(new byte[0])) {
      assertNull(Format.of(empty));
    }
  }

  @Test
  void pagesAndFramesAreCounted() throws IOException {
    assertEquals(4, count("sample.pdf"));
    assertEquals(3, count("three-pages.pdf"));
    assertEquals(0, count("empty.pdf"));
    assertEquals(2, count("two-frames.tiff"));
    assertEquals(2, count("corrupt-frame.tiff"));
  }

  @Test
  void aPageIsItsCropBoxAtTheDpiRotated() throws IOException {
    RgbImage text = render(PAGES, "sample.pdf", 1); // 200 x 150 points
    assertEquals(400, text.width());
    assertEquals(300, text.height());
    RgbImage rotated = render(PAGES, "sample.pdf", 3); // 200 x 150, /Rotate 90
    assertEquals(300, rotated.width());
    assertEquals(400, rotated.height());
    RgbImage cropped = render(PAGES, "sample.pdf", 4); // CropBox 200 x 120 inside 300 x 200
    assertEquals(400, cropped.width());
    assertEquals(240, cropped.height());
    // the CropBox shows the white box drawn inside the red MediaBox: its corners are white
    assertEquals(255, cropped.sample(1, 1, 1));
    assertEquals(255, cropped.sample(398, 238, 2));
    RgbImage at72 = render(new DocumentPages(72, 1_000_000, "--dpi", "px"), "sample.pdf", 1);
    assertEquals(200, at72.width());
    assertEquals(150, at72.height());
  }

  @Test
  void tiffFramesAreDecodedEach() throws IOException {
    RgbImage first = render(PAGES, "two-frames.tiff", 1);
    RgbImage second = render(PAGES, "two-frames.tiff", 2);
    assertEquals(40, first.width());
    assertEquals(30, first.height());
    assertEquals(24, second.width());
    assertEquals(36, second.height());
    // the fixture's formula: R = 20 + 3x, G = 60 + 2y, B = 200 + (x ^ y), clipped to 255
    for (int y = 0; y < 36; y += 7) {
      for (int x = 0; x < 24; x += 5) {
        assertEquals(Math.min(255, 20 + 3 * x), second.sample(x, y, 0));
        assertEquals(Math.min(255, 60 + 2 * y), second.sample(x, y, 1));
        assertEquals(Math.min(255, 200 + (x ^ y)), second.sample(x, y, 2));
      }
    }
  }

  @Test
  void aCorruptFrameFailsAloneNamingIt() throws IOException {
    assertEquals(render(PAGES, "two-frames.tiff", 1), render(PAGES, "corrupt-frame.tiff", 1));
    DocumentPageException e = failure(PAGES, "corrupt-frame.tiff", 2);
    assertEquals(Problem.CORRUPT, e.problem());
    assertTrue(e.getMessage().startsWith("frame 2 cannot be decoded: "), e.getMessage());
  }

  @Test
  void encryptedDamagedAndEmptyDocumentsSayWhy() {
    DocumentPageException encrypted = failure(PAGES, "encrypted.pdf", 1);
    assertEquals(Problem.ENCRYPTED, encrypted.problem());
    assertTrue(encrypted.getMessage().contains("encrypted"), encrypted.getMessage());
    DocumentPageException damaged = failure(PAGES, "damaged.pdf", 1);
    assertEquals(Problem.CORRUPT, damaged.problem());
    assertTrue(damaged.getMessage().startsWith("the PDF cannot be parsed"), damaged.getMessage());
    DocumentPageException empty = failure(PAGES, "empty.pdf", 1);
    assertEquals(Problem.NO_SUCH_PAGE, empty.problem());
    assertEquals("page 1 asked, but the PDF has no pages", empty.getMessage());
    DocumentPageException past = failure(PAGES, "three-pages.pdf", 7);
    assertEquals(Problem.NO_SUCH_PAGE, past.problem());
    assertEquals(
        "page 7 asked, but the PDF has 3 pages (1 to 3); correct the row's pages",
        past.getMessage());
    assertEquals(Problem.NO_SUCH_PAGE, failure(PAGES, "two-frames.tiff", 3).problem());
  }

  @Test
  void thePixelLimitIsCheckedBeforeRendering() {
    DocumentPages tight = new DocumentPages(144, 400 * 300 - 1, "--dpi", "--max-image-pixels");
    DocumentPageException e = failure(tight, "sample.pdf", 1);
    assertEquals(Problem.TOO_MANY_PIXELS, e.problem());
    assertEquals(
        "page 1 is 400 x 300 = 120000 pixels at 144 DPI (200.0 x 150.0 points), over the limit"
            + " of 119999; lower --dpi, or raise --max-image-pixels if the document is trusted",
        e.getMessage());
    // 100,000 DPI would be 277777 x 208333 pixels: refused at once, never allocated
    DocumentPages huge = new DocumentPages(100_000, Long.MAX_VALUE, "--dpi", "px");
    assertEquals(Problem.TOO_MANY_PIXELS, failure(huge, "sample.pdf", 1).problem());
    DocumentPages tinyTiff = new DocumentPages(144, 100, "--dpi", "--max-image-pixels");
    assertTrue(
        failure(tinyTiff, "two-frames.tiff", 2)
            .getMessage()
            .startsWith("frame 2 is 24 x 36 = 864"));
  }

  @Test
  void aRenderedPageSurvivesBmpIntoTheDecoderUnchanged() throws IOException {
    RgbImage page = render(PAGES, "sample.pdf", 2);
    assertEquals(page, new ImageDecoder().decode(page.toBmp()));
    RgbImage odd = render(new DocumentPages(37, 1_000_000, "--dpi", "px"), "sample.pdf", 1);
    assertEquals(1, odd.width() % 4 == 0 ? 0 : 1); // 102 x 77: rows padded to 4 bytes
    assertArrayEquals(odd.rgb(), new ImageDecoder().decode(odd.toBmp()).rgb());
  }

  @Test
  void bytesInMemoryReadLikeAFile() throws IOException {
    byte[] bytes = Files.readAllBytes(DOCUMENTS.resolve("three-pages.pdf"));
    RandomAccessRead source = new RandomAccessReadBuffer(bytes);
    assertEquals(3, PAGES.count(source, Format.PDF));
    assertTrue(source.isClosed());
    assertEquals(
        render(PAGES, "three-pages.pdf", 2),
        PAGES.render(new RandomAccessReadBuffer(bytes), Format.PDF, 2));
  }
}
