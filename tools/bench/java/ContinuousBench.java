import io.github.idefics3spark.idefics3.runtime.Idefics3Answer;
import io.github.idefics3spark.idefics3.runtime.Idefics3Request;
import io.github.idefics3spark.idefics3.runtime.Idefics3Runtime;
import io.github.idefics3spark.idefics3.runtime.ImageFeatureCache;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Continuous batching against static batches, side by side in one JVM on one loaded model: REQUESTS
 * questions on the sample images, each with its own max_new_tokens drawn from [MIN_NEW, MAX_NEW]
 * (seeded; DISTRIBUTION "uniform", or "loguniform": as many answers between 8 and 16 tokens as
 * between 256 and 512, the shape of real answer lengths, most short and a few long), answered in
 * batches of BATCH both ways, rounds alternating which goes first:
 *
 * <pre>
 *   static      continuous_batching false: each batch of BATCH decodes until its longest row ends
 *   continuous  continuous_batching true: a row takes a slot as soon as one frees
 * </pre>
 *
 * <p>The image features are encoded once in the warm-up and reused (one {@link ImageFeatureCache}
 * for every pass), so a pass times the text side only: prefill and decode. Per pass: wall time,
 * tokens generated, tokens/s, the load average (1 min) around it. Every side must generate the same
 * tokens for every request. Prints one JSON line per pass, then the medians, the ratio, and the
 * steps each way would need with no overhead: static = the sum over batches of the longest row,
 * continuous = the tokens / BATCH (its bound; the tail where fewer rows are left is extra).
 *
 * <p>Usage: ContinuousBench PACKAGE_DIR BATCH MIN_NEW MAX_NEW DISTRIBUTION REQUESTS LONGEST_EDGE
 * INTRA_OP ROUNDS SEED IMAGE...
 */
public final class ContinuousBench {
  private static final String[] QUESTIONS = {
    "Describe this image in detail.",
    "What is written here?",
    "What is the title?",
    "List everything you see.",
  };

  private static final List<String> SIDES = List.of("static", "continuous");

  private record Pass(double seconds, long tokens, double load, List<int[]> answers) {}

