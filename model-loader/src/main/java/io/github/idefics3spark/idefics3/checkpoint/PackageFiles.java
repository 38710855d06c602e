package io.github.idefics3spark.idefics3.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import io.github.idefics3spark.idefics3.graph.Idefics3Graph;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.tensorflow.Signature;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SaverDef;

/**
 * The files of a model package and the checks that make it safe to load: the manifest ({@value
 * #MANIFEST}) convert writes, the verification of the package's files against it, and the graph
 * check, which refuses a {@code saved_model.pb} holding any TensorFlow op that convert does not
 * write before TensorFlow reads it.
 *
 * <p>TensorFlow runs a SavedModel's restore op and init ops while loading it, and an op can read or
 * write any file ({@code ReadFile}, {@code WriteFile}, {@code PyFunc}...): a package is code, not
 * data. So {@link #checkGraph} parses the graph first and allows only the op types in {@link
 * #ALLOWED_OPS}, in the graph and in every function of its library (the generate loop's body is
 * one), the saver convert writes and no init op; {@link Idefics3Package#load} runs it every time.
 */
public final class PackageFiles {
  /** The package layout version this code writes and reads. */
  public static final int FORMAT_VERSION = 1;

  /** The manifest's file name, at the package's top. */
  public static final String MANIFEST = "idefics3-spark.json";

  /** The graph file TensorFlow loads. */
  public static final String GRAPH = "saved_model.pb";

  /** Files a package must hold besides those the manifest lists. */
  static final List<String> REQUIRED =
      List.of(MANIFEST, GRAPH, "variables/variables.index", "assets/config.json");

  /**
   * Every op type convert writes, sorted: the forward pass and generate loop of {@link
   * Idefics3Graph} and {@code Generation}, the variables of {@code Weights} and the save and
   * restore ops of {@code Weights.addSaver}. {@code PackageFilesTest} converts the tiny checkpoints
   * and requires exactly this set, so the list follows the graph builder.
   */
  public static final List<String> ALLOWED_OPS =
      List.of(
          "Add",
          "Any", // attention masks
          "ArgMax", // greedy next token
          "Assert", // image features match the image tokens
          "AssignVariableOp", // the weights' fill and restore ops
          "BatchMatMulV2", // a decode step's attention (oneDNN on CPU)
          "BatchMatMulV3", // attention
          "BiasAdd",
          // int8 packages: the uint8 variables' bits read as int8, no copy (tf.Int8Matrix);
          // TensorFlow Java has no int8 tensor type to store them as
          "Bitcast",
          "Cast",
          "ConcatV2",
          "Const",
          "Conv2D", // patch embedding
          "Cos", // rotary embedding
          "Cumsum", // positions from the attention mask
          "Div",
          "Equal",
          "ExpandDims",
          "Fill",
          "FloorDiv",
          "GatherV2", // token embedding, image feature rows
          "Greater",
          "GreaterEqual",
          // int8 packages: a decode step's products, the project's own kernel (tf.Int8Kernel);
          // it reads its three inputs and writes its output, nothing else
          "Idefics3Int8MatMul",
          "Identity",
          "InplaceUpdate", // KV cache: each row writes its new token at its own slot, in place
          "Less",
          "LessEqual",
          "LogSoftmax", // score_options: each option token's log-probability
          "LogicalAnd",
          "LogicalNot",
          "LogicalOr",
          "MatMul",
          "Maximum",
          "Mean", // norms
          "Minimum",
          "Mul",
          "Neg",
          "NoOp", // save/restore_all
          "OnesLike",
          "Pack",
          "PadV2",
          "Placeholder",
          "PlaceholderWithDefault",
          "Range",
          "ReadVariableOp",
          "Reshape",
          "RestoreV2", // save/Restore: reads variables/ at load
          "Rsqrt",
          "SaveV2", // save/Save: never run at load
          "SelectV2",
          "Shape",
          "Sigmoid", // silu
          "Sin", // rotary embedding
          "Softmax",
          "SplitV", // --split-products: row blocks of a weight, groups of heads
          "Square",
          "StatelessIf", // greedy or sampled next token
          "StatelessMultinomial", // sampling
          "StridedSlice",
          "Sub",
          "Sum",
          "Tanh", // gelu_pytorch_tanh
          "TensorScatterUpdate", // slot mask; continuous batching puts prefilled rows into slots
          "TensorStridedSliceUpdate", // the generated tokens' column of a step
          "TopKV2", // top-k sampling
          "Transpose",
          "VarHandleOp",
          "While", // the generate loop
          "ZerosLike");

