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
 * <p>A matrix multiplied from the right ({@code x @ W^T}, every nn.Linear) is stored transposed,
 * (in, out), through {@link #readTransposed}: TensorFlow's CPU matmul re-lays a transposed operand
 * out on every call, which doubled the cost of a decode step. The checkpoint keeps its (out, in)
 * layout; the fill ops transpose on the way in.
 */
public final class Weights<T extends TNumber> {

  /**
   * One declared weight: its Hugging Face key, its shape as stored, whether it is stored as the
   * transpose of the checkpoint's matrix, and its handle in the model's graph.
   */
  public record Variable(
      String key, Shape shape, boolean transposed, Operand<? extends TType> handle) {

    /** The shape of the tensor in the Hugging Face checkpoint. */
    public Shape checkpointShape() {
      return transposed ? Shape.of(shape.size(1), shape.size(0)) : shape;
    }
  }

  private final Graph graph;
  private final Ops root;
  private final Map<String, Variable> variables = new LinkedHashMap<>();
  private final Map<String, Operand<T>> rootReads = new LinkedHashMap<>();
  private Map<String, Fill> fills;

  private record Fill(Placeholder<TFloat32> value, Op assign) {}

  private final Class<T> dtype;

  /** Weights of {@code dtype} declared in {@code graph}, the graph that owns the variables. */
  public Weights(Graph graph, Class<T> dtype) {
    this.graph = graph;
    this.root = Ops.create(graph);
    this.dtype = dtype;
  }

  /**
   * The same weights (keys, shapes, layouts, dtype) declared in {@code other}, a graph with nothing
   * else: sessions over it start fast, and since a variable is found by its shared name, what they
   * fill and save is what the model's graph names.
   */
  public Weights<T> declaredIn(Graph other) {
    Weights<T> copy = new Weights<>(other, dtype);
    Ops tf = Ops.create(other);
    for (Variable variable : variables.values()) {
      copy.read(tf, variable.key(), variable.transposed(), variable.shape());
    }
    return copy;
  }

  /** The dtype the weights are stored and read in. */
  public Class<T> dtype() {
    return dtype;
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
    Variable variable = variables.get(key);
    if (variable == null) {
      Operand<? extends TType> handle =
          root.withName(key).varHandleOp(dtype, expected, VarHandleOp.sharedName(key)).resource();
      variable = new Variable(key, expected, transposed, handle);
      variables.put(key, variable);
    } else if (!variable.shape().equals(expected) || variable.transposed() != transposed) {
      throw new IllegalArgumentException(
          "weight "
              + key
              + " is used with shape "
              + expected
              + (transposed ? " (transposed)" : "")
              + " but was declared "
              + variable.shape()
              + (variable.transposed() ? " (transposed)" : ""));
    }
    if (tf.scope().env() == graph) {
      Variable declared = variable;
      return rootReads.computeIfAbsent(key, k -> root.readVariableOp(declared.handle(), dtype));
    }
    // A function body: its own handle to the same shared variable.
    Operand<? extends TType> handle =
        tf.varHandleOp(dtype, expected, VarHandleOp.sharedName(key)).resource();
    return tf.readVariableOp(handle, dtype);
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
      Operand<T> stored = tf.dtypes.cast(value, dtype);
      if (variable.transposed()) {
        stored = tf.linalg.transpose(stored, tf.constant(new int[] {1, 0}));
      }
      fills.put(variable.key(), new Fill(value, tf.assignVariableOp(variable.handle(), stored)));
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
    List<String> keys = new ArrayList<>(variables.keySet());
    Operand<TString> names = tf.constant(StdArrays.ndCopyOf(keys.toArray(new String[0])));
    Operand<TString> slices = tf.constant(StdArrays.ndCopyOf(emptyStrings(keys.size()))); // whole
    List<Operand<?>> values = new ArrayList<>();
    List<Class<? extends TType>> types = new ArrayList<>();
    for (Variable variable : variables.values()) {
      values.add(tf.readVariableOp(variable.handle(), dtype));
      types.add(dtype);
    }
    Save save = tf.train.save(filename, names, slices, values);
    tf.withControlDependencies(List.of(save)).withName("control_dependency").identity(filename);
    Restore restore = tf.train.restore(filename, names, slices, types);
    List<Op> assigns = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      assigns.add(
          tf.assignVariableOp(variables.get(keys.get(i)).handle(), restore.tensors().get(i)));
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
    for (String key : keys) {
      Variable variable = variables.get(key);
      if (variable == null) {
        throw new IllegalArgumentException("the graph has no weight named " + key);
      }
      values.add(tf.readVariableOp(variable.handle(), dtype));
    }
    Save save =
        tf.train.save(
            tf.constant(prefix),
            tf.constant(StdArrays.ndCopyOf(keys.toArray(new String[0]))),
            tf.constant(StdArrays.ndCopyOf(emptyStrings(keys.size()))),
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
    Operand<T> zero =
        tf.placeholderWithDefault(tf.dtypes.cast(tf.constant(0f), dtype), Shape.unknown());
    Session.Runner runner = session.runner();
    for (Variable variable : variables.values()) {
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

  private static String[] emptyStrings(int n) {
    String[] out = new String[n];
    Arrays.fill(out, "");
    return out;
  }

  /** Whether a weight named {@code key} was declared. */
  public boolean has(String key) {
    return variables.containsKey(key);
  }

  /** Every weight declared so far, in declaration order. */
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
