import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.processor.EncodedPrompt;
import io.github.idefics3spark.idefics3.processor.Idefics3ImageProcessor;
import io.github.idefics3spark.idefics3.processor.Idefics3Processor;
import io.github.idefics3spark.idefics3.processor.ImageGrid;
import io.github.idefics3spark.idefics3.processor.PromptBatch;
import io.github.idefics3spark.idefics3.runtime.GenerationSettings;
import io.github.idefics3spark.idefics3.runtime.Idefics3Request;
import io.github.idefics3spark.image.ImageDecoder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.tensorflow.TensorFlow;

/**
 * Java side of the generation benchmark (tools/bench/generate.sh): the work of {@code
 * Idefics3Runtime.answer}, step by step through {@link Idefics3Package} so that stop tokens can be
 * disabled ({@link GenerationSettings#withoutStop()}) and each part timed on its own.
 *
 * <p>Per iteration, for every batch of BATCH requests (in request order): decode + frames + prompt
 * ids ("preprocess"), the vision encoder over the batch's frames ("encode"), the {@code generate}
 * signature with MAX_NEW new tokens ("generate"), then, outside the end-to-end time, the same
 * {@code generate} with one new token ("prefill": the text prefill, lm_head and the first token).
 * Prints one JSON line per iteration (timings in ms, the tokens of every request) and a last line
 * with the load time, the process's peak RSS (VmHWM) and its resident memory by phase ({@link
 * PhaseMemory}: start, runtime = TensorFlow's native library, load = the package and the processor,
 * warmup, then over the timed passes preprocess, encode, decode = the {@code generate} call with
 * MAX_NEW tokens, its own prefill inside, and prefill = the one-token call). WARMUP passes of the
 * first request alone with two new tokens come first (every signature runs once; nothing printed
 * for them).
 *
 * <p>With WORKERS above 1 the run is a Spark executor's: WORKERS threads share the one loaded
 * package, each with THREADS / WORKERS intra-op threads (as local[N]'s tasks share the executor's
 * model with spark.task.cpus each), and each answers its contiguous share of the requests (as Spark
 * slices them into partitions) in batches of at most BATCH, all at once: as many requests in flight
 * as one process at BATCH when the requests fill one batch. A pass prints the wall time from the
 * first start to the last end ({@code wall_ms}), the tokens in request order, and the phase times
 * summed over the workers (they overlap, so images/s comes from the wall time alone; the one-token
 * prefill runs are skipped so that the wall time is the answers' alone).
 *
 * <p>Usage: GenerateBench PACKAGE_DIR IMAGES_DIR REQUESTS_JSON BATCH LONGEST_EDGE MAX_NEW THREADS
 * WARMUP ITERATIONS [WORKERS]
 */
public final class GenerateBench {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private static final PhaseMemory MEMORY = new PhaseMemory();

  public static void main(String[] args) throws Exception {
    MEMORY.mark("start"); // the JVM
    TensorFlow.version(); // loads TensorFlow's native library
    MEMORY.mark("runtime");
    Path packageDir = Path.of(args[0]);
    Path images = Path.of(args[1]);
    JsonNode requestsJson = MAPPER.readTree(Path.of(args[2]).toFile());
    int batch = Integer.parseInt(args[3]);
    int longestEdge = Integer.parseInt(args[4]);
    int maxNew = Integer.parseInt(args[5]);
    int threads = Integer.parseInt(args[6]);
    int warmup = Integer.parseInt(args[7]);
    int iterations = Integer.parseInt(args[8]);
    int workers = args.length > 9 ? Integer.parseInt(args[9]) : 1;
    if (workers < 1 || threads % workers != 0) {
      throw new IllegalArgumentException(
          "WORKERS " + workers + " must be at least 1 and divide THREADS " + threads);
    }

    long loadStart = System.nanoTime();
    try (Idefics3Package pkg = Idefics3Package.load(packageDir, threads / workers)) {
      Idefics3Checkpoint checkpoint = pkg.checkpoint();
      Idefics3ImageProcessor imageProcessor =
          new Idefics3ImageProcessor(checkpoint.preprocessor().withLongestEdge(longestEdge));
      ImageDecoder decoder = new ImageDecoder();
      try (Idefics3Processor processor = Idefics3Processor.load(checkpoint)) {
        double loadMs = (System.nanoTime() - loadStart) / 1e6;
        List<Idefics3Request> requests = new ArrayList<>();
        for (JsonNode r : requestsJson) {
          byte[] data = Files.readAllBytes(images.resolve(r.get("image").asText()));
          requests.add(Idefics3Request.question(r.get("prompt").asText(), List.of(data)));
        }
        MEMORY.mark("load");
        // Warm-up: the first request alone with two new tokens runs every signature once.
        MEMORY.recording = false;
        Bench warm = new Bench(pkg, processor, imageProcessor, decoder, checkpoint);
        for (int i = 0; i < warmup; i++) {
          warm.run(requests.subList(0, 1), 1, 2, -1 - i, true);
        }
        MEMORY.recording = true;
        MEMORY.mark("warmup");
        Bench bench = new Bench(pkg, processor, imageProcessor, decoder, checkpoint);
        for (int it = 0; it < iterations; it++) {
          ObjectNode line =
              workers == 1
                  ? bench.run(requests, batch, maxNew, it, true)
                  : bench.runConcurrently(requests, batch, maxNew, it, workers);
          System.out.println(MAPPER.writeValueAsString(line));
        }
        ObjectNode end = MAPPER.createObjectNode();
        end.put("side", "java");
        end.put("batch", batch);
        end.put("load_ms", loadMs);
        end.put("peak_rss_kb", MEMORY.peakKb());
        end.set("memory", MEMORY.toJson());
        end.put("peak_reset", MEMORY.peakReset);
        end.put("max_heap_mb", Runtime.getRuntime().maxMemory() >> 20);
        System.out.println(MAPPER.writeValueAsString(end));
      }
    }
  }

