package io.github.idefics3spark.idefics3.checkpoint;

/**
 * The image processor's settings, from preprocessor_config.json.
 *
 * @param longestEdge "size"."longest_edge": an image's longest side is resized to this first
 * @param maxImageSize "max_image_size"."longest_edge": the side of one frame (tile)
 * @param doImageSplitting "do_image_splitting": tiles plus a global image, or one squashed frame
 * @param doConvertRgb "do_convert_rgb"
 * @param doResize "do_resize"
 * @param doRescale "do_rescale"
 * @param rescaleFactor "rescale_factor", 1/255 in every released checkpoint
 * @param doNormalize "do_normalize"
 * @param imageMean "image_mean", one value per channel
 * @param imageStd "image_std", one value per channel
 * @param doPad "do_pad"
 * @param resample "resample", a Pillow filter number; 1 is LANCZOS, the only one supported
 */
public record PreprocessorConfig(
    int longestEdge,
    int maxImageSize,
    boolean doImageSplitting,
    boolean doConvertRgb,
    boolean doResize,
    boolean doRescale,
    double rescaleFactor,
    boolean doNormalize,
    float[] imageMean,
    float[] imageStd,
    boolean doPad,
    int resample) {

  /** Pillow's number for LANCZOS in {@code Image.Resampling}. */
  public static final int LANCZOS = 1;

  /** The same settings with another longest edge, as a user lowers the image resolution. */
  public PreprocessorConfig withLongestEdge(int newLongestEdge) {
    return new PreprocessorConfig(
        newLongestEdge,
        maxImageSize,
        doImageSplitting,
        doConvertRgb,
        doResize,
        doRescale,
        rescaleFactor,
        doNormalize,
        imageMean,
        imageStd,
        doPad,
        resample);
  }

  /** The same settings with image splitting switched on or off. */
  public PreprocessorConfig withImageSplitting(boolean splitting) {
    return new PreprocessorConfig(
        longestEdge,
        maxImageSize,
        splitting,
        doConvertRgb,
        doResize,
        doRescale,
        rescaleFactor,
        doNormalize,
        imageMean,
        imageStd,
        doPad,
        resample);
  }
}
