import io.github.idefics3spark.image.DocumentPages;
import io.github.idefics3spark.image.DocumentPages.Format;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pdfbox.io.RandomAccessReadBufferedFile;

/**
 * Rendering alone, as the job's tasks render document pages: every page of one PDF through {@link
 * DocumentPages#render} at a DPI, then {@link io.github.idefics3spark.image.RgbImage#toBmp} (the
 * bitmap the decoder is handed), each page from a source of its own (the document opened again for
 * each page, as each page request does), by THREADS threads taking the next page in turn.
 *
 * <p>One pass over the document warms up (class loading, PDFBox's font cache, the JIT), then PASSES
 * timed passes; prints one JSON line: the pages/s of each pass and their median, the bitmap bytes
 * of a pass (a check that every page was rendered), and the process's peak resident memory (VmHWM
 * from /proc/self/status, Linux).
 *
 * <p>Usage: DocumentBench PDF DPI THREADS PASSES (tools/bench/documents.sh runs it; classpath: the
 * job jar or model-loader's classes and PDFBox)
 */
public final class DocumentBench {
  public static void main(String[] args) throws Exception {
    Path pdf = Path.of(args[0]);
    int dpi = Integer.parseInt(args[1]);
    int threads = Integer.parseInt(args[2]);
    int passes = Integer.parseInt(args[3]);
    int copies = Integer.parseInt(args[4]);
    DocumentPages pages = new DocumentPages(dpi, 1L << 30, "DPI", "the pixel limit");
    int documentPages = pages.count(new RandomAccessReadBufferedFile(pdf), Format.PDF);
    if (documentPages < 1) {
      throw new IllegalArgumentException(
          pdf + " has " + documentPages + " pages: expected a PDF with pages");
    }
    int count = documentPages * copies;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      long bytes = pass(pool, threads, pages, pdf, documentPages, count);
      double[] rates = new double[passes];
      for (int i = 0; i < passes; i++) {
        long start = System.nanoTime();
        long passBytes = pass(pool, threads, pages, pdf, documentPages, count);
        rates[i] = count / ((System.nanoTime() - start) / 1e9);
        if (passBytes != bytes) {
          throw new IllegalStateException(
              "pass " + i + " rendered " + passBytes + " bitmap bytes, the warm-up " + bytes);
        }
      }
      double[] sorted = rates.clone();
      Arrays.sort(sorted);
      double median =
          passes % 2 == 1 ? sorted[passes / 2] : (sorted[passes / 2 - 1] + sorted[passes / 2]) / 2;
      List<String> each = new ArrayList<>();
      for (double rate : rates) {
        each.add(String.format(Locale.ROOT, "%.3f", rate));
      }
      System.out.printf(
          Locale.ROOT,
          "{\"pages\": %d, \"dpi\": %d, \"threads\": %d, \"pages_per_s\": [%s],"
              + " \"median_pages_per_s\": %.3f, \"bmp_bytes\": %d, \"vmhwm_mb\": %.1f}%n",
          count,
          dpi,
          threads,
          String.join(", ", each),
          median,
          bytes,
          peakResidentMb());
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Renders pages 1 to {@code count} on the pool, page i being page (i - 1) % documentPages + 1 of
   * the document; the bitmap bytes of all pages together.
   */
  private static long pass(
      ExecutorService pool,
      int threads,
      DocumentPages pages,
      Path pdf,
      int documentPages,
      int count)
      throws Exception {
    AtomicInteger next = new AtomicInteger(1);
    AtomicLong bytes = new AtomicLong();
    List<Future<?>> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      workers.add(
          pool.submit(
              () -> {
                for (int i = next.getAndIncrement(); i <= count; i = next.getAndIncrement()) {
                  int page = (i - 1) % documentPages + 1;
                  try {
                    bytes.addAndGet(
                        pages
                            .render(new RandomAccessReadBufferedFile(pdf), Format.PDF, page)
                            .toBmp()
                            .length);
                  } catch (IOException e) {
                    throw new IllegalStateException(pdf + " cannot be opened: " + e, e);
                  }
                }
                return null;
              }));
    }
    for (Future<?> worker : workers) {
      worker.get();
    }
    return bytes.get();
  }

  /** VmHWM of /proc/self/status in MiB, or -1 where there is none. */
  private static double peakResidentMb() throws IOException {
    Path status = Path.of("/proc/self/status");
    if (!Files.exists(status)) {
      return -1;
    }
    for (String line : Files.readAllLines(status)) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
      }
    }
    return -1;
  }
}