  public static void main(String[] args) throws Exception {
    Path packageDir = Path.of(args[0]);
    int batch = Integer.parseInt(args[1]);
    int minNew = Integer.parseInt(args[2]);
    int maxNew = Integer.parseInt(args[3]);
    String distribution = args[4];
    int count = Integer.parseInt(args[5]);
    int longestEdge = Integer.parseInt(args[6]);
    int intraOp = Integer.parseInt(args[7]);
    int rounds = Integer.parseInt(args[8]);
    long seed = Long.parseLong(args[9]);
    if (!distribution.equals("uniform") && !distribution.equals("loguniform")) {
      throw new IllegalArgumentException(
          "DISTRIBUTION is " + distribution + ", expected uniform or loguniform");
    }
    List<byte[]> images = new ArrayList<>();
    for (int i = 10; i < args.length; i++) {
      images.add(Files.readAllBytes(Path.of(args[i])));
    }
    Random random = new Random(seed);
    List<Idefics3Request> requests = new ArrayList<>();
    int[] limits = new int[count];
    for (int i = 0; i < count; i++) {
      limits[i] =
          distribution.equals("uniform")
              ? minNew + random.nextInt(maxNew - minNew + 1)
              : (int)
                  Math.min(
                      maxNew,
                      Math.floor(
                          minNew
                              * Math.exp(random.nextDouble() * Math.log((maxNew + 1.0) / minNew))));
      requests.add(
          Idefics3Request.question(
                  QUESTIONS[i % QUESTIONS.length], List.of(images.get(i % images.size())))
              .withMaxNewTokens(limits[i]));
    }
    ModelSettings settings =
        ModelSettings.builder()
            .intraOpThreads(intraOp)
            .batchSize(batch)
            .maxNewTokens(maxNew)
            .longestEdge(longestEdge)
            .build();
    ImageFeatureCache cache = ImageFeatureCache.ofMegabytes(1024);
    try (Idefics3Runtime loaded = Idefics3Runtime.load(packageDir, settings)) {
      Map<String, Idefics3Runtime> models = new LinkedHashMap<>();
      models.put(
          "static", loaded.withSettings(settings.toBuilder().continuousBatching(false).build()));
      models.put(
          "continuous", loaded.withSettings(settings.toBuilder().continuousBatching(true).build()));
      // warm-up: graphs, JIT, and every image's features into the shared cache
      List<Idefics3Request> warm = new ArrayList<>();
      for (int i = 0; i < Math.min(images.size(), count); i++) {
        warm.add(requests.get(i).withMaxNewTokens(2));
      }
      for (Idefics3Runtime model : models.values()) {
        model.answer(warm, cache);
      }
      Map<String, List<Pass>> passes = new LinkedHashMap<>();
      for (String side : SIDES) {
        passes.put(side, new ArrayList<>());
      }
      for (int round = 0; round < rounds; round++) {
        for (int s = 0; s < SIDES.size(); s++) {
          String side = SIDES.get((s + round) % SIDES.size());
          Pass pass = run(models.get(side), side, requests, cache);
          passes.get(side).add(pass);
          System.out.printf(
              Locale.ROOT,
              "{\"side\": \"%s\", \"round\": %d, \"requests\": %d, \"s\": %.3f, \"tokens\": %d,"
                  + " \"tokens_per_s\": %.3f, \"load1\": %.2f}%n",
              side,
              round,
              requests.size(),
              pass.seconds(),
              pass.tokens(),
              pass.tokens() / pass.seconds(),
              pass.load());
        }
      }

      // the steps each way needs with no overhead, from the tokens the requests generated
      List<int[]> reference = passes.get("static").get(0).answers();
      long staticSteps = 0;
      long total = 0;
      for (int from = 0; from < count; from += batch) {
        int longest = 0;
        for (int i = from; i < Math.min(count, from + batch); i++) {
          longest = Math.max(longest, reference.get(i).length);
          total += reference.get(i).length;
        }
        staticSteps += longest;
      }
      long continuousSteps = (total + batch - 1) / batch;
      System.out.printf(
          Locale.ROOT,
          "%n%d requests, max_new_tokens %s in [%d, %d] (seed %d; mean %.0f, generated %d"
              + " tokens), batch %d, longest edge %d, %d intra-op threads; medians of %d rounds%n",
          count,
          distribution,
          minNew,
          maxNew,
          seed,
          Arrays.stream(limits).average().orElse(0),
          total,
          batch,
          longestEdge,
          intraOp,
          rounds);
      System.out.printf(
          Locale.ROOT,
          "decode steps with no overhead: static %d, continuous >= %d (bound %.2fx)%n",
          staticSteps,
          continuousSteps,
          (double) staticSteps / continuousSteps);
      System.out.println("| side | s | tokens/s | x static | load avg | same tokens |");
      System.out.println("|---|---|---|---|---|---|");
      double base = BenchStats.median(passes.get("static"), p -> p.tokens() / p.seconds());
      for (String side : SIDES) {
        List<Pass> list = passes.get(side);
        double tps = BenchStats.median(list, p -> p.tokens() / p.seconds());
        boolean same = true;
        for (Pass pass : list) {
          for (int i = 0; i < reference.size(); i++) {
            same &= Arrays.equals(reference.get(i), pass.answers().get(i));
          }
        }
        System.out.printf(
            Locale.ROOT,
            "| %s | %.1f | %.2f | %.2fx | %.1f | %s |%n",
            side,
            BenchStats.median(list, Pass::seconds),
            tps,
            tps / base,
            BenchStats.median(list, Pass::load),
            same ? "yes" : "NO");
      }
    }
  }

  private static Pass run(
      Idefics3Runtime model, String side, List<Idefics3Request> requests, ImageFeatureCache cache)
      throws Exception {
    double loadBefore = BenchStats.load();
    long start = System.nanoTime();
    List<Idefics3Answer> answers = model.answer(requests, cache);
    double seconds = (System.nanoTime() - start) / 1e9;
    long tokens = 0;
    List<int[]> out = new ArrayList<>(answers.size());
    for (Idefics3Answer answer : answers) {
      if (answer.error() != null) {
        throw new IllegalStateException(side + ": " + answer.error());
      }
      tokens += answer.tokens().length;
      out.add(answer.tokens());
    }
    return new Pass(seconds, tokens, (loadBefore + BenchStats.load()) / 2, out);
  }
}
