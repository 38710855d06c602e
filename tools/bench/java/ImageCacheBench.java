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

/**
 * The image cache and the decode overlap, side by side in one JVM on one loaded model: DocVQA's
 * shape, QUESTIONS questions on each image (a page's questions next to each other, as {@code
 * PartitionInference} groups them), answered four ways, rounds alternating them:
 *
 * <pre>
 *   off-serial   image_cache_mb 0, one answer call per batch: every question decodes and encodes its
 *                image, and the session waits while the batch's images decode
 *   off-overlap  image_cache_mb 0, one call for all: the next batch decodes while this one runs
 *   on-serial    image_cache_mb CACHE_MB (a fresh cache per pass, as per partition), a call a batch
 *   on-overlap   the cache and the overlap: what PartitionInference does
 * </pre>
 *
 * <p>Per pass: questions/s and images/s (distinct images / wall), frames the vision encoder read,
 * and the session's idle share, 1 - (sum over batches of encode + generate) / wall: the time the
 * task's TensorFlow session is not running a batch (decoding, resizing, prompts, detokenising). The
 * generated tokens of every side must equal off-serial's. Prints one JSON line per pass, then the
 * medians and the ratios against off-serial, with the load average (1 min) around each pass.
 *
 * <p>Usage: ImageCacheBench PACKAGE_DIR QUESTIONS BATCH MAX_NEW LONGEST_EDGE INTRA_OP CACHE_MB
 * ROUNDS IMAGE...
 */
public final class ImageCacheBench {
  private static final String[] QUESTIONS = {
    "What is the title of this page?",
    "What is the date mentioned here?",
    "Who is this addressed to?",
    "What is the total amount?",
    "Which figure is the largest?",
    "What does the first line say?",
  };

  private static final List<String> SIDES =
      List.of("off-serial", "off-overlap", "on-serial", "on-overlap");

  /** What one pass measured. */
  private record Pass(
      double seconds, long frames, double busySeconds, double load, List<int[]> tokens) {}

