package io.github.idefics3spark.idefics3.graph;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Transformers' LlamaRotaryEmbedding (the text model's): cos and sin of the rotary angles for given
 * positions, half-split layout.
 *
 * <p>The inverse frequencies are computed here in Java, bit for bit as the reference computes them
 * in fp32 (llama3 scaling included), and enter the graph as a small constant; the angles are taken
 * in fp32 ({@code f32(position) * inv_freq}), as double angles drift by 1e-4.
 */
final class TextRotaryEmbedding {
  private final Ops tf;
  private final Operand<TFloat32> invFreq; // (head_dim / 2)

  TextRotaryEmbedding(Ops tf, Idefics3Config.Text config) {
    this.tf = tf;
    this.invFreq = tf.constant(inverseFrequencies(config));
  }

  /** Cos and sin, each (batch, seq, head_dim). */
  record CosSin(Operand<TFloat32> cos, Operand<TFloat32> sin) {}

  /** Positions (batch, seq) -> cos, sin (batch, seq, head_dim). */
  CosSin forward(Operand<TInt32> positionIds) {
    Operand<TFloat32> positions =
        tf.expandDims(tf.dtypes.cast(positionIds, TFloat32.class), tf.constant(-1)); // (B, L, 1)
    Operand<TFloat32> freqs = tf.math.mul(positions, invFreq); // (B, L, hd / 2)
    Operand<TFloat32> emb = tf.concat(List.of(freqs, freqs), tf.constant(-1)); // (B, L, hd)
    return new CosSin(tf.math.cos(emb), tf.math.sin(emb));
  }

  /**
   * inv_freq exactly as transformers computes it in fp32: {@code e = f32(2i) / f32(hd)}, {@code 1 /
   * f32(theta^e)}; then, for llama3 scaling, per frequency with the wavelength {@code 2 pi / inv}
   * (computed as torch does, a reciprocal times 2 pi): long wavelengths are divided by the factor,
   * medium ones blended.
   */
  static float[] inverseFrequencies(Idefics3Config.Text config) {
    int half = config.headDim() / 2;
    float[] inv = new float[half];
    for (int i = 0; i < half; i++) {
      float exponent = (float) (2 * i) / (float) config.headDim();
      float power = (float) Math.pow(config.ropeTheta(), exponent);
      inv[i] = 1.0f / power;
    }
    Idefics3Config.RopeScaling scaling = config.ropeScaling();
    if (scaling == null) {
      return inv;
    }
    float factor = (float) scaling.factor();
    float low = (float) scaling.lowFreqFactor();
    float high = (float) scaling.highFreqFactor();
    double original = scaling.originalMaxPositionEmbeddings();
    float lowFreqWavelen = (float) (original / scaling.lowFreqFactor());
    float highFreqWavelen = (float) (original / scaling.highFreqFactor());
    float twoPi = (float) (2 * Math.PI);
    float[] scaled = new float[half];
    for (int i = 0; i < half; i++) {
      float wavelen = (1.0f / inv[i]) * twoPi;
      float llama = wavelen > lowFreqWavelen ? inv[i] / factor : inv[i];
      float smooth = ((1.0f / wavelen) * (float) original - low) / (high - low);
      float smoothed = (1f - smooth) * llama / factor + smooth * llama;
      boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
      scaled[i] = medium ? smoothed : llama;
    }
    return scaled;
  }
}
