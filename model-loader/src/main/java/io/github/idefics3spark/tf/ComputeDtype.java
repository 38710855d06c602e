package io.github.idefics3spark.tf;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.train.BatchMatMul;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TNumber;

/**
 * The dtype a model graph stores its weights in and computes in: fp32 (the default, for CPU), bf16
 * or fp16 (for GPU), or int8 (CPU: the matrices int8 with per-output-channel scales, everything
 * else, and every computation, fp32; see {@link Int8Matrix}). Softmax, norms and RoPE angles are
 * still taken in fp32 where the reference takes them so.
 */
public enum ComputeDtype {
  FP32("fp32", TFloat32.class, -Float.MAX_VALUE),
  BF16("bf16", TBfloat16.class, -0x1.fep127f),
  FP16("fp16", TFloat16.class, -65504f),
  /** Declared after FP32 so that {@link #of(Class)} of float32 is FP32. */
  INT8("int8", TFloat32.class, -Float.MAX_VALUE);

  private final String flag;
  private final Class<? extends TNumber> type;
  private final float lowest;

  ComputeDtype(String flag, Class<? extends TNumber> type, float lowest) {
    this.flag = flag;
    this.type = type;
    this.lowest = lowest;
  }

  /** The name used by the convert command and the manifest: fp32, bf16, fp16 or int8. */
  public String flag() {
    return flag;
  }

  /** The tensor type computations run in (float32 for int8). */
  public Class<? extends TNumber> type() {
    return type;
  }

  /** torch.finfo(dtype).min: the additive mask value for a disallowed key. */
  public float lowest() {
    return lowest;
  }

  /** Whether the model's matrices are stored int8 (the rest float32). */
  public boolean int8() {
    return this == INT8;
  }

  /**
   * Bytes one weight takes in this dtype; for int8 the matrices' byte, which is nearly every weight
   * (norms, biases and the vision tower's patch and position embeddings stay float32).
   */
  public int bytes() {
    return switch (this) {
      case FP32 -> 4;
      case BF16, FP16 -> 2;
      case INT8 -> 1;
    };
  }

  /** The dtype named {@code flag}; fails listing the choices. */
  public static ComputeDtype of(String flag) {
    for (ComputeDtype dtype : values()) {
      if (dtype.flag.equals(flag)) {
        return dtype;
      }
    }
    throw new IllegalArgumentException(
        "dtype \"" + flag + "\" is not one of fp32, bf16, fp16, int8");
  }

  /** The dtype whose tensor class is {@code type}. */
  public static ComputeDtype of(Class<?> type) {
    for (ComputeDtype dtype : values()) {
      if (dtype.type == type) {
        return dtype;
      }
    }
    throw new IllegalArgumentException(type + " is not a compute dtype");
  }

  /**
   * x @ y (y transposed when {@code adjY}) over the leading batch axes, in the dtype of x. fp16
   * goes through fp32 (products accumulated in fp32, rounded once, as cuBLAS does for half): the
   * CPU build of TensorFlow 2.18 has no half-precision BatchMatMul kernel, and without one a
   * session cannot even place the graph to assign its variables.
   */
  public static <T extends TNumber> Operand<T> batchMatMul(
      Ops tf, Operand<T> x, Operand<T> y, boolean adjY) {
    Class<T> type = x.type();
    if (type == TFloat16.class) {
      Operand<TFloat32> product =
          tf.train.batchMatMul(
              tf.dtypes.cast(x, TFloat32.class),
              tf.dtypes.cast(y, TFloat32.class),
              TFloat32.class,
              BatchMatMul.adjY(adjY));
      return tf.dtypes.cast(product, type);
    }
    return tf.train.batchMatMul(x, y, type, BatchMatMul.adjY(adjY));
  }

  /**
   * As {@link #batchMatMul}, for products whose x has a handful of rows (a decode step's queries:
   * one token a head): through BatchMatMulV2, which TensorFlow's CPU build hands to oneDNN. A
   * decode step makes two such products a layer, and BatchMatMulV3's Eigen kernel costs a fixed
   * ~150 us a call on them against ~45 us for oneDNN's ((8, 3, 3, 64) x (8, 3, 127, 64)^T, one
   * thread), about 6 ms of a 40 ms step of SmolVLM-256M at batch 8; on a prefill's large products
   * Eigen's is the faster (90 against 108 ms for (8, 12, 1024, 64) x (8, 12, 1024, 64)^T), so those
   * stay with {@link #batchMatMul}. On a GPU both ops are cuBLAS batched GEMMs.
   */
  public static <T extends TNumber> Operand<T> fewRowsBatchMatMul(
      Ops tf, Operand<T> x, Operand<T> y, boolean adjY) {
    Class<T> type = x.type();
    if (type == TFloat16.class) {
      Operand<TFloat32> product =
          fewRowsBatchMatMul(
              tf, tf.dtypes.cast(x, TFloat32.class), tf.dtypes.cast(y, TFloat32.class), adjY);
      return tf.dtypes.cast(product, type);
    }
    return tf.scope()
        .opBuilder("BatchMatMulV2", "BatchMatMulV2")
        .addInput(x.asOutput())
        .addInput(y.asOutput())
        .setAttr("adj_x", false)
        .setAttr("adj_y", adjY)
        .build()
        .<T>output(0);
  }

  /** A scalar constant of {@code type}, rounded from {@code value} as torch rounds a scalar. */
  public static <T extends TNumber> Operand<T> scalar(Ops tf, double value, Class<T> type) {
    return tf.dtypes.cast(tf.constant((float) value), type);
  }
}
