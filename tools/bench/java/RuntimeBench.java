import io.github.idefics3spark.idefics3.runtime.Idefics3Answer;
import io.github.idefics3spark.idefics3.runtime.Idefics3Request;
import io.github.idefics3spark.idefics3.runtime.Idefics3Runtime;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The runtime-alone side of the job benchmark (tools/bench/job.sh): the work of {@code caption} on
 * a folder of images, without Spark. One {@link Idefics3Runtime} is loaded with INTRA_OP TensorFlow
 * threads and shared by THREADS worker threads, as local[N]'s N tasks share the executor's model
 * ({@code ModelCache}). The files, sorted by name, are cut into THREADS contiguous slices (as Spark
 * slices a local collection into partitions); each worker reads its slice BATCH files at a time
 * (bytes read inside the timed part, as the job's tasks read them) and answers them with {@link
 * Idefics3Runtime#answer}, the caption prompt ("Describe this image.") after the image.
 *
 * <p>Prints one JSON line: rows, images, errors, generated and prompt tokens, image frames, the
 * summed per-row preprocessing time and the summed model time of the batches (the vision encoder
 * and the decode loop, as the job's encode_ms + generate_ms), the load time (package + processor),
 * the answer time (first batch started to last worker done) and each worker's own time.
 *
 * <p>Usage: RuntimeBench PACKAGE_DIR IMAGES_DIR THREADS INTRA_OP BATCH MAX_NEW LONGEST_EDGE
 * IMAGE_SPLITTING [PROMPT]
 */
public final class RuntimeBench {
  /** What one worker did. */
  private static final class Worker extends Thread {
    private final Idefics3Runtime model;
    private final List<Path> files;
    private final int batch;
    private final String prompt;
    long rows;
    long errors;
    long generated;
    long promptTokens;
    long frames;
    long preprocessNanos;
    long modelNanos;
    double seconds;
    Throwable failure;

    Worker(Idefics3Runtime model, List<Path> files, int batch, String prompt) {
      this.model = model;
      this.files = files;
      this.batch = batch;
      this.prompt = prompt;
    }

    @Override
    public void run() {
      long start = System.nanoTime();
      try {
        for (int from = 0; from < files.size(); from += batch) {
          List<Idefics3Request> requests = new ArrayList<>(batch);
          for (Path file : files.subList(from, Math.min(files.size(), from + batch))) {
            requests.add(Idefics3Request.question(prompt, List.of(Files.readAllBytes(file))));
          }
          List<Idefics3Answer> answers = model.answer(requests);
          // one model call per batch (requests.size() <= batch size): its rows share these times
          long batchNanos = 0;
          for (Idefics3Answer answer : answers) {
            batchNanos = Math.max(batchNanos, answer.encodeNanos() + answer.generateNanos());
            preprocessNanos += answer.preprocessNanos();
            rows++;
            if (answer.error() != null) {
              errors++;
            }
            generated += answer.generatedTokens();
            promptTokens += answer.promptTokens();
            frames += answer.frames();
          }
          modelNanos += batchNanos;
        }
      } catch (Throwable e) {
        failure = e;
      }
      seconds = (System.nanoTime() - start) / 1e9;
    }
  }

  public static void main(String[] args) throws Exception {
    Path packageDir = Path.of(args[0]);
    Path imagesDir = Path.of(args[1]);
    int threads = Integer.parseInt(args[2]);
    int intraOp = Integer.parseInt(args[3]);
    int batch = Integer.parseInt(args[4]);
    int maxNew = Integer.parseInt(args[5]);
    int longestEdge = Integer.parseInt(args[6]);
    boolean splitting = Boolean.parseBoolean(args[7]);
    String prompt = args.length > 8 ? args[8] : "Describe this image.";

    List<Path> files;
    try (Stream<Path> listing = Files.list(imagesDir)) {
      files = listing.filter(Files::isRegularFile).sorted().toList();
    }
    ModelSettings settings =
        ModelSettings.builder()
            .intraOpThreads(intraOp)
            .batchSize(batch)
            .maxNewTokens(maxNew)
            .longestEdge(longestEdge)
            .imageSplitting(splitting)
            .build();

    long loadStart = System.nanoTime();
    try (Idefics3Runtime model = Idefics3Runtime.load(packageDir, settings)) {
      double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
      List<Worker> workers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int from = (int) ((long) files.size() * t / threads);
        int to = (int) ((long) files.size() * (t + 1) / threads);
        workers.add(new Worker(model, files.subList(from, to), batch, prompt));
      }
      long start = System.nanoTime();
      for (Worker worker : workers) {
        worker.start();
      }
      for (Worker worker : workers) {
        worker.join();
      }
      double answerSeconds = (System.nanoTime() - start) / 1e9;
      long rows = 0;
      long errors = 0;
      long generated = 0;
      long promptTokens = 0;
      long frames = 0;
      long preprocessNanos = 0;
      long modelNanos = 0;
      StringBuilder perWorker = new StringBuilder();
      for (Worker worker : workers) {
        if (worker.failure != null) {
          throw new IllegalStateException("a worker failed", worker.failure);
        }
        rows += worker.rows;
        errors += worker.errors;
        generated += worker.generated;
        promptTokens += worker.promptTokens;
        frames += worker.frames;
        preprocessNanos += worker.preprocessNanos;
        modelNanos += worker.modelNanos;
        perWorker.append(perWorker.length() == 0 ? "" : ", ");
        perWorker.append(String.format(Locale.ROOT, "%.2f", worker.seconds));
      }
      System.out.printf(
          Locale.ROOT,
          "{\"side\": \"runtime\", \"threads\": %d, \"intra_op\": %d, \"rows\": %d, \"images\": %d,"
              + " \"errors\": %d, \"generated_tokens\": %d, \"prompt_tokens\": %d,"
              + " \"frames\": %d, \"preprocess_s\": %.3f, \"model_s\": %.3f, \"load_s\": %.3f,"
              + " \"answer_s\": %.3f, \"worker_s\": [%s]}%n",
          threads,
          intraOp,
          rows,
          rows,
          errors,
          generated,
          promptTokens,
          frames,
          preprocessNanos / 1e9,
          modelNanos / 1e9,
          loadSeconds,
          answerSeconds,
          perWorker);
    }
  }
}
