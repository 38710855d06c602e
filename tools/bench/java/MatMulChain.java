import io.github.idefics3spark.tf.ComputeDtype;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.linalg.MatMul;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;

/**
 * The products of one decode step alone, in layouts the package could hold: what the matmul kernels
 * cost, apart from the rest of the step (README, "Probed and not kept"). A graph of 30 layers of a
 * SmolVLM-256M-shaped text model's products (q 576x576, k and v 576x192, o 576x576, gate and up
 * 576x1536, down 1536x576; hidden 576) and the lm_head (576x49280), at ROWS rows, with a little
 * elementwise glue between them so that each product waits for the one before as in the model; the
 * weights are random and fed as tensors at every call (as the package's variables are read: no
 * kernel sees a constant). Prints the median and best ms of one call over ROUNDS rounds of 20
 * calls, after 3 warm-up calls.
 *
 * <p>Layouts (LAYOUT):
 *
 * <ul>
 *   <li>{@code plain}: each product x W with W stored (in, out), as the package stores it;
 *   <li>{@code fused}: q, k and v as one product (576x960) and gate and up as one (576x3072), then
 *       split: 121 products a step instead of 211;
 *   <li>{@code halves}: each product as two products of half its output columns, concatenated:
 *       independent ops the session's inter-op threads can run at once;
 *   <li>{@code transposed}: W stored (out, in), as in the checkpoint, times x's transpose, and the
 *       result transposed back: a product of out rows instead of ROWS;
 *   <li>{@code batched}: x W as {@code plain}, through BatchMatMulV2 (oneDNN's matmul primitive on
 *       CPU) rather than MatMul (oneDNN's sgemm), as the package's {@link
 *       ComputeDtype#fewRowsBatchMatMul} makes a decode step's attention products.
 * </ul>
 *
 * <p>Int8MatMulBench times the same products in other weight dtypes, all in one process; this one
 * compares layouts and thread settings, which need a process each (the pools are one per process).
 *
 * <p>Usage: MatMulChain LAYOUT ROWS INTRA_OP_THREADS INTER_OP_THREADS ROUNDS (run it pinned with
 * taskset to as many cores as the threads; one process a setting, alternating settings; the
 * classpath as generate.sh builds it: model-loader's classes and their dependencies)
 */
public final class MatMulChain {
  private static final int HIDDEN = 576;
  private static final int KV = 192;
  private static final int INTERMEDIATE = 1536;
  private static final int VOCAB = 49280;
  private static final int LAYERS = 30;
  private static final int CALLS_A_ROUND = 20;

  private final Ops tf;
  private final String layout;
  private final List<Placeholder<TFloat32>> weights = new ArrayList<>();
  private final List<TFloat32> values = new ArrayList<>();

  private MatMulChain(Ops tf, String layout) {
    this.tf = tf;
    this.layout = layout;
  }

