import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.graph.Idefics3Graph;
import io.github.idefics3spark.idefics3.processor.EncodedPrompt;
import io.github.idefics3spark.idefics3.processor.Idefics3ImageProcessor;
import io.github.idefics3spark.idefics3.processor.Idefics3Processor;
import io.github.idefics3spark.idefics3.processor.ImageGrid;
import io.github.idefics3spark.idefics3.processor.PromptBatch;
import io.github.idefics3spark.idefics3.runtime.GenerationSettings;
import io.github.idefics3spark.idefics3.runtime.Idefics3Request;
import io.github.idefics3spark.image.ImageDecoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.proto.RunMetadata;
import org.tensorflow.proto.RunOptions;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.StepStats;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * Where the Java side's time and memory go (tools/bench/generate.sh prints the totals): runs the
 * package's signatures on the first BATCH requests of the benchmark with TensorFlow's FULL_TRACE
 * and sums the executed kernels' time by op type, for encode_images, generate with one new token
 * (prefill) and generate with MAX_NEW (the difference is the decode loop), next to untraced wall
 * times. Also prints the process's RSS after each phase.
 *
 * <p>With DECODE_LENGTHS (e.g. 100,1000,2000), it then times the decode loop alone on text-only
 * prompts of those lengths ({@link DecodeProbe}), which shows how a step's cost grows with the KV
 * cache's capacity (tools/bench/decode.sh compares that with transformers).
 *
 * <p>Usage: GenerateProfile PACKAGE_DIR IMAGES_DIR REQUESTS_JSON BATCH LONGEST_EDGE MAX_NEW THREADS
 * [DECODE_LENGTHS] (compile it with DecodeProbe.java; run it alone on the machine: it is a profile,
 * not a comparison)
 */
