package io.github.idefics3spark.image;

import com.twelvemonkeys.imageio.plugins.tiff.TIFFImageReaderSpi;
import io.github.idefics3spark.image.DocumentPageException.Problem;
import java.awt.image.BufferedImage;
import java.io.IOException;
import javax.imageio.ImageReader;
import org.apache.pdfbox.Loader;
import org.apache.pdfbox.io.MemoryUsageSetting;
import org.apache.pdfbox.io.RandomAccessRead;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.encryption.InvalidPasswordException;
import org.apache.pdfbox.rendering.ImageType;
import org.apache.pdfbox.rendering.PDFRenderer;

/**
 * The pages of a PDF (rendered by Apache PDFBox at a DPI) and the frames of a multi-page TIFF
 * (decoded by the TwelveMonkeys TIFF plugin), counted and turned one at a time into the RGB image
 * the model sees.
 *
 * <p>Memory: a document is read through a {@link RandomAccessRead}, so only the objects a page
 * needs are read (the cross-reference table, the page tree, that page's content and resources);
 * PDFBox's scratch buffers spill to temporary files past {@value #SCRATCH_MEMORY_BYTES} bytes. One
 * page is rendered at a time, and its pixel size (the page's CropBox at the DPI, /Rotate applied,
 * as PDFBox sizes it) is checked against the pixel limit before any pixel is drawn.
 *
 * <p>Rendering: RGB, PDFBox's default hints (anti-aliased), annotations drawn. Compared with pdfium
 * (pypdfium2, what Docling uses) at the same DPI the sizes are the same; the pixels differ where
 * the rasterisers and the base-14 fonts do (the test {@code PdfParityTest} reports the mean
 * absolute difference per page). TIFF frames are decoded as {@link ImageDecoder} decodes a TIFF's
 * first frame, without the EXIF orientation.
 *
 * <p>{@link #count} and {@link #render} read their source and close it (PDFBox closes what a
 * document was loaded from): give each call a source of its own. Every failure is a {@link
 * DocumentPageException} naming the page. Instances are immutable and thread-safe.
 */
public final class DocumentPages {
  /** The DPI Docling renders at (its page scale 2.0): 144. */
  public static final int DEFAULT_DPI = 144;

  /** Main memory for PDFBox's scratch buffers of one document; past it they go to temp files. */
  public static final long SCRATCH_MEMORY_BYTES = 8L << 20;

  /** A document format, known from its first bytes. */
  public enum Format {
    PDF,
    TIFF;

    /** The bytes {@link #of} needs at most. */
    public static final int SIGNATURE_BYTES = 5;

    /** The format whose signature {@code head} starts with, or null for neither. */
    public static Format of(byte[] head, int length) {
      if (length >= 5
          && head[0] == '%'
          && head[1] == 'P'
          && head[2] == 'D'
          && head[3] == 'F'
          && head[4] == '-') {
        return PDF;
      }
      if (length >= 4
          && (head[0] == 'I' && head[1] == 'I' && head[2] == 42 && head[3] == 0
              || head[0] == 'M' && head[1] == 'M' && head[2] == 0 && head[3] == 42)) {
        return TIFF;
      }
      return null;
    }

    /** The format of the source's first bytes, or null; the source is left at its start. */
    public static Format of(RandomAccessRead source) throws IOException {
      byte[] head = new byte[SIGNATURE_BYTES];
      source.seek(0);
      int length = 0;
      while (length < head.length) {
        int read = source.read(head, length, head.length - length);
        if (read <= 0) {
          break;
        }
        length += read;
      }
      source.seek(0);
      return of(head, length);
    }
  }

  private final int dpi;
  private final long maxPixels;
  private final String dpiSetting;
  private final String maxPixelsSetting;

  /**
   * @param dpi PDF pages are rendered at this many dots per inch, at least 1
   * @param maxPixels the largest width * height rendered or decoded, at least 1
   * @param dpiSetting the setting that changes the DPI, quoted in errors
   * @param maxPixelsSetting the setting that raises the pixel limit, quoted in errors
   */
  public DocumentPages(int dpi, long maxPixels, String dpiSetting, String maxPixelsSetting) {
    if (dpi < 1) {
      throw new IllegalArgumentException(dpiSetting + " is " + dpi + ": the DPI must be >= 1");
    }
    if (maxPixels < 1) {
      throw new IllegalArgumentException(
          maxPixelsSetting + " is " + maxPixels + ": the pixel limit must be at least 1");
    }
    this.dpi = dpi;
    this.maxPixels = maxPixels;
    this.dpiSetting = dpiSetting;
    this.maxPixelsSetting = maxPixelsSetting;
  }

