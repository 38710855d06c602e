package io.github.idefics3spark.idefics3.processor;

import java.util.List;

/**
 * The pixel inputs of a batch of requests, zero-padded to the batch's largest frame count as the
 * reference's {@code do_pad} does: {@code pixel_values} (batch, maxFrames, 3, T, T) float32 and
 * {@code pixel_attention_mask} (batch, maxFrames, T, T).
 *
 * <p>Which frames are real is kept explicitly in {@link #realFrames()}: 0.0 is a legal pixel value
 * (uint8 0 when normalisation is off, for instance), so real frames are never told from padding by
 * their zeros.
 *
 * @param batchSize requests
 * @param maxFrames the largest number of frames of a request (0 when no request has an image)
 * @param side T, the side of every frame (0 when no request has an image)
 * @param pixelValues (batchSize, maxFrames, 3, side, side) float32; padding frames are 0
 * @param realFrames (batchSize, maxFrames): true where a frame is an image's, false for padding
 */
public record ImageBatch(
    int batchSize, int maxFrames, int side, float[] pixelValues, boolean[] realFrames) {

  /**
   * Pads the frames of each request (the frames of its images, in order) to one batch.
   *
   * @param requests per request, the frames of each of its images; a request may have none
   */
  public static ImageBatch of(List<List<Idefics3ImageProcessor.Frames>> requests) {
    int maxFrames = 0;
    int side = 0;
    for (List<Idefics3ImageProcessor.Frames> images : requests) {
      int frames = 0;
      for (Idefics3ImageProcessor.Frames image : images) {
        if (side != 0 && image.side() != side) {
          throw new IllegalArgumentException(
              "frames of "
                  + image.side()
                  + " and "
                  + side
                  + " pixels in one batch; every image of a batch must go through the same"
                  + " image processor (one max_image_size)");
        }
        side = image.side();
        frames += image.count();
      }
      maxFrames = Math.max(maxFrames, frames);
    }
    int batch = requests.size();
    long frameValues = 3L * side * side;
    long total = batch * (long) maxFrames * frameValues;
    if (total > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "a batch of "
              + batch
              + " x "
              + maxFrames
              + " frames of 3 x "
              + side
              + " x "
              + side
              + " is "
              + total
              + " values, more than a Java array holds; lower the batch size");
    }
    float[] pixels = new float[(int) total];
    boolean[] real = new boolean[batch * maxFrames];
    for (int b = 0; b < batch; b++) {
      int frame = 0;
      for (Idefics3ImageProcessor.Frames image : requests.get(b)) {
        image.writePixelValues(pixels, (int) ((b * (long) maxFrames + frame) * frameValues));
        for (int f = 0; f < image.count(); f++) {
          real[b * maxFrames + frame + f] = true;
        }
        frame += image.count();
      }
    }
    return new ImageBatch(batch, maxFrames, side, pixels, real);
  }

  /** Whether frame f of request b is real (not padding). */
  public boolean isReal(int b, int f) {
    return realFrames[b * maxFrames + f];
  }

  /**
   * pixel_attention_mask, (batchSize, maxFrames, side, side): 1 on every pixel of a real frame
   * (frames are never padded within), 0 on padding frames.
   */
  public byte[] pixelAttentionMask() {
    int plane = side * side;
    byte[] mask = new byte[Math.multiplyExact(realFrames.length, plane)];
    for (int i = 0; i < realFrames.length; i++) {
      if (realFrames[i]) {
        java.util.Arrays.fill(mask, i * plane, (i + 1) * plane, (byte) 1);
      }
    }
    return mask;
  }
}