  /** The ops that touch files; allowed only as the saver convert writes them. */
  private static final Set<String> FILE_OPS = Set.of("SaveV2", "RestoreV2");

  /**
   * The saver convert writes ({@code Weights.addSaver}): TensorFlow runs its restore op at load.
   */
  private static final String FILENAME_NODE = "save/filename";

  private static final SaverDef SAVER =
      SaverDef.newBuilder()
          .setFilenameTensorName(FILENAME_NODE + ":0")
          .setSaveTensorName("save/control_dependency")
          .setRestoreOpName("save/restore_all")
          .build();

  private static final Set<String> SIGNATURES =
      Set.of(
          Idefics3Graph.ENCODE_IMAGES,
          Idefics3Graph.LOGITS,
          Idefics3Graph.GENERATE,
          Idefics3Graph.SCORE_OPTIONS,
          Idefics3Graph.PREFILL_SLOTS,
          Idefics3Graph.DECODE_SLOTS);

  /** What every refusal of a graph ends with. */
  private static final String CONVERT_AGAIN =
      "; this build loads only what its convert writes: convert the checkpoint again (convert"
          + " CHECKPOINT_DIR PACKAGE_DIR) and set --model to the new package";

  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** How much of a package is checked against its manifest before it is loaded. */
  public enum Verification {
    /**
     * The required files, every file's size, the sha256 of every asset and of the graph, and the
     * graph check: milliseconds, whatever the model's size. Damaged weights of the right size pass.
     */
    QUICK("quick"),
    /** Everything {@link #QUICK} checks, and the sha256 of every file, weights included. */
    FULL("full");

    private final String flag;

    Verification(String flag) {
      this.flag = flag;
    }

    /** The setting's value: {@code quick} or {@code full}. */
    public String flag() {
      return flag;
    }

    /** The values a setting takes, for help and errors: {@code quick|full}. */
    public static String choices() {
      return "quick|full";
    }

    /** The verification named {@code value} (any case, spaces around ignored), or null. */
    public static Verification forValue(String value) {
      String wanted = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
      for (Verification verification : values()) {
        if (verification.flag.equals(wanted)) {
          return verification;
        }
      }
      return null;
    }
  }

  private PackageFiles() {}

  /**
   * Writes the manifest of the package at {@code target}: the format version, dtype and parameter
   * count, the sha256 of the {@code sources} it was converted from, the size and sha256 of every
   * file already in {@code target}, and the signatures.
   */
  static void writeManifest(
      Path target, Path source, List<Path> sources, Idefics3Graph graph, long parameters)
      throws IOException {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("format_version", FORMAT_VERSION);
    root.put("converter", "idefics3-spark model-loader");
    root.put("dtype", graph.dtype().flag());
    root.put("product_splits", graph.weights().productSplits());
    root.put("parameters", parameters);
    ObjectNode hashes = root.putObject("source");
    hashes.put("folder", source.toAbsolutePath().toString());
    ObjectNode files = hashes.putObject("sha256");
    for (Path file : sources) {
      files.put(file.getFileName().toString(), sha256(file));
    }
    // Every file of the package but the manifest, so a copy can be checked whole.
    ObjectNode packageFiles = root.putObject("package").putObject("files");
    List<Path> written;
    try (Stream<Path> walk = Files.walk(target)) {
      written = walk.filter(Files::isRegularFile).sorted().toList();
    }
    for (Path file : written) {
      ObjectNode entry =
          packageFiles.putObject(target.relativize(file).toString().replace('\\', '/'));
      entry.put("bytes", Files.size(file));
      entry.put("sha256", sha256(file));
    }
    ObjectNode signatures = root.putObject("signatures");
    for (Map.Entry<String, Signature> entry : graph.signatures().entrySet()) {
      ObjectNode signature = signatures.putObject(entry.getKey());
      describe(signature.putObject("inputs"), entry.getValue().getInputs());
      describe(signature.putObject("outputs"), entry.getValue().getOutputs());
    }
    MAPPER.writerWithDefaultPrettyPrinter().writeValue(target.resolve(MANIFEST).toFile(), root);
  }