  /** Passes over the requests in batches; each returns its JSON line. */
  private record Bench(
      Idefics3Package pkg,
      Idefics3Processor processor,
      Idefics3ImageProcessor imageProcessor,
      ImageDecoder decoder,
      Idefics3Checkpoint checkpoint) {

    /**
     * WORKERS threads each run {@link #run} over a contiguous share of the requests (without the
     * one-token runs), all at once; returns one line for all of them with the pass's wall time.
     */
    ObjectNode runConcurrently(
        List<Idefics3Request> requests, int batch, int maxNew, int iteration, int workers)
        throws Exception {
      List<Callable<ObjectNode>> tasks = new ArrayList<>();
      int share = (requests.size() + workers - 1) / workers;
      for (int from = 0; from < requests.size(); from += share) {
        List<Idefics3Request> slice =
            requests.subList(from, Math.min(requests.size(), from + share));
        tasks.add(() -> run(slice, Math.min(batch, slice.size()), maxNew, iteration, false));
      }
      ExecutorService pool = Executors.newFixedThreadPool(workers);
      try {
        long start = System.nanoTime();
        List<ObjectNode> lines = new ArrayList<>();
        for (Future<ObjectNode> f : pool.invokeAll(tasks)) {
          lines.add(f.get());
        }
        double wallMs = (System.nanoTime() - start) / 1e6;
        ObjectNode line = lines.get(0);
        for (ObjectNode other : lines.subList(1, lines.size())) {
          ((ArrayNode) line.get("tokens")).addAll((ArrayNode) other.get("tokens"));
          ((ArrayNode) line.get("prompt_tokens")).addAll((ArrayNode) other.get("prompt_tokens"));
          line.put("frames", line.get("frames").asInt() + other.get("frames").asInt());
          for (String field :
              List.of("preprocess_ms", "encode_ms", "generate_ms", "prefill_generate_ms")) {
            line.put(field, line.get(field).asDouble() + other.get(field).asDouble());
          }
        }
        line.put("batch", batch); // the process's BATCH, what the HF side ran at
        line.put("workers", workers);
        line.put("images", requests.size());
        line.put("wall_ms", wallMs);
        return line;
      } finally {
        pool.shutdown();
      }
    }

    /**
     * One pass over the requests in batches; with {@code prefill}, each batch's one-token run too
     * (outside the end-to-end time: the text prefill's share).
     */
    ObjectNode run(
        List<Idefics3Request> requests, int batch, int maxNew, int iteration, boolean prefill) {
      GenerationSettings full =
          GenerationSettings.greedy(checkpoint.generation(), maxNew).withoutStop();
      GenerationSettings one = GenerationSettings.greedy(checkpoint.generation(), 1).withoutStop();
      ObjectNode line = MAPPER.createObjectNode();
      line.put("side", "java");
      line.put("batch", batch);
      line.put("iteration", iteration); // negative: warm-up
      double[] totals = new double[4]; // preprocess, encode, generate, prefill
      int frames = 0;
      ArrayNode tokens = line.putArray("tokens");
      ArrayNode promptLengths = line.putArray("prompt_tokens");
      for (int start = 0; start < requests.size(); start += batch) {
        List<Idefics3Request> group =
            requests.subList(start, Math.min(requests.size(), start + batch));
        long t0 = System.nanoTime();
        List<Idefics3ImageProcessor.Frames> groupFrames = new ArrayList<>();
        List<EncodedPrompt> prompts = new ArrayList<>();
        for (Idefics3Request request : group) {
          List<ImageGrid> grids = new ArrayList<>();
          for (byte[] data : request.images()) {
            Idefics3ImageProcessor.Frames f = imageProcessor.process(decoder.decode(data));
            groupFrames.add(f);
            grids.add(new ImageGrid(f.rows(), f.cols()));
          }
          EncodedPrompt prompt = processor.encodePrompt(request.messages(), grids, true, false);
          prompts.add(prompt);
          promptLengths.add(prompt.length());
        }
        PromptBatch padded = processor.pad(prompts);
        int side = imageProcessor.frameSide();
        int count = groupFrames.stream().mapToInt(Idefics3ImageProcessor.Frames::count).sum();
        float[] pixels = new float[count * 3 * side * side];
        int offset = 0;
        for (Idefics3ImageProcessor.Frames f : groupFrames) {
          f.writePixelValues(pixels, offset);
          offset += f.count() * 3 * side * side;
        }
        boolean[] mask = new boolean[count * side * side];
        Arrays.fill(mask, true);
        long t1 = System.nanoTime();
        MEMORY.mark("preprocess");
        float[] features = pkg.encodeImages(pixels, mask, count);
        long t2 = System.nanoTime();
        MEMORY.mark("encode");
        Idefics3Package.Generation generation =
            pkg.generate(padded.inputIds(), padded.attentionMask(), features, full);
        long t3 = System.nanoTime();
        MEMORY.mark("decode");
        Idefics3Package.Generation first =
            prefill ? pkg.generate(padded.inputIds(), padded.attentionMask(), features, one) : null;
        long t4 = System.nanoTime();
        MEMORY.mark("prefill");
        totals[0] += (t1 - t0) / 1e6;
        totals[1] += (t2 - t1) / 1e6;
        totals[2] += (t3 - t2) / 1e6;
        totals[3] += (t4 - t3) / 1e6;
        frames += count;
        for (int row = 0; row < group.size(); row++) {
          if (first != null && first.tokens()[row][0] != generation.tokens()[row][0]) {
            throw new IllegalStateException("the one-token run disagrees with the full run");
          }
          ArrayNode rowTokens = tokens.addArray();
          Arrays.stream(generation.row(row)).forEach(rowTokens::add);
        }
      }
      line.put("images", requests.size());
      line.put("frames", frames);
      line.put("new_tokens", maxNew);
      line.put("preprocess_ms", totals[0]);
      line.put("encode_ms", totals[1]);
      line.put("generate_ms", totals[2]);
      line.put("prefill_generate_ms", totals[3]);
      return line;
    }
  }

