package io.github.idefics3spark.idefics3.processor;

import io.github.idefics3spark.idefics3.checkpoint.PreprocessorConfig;
import io.github.idefics3spark.image.PillowResample;
import io.github.idefics3spark.image.RgbImage;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns one RGB image into the frames Idefics3's vision encoder reads, bit for bit as transformers'
 * {@code Idefics3ImageProcessorPil} (models/idefics3/image_processing_pil_idefics3.py, reference
 * section 2).
 *
 * <p>With L = size.longest_edge and T = max_image_size.longest_edge:
 *
 * <ol>
 *   <li>{@code resize}: the longest side to L, the other by the aspect ratio, truncated and made
 *       even ({@code _resize_output_size_rescale_to_max_len}), then capped at {@value
 *       #MAX_IMAGE_SIZE} ({@code _resize_output_size_scale_below_upper_bound}). Always resized, so
 *       small images are upsampled.
 *   <li>Splitting on: {@code resize_for_vision_encoder} to multiples of T, then {@code
 *       split_images}: T x T tiles row-major, then the whole image resized to T x T as the last
 *       frame; an image of one tile stays one frame (rows = cols = 0). Splitting off: one frame,
 *       the image squashed to T x T.
 *   <li>{@code rescale} and {@code normalize}: {@code float32(float64(u8) * rescale_factor)}, then
 *       {@code (x - mean) / std} in float32, as numpy computes them. A frame's float32 values
 *       depend on its uint8 values only, so they come from a 256-entry table per channel.
 * </ol>
 *
 * Every resize is Pillow's LANCZOS on uint8 ({@link PillowResample}). Instances are immutable and
 * thread-safe.
 */
public final class Idefics3ImageProcessor {
  /** transformers' MAX_IMAGE_SIZE: "4k resolution as absolute maximum" after the first resize. */
  public static final int MAX_IMAGE_SIZE = 4096;

  private final PreprocessorConfig config;

  /** (3, 256): the float32 pixel value of each uint8 value, per channel. */
  private final float[] lut;

  /**
   * The frames of one image.
   *
   * @param rows tile rows, 0 when the image is one frame
   * @param cols tile columns, 0 when the image is one frame
   * @param side T, the side of every frame
   * @param pixels (frames, 3, side, side) uint8, channels first: rows * cols tiles row-major, then
   *     the global image; or the one frame
   * @param lut (3, 256) float32: the pixel value of uint8 v in channel c is {@code lut[c * 256 +
   *     v]}
   */
  public record Frames(int rows, int cols, int side, byte[] pixels, float[] lut) {
    public Frames {
      long plane = (long) side * side;
      if (side < 1 || pixels.length % (3 * plane) != 0 || pixels.length == 0) {
        throw new IllegalArgumentException(
            pixels.length + " bytes are not whole frames of 3 x " + side + " x " + side);
      }
      if (count(pixels.length, side) != (rows == 0 ? 1 : rows * cols + 1)) {
        throw new IllegalArgumentException(
            count(pixels.length, side)
                + " frames do not match a grid of "
                + rows
                + " x "
                + cols
                + " (expected rows * cols + 1, or 1 when not split)");
      }
      if (lut.length != 3 * 256) {
        throw new IllegalArgumentException(
            "the lookup table has " + lut.length + " values, not 768");
      }
    }

    private static int count(int bytes, int side) {
      return (int) (bytes / (3L * side * side));
    }

    /** Number of frames: rows * cols + 1, or 1. */
    public int count() {
      return count(pixels.length, side);
    }

    /**
     * The float32 pixel values, (frames, 3, side, side): what the reference's pixel_values hold.
     */
    public float[] pixelValues() {
      float[] out = new float[pixels.length];
      writePixelValues(out, 0);
      return out;
    }

    /** Writes the float32 pixel values into out from offset on, (frames, 3, side, side). */
    public void writePixelValues(float[] out, int offset) {
      int plane = side * side;
      for (int start = 0; start < pixels.length; start += plane) {
        int base = ((start / plane) % 3) * 256; // channel of this plane
        for (int i = start; i < start + plane; i++) {
          out[offset + i] = lut[base + (pixels[i] & 0xFF)];
        }
      }
    }
  }

  public Idefics3ImageProcessor(PreprocessorConfig config) {
    if (config.resample() != PreprocessorConfig.LANCZOS) {
      throw new IllegalArgumentException(
          "preprocessor_config.json: resample is "
              + config.resample()
              + "; only 1 (LANCZOS) is implemented, as every Idefics3 checkpoint uses");
    }
    if (config.longestEdge() < 1 || config.maxImageSize() < 1) {
      throw new IllegalArgumentException(
          "preprocessor_config.json: size.longest_edge "
              + config.longestEdge()
              + " and max_image_size.longest_edge "
              + config.maxImageSize()
              + " must both be at least 1");
    }
    if (config.imageMean().length != 3 || config.imageStd().length != 3) {
      throw new IllegalArgumentException(
          "preprocessor_config.json: image_mean and image_std need one value per RGB channel, got "
              + config.imageMean().length
              + " and "
              + config.imageStd().length);
    }
    this.config = config;
    this.lut = lookupTable(config);
  }

  public PreprocessorConfig config() {
    return config;
  }

  /** T, the side of every frame (max_image_size.longest_edge). */
  public int frameSide() {
    return config.maxImageSize();
  }

  /** The float32 value the reference gives uint8 value v (0..255) in channel c (0..2). */
  public float pixelValue(int channel, int v) {
    return lut[channel * 256 + v];
  }

  /** The frames of one image (already decoded, EXIF-oriented, RGB). */
  public Frames process(RgbImage image) {
    return frames(resize(image));
  }

  /** Step 1, {@code resize}: the longest edge to size.longest_edge (when do_resize). */
  RgbImage resize(RgbImage image) {
    if (!config.doResize()) {
      return image;
    }
    int[] size = resizeOutputSize(image.width(), image.height(), config.longestEdge());
    return PillowResample.lanczos(image, size[0], size[1]);
  }

  /** Step 2, splitting or squashing, then the lookup table: the frames of a resized image. */
  Frames frames(RgbImage resized) {
    int tile = config.maxImageSize();
    List<RgbImage> frames = new ArrayList<>();
    int rows = 0;
    int cols = 0;
    if (config.doImageSplitting()) {
      int[] size = visionEncoderSize(resized.width(), resized.height(), tile);
      RgbImage grid = PillowResample.lanczos(resized, size[0], size[1]);
      if (grid.height() > tile || grid.width() > tile) {
        rows = (grid.height() - tile) / tile + 1;
        cols = (grid.width() - tile) / tile + 1;
        for (int r = 0; r < rows; r++) {
          for (int c = 0; c < cols; c++) {
            frames.add(crop(grid, c * tile, r * tile, tile));
          }
        }
        frames.add(PillowResample.lanczos(grid, tile, tile)); // the global image, last
      } else {
        frames.add(grid); // one tile: T x T already
      }
    } else {
      frames.add(PillowResample.lanczos(resized, tile, tile)); // squashed
    }
    return new Frames(rows, cols, tile, channelsFirst(frames, tile), lut);
  }

  /**
   * (width, height) after the first resize: get_resize_output_image_size, that is
   * _resize_output_size_rescale_to_max_len then _resize_output_size_scale_below_upper_bound.
   */
  static int[] resizeOutputSize(int width, int height, int longestEdge) {
    // rescale_to_max_len(height, width, min_len=1, max_len=longestEdge)
    double aspectRatio = (double) width / height;
    int w = width;
    int h = height;
    if (w >= h) {
      w = longestEdge;
      h = (int) (w / aspectRatio);
      if (h % 2 != 0) {
        h++;
      }
    } else {
      h = longestEdge;
      w = (int) (h * aspectRatio);
      if (w % 2 != 0) {
        w++;
      }
    }
    h = Math.max(h, 1);
    w = Math.max(w, 1);
    // scale_below_upper_bound(height, width, max_len=MAX_IMAGE_SIZE)
    aspectRatio = (double) w / h;
    if (w >= h && w > MAX_IMAGE_SIZE) {
      w = MAX_IMAGE_SIZE;
      h = (int) (w / aspectRatio);
    } else if (h > w && h > MAX_IMAGE_SIZE) {
      h = MAX_IMAGE_SIZE;
      w = (int) (h * aspectRatio);
    }
    return new int[] {Math.max(w, 1), Math.max(h, 1)};
  }

  /** (width, height) of resize_for_vision_encoder: both sides up to multiples of the tile. */
  static int[] visionEncoderSize(int width, int height, int tile) {
    double aspectRatio = (double) width / height;
    int w = width;
    int h = height;
    if (w >= h) {
      w = (int) Math.ceil((double) w / tile) * tile;
      h = (int) (w / aspectRatio);
      h = (int) Math.ceil((double) h / tile) * tile;
    } else {
      h = (int) Math.ceil((double) h / tile) * tile;
      w = (int) (h * aspectRatio);
      w = (int) Math.ceil((double) w / tile) * tile;
    }
    return new int[] {w, h};
  }

  /** The side x side square of image whose top-left pixel is (left, top). */
  private static RgbImage crop(RgbImage image, int left, int top, int side) {
    byte[] out = new byte[side * side * 3];
    for (int y = 0; y < side; y++) {
      System.arraycopy(
          image.rgb(), ((top + y) * image.width() + left) * 3, out, y * side * 3, side * 3);
    }
    return new RgbImage(side, side, out);
  }

  /** Frames of (side, side, 3) to one array of (frames, 3, side, side). */
  private static byte[] channelsFirst(List<RgbImage> frames, int side) {
    int plane = side * side;
    byte[] out = new byte[Math.multiplyExact(frames.size(), 3 * plane)];
    for (int f = 0; f < frames.size(); f++) {
      RgbImage frame = frames.get(f);
      if (frame.width() != side || frame.height() != side) {
        throw new IllegalStateException(
            "frame " + f + " is " + frame + ", expected " + side + " x " + side);
      }
      byte[] rgb = frame.rgb();
      int base = f * 3 * plane;
      for (int i = 0; i < plane; i++) {
        out[base + i] = rgb[3 * i];
        out[base + plane + i] = rgb[3 * i + 1];
        out[base + 2 * plane + i] = rgb[3 * i + 2];
      }
    }
    return out;
  }

  /**
   * lut[c * 256 + v]: rescale (float64 product, then float32) and normalize (float32 subtraction
   * and division), each only where the config switches it on, as image_transforms.rescale and
   * normalize compute them.
   */
  private static float[] lookupTable(PreprocessorConfig config) {
    float[] table = new float[3 * 256];
    for (int c = 0; c < 3; c++) {
      float mean = config.imageMean()[c];
      float std = config.imageStd()[c];
      for (int v = 0; v < 256; v++) {
        float x = config.doRescale() ? (float) (v * config.rescaleFactor()) : v;
        if (config.doNormalize()) {
          x = (x - mean) / std;
        }
        table[c * 256 + v] = x;
      }
    }
    return table;
  }
}
