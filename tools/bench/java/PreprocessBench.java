import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import io.github.idefics3spark.idefics3.checkpoint.PreprocessorConfig;
import io.github.idefics3spark.idefics3.processor.ChatMessage;
import io.github.idefics3spark.idefics3.processor.EncodedPrompt;
import io.github.idefics3spark.idefics3.processor.Idefics3ImageProcessor;
import io.github.idefics3spark.idefics3.processor.Idefics3Processor;
import io.github.idefics3spark.idefics3.processor.ImageGrid;
import io.github.idefics3spark.image.ImageDecoder;
import io.github.idefics3spark.image.RgbImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * Java side of the preprocessing benchmark: decode + resize + split + normalise + tokens, per
 * image, exactly the work preprocess_hf.py times on the Hugging Face side.
 *
 * <p>Usage: PreprocessBench CHECKPOINT IMAGES_DIR LONGEST_EDGE MAX_IMAGE_SIZE IMAGE_SEQ_LEN WARMUP
 * ITERATIONS. Prints one JSON object per image.
 */
public final class PreprocessBench {
  /** Keeps the JIT from dropping the pixel values nobody reads. */
  static volatile float sink;

  public static void main(String[] args) throws Exception {
    Path checkpointDir = Path.of(args[0]);
    Path images = Path.of(args[1]);
    int longestEdge = Integer.parseInt(args[2]);
    int maxImageSize = Integer.parseInt(args[3]);
    int imageSeqLen = Integer.parseInt(args[4]);
    int warmup = Integer.parseInt(args[5]);
    int iterations = Integer.parseInt(args[6]);

    Idefics3Checkpoint checkpoint = Idefics3Checkpoint.read(checkpointDir);
    PreprocessorConfig base = checkpoint.preprocessor();
    PreprocessorConfig config =
        new PreprocessorConfig(
            longestEdge,
            maxImageSize,
            base.doImageSplitting(),
            base.doConvertRgb(),
            base.doResize(),
            base.doRescale(),
            base.rescaleFactor(),
            base.doNormalize(),
            base.imageMean(),
            base.imageStd(),
            base.doPad(),
            base.resample());
    Idefics3ImageProcessor imageProcessor = new Idefics3ImageProcessor(config);
    ImageDecoder decoder = new ImageDecoder();
    try (Idefics3Processor loaded = Idefics3Processor.load(checkpoint);
        Idefics3Processor processor =
            new Idefics3Processor(
                loaded.chatTemplate(),
                loaded.tokenizer(),
                imageSeqLen,
                loaded.padTokenId(),
                loaded.eosTokenIds())) {
      List<ChatMessage> messages =
          List.of(
              ChatMessage.user(ChatMessage.image(), ChatMessage.text("What is in this image?")));
      List<Path> files;
      try (Stream<Path> listing = Files.list(images)) {
        files = listing.filter(p -> p.toString().matches(".*\\.(png|jpg|jpeg)$")).sorted().toList();
      }
      for (Path file : files) {
        byte[] data = Files.readAllBytes(file);
        int frames = 0;
        int tokens = 0;
        for (int i = 0; i < warmup; i++) {
          run(decoder, imageProcessor, processor, messages, data);
        }
        List<Double> times = new ArrayList<>();
        for (int i = 0; i < iterations; i++) {
          long start = System.nanoTime();
          int[] result = run(decoder, imageProcessor, processor, messages, data);
          times.add((System.nanoTime() - start) / 1e6);
          frames = result[0];
          tokens = result[1];
        }
        double[] sorted = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        System.out.printf(
            "{\"side\": \"java\", \"image\": \"%s\", \"frames\": %d, \"tokens\": %d,"
                + " \"median_ms\": %.3f, \"ms\": %s}%n",
            file.getFileName(),
            frames,
            tokens,
            sorted[sorted.length / 2],
            Arrays.toString(
                times.stream().mapToDouble(t -> Math.round(t * 1000) / 1000.0).toArray()));
      }
    }
  }

  /** decode, frames, float32 pixel values, prompt ids: returns {frames, tokens}. */
  private static int[] run(
      ImageDecoder decoder,
      Idefics3ImageProcessor imageProcessor,
      Idefics3Processor processor,
      List<ChatMessage> messages,
      byte[] data) {
    RgbImage image = decoder.decode(data);
    Idefics3ImageProcessor.Frames frames = imageProcessor.process(image);
    float[] pixelValues = frames.pixelValues();
    EncodedPrompt prompt =
        processor.encodePrompt(
            messages, List.of(new ImageGrid(frames.rows(), frames.cols())), true, false);
    sink += pixelValues[pixelValues.length - 1];
    return new int[] {frames.count(), prompt.inputIds().length};
  }
}
