package io.github.idefics3spark.job;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The benchmarks {@code eval} runs and {@code score} scores, in the order of {@code --help} and the
 * README's table; a new benchmark is one class and one entry here.
 */
final class Benchmarks {
  static final List<Benchmark> ALL =
      List.of(
          new DocVqa(),
          new InfographicVqa(),
          new TextVqa(),
          new VqaV2(),
          new Mmmu(),
          new MmStar(),
          new MathVista(),
          new ChartQa(),
          new Ai2d(),
          new OcrBench(),
          new ScienceQaImg());

  private Benchmarks() {}

  /** The benchmark named {@code name} (any case), or null. */
  static Benchmark forName(String name) {
    for (Benchmark b : ALL) {
      if (b.layout().name().equals(name.toLowerCase(Locale.ROOT))) {
        return b;
      }
    }
    return null;
  }

  /** The names, {@code docvqa|infographicvqa|...}. */
  static String choices() {
    return ALL.stream().map(b -> b.layout().name()).collect(Collectors.joining("|"));
  }
}