  private static void describe(ObjectNode node, Map<String, Signature.TensorDescription> tensors) {
    for (Map.Entry<String, Signature.TensorDescription> entry : tensors.entrySet()) {
      ObjectNode tensor = node.putObject(entry.getKey());
      tensor.put("dtype", entry.getValue().dataType.name());
      ArrayNode shape = tensor.putArray("shape");
      for (long dim : entry.getValue().shape.asArray()) {
        shape.add(dim);
      }
    }
  }

  /**
   * The manifest of the package in {@code dir}.
   *
   * @throws IOException when it is missing, unreadable, or of another format version
   */
  public static JsonNode readManifest(Path dir) throws IOException {
    Path file = dir.resolve(MANIFEST);
    if (!Files.isRegularFile(file)) {
      throw new IOException(
          dir + " is not an idefics3-spark package: " + MANIFEST + " is missing (run convert)");
    }
    JsonNode manifest;
    try {
      manifest = MAPPER.readTree(file.toFile());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      // the text is never quoted: a damaged or replaced file may hold anything
      throw new IOException(
          file
              + " is not JSON (it fails at line "
              + e.getLocation().getLineNr()
              + ", column "
              + e.getLocation().getColumnNr()
              + "); the package is damaged: convert the checkpoint again or copy the whole folder",
          e);
    }
    if (manifest == null || !manifest.isObject()) {
      throw new IOException(
          file + " is not a JSON object; the package is damaged: convert the checkpoint again");
    }
    int version = manifest.path("format_version").asInt(-1);
    if (version != FORMAT_VERSION) {
      throw new IOException(
          file
              + " has format_version "
              + version
              + ", this build reads "
              + FORMAT_VERSION
              + "; convert the checkpoint again with this build");
    }
    return manifest;
  }

  /**
   * Checks the package in {@code dir} against its manifest before it is loaded: the required files
   * are there, every file the manifest lists has its size, every asset and the graph have their
   * sha256, and the graph passes {@link #checkGraph}; {@link Verification#FULL} also checks the
   * sha256 of every other file (the weights).
   *
   * @return the number of files whose sha256 was checked
   * @throws IOException naming the file, what was found and what the manifest records
   */
  public static int verify(Path dir, Verification verification) throws IOException {
    for (String name : REQUIRED) {
      if (!Files.isRegularFile(dir.resolve(name))) {
        throw new IOException(
            "model package "
                + dir
                + " has no "
                + name
                + ": it is incomplete; convert the checkpoint again or copy the whole folder");
      }
    }
    JsonNode manifest = readManifest(dir);
    int hashed = 0;
    for (Map.Entry<String, JsonNode> entry : manifest.path("package").path("files").properties()) {
      Path file = inside(dir, entry.getKey());
      long expectedBytes = entry.getValue().path("bytes").asLong(-1);
      if (!Files.isRegularFile(file) || Files.size(file) != expectedBytes) {
        throw new IOException(
            file
                + (Files.isRegularFile(file)
                    ? " has " + Files.size(file) + " bytes"
                    : " is missing")
                + " but "
                + MANIFEST
                + " records "
                + expectedBytes
                + " bytes: the package is incomplete or was changed after conversion; copy the"
                + " package again or convert the checkpoint again");
      }
      if (verification == Verification.FULL && !entry.getKey().equals(GRAPH)) {
        checkSha256(file, sha256(file), entry.getValue().path("sha256").asText());
        hashed++;
      }
    }
    JsonNode sources = manifest.path("source").path("sha256");
    int assets = 0;
    for (Map.Entry<String, JsonNode> entry : sources.properties()) {
      Path asset = inside(dir.resolve("assets"), entry.getKey());
      if (!Files.isRegularFile(asset)) {
        continue; // the weights files: hashed at conversion, not part of the package
      }
      if (verification == Verification.QUICK) { // FULL hashed it with the package's files
        checkSha256(asset, sha256(asset), entry.getValue().asText());
        hashed++;
      }
      assets++;
    }
    if (assets == 0) {
      throw new IOException(
          dir.resolve(MANIFEST)
              + " hashes none of the files in assets/ (source.sha256): it was not written by"
              + " convert; convert the checkpoint again");
    }
    checkGraph(dir, manifest);
    return hashed + 1;
  }