  public int dpi() {
    return dpi;
  }

  /** A file opened anew at each call: {@link #pageFormat} looks at it twice before rendering. */
  @FunctionalInterface
  public interface Opener {
    RandomAccessRead open() throws IOException;
  }

  /**
   * How page {@code page} of a file is read: the document format whose page is rendered, or null
   * when the file is read as an image: no PDF or TIFF signature, or a TIFF of one frame asked for
   * page 1 (the image decoder then applies its EXIF orientation and metadata limits, as to any
   * image). The stage that answers the page and the document conversion that scales its boxes both
   * ask here, so they see the same pixels.
   */
  public Format pageFormat(Opener file, int page) throws IOException {
    Format format;
    try (RandomAccessRead head = file.open()) {
      format = Format.of(head);
    }
    if (format == Format.TIFF && page == 1) {
      int frames;
      try {
        frames = count(file.open(), format); // closes it
      } catch (DocumentPageException e) {
        frames = -1; // rendering says why
      }
      if (frames == 1) {
        return null;
      }
    }
    return format;
  }

  /**
   * The number of pages (PDF) or frames (TIFF) of the document; 0 for a PDF whose page tree is
   * empty.
   *
   * @throws DocumentPageException when the document is encrypted or cannot be parsed
   */
  public int count(RandomAccessRead source, Format format) {
    if (format == Format.PDF) {
      try (PDDocument document = load(source)) {
        return document.getNumberOfPages();
      } catch (IOException e) {
        throw new DocumentPageException(
            Problem.CORRUPT, "the PDF cannot be closed: " + e.getMessage(), e);
      }
    }
    ImageReader reader = tiffReader(source);
    try {
      return reader.getNumImages(true);
    } catch (IOException | RuntimeException e) {
      throw new DocumentPageException(
          Problem.CORRUPT,
          "the TIFF's frames cannot be listed: "
              + e
              + "; the file is damaged or truncated (re-save it, or convert it to PDF)",
          e);
    } finally {
      reader.dispose();
      closeQuietly(source);
    }
  }

  /**
   * Page {@code page} (1-based) of the document as RGB: a PDF page rendered at {@link #dpi()}, a
   * TIFF frame decoded.
   *
   * @throws DocumentPageException naming the page: encrypted or damaged document, no such page, a
   *     page over the pixel limit, a damaged frame, not enough memory
   */
  public RgbImage render(RandomAccessRead source, Format format, int page) {
    try {
      return format == Format.PDF ? renderPdf(source, page) : renderTiff(source, page);
    } catch (OutOfMemoryError e) {
      throw new DocumentPageException(
          Problem.TOO_LARGE,
          "page "
              + page
              + ": rendering needed more memory than the executor had free; give the executors"
              + " more memory, or lower "
              + dpiSetting
              + " or "
              + maxPixelsSetting);
    }
  }

  private RgbImage renderPdf(RandomAccessRead source, int page) {
    try (PDDocument document = load(source)) {
      int count = document.getNumberOfPages();
      checkPage(page, count, "PDF", "pages");
      PDPage pdfPage = document.getPage(page - 1);
      checkPixels(page, pdfPage);
      BufferedImage image =
          new PDFRenderer(document).renderImageWithDPI(page - 1, dpi, ImageType.RGB);
      return ImageDecoder.toRgb(image);
    } catch (DocumentPageException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new DocumentPageException(
          Problem.CORRUPT,
          "page "
              + page
              + " cannot be rendered: "
              + e
              + "; the PDF is damaged (repair it, e.g. by printing it to a new PDF)",
          e);
    }
  }

  private RgbImage renderTiff(RandomAccessRead source, int page) {
    ImageReader reader = tiffReader(source);
    try {
      int count;
      try {
        count = reader.getNumImages(true);
      } catch (IOException | RuntimeException e) {
        throw new DocumentPageException(
            Problem.CORRUPT,
            "frame "
                + page
                + ": the TIFF's frames cannot be listed: "
                + e
                + "; the file is damaged",
            e);
      }
      checkPage(page, count, "TIFF", "frames");
      int width = reader.getWidth(page - 1);
      int height = reader.getHeight(page - 1);
      if (width < 1 || height < 1) {
        throw new DocumentPageException(
            Problem.CORRUPT,
            "frame "
                + page
                + " declares "
                + width
                + " x "
                + height
                + " pixels (the file is damaged)");
      }
      checkLimit(page, "frame", width, height, "", "");
      return ImageDecoder.toRgb(reader.read(page - 1));
    } catch (DocumentPageException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new DocumentPageException(
          Problem.CORRUPT,
          "frame "
              + page
              + " cannot be decoded: "
              + e
              + "; the frame is damaged or truncated (re-save the TIFF)",
          e);
    } finally {
      reader.dispose();
      closeQuietly(source);
    }
  }

