package io.github.idefics3spark.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.image.DocumentPages.Format;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.pdfbox.io.RandomAccessRead;
import org.apache.pdfbox.io.RandomAccessReadBufferedFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * PDFBox's rendering of each page of {@code sample.pdf} at 144 DPI against pypdfium2's (pdfium,
 * what Docling renders with), committed by {@code tools/reference/document_fixtures.py}: the same
 * size, and a mean absolute difference over all RGB samples below a bound per page. The two
 * rasterisers anti-alias edges differently and draw the base-14 fonts with different font files
 * (pdfium's built-in Foxit fonts, PDFBox's Liberation fonts), so text pages differ most.
 *
 * <p>Measured (PDFBox 3.0.8, pypdfium2 5.13.0): page 1 3.38, page 2 0.32, page 3 0.61, page 4 0.85
 * levels out of 255; the bounds below leave a margin for other JDKs' font rasterisers.
 */
class PdfParityTest {
  private static final Path DOCUMENTS = ReferenceFixtures.documents();

  @ParameterizedTest(name = "page {0}: {1}")
  @CsvSource({
    "1, text and vector shapes, 5.0",
    "2, embedded JPEG, 1.0",
    "3, /Rotate 90, 1.5",
    "4, CropBox, 1.5"
  })
  void aPageRendersAsPdfiumRendersIt(int page, String feature, double bound) throws IOException {
    RgbImage ours;
    try (RandomAccessRead source =
        new RandomAccessReadBufferedFile(DOCUMENTS.resolve("sample.pdf").toFile())) {
      ours =
          new DocumentPages(144, ImageDecoder.DEFAULT_MAX_PIXELS, "--dpi", "--max-image-pixels")
              .render(source, Format.PDF, page);
    }
    RgbImage pdfium =
        new ImageDecoder()
            .decode(Files.readAllBytes(DOCUMENTS.resolve("sample-p" + page + ".png")));
    assertEquals(pdfium.width(), ours.width(), "width");
    assertEquals(pdfium.height(), ours.height(), "height");
    long sum = 0;
    int max = 0;
    for (int i = 0; i < ours.rgb().length; i++) {
      int difference = Math.abs((ours.rgb()[i] & 0xFF) - (pdfium.rgb()[i] & 0xFF));
      sum += difference;
      max = Math.max(max, difference);
    }
    double mad = (double) sum / ours.rgb().length;
    System.out.printf(
        Locale.ROOT,
        "PdfParityTest page %d (%s), %d x %d: mean absolute difference %.3f, max %d%n",
        page,
        feature,
        ours.width(),
        ours.height(),
        mad,
        max);
    assertTrue(mad < bound, "page " + page + " (" + feature + "): MAD " + mad + " >= " + bound);
  }
}