  public static void main(String[] args) throws Exception {
    Path packageDir = Path.of(args[0]);
    int questions = Integer.parseInt(args[1]);
    int batch = Integer.parseInt(args[2]);
    int maxNew = Integer.parseInt(args[3]);
    int longestEdge = Integer.parseInt(args[4]);
    int intraOp = Integer.parseInt(args[5]);
    int cacheMb = Integer.parseInt(args[6]);
    int rounds = Integer.parseInt(args[7]);
    List<byte[]> images = new ArrayList<>();
    for (int i = 8; i < args.length; i++) {
      images.add(Files.readAllBytes(Path.of(args[i])));
    }
    List<Idefics3Request> requests = new ArrayList<>();
    for (byte[] image : images) {
      for (int q = 0; q < questions; q++) {
        requests.add(
            Idefics3Request.question(
                QUESTIONS[q % QUESTIONS.length] + (q < QUESTIONS.length ? "" : " (" + q + ")"),
                List.of(image)));
      }
    }
    ModelSettings settings =
        ModelSettings.builder()
            .intraOpThreads(intraOp)
            .batchSize(batch)
            .maxNewTokens(maxNew)
            .longestEdge(longestEdge)
            .imageCacheMb(cacheMb)
            // static batches: the session's busy time is each batch's encode + generate (in
            // slots a row's generate time is its own); continuous.sh measures the slots
            .continuousBatching(false)
            .build();
    try (Idefics3Runtime model = Idefics3Runtime.load(packageDir, settings)) {
      run(model, "on-overlap", requests, batch, cacheMb); // warm-up: graphs, pools, JIT
      Map<String, List<Pass>> passes = new LinkedHashMap<>();
      for (String side : SIDES) {
        passes.put(side, new ArrayList<>());
      }
      for (int round = 0; round < rounds; round++) {
        for (int s = 0; s < SIDES.size(); s++) {
          String side = SIDES.get((s + round) % SIDES.size()); // rotate which goes first
          Pass pass = run(model, side, requests, batch, cacheMb);
          passes.get(side).add(pass);
          System.out.printf(
              Locale.ROOT,
              "{\"side\": \"%s\", \"round\": %d, \"questions\": %d, \"images\": %d, \"s\": %.3f,"
                  + " \"questions_per_s\": %.3f, \"images_per_s\": %.3f, \"frames_encoded\": %d,"
                  + " \"session_idle\": %.3f, \"load1\": %.2f}%n",
              side,
              round,
              requests.size(),
              images.size(),
              pass.seconds(),
              requests.size() / pass.seconds(),
              images.size() / pass.seconds(),
              pass.frames(),
              1 - pass.busySeconds() / pass.seconds(),
              pass.load());
        }
      }
      List<int[]> reference = passes.get("off-serial").get(0).tokens();
      System.out.printf(
          Locale.ROOT,
          "%n%d images x %d questions, batch %d, %d new tokens, longest edge %s, %d intra-op"
              + " threads, cache %d MiB; medians of %d rounds%n",
          images.size(),
          questions,
          batch,
          maxNew,
          longestEdge == 0 ? "the checkpoint's" : Integer.toString(longestEdge),
          intraOp,
          cacheMb,
          rounds);
      System.out.println(
          "| side | questions/s | images/s | x off-serial | frames encoded | session idle | load"
              + " avg | same tokens |");
      System.out.println("|---|---|---|---|---|---|---|---|");
      double base = BenchStats.median(passes.get("off-serial"), p -> requests.size() / p.seconds());
      for (String side : SIDES) {
        List<Pass> list = passes.get(side);
        double qps = BenchStats.median(list, p -> requests.size() / p.seconds());
        boolean same = true;
        for (Pass pass : list) {
          for (int i = 0; i < reference.size(); i++) {
            same &= Arrays.equals(reference.get(i), pass.tokens().get(i));
          }
        }
        System.out.printf(
            Locale.ROOT,
            "| %s | %.2f | %.2f | %.2fx | %d | %.1f%% | %.1f | %s |%n",
            side,
            qps,
            BenchStats.median(list, p -> images.size() / p.seconds()),
            qps / base,
            list.get(0).frames(),
            100 * BenchStats.median(list, p -> 1 - p.busySeconds() / p.seconds()),
            BenchStats.median(list, Pass::load),
            same ? "yes" : "NO");
      }
    }
  }

  private static Pass run(
      Idefics3Runtime model, String side, List<Idefics3Request> requests, int batch, int cacheMb)
      throws Exception {
    ImageFeatureCache cache = ImageFeatureCache.ofMegabytes(side.startsWith("on") ? cacheMb : 0);
    double loadBefore = BenchStats.load();
    long frames = model.framesEncoded();
    long start = System.nanoTime();
    List<Idefics3Answer> answers = new ArrayList<>(requests.size());
    if (side.endsWith("serial")) {
      for (int from = 0; from < requests.size(); from += batch) {
        answers.addAll(
            model.answer(requests.subList(from, Math.min(requests.size(), from + batch)), cache));
      }
    } else {
      answers.addAll(model.answer(requests, cache));
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    long busy = 0;
    List<int[]> tokens = new ArrayList<>(answers.size());
    for (int from = 0; from < answers.size(); from += batch) {
      long batchNanos = 0; // the rows of a batch carry the batch's encode and generate times
      for (Idefics3Answer answer : answers.subList(from, Math.min(answers.size(), from + batch))) {
        if (answer.error() != null) {
          throw new IllegalStateException(side + ": " + answer.error());
        }
        batchNanos = Math.max(batchNanos, answer.encodeNanos() + answer.generateNanos());
        tokens.add(answer.tokens());
      }
      busy += batchNanos;
    }
    return new Pass(
        seconds,
        model.framesEncoded() - frames,
        busy / 1e9,
        (loadBefore + BenchStats.load()) / 2,
        tokens);
  }
}