  private static void closeQuietly(RandomAccessRead source) {
    try {
      source.close();
    } catch (IOException e) {
      // only read from: nothing is lost
    }
  }

  private static PDDocument load(RandomAccessRead source) {
    try {
      source.seek(0);
      return Loader.loadPDF(
          source, "", MemoryUsageSetting.setupMixed(SCRATCH_MEMORY_BYTES).streamCache);
    } catch (InvalidPasswordException e) {
      closeQuietly(source);
      throw new DocumentPageException(
          Problem.ENCRYPTED,
          "the PDF is encrypted and does not open without its password; decrypt it before the"
              + " job (qpdf --decrypt --password=... in.pdf out.pdf)",
          e);
    } catch (IOException | RuntimeException e) {
      closeQuietly(source);
      throw new DocumentPageException(
          Problem.CORRUPT,
          "the PDF cannot be parsed: "
              + e.getMessage()
              + "; the file is damaged or not a PDF (repair it, e.g. by printing it to a new PDF)",
          e);
    }
  }

  private static void checkPage(int page, int count, String format, String unit) {
    if (count == 0 && format.equals("TIFF")) { // a TIFF always has a frame: this one is damaged
      throw new DocumentPageException(
          Problem.CORRUPT,
          "the TIFF has no frame that can be read; the file is damaged or truncated (re-save it)");
    }
    if (count == 0) {
      throw new DocumentPageException(
          Problem.NO_SUCH_PAGE, "page " + page + " asked, but the " + format + " has no " + unit);
    }
    if (page < 1 || page > count) {
      throw new DocumentPageException(
          Problem.NO_SUCH_PAGE,
          "page "
              + page
              + " asked, but the "
              + format
              + " has "
              + count
              + " "
              + unit
              + " (1 to "
              + count
              + "); correct the row's pages");
    }
  }

  /** The page's pixel size at the DPI, as PDFBox's renderImage sizes it, against the limit. */
  private void checkPixels(int page, PDPage pdfPage) {
    PDRectangle crop = pdfPage.getCropBox();
    double scale = dpi / 72.0;
    double widthPx = Math.max(Math.floor(crop.getWidth() * (float) scale), 1);
    double heightPx = Math.max(Math.floor(crop.getHeight() * (float) scale), 1);
    if (!Double.isFinite(widthPx) || !Double.isFinite(heightPx)) {
      throw new DocumentPageException(
          Problem.CORRUPT,
          "page " + page + " has a CropBox of no finite size (the PDF is damaged)");
    }
    int rotation = pdfPage.getRotation();
    boolean turned = rotation == 90 || rotation == 270;
    long width = (long) (turned ? heightPx : widthPx);
    long height = (long) (turned ? widthPx : heightPx);
    checkLimit(
        page,
        "page",
        width,
        height,
        " at " + dpi + " DPI (" + crop.getWidth() + " x " + crop.getHeight() + " points)",
        "lower " + dpiSetting + ", or ");
  }

  private void checkLimit(
      int page, String unit, long width, long height, String why, String otherFix) {
    long limit = Math.min(maxPixels, Integer.MAX_VALUE / 3);
    long pixels = width * height;
    if (pixels > limit) {
      throw new DocumentPageException(
          Problem.TOO_MANY_PIXELS,
          unit
              + " "
              + page
              + " is "
              + width
              + " x "
              + height
              + " = "
              + pixels
              + " pixels"
              + why
              + ", over the limit of "
              + limit
              + "; "
              + otherFix
              + "raise "
              + maxPixelsSetting
              + " if the document is trusted");
    }
  }

  private static ImageReader tiffReader(RandomAccessRead source) {
    ImageReader reader = new TIFFImageReaderSpi().createReaderInstance(null);
    try {
      source.seek(0);
    } catch (IOException e) {
      reader.dispose();
      throw new DocumentPageException(
          Problem.CORRUPT, "the TIFF cannot be read: " + e.getMessage(), e);
    }
    reader.setInput(new RandomAccessReadImageStream(source), false, true);
    return reader;
  }
}
