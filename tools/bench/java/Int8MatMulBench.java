import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.OperationBuilder;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;

/**
 * Which TensorFlow Java 1.1.0 CPU kernels could make an int8 weight package decode faster than
 * fp32: the matmuls of one decode step of SmolVLM-256M's text model (30 layers of q, k, v, o, gate,
 * up, down at hidden 576, kv 192, intermediate 1536, then the 49280-row lm_head), M rows at a time,
 * in one Session.run, on 1 intra-op thread, for each way of storing and multiplying the weights:
 *
 * <ul>
 *   <li>fp32: MatMul on float32 weights (today's packages);
 *   <li>int8-cast: int8 weights, Cast to float32, MatMul, times the per-channel scale;
 *   <li>int8-dequantize: the same through Dequantize(qint8, axis=1) with per-channel ranges;
 *   <li>int8-bmm-mixed: BatchMatMulV3 with Ta=float, Tb=int8 (if a CPU kernel exists);
 *   <li>w8a8-qmatmul: QuantizeV2 of the activations (quint8, per tensor) and QuantizedMatMul
 *       against quint8 weights (int8 + 128), int32 accumulators times the scales;
 *   <li>w8a8-onednn: QuantizedMatMulWithBiasAndDequantize (quint8 x qint8, per-channel filter
 *       ranges, float output), a oneDNN kernel;
 *   <li>bf16-matmul: bfloat16 weights, MatMul in bfloat16; bf16-cast: Cast to float32, MatMul;
 *   <li>bf16-sparse: SparseMatMul with Ta=float, Tb=bfloat16 (no materialised copy);
 *   <li>int8-native: the project's own kernel, Idefics3Int8MatMul (model-loader/src/main/c, what an
 *       int8 package's decode steps use), loaded from the library INT8_NATIVE_LIBRARY names
 *       (tools/native/build.sh writes it under model-loader/src/main/resources).
 * </ul>
 *
 * Each variant also reports its largest error against fp32 relative to fp32's largest output.
 *
 * <p>Usage (compiled with BenchStats.java): Int8MatMulBench [ROUNDS] [CALLS] [ROWS...] (defaults 5
 * rounds of 5 calls, rows 1 8); INT8_BENCH_VARIANTS=fp32,int8-cast,... picks variants (fp32 first:
 * the reference), and NAME-xla runs the variant NAME with XLA auto-clustering (with
 * TF_XLA_FLAGS=--tf_xla_cpu_global_jit); variants run interleaved round by round; the figures are
 * medians of the per-round medians.
 */
public final class Int8MatMulBench {
  private static final int LAYERS = 30;
  private static final int HIDDEN = 576;
  private static final int KV = 192;
  private static final int INTERMEDIATE = 1536;
  private static final int VOCAB = 49280;

  private record Matrix(String name, int in, int out) {}

  private static final List<String> VARIANTS =
      List.of(
          "fp32",
          "int8-cast",
          "int8-dequantize",
          "int8-bmm-bf16",
          "w8a8-bmm",
          "w8a8-qmatmul",
          "w8a8-onednn",
          "bf16-matmul",
          "bf16-cast",
          "bf16-sparse",
          "int8-native");

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int calls = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    List<Integer> rowCounts = new ArrayList<>();
    for (int i = 2; i < args.length; i++) {
      rowCounts.add(Integer.parseInt(args[i]));
    }
    if (rowCounts.isEmpty()) {
      rowCounts = List.of(1, 8);
    }
    List<Matrix> matrices = new ArrayList<>();
    for (int layer = 0; layer < LAYERS; layer++) {
      String p = "l" + layer + ".";
      matrices.add(new Matrix(p + "q", HIDDEN, HIDDEN));
      matrices.add(new Matrix(p + "k", HIDDEN, KV));
      matrices.add(new Matrix(p + "v", HIDDEN, KV));
      matrices.add(new Matrix(p + "o", HIDDEN, HIDDEN));
      matrices.add(new Matrix(p + "gate", HIDDEN, INTERMEDIATE));
      matrices.add(new Matrix(p + "up", HIDDEN, INTERMEDIATE));
      matrices.add(new Matrix(p + "down", INTERMEDIATE, HIDDEN));
    }
    matrices.add(new Matrix("lm_head", HIDDEN, VOCAB));