  /**
   * The graph check, which {@link Idefics3Package#load} runs before TensorFlow reads the package:
   * {@code saved_model.pb} has the sha256 the manifest records and passes {@link #checkGraph(Path,
   * SavedModel)}.
   *
   * @throws IOException naming what was found, what convert writes, and what to do
   */
  public static void checkGraph(Path dir) throws IOException {
    checkGraph(dir, readManifest(dir));
  }

  /** {@link #checkGraph(Path)} with the manifest already read. */
  static void checkGraph(Path dir, JsonNode manifest) throws IOException {
    Path file = dir.resolve(GRAPH);
    if (!Files.isRegularFile(file)) {
      throw new IOException(
          "model package "
              + dir
              + " has no "
              + GRAPH
              + ": it is incomplete; convert the checkpoint again or copy the whole folder");
    }
    byte[] bytes = Files.readAllBytes(file);
    JsonNode expected = manifest.path("package").path("files").path(GRAPH).path("sha256");
    if (!expected.isTextual()) {
      throw new IOException(
          dir.resolve(MANIFEST)
              + " records no sha256 for "
              + GRAPH
              + " (package.files): it was not written by convert"
              + CONVERT_AGAIN);
    }
    checkSha256(file, sha256(bytes), expected.asText());
    SavedModel model;
    try {
      model = SavedModel.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IOException(
          file + " is not a SavedModel protocol buffer (" + e.getMessage() + ")" + CONVERT_AGAIN,
          e);
    }
    checkGraph(file, model);
  }

