import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * What the bench programs report beside their own figures: medians over rounds and the machine's
 * load average. The scripts compile it with the program they run.
 */
final class BenchStats {
  private BenchStats() {}

  /** The median of {@code values} (the mean of the middle two for an even count). */
  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /** The median of {@code figure} over {@code passes}. */
  static <P> double median(List<P> passes, ToDoubleFunction<P> figure) {
    return median(passes.stream().mapToDouble(figure).toArray());
  }

  /** /proc/loadavg as it reads: the 1, 5 and 15 minute averages, runnable/total, last pid. */
  static String loadAverages() throws IOException {
    return Files.readString(Path.of("/proc/loadavg")).trim();
  }

  /** The 1-minute load average. */
  static double load() throws IOException {
    return Double.parseDouble(loadAverages().split(" ")[0]);
  }
}