    ConfigProto config =
        ConfigProto.newBuilder()
            .setIntraOpParallelismThreads(1)
            .setInterOpParallelismThreads(1)
            .build();
    // One graph and session per variant: a session places its whole graph on first use, so one
    // op without a CPU kernel would fail every variant sharing its graph.
    Map<String, Variant> variants = new LinkedHashMap<>();
    Map<String, String> status = new LinkedHashMap<>();
    List<String> chosen =
        System.getenv("INT8_BENCH_VARIANTS") == null
            ? VARIANTS
            : List.of(System.getenv("INT8_BENCH_VARIANTS").split(","));
    if (chosen.contains("int8-native")) {
      // the project's own kernel (model-loader/src/main/c), built by tools/native/build.sh
      org.tensorflow.TensorFlow.loadLibrary(System.getenv("INT8_NATIVE_LIBRARY"));
    }
    for (String name : chosen) {
      Graph graph = new Graph();
      Session session = null;
      try {
        Ops tf = Ops.create(graph);
        // NAME-xla: the variant NAME with XLA's auto-clustering on (TF_XLA_FLAGS must hold
        // --tf_xla_cpu_global_jit for it to reach the CPU)
        boolean xla = name.endsWith("-xla");
        Bench bench = new Bench(graph, tf, xla ? name.substring(0, name.length() - 4) : name);
        for (Matrix m : matrices) {
          bench.declare(m);
        }
        Map<Integer, Output<TFloat32>> inputs = new LinkedHashMap<>();
        Map<Integer, Output<TFloat32>> outputs = new LinkedHashMap<>();
        for (int rows : rowCounts) {
          Output<TFloat32> x =
              tf.withName("x" + rows)
                  .placeholder(
                      TFloat32.class,
                      org.tensorflow.op.core.Placeholder.shape(Shape.of(rows, HIDDEN)))
                  .asOutput();
          inputs.put(rows, x);
          outputs.put(rows, bench.step(x));
        }
        session =
            new Session(
                graph,
                xla
                    ? config.toBuilder()
                        .setGraphOptions(
                            org.tensorflow.proto.GraphOptions.newBuilder()
                                .setOptimizerOptions(
                                    org.tensorflow.proto.OptimizerOptions.newBuilder()
                                        .setGlobalJitLevel(
                                            org.tensorflow.proto.OptimizerOptions.GlobalJitLevel
                                                .ON_2)))
                        .build()
                    : config);
        long t0 = System.nanoTime();
        bench.initialise(session);
        System.out.printf(
            "%s: weights initialised in %.1f s%n", name, (System.nanoTime() - t0) / 1e9);
        variants.put(name, new Variant(graph, session, inputs, outputs));
      } catch (RuntimeException e) {
        String message = String.valueOf(e.getMessage()).split("\n")[0];
        status.put(name, "FAILED: " + message.substring(0, Math.min(200, message.length())));
        if (session != null) {
          session.close();
        }
        graph.close();
      }
    }
    for (int rows : rowCounts) {
      float[] values = new float[rows * HIDDEN];
      java.util.Random random = new java.util.Random(rows);
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) random.nextGaussian();
      }
      try (TFloat32 x =
          TFloat32.tensorOf(
              Shape.of(rows, HIDDEN),
              b -> b.copyFrom(org.tensorflow.ndarray.buffer.DataBuffers.of(values, true, false)))) {
        float[] reference = null;
        Map<String, List<Double>> medians = new LinkedHashMap<>();
        for (Map.Entry<String, Variant> entry : variants.entrySet()) {
          String name = entry.getKey();
          try {
            float[] y = entry.getValue().run(rows, x);
            if (reference == null) {
              reference = y;
            }
            status.put(name, String.format("rel. max error %.4f", relativeError(reference, y)));
            medians.put(name, new ArrayList<>());
          } catch (RuntimeException e) {
            String message = String.valueOf(e.getMessage()).split("\n")[0];
            status.put(name, "FAILED: " + message.substring(0, Math.min(200, message.length())));
          }
        }
        for (int round = 0; round < rounds; round++) {
          List<String> order = new ArrayList<>(medians.keySet());
          if (round % 2 == 1) {
            java.util.Collections.reverse(order);
          }
          for (String name : order) {
            double[] times = new double[calls];
            for (int c = 0; c < calls; c++) {
              long start = System.nanoTime();
              variants.get(name).run(rows, x);
              times[c] = (System.nanoTime() - start) / 1e6;
            }
            medians.get(name).add(BenchStats.median(times));
          }
        }
        double fp32 =
            medians.containsKey("fp32")
                ? BenchStats.median(medians.get("fp32"), Double::doubleValue)
                : Double.NaN;
        System.out.printf("rows %d (load %s):%n", rows, BenchStats.loadAverages());
        for (String name : chosen) {
          List<Double> per = medians.get(name);
          if (per == null) {
            System.out.printf("  %-16s %s%n", name, status.get(name));
          } else {
            double ms = BenchStats.median(per, Double::doubleValue);
            System.out.printf(
                "  %-16s %8.2f ms/step  %.2fx fp32  %s  rounds %s%n",
                name, ms, fp32 / ms, status.get(name), rounded(per));
          }
        }
      }
    }
    for (Variant variant : variants.values()) {
      variant.session().close();
      variant.graph().close();
    }
  }

  private record Variant(
      Graph graph,
      Session session,
      Map<Integer, Output<TFloat32>> inputs,
      Map<Integer, Output<TFloat32>> outputs) {
    float[] run(int rows, TFloat32 x) {
      return Int8MatMulBench.run(session, inputs.get(rows), x, outputs.get(rows));
    }
  }

  /** The weights of every variant and the graph of one decode step's matmuls. */
  private static final class Bench {
    private final Graph graph;
    private final Ops tf;
    private final Map<String, Matrix> matrices = new LinkedHashMap<>();
    private final List<GraphOperation> initialisers = new ArrayList<>();
    private final Map<String, Output<?>> handles = new LinkedHashMap<>();
    private final String variant;
    private int counter;

    Bench(Graph graph, Ops tf, String variant) {
      this.graph = graph;
      this.tf = tf;
      this.variant = variant;
    }

    void declare(Matrix m) {
      matrices.put(m.name(), m);
      Shape shape = Shape.of(m.in(), m.out());
      // w ~ N(0, 0.02), a few outliers so that per-channel scales matter
      Operand<TFloat32> w =
          tf.math.mul(
              tf.random.statelessRandomNormal(
                  tf.constant(new long[] {m.in(), m.out()}),
                  tf.constant(new long[] {counter, 7}),
                  TFloat32.class),
              tf.constant(0.02f));
      counter++;
      Operand<TFloat32> scale =
          tf.math.div(
              tf.math.maximum(tf.reduceMax(tf.math.abs(w), tf.constant(0)), tf.constant(1e-12f)),
              tf.constant(127f));
      Operand<TFloat32> q = tf.math.round(tf.math.div(w, scale));
      Output<?> qi8 = raw("Cast", q, "SrcT", DataType.DT_FLOAT, "DstT", DataType.DT_INT8);
      Output<?> qu8 =
          raw(
              "Bitcast",
              raw(
                  "Cast",
                  tf.math.add(q, tf.constant(128f)),
                  "SrcT",
                  DataType.DT_FLOAT,
                  "DstT",
                  DataType.DT_UINT8),
              "T",
              DataType.DT_UINT8,
              "type",
              DataType.DT_QUINT8);
      assign(
          variable(m.name() + "/scale", DataType.DT_FLOAT, Shape.of(m.out())),
          scale,
          DataType.DT_FLOAT);
      if (variant.equals("fp32")) {
        assign(variable(m.name() + "/f32", DataType.DT_FLOAT, shape), w, DataType.DT_FLOAT);
      } else if (variant.startsWith("bf16")) {
        assign(
            variable(m.name() + "/bf16", DataType.DT_BFLOAT16, shape),
            tf.dtypes.cast(w, org.tensorflow.types.TBfloat16.class),
            DataType.DT_BFLOAT16);
      } else if (variant.equals("w8a8-qmatmul")) {
        assign(variable(m.name() + "/q8", DataType.DT_QUINT8, shape), qu8, DataType.DT_QUINT8);
      } else {
        assign(variable(m.name() + "/i8", DataType.DT_INT8, shape), qi8, DataType.DT_INT8);
      }
    }

    void initialise(Session session) {
      for (int i = 0; i < initialisers.size(); i += 50) {
        Session.Runner runner = session.runner();
        for (GraphOperation op : initialisers.subList(i, Math.min(i + 50, initialisers.size()))) {
          runner.addTarget(op);
        }
        runner.run();
      }
    }

    private Output<?> variable(String name, DataType type, Shape shape) {
      OperationBuilder b = tf.scope().opBuilder("VarHandleOp", name.replace("/", "_"));
      b.setAttr("dtype", type);
      b.setAttr("shape", shape);
      b.setAttr("shared_name", name);
      b.setAttr("container", "");
      Output<?> handle = ((GraphOperation) b.build()).output(0);
      handles.put(name, handle);
      return handle;
    }

    private void assign(Output<?> handle, Operand<?> value, DataType type) {
      OperationBuilder b = tf.scope().opBuilder("AssignVariableOp", "init_" + handle.op().name());
      b.addInput(handle);
      b.addInput(value.asOutput());
      b.setAttr("dtype", type);
      initialisers.add((GraphOperation) b.build());
    }

    private Output<?> read(String name, DataType type) {
      OperationBuilder b = tf.scope().opBuilder("ReadVariableOp", "read" + (counter++));
      b.addInput(handles.get(name));
      b.setAttr("dtype", type);
      return ((GraphOperation) b.build()).output(0);
    }

    /** An op of {@code type} on {@code inputs} with the attributes given as name, value pairs. */
    private Output<?> raw(String type, Object... inputsAndAttrs) {
      return rawOp(type, inputsAndAttrs).output(0);
    }

    private GraphOperation rawOp(String type, Object... inputsAndAttrs) {
      OperationBuilder b = tf.scope().opBuilder(type, type + (counter++));
      int i = 0;
      while (i < inputsAndAttrs.length && inputsAndAttrs[i] instanceof Operand<?> operand) {
        b.addInput(operand.asOutput());
        i++;
      }
      for (; i < inputsAndAttrs.length; i += 2) {
        String name = (String) inputsAndAttrs[i];
        Object value = inputsAndAttrs[i + 1];
        if (value instanceof DataType t) {
          b.setAttr(name, t);
        } else if (value instanceof Boolean v) {
          b.setAttr(name, v);
        } else if (value instanceof String v) {
          b.setAttr(name, v);
        } else if (value instanceof Long v) {
          b.setAttr(name, v);
        } else {
          throw new IllegalArgumentException(name);
        }
      }
      return (GraphOperation) b.build();
    }

    @SuppressWarnings("unchecked")
    private Output<TFloat32> f(Output<?> o) {
      return (Output<TFloat32>) o;
    }

    /** x (rows, in) times the matrix {@code name} stored as {@code variant}: (rows, out) float. */
    Output<TFloat32> matmul(String name, Output<TFloat32> x) {
      Matrix m = matrices.get(name);
      Output<TFloat32> scale = f(read(name + "/scale", DataType.DT_FLOAT));
      switch (variant) {
        case "fp32":
          return tf.linalg.matMul(x, f(read(name + "/f32", DataType.DT_FLOAT))).asOutput();
        case "int8-native":
          return f(raw("Idefics3Int8MatMul", x, read(name + "/i8", DataType.DT_INT8), scale));
        case "int8-cast":
          {
            Output<TFloat32> w =
                f(
                    raw(
                        "Cast",
                        read(name + "/i8", DataType.DT_INT8),
                        "SrcT",
                        DataType.DT_INT8,
                        "DstT",
                        DataType.DT_FLOAT));
            return tf.math.mul(tf.linalg.matMul(x, w), scale).asOutput();
          }
        case "int8-dequantize":
          {
            Operand<TFloat32> range = tf.math.mul(scale, tf.constant(127f));
            Output<TFloat32> w =
                f(
                    raw(
                        "Dequantize",
                        raw(
                            "Bitcast",
                            read(name + "/i8", DataType.DT_INT8),
                            "T",
                            DataType.DT_INT8,
                            "type",
                            DataType.DT_QINT8),
                        tf.math.neg(range),
                        range,
                        "T",
                        DataType.DT_QINT8,
                        "mode",
                        "SCALED",
                        "axis",
                        1L,
                        "dtype",
                        DataType.DT_FLOAT));
            return tf.linalg.matMul(x, w).asOutput();
          }
        case "int8-bmm-bf16":
          {
            // BatchMatMulV3's CPU kernels mix bf16 with int8 (Tout bf16), not float with int8
            Output<?> xb = raw("Cast", x, "SrcT", DataType.DT_FLOAT, "DstT", DataType.DT_BFLOAT16);
            Output<?> y =
                raw(
                    "BatchMatMulV3",
                    xb,
                    read(name + "/i8", DataType.DT_INT8),
                    "Ta",
                    DataType.DT_BFLOAT16,
                    "Tb",
                    DataType.DT_INT8,
                    "Tout",
                    DataType.DT_BFLOAT16);
            Output<TFloat32> yf =
                f(raw("Cast", y, "SrcT", DataType.DT_BFLOAT16, "DstT", DataType.DT_FLOAT));
            return tf.math.mul(yf, scale).asOutput();
          }
        case "w8a8-bmm":
          {
            // per-row symmetric int8 activations, BatchMatMulV3 int8 x int8 -> int32
            Operand<TFloat32> rowScale =
                tf.math.div(
                    tf.math.maximum(
                        tf.reduceMax(
                            tf.math.abs(x),
                            tf.constant(1),
                            org.tensorflow.op.core.ReduceMax.keepDims(true)),
                        tf.constant(1e-12f)),
                    tf.constant(127f));
            Output<?> xq =
                raw(
                    "Cast",
                    tf.math.round(tf.math.div(x, rowScale)),
                    "SrcT",
                    DataType.DT_FLOAT,
                    "DstT",
                    DataType.DT_INT8);
            Output<?> acc =
                raw(
                    "BatchMatMulV3",
                    xq,
                    read(name + "/i8", DataType.DT_INT8),
                    "Ta",
                    DataType.DT_INT8,
                    "Tb",
                    DataType.DT_INT8,
                    "Tout",
                    DataType.DT_INT32);
            Output<TFloat32> accf =
                f(raw("Cast", acc, "SrcT", DataType.DT_INT32, "DstT", DataType.DT_FLOAT));
            return tf.math.mul(tf.math.mul(accf, rowScale), scale).asOutput();
          }
        case "w8a8-qmatmul":
          {
            Operand<TFloat32> lo =
                tf.math.minimum(tf.reduceMin(x, tf.constant(new int[] {0, 1})), tf.constant(0f));
            Operand<TFloat32> hi =
                tf.math.maximum(tf.reduceMax(x, tf.constant(new int[] {0, 1})), tf.constant(0f));
            GraphOperation quantized =
                rawOp("QuantizeV2", x, lo, hi, "T", DataType.DT_QUINT8, "mode", "MIN_FIRST");
            GraphOperation product =
                rawOp(
                    "QuantizedMatMul",
                    quantized.output(0),
                    read(name + "/q8", DataType.DT_QUINT8),
                    quantized.output(1),
                    quantized.output(2),
                    tf.constant(-128f),
                    tf.constant(127f),
                    "T1",
                    DataType.DT_QUINT8,
                    "T2",
                    DataType.DT_QUINT8,
                    "Toutput",
                    DataType.DT_QINT32);
            Output<?> asInt =
                raw(
                    "Bitcast",
                    product.output(0),
                    "T",
                    DataType.DT_QINT32,
                    "type",
                    DataType.DT_INT32);
            Output<TFloat32> acc =
                f(raw("Cast", asInt, "SrcT", DataType.DT_INT32, "DstT", DataType.DT_FLOAT));
            Operand<TFloat32> xScale =
                tf.math.div(
                    tf.math.sub(quantized.<TFloat32>output(2), quantized.<TFloat32>output(1)),
                    tf.constant(255f));
            return tf.math.mul(acc, tf.math.mul(scale, xScale)).asOutput();
          }
        case "w8a8-onednn":
          {
            Operand<TFloat32> lo =
                tf.math.minimum(tf.reduceMin(x, tf.constant(new int[] {0, 1})), tf.constant(0f));
            Operand<TFloat32> hi =
                tf.math.maximum(tf.reduceMax(x, tf.constant(new int[] {0, 1})), tf.constant(0f));
            GraphOperation quantized =
                rawOp("QuantizeV2", x, lo, hi, "T", DataType.DT_QUINT8, "mode", "MIN_FIRST");
            Output<?> w =
                raw(
                    "Bitcast",
                    read(name + "/i8", DataType.DT_INT8),
                    "T",
                    DataType.DT_INT8,
                    "type",
                    DataType.DT_QINT8);
            // the op's shape function wants scalar filter ranges: range 127 (filter scale 1), then
            // the per-channel scale on the float output
            return tf.math
                .mul(
                    f(
                        raw(
                            "QuantizedMatMulWithBiasAndDequantize",
                            quantized.output(0),
                            w,
                            tf.zeros(tf.constant(new int[] {m.out()}), TFloat32.class),
                            quantized.output(1),
                            quantized.output(2),
                            tf.constant(-127f),
                            tf.constant(127f),
                            tf.constant(-1f),
                            tf.constant(1f),
                            "T1",
                            DataType.DT_QUINT8,
                            "T2",
                            DataType.DT_QINT8,
                            "Tbias",
                            DataType.DT_FLOAT,
                            "Toutput",
                            DataType.DT_FLOAT,
                            "input_quant_mode",
                            "MIN_FIRST")),
                    scale)
                .asOutput();
          }
        case "bf16-matmul":
          {
            Output<?> w = read(name + "/bf16", DataType.DT_BFLOAT16);
            Output<?> xb = raw("Cast", x, "SrcT", DataType.DT_FLOAT, "DstT", DataType.DT_BFLOAT16);
            Output<?> y = raw("MatMul", xb, w, "T", DataType.DT_BFLOAT16);
            return f(raw("Cast", y, "SrcT", DataType.DT_BFLOAT16, "DstT", DataType.DT_FLOAT));
          }
        case "bf16-cast":
          {
            Output<TFloat32> w =
                f(
                    raw(
                        "Cast",
                        read(name + "/bf16", DataType.DT_BFLOAT16),
                        "SrcT",
                        DataType.DT_BFLOAT16,
                        "DstT",
                        DataType.DT_FLOAT));
            return tf.linalg.matMul(x, w).asOutput();
          }
        case "bf16-sparse":
          return f(
              raw(
                  "SparseMatMul",
                  x,
                  read(name + "/bf16", DataType.DT_BFLOAT16),
                  "Ta",
                  DataType.DT_FLOAT,
                  "Tb",
                  DataType.DT_BFLOAT16));
        default:
          throw new IllegalArgumentException(variant);
      }
    }

    /** One decode step's matmuls: every layer's seven projections, then the lm_head. */
    Output<TFloat32> step(Output<TFloat32> x) {
      // every layer multiplies the same input (no chain: errors do not compound through 30
      // random layers); their outputs are summed into the lm_head's input
      Operand<TFloat32> sum = x;
      for (int layer = 0; layer < LAYERS; layer++) {
        String p = "l" + layer + ".";
        Output<TFloat32> in = x;
        Operand<TFloat32> q = matmul(p + "q", in);
        Operand<TFloat32> k = matmul(p + "k", in);
        Operand<TFloat32> v = matmul(p + "v", in);
        Operand<TFloat32> o = matmul(p + "o", tf.math.tanh(q).asOutput());
        Operand<TFloat32> gate = matmul(p + "gate", in);
        Operand<TFloat32> up = matmul(p + "up", in);
        Operand<TFloat32> down = matmul(p + "down", tf.math.mul(tf.math.tanh(gate), up).asOutput());
        Operand<TFloat32> kv =
            tf.math.add(
                tf.math.mean(k, tf.constant(1), org.tensorflow.op.math.Mean.keepDims(true)),
                tf.math.mean(v, tf.constant(1), org.tensorflow.op.math.Mean.keepDims(true)));
        sum = tf.math.add(sum, tf.math.add(tf.math.add(o, down), kv));
      }
      Operand<TFloat32> h = tf.math.tanh(sum);
      return matmul("lm_head", h.asOutput());
    }
  }

  private static float[] run(
      Session session, Output<TFloat32> input, TFloat32 x, Output<TFloat32> y) {
    try (Result result = session.runner().feed(input, x).fetch(y).run()) {
      TFloat32 out = (TFloat32) result.get(0);
      float[] values = new float[(int) out.shape().size()];
      out.copyTo(org.tensorflow.ndarray.buffer.DataBuffers.of(values, false, false));
      return values;
    }
  }

  private static double relativeError(float[] reference, float[] y) {
    double maxRef = 0;
    double maxDiff = 0;
    for (int i = 0; i < reference.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(reference[i]));
      maxDiff = Math.max(maxDiff, Math.abs(reference[i] - y[i]));
    }
    return maxDiff / maxRef;
  }

  private static String rounded(List<Double> values) {
    StringBuilder s = new StringBuilder();
    for (double v : values) {
      s.append(s.length() == 0 ? "" : " ").append(String.format("%.1f", v));
    }
    return s.toString();
  }
}
