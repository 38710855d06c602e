package io.github.idefics3spark.idefics3.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.graph.Idefics3Graph;
import io.github.idefics3spark.idefics3.runtime.GenerationSettings;
import io.github.idefics3spark.safetensors.CheckpointTensors;
import io.github.idefics3spark.safetensors.SafeTensorsFiles;
import io.github.idefics3spark.tf.ComputeDtype;
import io.github.idefics3spark.tf.Weights;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.types.TFloat32;

/** The package format: weights round-trip bit-exact, assets and manifest, refusals of bad input. */
class Idefics3PackageTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @TempDir Path temp;

  /**
   * Convert writes each group of weights to a checkpoint part and merges the parts after export:
   * one group (the tiny checkpoint is under the default 64 MB) and many (groups of 16 KB: a part
   * for nearly every tensor) must both give every weight back bit for bit.
   */
  @ParameterizedTest
  @ValueSource(longs = {Idefics3Package.LOAD_GROUP_BYTES, 16 << 10})
  void weightsRoundTripBitExactThroughTheSavedModel(long groupBytes) throws IOException {
    Path source = ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM);
    Path dir = temp.resolve("package");
    long parameters =
        Idefics3Package.write(
            source, dir, ComputeDtype.FP32, Idefics3Package.convertSession(0), groupBytes);

    assertTrue(Files.size(dir.resolve("variables/variables.index")) > 0, "variables/ written");
    List<String> files;
    try (Stream<Path> list = Files.list(dir.resolve("variables"))) {
      files = list.map(f -> f.getFileName().toString()).sorted().toList();
    }
    assertFalse(Files.exists(dir.resolve("variables-parts")), "the parts folder is removed");
    long dataFiles = files.stream().filter(f -> f.startsWith("variables.data-")).count();
    assertEquals(files.size() - 1, dataFiles, files.toString()); // the index and data files only
    if (groupBytes < Idefics3Package.LOAD_GROUP_BYTES) {
      assertTrue(dataFiles > 10, files.toString());
    }
    try (Idefics3Package pkg = Idefics3Package.load(dir, 1);
        CheckpointTensors tensors = CheckpointTensors.open(source);
        Idefics3Graph layout = Idefics3Graph.build(pkg.checkpoint().config())) {
      Ops tf = Ops.create(pkg.bundle().graph());
      long seen = 0;
      for (Weights.Variable variable : layout.weights().variables()) {
        String key = variable.key();
        // Each variable's handle op is named by its Hugging Face key.
        Operand<TFloat32> value =
            tf.readVariableOp(pkg.bundle().graph().operation(key).output(0), TFloat32.class);
        try (Result result = pkg.bundle().session().runner().fetch(value).run()) {
          TFloat32 tensor = (TFloat32) result.get(0);
          float[] actual = new float[Math.toIntExact(tensor.shape().size())];
          tensor.asRawTensor().data().asFloats().read(actual);
          float[] expected = tensors.floats(key);
          if (variable.transposed()) { // nn.Linear weights are stored (in, out)
            expected = transpose(expected, variable.checkpointShape());
          }
          assertArrayEquals(expected, actual, key);
          seen += actual.length;
        }
      }
      assertEquals(parameters, seen);
      assertEquals(tensors.keys().size(), layout.weights().variables().size());
    }
  }

  private static float[] transpose(float[] matrix, Shape shape) {
    int rows = (int) shape.size(0);
    int cols = (int) shape.size(1);
    float[] out = new float[matrix.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        out[c * rows + r] = matrix[r * cols + c];
      }
    }
    return out;
  }

  @Test
  void packageHoldsTheJsonAssetsUnchangedAndAManifest() throws IOException {
    Path source = ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_IDEFICS3);
    Path dir = temp.resolve("package");
    Idefics3Package.write(source, dir);
    for (String name : Idefics3Package.ASSET_FILES) {
      if (Files.exists(source.resolve(name))) {
        assertArrayEquals(
            Files.readAllBytes(source.resolve(name)),
            Files.readAllBytes(dir.resolve("assets").resolve(name)),
            name);
      }
    }
    JsonNode manifest = MAPPER.readTree(dir.resolve(Idefics3Package.MANIFEST).toFile());
    assertEquals(Idefics3Package.FORMAT_VERSION, manifest.get("format_version").asInt());
    assertEquals("fp32", manifest.get("dtype").asText());
    assertEquals(
        PackageFiles.sha256(source.resolve("model.safetensors")),
        manifest.get("source").get("sha256").get("model.safetensors").asText());
    for (String signature :
        new String[] {
          Idefics3Graph.ENCODE_IMAGES,
          Idefics3Graph.LOGITS,
          Idefics3Graph.GENERATE,
          Idefics3Graph.SCORE_OPTIONS
        }) {
      assertTrue(manifest.get("signatures").has(signature), signature);
    }
    assertEquals(
        "DT_INT32",
        manifest.at("/signatures/generate/outputs/tokens/dtype").asText(),
        manifest.toString());
  }

  @Test
  void aMissingTensorIsNamed() throws IOException {
    int layers = layers();
    Path source = copyWithTextConfig(c -> c.put("num_hidden_layers", layers + 1));
    CheckpointException e =
        assertThrows(
            CheckpointException.class,
            () -> Idefics3Package.write(source, temp.resolve("package")));
    String layer = "model.text_model.layers." + layers + ".";
    assertTrue(e.getMessage().contains("has no tensor " + layer), e.getMessage());
    assertFalse(Files.exists(temp.resolve("package")), "no half-written package is left");
  }

  @Test
  void anUnexpectedTensorIsNamed() throws IOException {
    int layers = layers();
    Path source = copyWithTextConfig(c -> c.put("num_hidden_layers", layers - 1));
    CheckpointException e =
        assertThrows(
            CheckpointException.class,
            () -> Idefics3Package.write(source, temp.resolve("package")));
    String layer = "model.text_model.layers." + (layers - 1) + ".";
    assertTrue(e.getMessage().contains(layer), e.getMessage());
  }

  @Test
  void aShapeThatDisagreesWithTheConfigGivesExpectedAndFound() throws IOException {
    Path source = copyWithTextConfig(c -> c.put("intermediate_size", 7));
    CheckpointException e =
        assertThrows(
            CheckpointException.class,
            () -> Idefics3Package.write(source, temp.resolve("package")));
    assertTrue(e.getMessage().contains("config.json gives [7, "), e.getMessage());
  }

  @Test
  void aNonEmptyTargetFolderIsRefused() throws IOException {
    Path target = Files.createDirectories(temp.resolve("package"));
    Files.writeString(target.resolve("keep.txt"), "mine");
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                Idefics3Package.write(
                    ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM), target));
    assertTrue(e.getMessage().contains("not empty"), e.getMessage());
  }

  @Test
  void theTasksSharingAModelGetAnInterOpThreadPerProcessor() {
    // TensorFlow runs every call's ops on one inter-op pool per process; the tasks of an executor
    // share the model and call it at once, so one thread made their calls take turns.
    ConfigProto oneThreadEach = Idefics3Package.sessionConfig(1, "");
    assertEquals(1, oneThreadEach.getIntraOpParallelismThreads());
    assertEquals(
        Runtime.getRuntime().availableProcessors(), oneThreadEach.getInterOpParallelismThreads());
    assertEquals(
        Runtime.getRuntime().availableProcessors(),
        Idefics3Package.sessionConfig(4, "").getInterOpParallelismThreads());
    ConfigProto tensorFlowChooses = Idefics3Package.sessionConfig(0, "1");
    assertEquals(0, tensorFlowChooses.getIntraOpParallelismThreads());
    assertEquals(0, tensorFlowChooses.getInterOpParallelismThreads());
    assertEquals("1", tensorFlowChooses.getGpuOptions().getVisibleDeviceList());
    assertTrue(tensorFlowChooses.getGpuOptions().getAllowGrowth());
  }

  @Test
  void convertingUsesTheLoadsThreadsAndNoGpu() {
    for (int intraOpThreads : new int[] {0, 1, 4}) {
      ConfigProto convert = Idefics3Package.convertSession(intraOpThreads);
      ConfigProto load = Idefics3Package.sessionConfig(intraOpThreads, "");
      assertEquals(load.getIntraOpParallelismThreads(), convert.getIntraOpParallelismThreads());
      assertEquals(load.getInterOpParallelismThreads(), convert.getInterOpParallelismThreads());
      assertEquals(0, convert.getDeviceCountOrDefault("GPU", -1), "converting makes no GPU device");
      assertTrue(convert.getGraphOptions().getRewriteOptions().getDisableMetaOptimizer());
    }
  }

  /**
   * TensorFlow makes its intra-op and inter-op pools once a process, with the first session's
   * options: a JVM that converts a checkpoint and then loads its package (an executor given a
   * checkpoint as its model) must end with the threads a JVM that only loads has. Converting with
   * TensorFlow's defaults, as before, left an intra-op pool of every CPU the process may run on.
   */
  @Test
  void aJvmThatConvertsBeforeLoadingHasTheThreadsOfOneThatOnlyLoads()
      throws IOException, InterruptedException {
    assumeTrue(
        Files.isDirectory(Path.of("/proc/self/task")), "threads are counted in Linux's /proc");
    Path checkpoint = ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM);
    Path dir = temp.resolve("package");
    Idefics3Package.write(checkpoint, dir);

    long loading = FreshJvmThreads.run(FreshJvmThreads.LOAD, dir, temp);
    long convertingFirst = FreshJvmThreads.run(FreshJvmThreads.CONVERT_THEN_LOAD, checkpoint, temp);

    assertTrue(loading > 1, "TensorFlow's pools are counted: " + loading);
    assertEquals(
        loading,
        convertingFirst,
        "TensorFlow threads after loading, without and with converting first");
  }

  @Test
  void loadingAFolderThatIsNotAPackageSaysSo() {
    IOException e = assertThrows(IOException.class, () -> Idefics3Package.load(temp, 1));
    assertTrue(e.getMessage().contains(Idefics3Package.MANIFEST), e.getMessage());
  }

  @Test
  void dryRunReportsTheParameterCountWithoutWeights() throws IOException {
    Path source = ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int status =
        Convert.run(
            new String[] {source.toString(), "--dry-run"}, new PrintStream(out, true), System.err);
    assertEquals(0, status);
    long parameters;
    try (CheckpointTensors tensors = CheckpointTensors.open(source)) {
      parameters = 0;
      for (String key : tensors.keys()) {
        parameters += tensors.info(key).elements();
      }
    }
    assertTrue(
        out.toString().contains(String.format("%,d parameters", parameters)), out.toString());
  }

  @Test
  void unsupportedDtypeIsRefusedWithTheAlternative() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        Convert.run(
            new String[] {"in", "out", "--dtype", "int4"}, System.out, new PrintStream(err, true));
    assertEquals(2, status);
    assertTrue(
        err.toString()
            .startsWith(
                "--dtype int4: choose fp32 (CPU), bf16 or fp16 (GPU), or int8 (CPU, a quarter of"
                    + " the size)"),
        err.toString());
  }

  @Test
  void splitProductsOutsideOneToSixtyFourAreRefused() {
    for (String[] args :
        List.of(
            new String[] {"in", "out", "--split-products", "0"},
            new String[] {"in", "out", "--split-products", "two"},
            new String[] {"in", "out", "--split-products", "65"})) {
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      assertEquals(
          2, Convert.run(args, System.out, new PrintStream(err, true)), List.of(args) + "");
      assertTrue(
          err.toString().startsWith("--split-products " + args[args.length - 1] + ": give a whole"),
          err.toString());
    }
  }

  @Test
  void aSplitDryRunBuildsTheSplitGraph() {
    Path source = ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int status =
        Convert.run(
            new String[] {source.toString(), "--dry-run", "--split-products", "3"},
            new PrintStream(out, true),
            System.err);
    assertEquals(0, status);
    assertTrue(out.toString().contains("graph built"), out.toString());
  }

  @Test
  void aTiedCheckpointAnswersAsItsWeightsUntiedWithTheEmbeddingsAsLmHead() throws IOException {
    // tied, the lm_head is the embeddings (the fixture's own lm_head.weight is then ignored) ...
    Path tied = copyWithTextConfig("tied", c -> c.put("tie_word_embeddings", true));
    // ... which is what an untied checkpoint whose lm_head.weight is the embeddings computes
    Path untied = copyWithTextConfig("untied", c -> {});
    Path weights = untied.resolve("model.safetensors");
    Map<String, Object[]> tensors = SafeTensorsFiles.read(weights);
    tensors.put("lm_head.weight", tensors.get("model.text_model.embed_tokens.weight"));
    SafeTensorsFiles.write(weights, tensors);
    Path tiedPackage = temp.resolve("tied-package");
    Path untiedPackage = temp.resolve("untied-package");
    Idefics3Package.write(tied, tiedPackage);
    Idefics3Package.write(untied, untiedPackage);

    // the lm_head multiplies the tied embeddings as stored, (hidden, vocab): no MatMul of the
    // graph re-lays a transposed operand out at every call
    List<String> transposing =
        PackageFilesTest.nodes(tiedPackage).stream()
            .filter(n -> n.getOp().equals("MatMul"))
            .filter(n -> n.getAttrOrThrow("transpose_b").getB())
            .map(NodeDef::getName)
            .toList();
    assertEquals(List.of(), transposing);

    int[][] ids = {{1, 17, 42, 99, 250, 7}, {3, 3, 511, 64, 8, 300}}; // no image token (518)
    int[][] mask = {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}};
    int[][] positions = {{0, 1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5}};
    try (Idefics3Package a = Idefics3Package.load(tiedPackage, 1);
        Idefics3Package b = Idefics3Package.load(untiedPackage, 1)) {
      float[] expected = b.logits(ids, mask, positions, new float[0]);
      float[] actual = a.logits(ids, mask, positions, new float[0]);
      assertArrayEquals(expected, actual, 1e-5f);
      GenerationSettings greedy =
          GenerationSettings.greedy(a.checkpoint().generation(), 12).withoutStop();
      assertArrayEquals(
          b.generate(ids, mask, new float[0], greedy).tokens(),
          a.generate(ids, mask, new float[0], greedy).tokens());
    }
  }

  private static int layers() throws IOException {
    return MAPPER
        .readTree(
            ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM)
                .resolve("config.json")
                .toFile())
        .at("/text_config/num_hidden_layers")
        .asInt();
  }

  /** A copy of tiny-smolvlm whose config.json text_config is edited by {@code edit}. */
  private Path copyWithTextConfig(java.util.function.Consumer<ObjectNode> edit) throws IOException {
    return copyWithTextConfig("checkpoint", edit);
  }

  /** As {@link #copyWithTextConfig(java.util.function.Consumer)}, into the folder {@code name}. */
  private Path copyWithTextConfig(String name, java.util.function.Consumer<ObjectNode> edit)
      throws IOException {
    Path source = ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM);
    Path copy = Files.createDirectories(temp.resolve(name));
    try (Stream<Path> files = Files.list(source)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Files.copy(file, copy.resolve(file.getFileName()));
      }
    }
    ObjectNode config = (ObjectNode) MAPPER.readTree(copy.resolve("config.json").toFile());
    edit.accept((ObjectNode) config.get("text_config"));
    MAPPER.writeValue(copy.resolve("config.json").toFile(), config);
    return copy;
  }
}