  /**
   * Resident memory by phase: each phase's peak and the RSS at its end, in kB. {@link #mark} ends a
   * phase: it reads VmRSS and VmHWM from /proc/self/status, then resets the kernel's peak counter
   * (writing 5 to /proc/self/clear_refs), so the next mark's VmHWM is the peak of that phase alone.
   * A phase marked several times (once per batch) keeps its highest peak and its last RSS. Where
   * the reset is refused, peaks are the process's so far ({@code peak_reset} false). The
   * PhaseMemory of generate_hf.py does the same on the Python side.
   */
  static final class PhaseMemory {
    private final Map<String, long[]> phases = new LinkedHashMap<>(); // name -> {rss, peak}
    boolean recording = true;
    boolean peakReset = true;

    synchronized void mark(String phase) { // workers mark at once: their phases overlap
      if (!recording) {
        return;
      }
      long rss = -1;
      long peak = -1;
      try {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
          if (line.startsWith("VmRSS:")) {
            rss = Long.parseLong(line.replaceAll("[^0-9]", ""));
          } else if (line.startsWith("VmHWM:")) {
            peak = Long.parseLong(line.replaceAll("[^0-9]", ""));
          }
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot read /proc/self/status: " + e, e);
      }
      long[] entry = phases.computeIfAbsent(phase, k -> new long[2]);
      entry[0] = rss;
      entry[1] = Math.max(entry[1], peak);
      try {
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
      } catch (IOException e) {
        peakReset = false;
      }
    }

    synchronized long peakKb() {
      return phases.values().stream().mapToLong(e -> e[1]).max().orElse(-1);
    }

    synchronized ObjectNode toJson() {
      ObjectNode json = MAPPER.createObjectNode();
      phases.forEach((phase, e) -> json.putObject(phase).put("rss_kb", e[0]).put("peak_kb", e[1]));
      return json;
    }
  }
}