  public static void main(String[] args) throws Exception {
    String layout = args[0];
    int rows = Integer.parseInt(args[1]);
    int intraOp = Integer.parseInt(args[2]);
    int interOp = Integer.parseInt(args[3]);
    int rounds = Integer.parseInt(args[4]);
    if (!List.of("plain", "fused", "halves", "transposed", "batched").contains(layout)) {
      throw new IllegalArgumentException(
          "LAYOUT " + layout + ": expected plain, fused, halves, transposed or batched");
    }
    try (Graph g = new Graph()) {
      MatMulChain chain = new MatMulChain(Ops.create(g), layout);
      Placeholder<TFloat32> x =
          chain.tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(rows, HIDDEN)));
      Operand<?> out = chain.step(x);
      ConfigProto config =
          ConfigProto.newBuilder()
              .setIntraOpParallelismThreads(intraOp)
              .setInterOpParallelismThreads(interOp)
              .build();
      try (Session s = new Session(g, config);
          TFloat32 input = TFloat32.tensorOf(Shape.of(rows, HIDDEN))) {
        for (int i = 0; i < 3; i++) {
          chain.run(s, x, input, out);
        }
        double[] ms = new double[rounds];
        for (int r = 0; r < rounds; r++) {
          long start = System.nanoTime();
          for (int i = 0; i < CALLS_A_ROUND; i++) {
            chain.run(s, x, input, out);
          }
          ms[r] = (System.nanoTime() - start) / (CALLS_A_ROUND * 1e6);
        }
        Arrays.sort(ms);
        System.out.printf(
            "%s, %d rows, %d intra-op and %d inter-op threads: median %.2f ms, best %.2f ms a step%n",
            layout, rows, intraOp, interOp, ms[rounds / 2], ms[0]);
      } finally {
        chain.values.forEach(TFloat32::close);
      }
    }
  }

  private void run(Session s, Placeholder<TFloat32> x, TFloat32 input, Operand<?> out) {
    Session.Runner runner = s.runner().feed(x, input);
    for (int i = 0; i < weights.size(); i++) {
      runner.feed(weights.get(i), values.get(i));
    }
    runner.fetch(out).run().close();
  }

  /** (rows, hidden) -> (rows): the layers' products, then the lm_head's argmax. */
  private Operand<?> step(Operand<TFloat32> x) {
    Operand<TFloat32> h = x;
    for (int layer = 0; layer < LAYERS; layer++) {
      Operand<TFloat32> q;
      Operand<TFloat32> k;
      Operand<TFloat32> v;
      if (layout.equals("fused")) {
        List<Operand<TFloat32>> qkv = split(product(h, HIDDEN, HIDDEN + 2 * KV), HIDDEN, KV, KV);
        q = qkv.get(0);
        k = qkv.get(1);
        v = qkv.get(2);
      } else {
        q = product(h, HIDDEN, HIDDEN);
        k = product(h, HIDDEN, KV);
        v = product(h, HIDDEN, KV);
      }
      // stands for attention: (rows, hidden) from q, k and v
      Operand<TFloat32> attended = tf.math.add(q, tf.concat(List.of(k, v, k), tf.constant(1)));
      h = tf.math.add(h, product(attended, HIDDEN, HIDDEN));
      Operand<TFloat32> gate;
      Operand<TFloat32> up;
      if (layout.equals("fused")) {
        List<Operand<TFloat32>> gateUp =
            split(product(h, HIDDEN, 2 * INTERMEDIATE), INTERMEDIATE, INTERMEDIATE);
        gate = gateUp.get(0);
        up = gateUp.get(1);
      } else {
        gate = product(h, HIDDEN, INTERMEDIATE);
        up = product(h, HIDDEN, INTERMEDIATE);
      }
      Operand<TFloat32> down = product(tf.math.mul(gate, up), INTERMEDIATE, HIDDEN);
      h = tf.math.add(h, tf.math.mul(down, tf.constant(1e-3f)));
    }
    return tf.math.argMax(product(h, HIDDEN, VOCAB), tf.constant(1));
  }

  /** (rows, in) -> (rows, out) in this chain's layout. */
  private Operand<TFloat32> product(Operand<TFloat32> x, int in, int out) {
    switch (layout) {
      case "halves":
        return tf.concat(
            List.of(
                tf.linalg.matMul(x, weight(in, out / 2)),
                tf.linalg.matMul(x, weight(in, out - out / 2))),
            tf.constant(1));
      case "batched":
        return ComputeDtype.fewRowsBatchMatMul(tf, x, weight(in, out), false);
      case "transposed":
        Operand<TFloat32> yT = tf.linalg.matMul(weight(out, in), x, MatMul.transposeB(true));
        return tf.linalg.transpose(yT, tf.constant(new int[] {1, 0})); // (out, rows) -> (rows, out)
      default:
        return tf.linalg.matMul(x, weight(in, out));
    }
  }

  private List<Operand<TFloat32>> split(Operand<TFloat32> y, long... sizes) {
    List<Operand<TFloat32>> parts = new ArrayList<>();
    for (Output<TFloat32> part :
        tf.splitV(y, tf.constant(sizes), tf.constant(1), (long) sizes.length).output()) {
      parts.add(part);
    }
    return parts;
  }

  /** A fed (rows, columns) weight of random values. */
  private Operand<TFloat32> weight(int rows, int columns) {
    float[] v = new float[rows * columns];
    Random random = new Random(31L * rows + columns + weights.size());
    for (int i = 0; i < v.length; i++) {
      v[i] = (random.nextFloat() - 0.5f) * 0.05f;
    }
    Placeholder<TFloat32> w =
        tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(rows, columns)));
    weights.add(w);
    values.add(TFloat32.tensorOf(Shape.of(rows, columns), DataBuffers.of(v)));
    return w;
  }
}