  /**
   * Refuses a SavedModel that could run anything convert does not write: one meta graph tagged
   * {@code serve}; only {@link #ALLOWED_OPS} in its graph and in every function of its library;
   * file ops only as the saver's, reading and writing where the loader points {@code
   * save/filename}; convert's saver, whose restore op only assigns restored values to variables; no
   * init op, collection or asset; convert's four signatures.
   *
   * @param file the graph file, for messages
   * @throws IOException naming the node or entry found, what convert writes, and what to do
   */
  static void checkGraph(Path file, SavedModel model) throws IOException {
    if (model.getMetaGraphsCount() != 1
        || !model.getMetaGraphs(0).getMetaInfoDef().getTagsList().equals(List.of("serve"))) {
      throw refused(
          file,
          "holds "
              + model.getMetaGraphsCount()
              + " meta graphs"
              + (model.getMetaGraphsCount() == 0
                  ? ""
                  : ", the first tagged " + model.getMetaGraphs(0).getMetaInfoDef().getTagsList())
              + "; convert writes one, tagged [serve]");
    }
    MetaGraphDef meta = model.getMetaGraphs(0);
    Map<String, NodeDef> nodes = new HashMap<>();
    for (NodeDef node : meta.getGraphDef().getNodeList()) {
      checkOp(file, node, "the graph");
      nodes.put(node.getName(), node);
    }
    for (FunctionDef function : meta.getGraphDef().getLibrary().getFunctionList()) {
      String where = "function " + function.getSignature().getName();
      for (NodeDef node : function.getNodeDefList()) {
        checkOp(file, node, where);
        if (FILE_OPS.contains(node.getOp())) {
          throw refused(
              file,
              "node '"
                  + node.getName()
                  + "' in "
                  + where
                  + " runs op type "
                  + node.getOp()
                  + ", which convert writes only as the saver's, in the graph");
        }
      }
    }
    for (NodeDef node : nodes.values()) {
      if (FILE_OPS.contains(node.getOp())
          && (node.getInputCount() == 0 || !node.getInput(0).equals(FILENAME_NODE))) {
        throw refused(
            file,
            "node '"
                + node.getName()
                + "' in the graph runs op type "
                + node.getOp()
                + " on "
                + (node.getInputCount() == 0 ? "no path" : "'" + node.getInput(0) + "'")
                + "; convert's saver reads and writes only at "
                + FILENAME_NODE
                + ", the path the loader feeds");
      }
    }
    NodeDef filename = nodes.get(FILENAME_NODE);
    if (filename == null
        || !filename.getOp().equals("Placeholder")
        || filename.getInputCount() != 0
        || !filename.containsAttr("dtype")
        || filename.getAttrOrThrow("dtype").getType() != DataType.DT_STRING) {
      throw refused(
          file,
          "node '"
              + FILENAME_NODE
              + "' is "
              + (filename == null ? "missing" : "a " + filename.getOp())
              + "; convert writes a string Placeholder there, which only the loader feeds");
    }
    if (!meta.getSaverDef().equals(SAVER)) {
      throw refused(
          file,
          "has the saver {"
              + meta.getSaverDef().toString().strip().replace('\n', ' ')
              + "}; convert writes {"
              + SAVER.toString().strip().replace('\n', ' ')
              + "}, whose restore op TensorFlow runs at load");
    }
    checkRestore(file, nodes);
    if (meta.getCollectionDefCount() > 0) {
      throw refused(
          file,
          "holds the collection '"
              + meta.getCollectionDefMap().keySet().stream().sorted().toList().get(0)
              + "' (TensorFlow runs saved_model_main_op, legacy_init_op and table_initializer"
              + " ops at load); convert writes no collection");
    }
    if (meta.getAssetFileDefCount() > 0) {
      throw refused(
          file,
          "holds "
              + meta.getAssetFileDefCount()
              + " asset file definitions ("
              + meta.getAssetFileDef(0).getFilename()
              + "...); convert writes none");
    }
    for (String key : meta.getSignatureDefMap().keySet()) {
      if (!SIGNATURES.contains(key)) {
        throw refused(
            file,
            "holds the signature '"
                + key
                + "'"
                + (key.equals("__saved_model_init_op")
                    ? " (an init op, which TensorFlow runs at load)"
                    : "")
                + "; convert writes only "
                + String.join(", ", SIGNATURES.stream().sorted().toList()));
      }
    }
  }

  private static void checkOp(Path file, NodeDef node, String where) throws IOException {
    if (!ALLOWED_OPS.contains(node.getOp())) {
      throw refused(
          file,
          "node '"
              + node.getName()
              + "' in "
              + where
              + " runs op type "
              + node.getOp()
              + ", which convert never writes (the "
              + ALLOWED_OPS.size()
              + " op types it writes are PackageFiles.ALLOWED_OPS)");
    }
  }

