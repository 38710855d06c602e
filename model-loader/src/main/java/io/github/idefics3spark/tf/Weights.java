package io.github.idefics3spark.tf;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.AssignVariableOp;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.op.train.MergeV2Checkpoints;
import org.tensorflow.op.train.Restore;
import org.tensorflow.op.train.Save;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * A model's weights as TensorFlow resource variables, each named by its Hugging Face key.
 *
 * <p>Every weight is one {@code VarHandleOp} whose {@code shared_name} is the checkpoint key
 * ("model.text_model.layers.0.self_attn.q_proj.weight"), so the values live once in the session and
 * never in the GraphDef (protobuf caps that at 2 GB). A block reads a weight with {@link #read} in
 * whatever scope it is being built: in the model's own graph the handle is created once and reused;
 * inside a function body (a While loop's step, which cannot capture outer tensors) a fresh handle
 * with the same shared name is made, and TensorFlow resolves it to the same variable.
 *
 * <p>A matrix multiplied from the right ({@code x @ W^T}, every nn.Linear, and the token embeddings
 * that a tied lm_head multiplies) is stored transposed, (in, out), through {@link #readTransposed}:
 * TensorFlow's CPU matmul re-lays a transposed operand out on every call, which doubled the cost of
 * a decode step. The checkpoint keeps its (out, in) layout; the fill ops transpose on the way in.
 *
 * <p>Weights built for int8 (convert's {@code --dtype int8}) store the matrices read with {@link
 * #readInt8} as int8, symmetric, with one float32 scale per output channel ({@code max|w| / 127}
 * over the channel's inputs), in a variable named KEY{@value #SCALE_SUFFIX} beside KEY's.
 * TensorFlow Java has no int8 tensor type, so the int8 values are held in a uint8 variable (the
 * same bits, two's complement) and reinterpreted in the graph ({@link Int8Matrix}). The fill ops
 * quantise: callers fill these weights with the checkpoint's float32 values like any other.
 */
public final class Weights<T extends TNumber> {

  /**
   * One declared weight: its Hugging Face key, its shape as stored, whether it is stored as the
   * transpose of the checkpoint's matrix, and its handle in the model's graph.
   */
  public record Variable(
      String key,
      Shape shape,
      boolean transposed,
      Operand<? extends TType> handle,
      Class<? extends TType> type) {

    /** The shape of the tensor in the Hugging Face checkpoint. */
    public Shape checkpointShape() {
      return transposed ? Shape.of(shape.size(1), shape.size(0)) : shape;
    }
  }

  private final Graph graph;
  private final Ops root;
  private final Map<String, Variable> variables = new LinkedHashMap<>();
  private final Map<String, Variable> scales = new LinkedHashMap<>(); // by the int8 matrix's key
  private final Map<String, Operand<?>> rootReads = new LinkedHashMap<>();
  private Map<String, Fill> fills;

  private record Fill(Placeholder<TFloat32> value, Op assign) {}

  /** The name of an int8 matrix's scales: its key with this suffix. */
  public static final String SCALE_SUFFIX = "_scale";

  private final Class<T> dtype;
  private final boolean int8;
  private final int productSplits;

  /** Weights of {@code dtype} declared in {@code graph}, the graph that owns the variables. */
  public Weights(Graph graph, Class<T> dtype) {
    this(graph, dtype, false);
  }

  /**
   * Weights of {@code dtype} declared in {@code graph}; with {@code int8}, the matrices read
   * through {@link #readInt8} are stored int8 (then {@code dtype} must be float32, what they are
   * multiplied in).
   */
  public Weights(Graph graph, Class<T> dtype, boolean int8) {
    this(graph, dtype, int8, 1);
  }

  /**
   * Weights as {@link #Weights(Graph, Class, boolean)} declares them, whose large products the
   * graph splits into {@code productSplits} parts (convert's {@code --split-products}).
   */
  public Weights(Graph graph, Class<T> dtype, boolean int8, int productSplits) {
    if (productSplits < 1) {
      throw new IllegalArgumentException("product splits must be 1 or more: " + productSplits);
    }
    if (int8 && dtype != TFloat32.class) {
      throw new IllegalArgumentException(
          "int8 weights are multiplied in float32, not " + dtype.getSimpleName());
    }
    this.graph = graph;
    this.root = Ops.create(graph);
    this.dtype = dtype;
    this.int8 = int8;
    this.productSplits = productSplits;
  }

  /**
   * The same weights (keys, shapes, layouts, dtype) declared in {@code other}, a graph with nothing
   * else: sessions over it start fast, and since a variable is found by its shared name, what they
   * fill and save is what the model's graph names.
   */
  public Weights<T> declaredIn(Graph other) {
    Weights<T> copy = new Weights<>(other, dtype, int8, productSplits);
    Ops tf = Ops.create(other);
    for (Variable variable : variables.values()) {
      if (variable.type() == TUint8.class) {
        copy.readInt8(tf, variable.key(), variable.transposed(), variable.shape());
      } else {
        copy.read(tf, variable.key(), variable.transposed(), variable.shape());
      }
    }
    return copy;
  }

  /** The dtype the weights are read in (int8 matrices: multiplied in). */
  public Class<T> dtype() {
    return dtype;
  }

  /** Whether the matrices read through {@link #readInt8} are stored int8. */
  public boolean int8() {
    return int8;
  }

  /**
   * Into how many parts the graph splits its large products, so that inter-op threads run them at
   * once (1: not split).
   */
  public int productSplits() {
    return productSplits;
  }

  /**
   * The value of the weight {@code key}, declaring it on first use; {@code shape} must agree with
   * every earlier use of the same key.
   */
  public Operand<T> read(Ops tf, String key, long... shape) {
    return read(tf, key, false, Shape.of(shape));
  }

  /**
   * The matrix {@code key}, (out, in) in the checkpoint, as its transpose (in, out): what {@code
   * x @ W^T} multiplies without re-laying the weight out.
   */
  public Operand<T> readTransposed(Ops tf, String key, long out, long in) {
    return read(tf, key, true, Shape.of(in, out));
  }

  private Operand<T> read(Ops tf, String key, boolean transposed, Shape expected) {
    return readAs(tf, declare(variables, key, transposed, expected, dtype), dtype);
  }

  /**
   * The matrix {@code key} as int8 values and per-output-channel scales: stored (in, out) when
   * {@code transposed} (an nn.Linear weight, (out, in) in the checkpoint: what {@code x @ W^T}
   * multiplies), else as in the checkpoint, (out, in) (the token embeddings: a row per token, which
   * a tied lm_head multiplies transposed). Only for weights built with {@code int8}.
   */
  public Int8Matrix readInt8(Ops tf, String key, boolean transposed, long rows, long columns) {
    return readInt8(tf, key, transposed, Shape.of(rows, columns));
  }

  private Int8Matrix readInt8(Ops tf, String key, boolean transposed, Shape stored) {
    if (!int8) {
      throw new IllegalStateException(
          "weight " + key + " is read as int8 from weights of " + dtype.getSimpleName());
    }
    long outputs = stored.get(transposed ? 1 : 0);
    Variable values = declare(variables, key, transposed, stored, TUint8.class);
    Variable scale = declare(scales, key, false, Shape.of(outputs), TFloat32.class);
    return new Int8Matrix(
        readAs(tf, values, TUint8.class), readAs(tf, scale, TFloat32.class), transposed);
  }

  /** The variable {@code key} of {@code table}, declared on first use, checked on every other. */
  private Variable declare(
      Map<String, Variable> table,
      String key,
      boolean transposed,
      Shape expected,
      Class<? extends TType> type) {
    Variable variable = table.get(key);
    if (variable == null) {
      String name = table == scales ? key + SCALE_SUFFIX : key;
      Operand<? extends TType> handle =
          root.withName(name).varHandleOp(type, expected, VarHandleOp.sharedName(name)).resource();
      variable = new Variable(name, expected, transposed, handle, type);
      table.put(key, variable);
    } else if (!variable.shape().equals(expected)
        || variable.transposed() != transposed
        || variable.type() != type) {
      throw new IllegalArgumentException(
          "weight "
              + key
              + " is used as "
              + describe(expected, transposed, type)
              + " but was declared "
              + describe(variable.shape(), variable.transposed(), variable.type()));
    }
    return variable;
  }

  private static String describe(Shape shape, boolean transposed, Class<?> type) {
    return type.getSimpleName() + " " + shape + (transposed ? " (transposed)" : "");
  }

  private <U extends TType> Operand<U> readAs(Ops tf, Variable variable, Class<U> type) {
    if (tf.scope().env() == graph) {
      @SuppressWarnings("unchecked")
      Operand<U> read =
          (Operand<U>)
              rootReads.computeIfAbsent(
                  variable.key(), k -> root.readVariableOp(variable.handle(), type));
      return read;
    }
    // A function body: its own handle to the same shared variable.
    Operand<? extends TType> handle =
        tf.varHandleOp(type, variable.shape(), VarHandleOp.sharedName(variable.key())).resource();
    return tf.readVariableOp(handle, type);
  }

  /**
   * Adds, for every declared weight, a placeholder "fill/KEY" and the op assigning it to the
   * variable; done by the first {@link #fill}, once the graph is complete.
   */
  private void addFillOps() {
    fills = new LinkedHashMap<>();
    Ops tf = root.withSubScope("fill");
    for (Variable variable : variables.values()) {
      Placeholder<TFloat32> value =
          tf.withName(variable.key())
              .placeholder(TFloat32.class, Placeholder.shape(variable.checkpointShape()));
      Operand<TFloat32> checkpointLayout = value;
      if (variable.transposed()) {
        checkpointLayout = tf.linalg.transpose(value, tf.constant(new int[] {1, 0}));
      }
      Op assign;
      if (variable.type() == TUint8.class) {
        Int8Matrix.Quantised q =
            Int8Matrix.quantise(tf, checkpointLayout, variable.transposed() ? 0 : 1);
        Op values = tf.assignVariableOp(variable.handle(), q.bits());
        Op scale = tf.assignVariableOp(scales.get(variable.key()).handle(), q.scale());
        assign = tf.withControlDependencies(List.of(values, scale)).noOp();
      } else {
        assign = tf.assignVariableOp(variable.handle(), tf.dtypes.cast(checkpointLayout, dtype));
      }
      fills.put(variable.key(), new Fill(value, assign));
    }
  }

  /**
   * Sets each weight named in {@code values} (in the checkpoint's shape and float32; rounded to the
   * weights' dtype and transposed as declared in the graph), all in one session call: every new set
   * of feeds costs the session a pruned copy of the whole graph, so fill in a few large groups
   * rather than tensor by tensor.
   */
  public void fill(Session session, Map<String, TFloat32> values) {
    if (fills == null) {
      addFillOps();
    }
    Session.Runner runner = session.runner();
    for (Map.Entry<String, TFloat32> entry : values.entrySet()) {
      String key = entry.getKey();
      Fill fill = fills.get(key);
      if (fill == null) {
        throw new IllegalArgumentException("the graph has no weight named " + key);
      }
      Shape expected = variables.get(key).checkpointShape();
      if (!entry.getValue().shape().equals(expected)) {
        throw new IllegalArgumentException(
            "weight "
                + key
                + " has shape "
                + entry.getValue().shape()
                + ", the graph expects "
                + expected);
      }
      runner.feed(fill.value(), entry.getValue()).addTarget(fill.assign());
    }
    runner.run();
  }

  /**
   * Adds the ops that save and restore every variable, under the names the SavedModel exporter and
   * loader look for ("save/filename", "save/control_dependency", "save/restore_all"); each tensor
   * is stored in the checkpoint under its Hugging Face key. TensorFlow Java 1.1.0's exporter only
   * collects reference variables, so without these a resource-variable model exports no weights.
   */
  public void addSaver() {
    if (variables.isEmpty()) {
      throw new IllegalStateException("no weights declared: build the graph first");
    }
    Ops tf = root.withSubScope("save");
    Placeholder<TString> filename = tf.withName("filename").placeholder(TString.class);
    List<Variable> all = stored(variables.keySet());
    List<String> keys = all.stream().map(Variable::key).toList();
    Operand<TString> names = tf.constant(StdArrays.ndCopyOf(keys.toArray(new String[0])));
    Operand<TString> slices = tf.constant(StdArrays.ndCopyOf(emptyStrings(keys.size()))); // whole
    List<Operand<?>> values = new ArrayList<>();
    List<Class<? extends TType>> types = new ArrayList<>();
    for (Variable variable : all) {
      values.add(tf.readVariableOp(variable.handle(), variable.type()));
      types.add(variable.type());
    }
    Save save = tf.train.save(filename, names, slices, values);
    tf.withControlDependencies(List.of(save)).withName("control_dependency").identity(filename);
    Restore restore = tf.train.restore(filename, names, slices, types);
    List<Op> assigns = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      assigns.add(tf.assignVariableOp(all.get(i).handle(), restore.tensors().get(i)));
    }
    tf.withControlDependencies(assigns).withName("restore_all").noOp();
  }

  /**
   * Writes the weights named in {@code keys}, as they are in {@code session}, to a checkpoint of
   * their own at {@code prefix} (the bundle format the saver writes). Converting a checkpoint group
   * by group, each group in a session of its own, holds one group of weights at a time; {@link
   * #mergeSaved} then joins the parts into the package's checkpoint.
   */
  public void save(Session session, Collection<String> keys, String prefix) {
    Ops tf = root.withSubScope("save_part");
    List<Operand<?>> values = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (Variable variable : stored(keys)) {
      values.add(tf.readVariableOp(variable.handle(), variable.type()));
      names.add(variable.key());
    }
    Save save =
        tf.train.save(
            tf.constant(prefix),
            tf.constant(StdArrays.ndCopyOf(names.toArray(new String[0]))),
            tf.constant(StdArrays.ndCopyOf(emptyStrings(names.size()))),
            values);
    session.runner().addTarget(save).run();
  }

  /**
   * Sets every weight in {@code session} to a scalar zero: the SavedModel exporter saves whatever
   * the variables hold, and after a group-by-group conversion the real values are already in the
   * parts {@link #save} wrote (a resource variable may hold a value of another shape; the graph's
   * shape check needs a value of unknown shape to let it through).
   */
  public void clear(Session session) {
    Ops tf = root.withSubScope("clear");
    Map<Class<? extends TType>, Operand<?>> zeros = new LinkedHashMap<>();
    Session.Runner runner = session.runner();
    for (Variable variable : stored(variables.keySet())) {
      Operand<?> zero =
          zeros.computeIfAbsent(
              variable.type(),
              type ->
                  tf.placeholderWithDefault(
                      tf.dtypes.cast(tf.constant(0f), numeric(type)), Shape.unknown()));
      runner.addTarget(
          tf.assignVariableOp(variable.handle(), zero, AssignVariableOp.validateShape(false)));
    }
    runner.run();
  }

  /**
   * Merges the checkpoints {@link #save} wrote into one at {@code destination}: one index naming
   * every weight, the parts' data files renamed after it ({@code destination.data-0000i-of-0000n});
   * the parts' index files are removed.
   */
  public void mergeSaved(Session session, List<String> prefixes, String destination) {
    Ops tf = root.withSubScope("merge_parts");
    session
        .runner()
        .addTarget(
            tf.train.mergeV2Checkpoints(
                tf.constant(StdArrays.ndCopyOf(prefixes.toArray(new String[0]))),
                tf.constant(destination),
                MergeV2Checkpoints.deleteOldDirs(false)))
        .run();
  }

  /** The variables holding the weights {@code keys}: each one's, and an int8 matrix's scales. */
  private List<Variable> stored(Collection<String> keys) {
    List<Variable> out = new ArrayList<>();
    for (String key : keys) {
      Variable variable = variables.get(key);
      if (variable == null) {
        throw new IllegalArgumentException("the graph has no weight named " + key);
      }
      out.add(variable);
      if (scales.containsKey(key)) {
        out.add(scales.get(key));
      }
    }
    return out;
  }

  private static String[] emptyStrings(int n) {
    String[] out = new String[n];
    Arrays.fill(out, "");
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Class<? extends TNumber> numeric(Class<? extends TType> type) {
    return (Class<? extends TNumber>) type;
  }

  /** Whether a weight named {@code key} was declared. */
  public boolean has(String key) {
    return variables.containsKey(key);
  }

  /**
   * Every weight declared so far, in declaration order: the checkpoint's tensors (an int8 matrix's
   * scales, derived from it, are not among them).
   */
  public List<Variable> variables() {
    return new ArrayList<>(variables.values());
  }

  /** The number of scalar parameters declared. */
  public long parameterCount() {
    long count = 0;
    for (Variable variable : variables.values()) {
      count += variable.shape().size();
    }
    return count;
  }
}