public final class GenerateProfile {
  public static void main(String[] args) throws Exception {
    Path packageDir = Path.of(args[0]);
    Path images = Path.of(args[1]);
    JsonNode requestsJson = new ObjectMapper().readTree(Path.of(args[2]).toFile());
    int batch = Integer.parseInt(args[3]);
    int longestEdge = Integer.parseInt(args[4]);
    int maxNew = Integer.parseInt(args[5]);
    int threads = Integer.parseInt(args[6]);
    rss("jvm started");
    try (Idefics3Package pkg = Idefics3Package.load(packageDir, threads)) {
      rss("package loaded");
      Idefics3Checkpoint checkpoint = pkg.checkpoint();
      Idefics3ImageProcessor imageProcessor =
          new Idefics3ImageProcessor(checkpoint.preprocessor().withLongestEdge(longestEdge));
      ImageDecoder decoder = new ImageDecoder();
      try (Idefics3Processor processor = Idefics3Processor.load(checkpoint)) {
        List<EncodedPrompt> prompts = new ArrayList<>();
        List<Idefics3ImageProcessor.Frames> frames = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
          JsonNode r = requestsJson.get(i);
          Idefics3Request request =
              Idefics3Request.question(
                  r.get("prompt").asText(),
                  List.of(Files.readAllBytes(images.resolve(r.get("image").asText()))));
          Idefics3ImageProcessor.Frames f =
              imageProcessor.process(decoder.decode(request.images().get(0)));
          frames.add(f);
          prompts.add(
              processor.encodePrompt(
                  request.messages(), List.of(new ImageGrid(f.rows(), f.cols())), true, false));
        }
        PromptBatch padded = processor.pad(prompts);
        int side = imageProcessor.frameSide();
        int count = frames.stream().mapToInt(Idefics3ImageProcessor.Frames::count).sum();
        float[] pixels = new float[count * 3 * side * side];
        int offset = 0;
        for (Idefics3ImageProcessor.Frames f : frames) {
          f.writePixelValues(pixels, offset);
          offset += f.count() * 3 * side * side;
        }
        boolean[] mask = new boolean[count * side * side];
        Arrays.fill(mask, true);
        System.out.printf(
            "batch %d, %d frames, prompt length %d (padded), %d new tokens, %d threads%n",
            batch, count, padded.length(), maxNew, threads);

        GenerationSettings full =
            GenerationSettings.greedy(checkpoint.generation(), maxNew).withoutStop();
        GenerationSettings one =
            GenerationSettings.greedy(checkpoint.generation(), 1).withoutStop();
        // warm-up through the public API, then untraced wall times
        float[] features = pkg.encodeImages(pixels, mask, count);
        pkg.generate(padded.inputIds(), padded.attentionMask(), features, one);
        pkg.generate(padded.inputIds(), padded.attentionMask(), features, full);
        rss("after warm-up");
        for (int i = 0; i < 2; i++) {
          long t0 = System.nanoTime();
          pkg.encodeImages(pixels, mask, count);
          long t1 = System.nanoTime();
          pkg.generate(padded.inputIds(), padded.attentionMask(), features, one);
          long t2 = System.nanoTime();
          pkg.generate(padded.inputIds(), padded.attentionMask(), features, full);
          long t3 = System.nanoTime();
          System.out.printf(
              "untraced: encode_images %.0f ms, generate(1) %.0f ms, generate(%d) %.0f ms,"
                  + " decode %.1f ms/step%n",
              (t1 - t0) / 1e6,
              (t2 - t1) / 1e6,
              maxNew,
              (t3 - t2) / 1e6,
              ((t3 - t2) - (t2 - t1)) / 1e6 / (maxNew - 1));
        }

        Tracer tracer = new Tracer(pkg);
        Map<String, double[]> encode = tracer.encode(pixels, mask, count, side);
        report("encode_images", encode, null, 1);
        Map<String, double[]> prefill = tracer.generate(padded, features, one);
        report("generate, 1 new token (prefill)", prefill, null, 1);
        Map<String, double[]> all = tracer.generate(padded, features, full);
        report(
            "generate(" + maxNew + ") - generate(1): the decode loop, per step",
            all,
            prefill,
            maxNew - 1);
        rss("end");
        if (args.length > 7) {
          for (String length : args[7].split(",")) {
            DecodeProbe.probe(pkg, full, one, batch, Integer.parseInt(length), maxNew, 1);
          }
        }
      }
    }
  }

  /** Runs signatures by their tensor names with FULL_TRACE; returns op type -> {us, count}. */
  private record Tracer(Idefics3Package pkg) {
    Map<String, double[]> encode(float[] pixels, boolean[] mask, int count, int side)
        throws Exception {
      try (TFloat32 p =
              TFloat32.tensorOf(
                  Shape.of(count, 3, side, side), DataBuffers.of(pixels, true, false));
          TBool m =
              TBool.tensorOf(Shape.of(count, side, side), DataBuffers.of(mask, true, false))) {
        return run(
            Idefics3Graph.ENCODE_IMAGES,
            Map.of("pixel_values", p, "pixel_attention_mask", m),
            "image_features");
      }
    }

    Map<String, double[]> generate(
        PromptBatch padded, float[] features, GenerationSettings settings) throws Exception {
      int hidden = pkg.checkpoint().config().text().hiddenSize();
      int seq = pkg.checkpoint().config().imageSeqLen();
      try (TInt32 ids = matrix(padded.inputIds());
          TInt32 mask = matrix(padded.attentionMask());
          TFloat32 f =
              TFloat32.tensorOf(
                  Shape.of(features.length / (seq * hidden), seq, hidden),
                  DataBuffers.of(features, true, false));
          TInt32 maxNew = TInt32.scalarOf(settings.maxNewTokens());
          TInt32 eos = TInt32.vectorOf(settings.eosTokenIds());
          TInt32 pad = TInt32.scalarOf(settings.padTokenId());
          TBool doSample = TBool.scalarOf(false);
          TFloat32 temperature = TFloat32.scalarOf(1f);
          TInt32 topK = TInt32.scalarOf(0);
          TFloat32 topP = TFloat32.scalarOf(1f);
          TInt64 seed = TInt64.vectorOf(0L, 0L)) {
        Map<String, Tensor> inputs = new HashMap<>();
        inputs.put("input_ids", ids);
        inputs.put("attention_mask", mask);
        inputs.put("image_features", f);
        inputs.put("max_new_tokens", maxNew);
        inputs.put("eos_token_ids", eos);
        inputs.put("pad_token_id", pad);
        inputs.put("do_sample", doSample);
        inputs.put("temperature", temperature);
        inputs.put("top_k", topK);
        inputs.put("top_p", topP);
        inputs.put("seed", seed);
        return run(Idefics3Graph.GENERATE, inputs, "tokens");
      }
    }

    private Map<String, double[]> run(String signature, Map<String, Tensor> inputs, String output)
        throws Exception {
      SignatureDef def = pkg.bundle().metaGraphDef().getSignatureDefMap().get(signature);
      Session.Runner runner = pkg.bundle().session().runner();
      for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
        runner.feed(def.getInputsMap().get(e.getKey()).getName(), e.getValue());
      }
      runner.fetch(def.getOutputsMap().get(output).getName());
      runner.setOptions(
          RunOptions.newBuilder().setTraceLevel(RunOptions.TraceLevel.FULL_TRACE).build());
      long t0 = System.nanoTime();
      try (Result result = runner.runAndFetchMetadata()) {
        System.out.printf("%n%s traced: %.0f ms wall%n", signature, (System.nanoTime() - t0) / 1e6);
        RunMetadata metadata = result.getMetadata().orElseThrow();
        return byOpType(metadata.getStepStats());
      }
    }
  }

  static Map<String, double[]> byOpType(StepStats stats) {
    Map<String, double[]> byType = new HashMap<>();
    for (var device : stats.getDevStatsList()) {
      for (NodeExecStats node : device.getNodeStatsList()) {
        String label = node.getTimelineLabel();
        String type = label;
        int eq = label.indexOf(" = ");
        if (eq >= 0) {
          type = label.substring(eq + 3);
          int paren = type.indexOf('(');
          type = paren >= 0 ? type.substring(0, paren) : type;
        } else {
          type = node.getNodeName().replaceAll(".*/", "").replaceAll("_\\d+$", "");
        }
        double us = node.getOpEndRelMicros() - node.getOpStartRelMicros();
        double[] acc = byType.computeIfAbsent(type, k -> new double[2]);
        acc[0] += us;
        acc[1] += 1;
      }
    }
    return byType;
  }

  static void report(
      String title, Map<String, double[]> ops, Map<String, double[]> minus, int per) {
    Map<String, double[]> net = new HashMap<>();
    for (var e : ops.entrySet()) {
      double[] base = minus == null ? null : minus.get(e.getKey());
      net.put(
          e.getKey(),
          new double[] {
            (e.getValue()[0] - (base == null ? 0 : base[0])) / per,
            (e.getValue()[1] - (base == null ? 0 : base[1])) / per
          });
    }
    double total = net.values().stream().mapToDouble(v -> v[0]).sum();
    System.out.printf("%s: kernel time %.1f ms (sum over ops)%n", title, total / 1000);
    net.entrySet().stream()
        .sorted((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]))
        .limit(14)
        .forEach(
            e ->
                System.out.printf(
                    "  %-28s %9.2f ms %5.1f%%  %7.1f calls%n",
                    e.getKey(),
                    e.getValue()[0] / 1000,
                    100 * e.getValue()[0] / total,
                    e.getValue()[1]));
  }

  private static TInt32 matrix(int[][] rows) {
    int width = rows[0].length;
    int[] flat = new int[rows.length * width];
    for (int b = 0; b < rows.length; b++) {
      System.arraycopy(rows[b], 0, flat, b * width, width);
    }
    return TInt32.tensorOf(Shape.of(rows.length, width), DataBuffers.of(flat, true, false));
  }

  static void rss(String phase) throws Exception {
    String rss = "?";
    String hwm = "?";
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        rss = line.replaceAll("[^0-9]", "");
      } else if (line.startsWith("VmHWM:")) {
        hwm = line.replaceAll("[^0-9]", "");
      }
    }
    Runtime r = Runtime.getRuntime();
    System.out.printf(
        "RSS %-16s %6.0f MB (peak %6.0f MB; Java heap used %4d MB of %4d MB committed)%n",
        phase,
        Long.parseLong(rss) / 1024.0,
        Long.parseLong(hwm) / 1024.0,
        (r.totalMemory() - r.freeMemory()) >> 20,
        r.totalMemory() >> 20);
  }
}