  /**
   * The restore op runs at load: it must be a NoOp waiting only on AssignVariableOps, each putting
   * one output of a RestoreV2 (reading {@value #FILENAME_NODE}) into a variable handle.
   */
  private static void checkRestore(Path file, Map<String, NodeDef> nodes) throws IOException {
    String name = SAVER.getRestoreOpName();
    NodeDef restore = nodes.get(name);
    if (restore == null || !restore.getOp().equals("NoOp")) {
      throw refused(
          file,
          "restore op '"
              + name
              + "' is "
              + (restore == null ? "missing" : "a " + restore.getOp())
              + "; convert writes a NoOp there");
    }
    for (String input : restore.getInputList()) {
      NodeDef assign = input.startsWith("^") ? nodes.get(nodeName(input)) : null;
      boolean convertWrote =
          assign != null
              && assign.getOp().equals("AssignVariableOp")
              && assign.getInputCount() == 2
              && isLeaf(nodes, assign.getInput(0), "VarHandleOp")
              && isSaverRestore(nodes, assign.getInput(1));
      if (!convertWrote) {
        throw refused(
            file,
            "restore op '"
                + name
                + "' runs '"
                + input
                + "' at load"
                + (assign == null
                    ? ""
                    : " (a "
                        + assign.getOp()
                        + " of "
                        + String.join(", ", assign.getInputList())
                        + ")")
                + "; convert's restore op only assigns RestoreV2 outputs to variable handles");
      }
    }
  }

  /** Whether {@code input} names a node of type {@code op} without inputs. */
  private static boolean isLeaf(Map<String, NodeDef> nodes, String input, String op) {
    NodeDef node = nodes.get(nodeName(input));
    return node != null && node.getOp().equals(op) && node.getInputCount() == 0;
  }

  /** Whether {@code input} is an output of a RestoreV2 reading what the saver's Consts name. */
  private static boolean isSaverRestore(Map<String, NodeDef> nodes, String input) {
    NodeDef node = nodes.get(nodeName(input));
    return node != null
        && node.getOp().equals("RestoreV2")
        && node.getInputCount() == 3
        && node.getInput(0).equals(FILENAME_NODE)
        && isLeaf(nodes, node.getInput(1), "Const")
        && isLeaf(nodes, node.getInput(2), "Const");
  }

  /** The node of an input: {@code name}, {@code name:1} or {@code ^name}. */
  private static String nodeName(String input) {
    String name = input.startsWith("^") ? input.substring(1) : input;
    int colon = name.indexOf(':');
    return colon < 0 ? name : name.substring(0, colon);
  }

  private static IOException refused(Path file, String what) {
    return new IOException(file + " " + what + CONVERT_AGAIN);
  }

  /** {@code name} below {@code dir}, refusing a name that leaves it. */
  private static Path inside(Path dir, String name) throws IOException {
    Path file = dir.resolve(name).normalize();
    if (!file.startsWith(dir.normalize()) || file.equals(dir.normalize())) {
      throw new IOException(
          dir.resolve(MANIFEST)
              + " lists '"
              + name
              + "', which is not a file inside the package; it was not written by convert"
              + CONVERT_AGAIN);
    }
    return file;
  }

  private static void checkSha256(Path file, String found, String expected) throws IOException {
    if (!found.equalsIgnoreCase(expected)) {
      throw new IOException(
          file
              + " has sha256 "
              + found
              + " but "
              + MANIFEST
              + " records "
              + (expected.isEmpty() ? "none" : expected)
              + ": the copy is damaged or the package was changed after conversion; copy the"
              + " package again or convert the checkpoint again");
    }
  }

  /** The sha256 of a file's bytes, in lower-case hex. */
  public static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return sha256(in);
    }
  }

  /** The sha256 of {@code bytes}, in lower-case hex. */
  public static String sha256(byte[] bytes) {
    try {
      return sha256(new ByteArrayInputStream(bytes));
    } catch (IOException e) {
      throw new IllegalStateException("reading a byte array failed: " + e.getMessage(), e);
    }
  }

  private static String sha256(InputStream in) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
    try (InputStream digesting = new DigestInputStream(in, digest)) {
      digesting.transferTo(OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(digest.digest());
  }
}
