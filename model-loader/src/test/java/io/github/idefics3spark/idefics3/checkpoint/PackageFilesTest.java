package io.github.idefics3spark.idefics3.checkpoint;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.PackageFiles.Verification;
import io.github.idefics3spark.tf.ComputeDtype;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.CollectionDef;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorProto;

/**
 * A package is checked before TensorFlow runs any of it: the graph holds only the op types convert
 * writes, its saver is convert's and nothing runs at load but the restore; every file matches the
 * manifest. Each refusal is made by editing a freshly converted tiny package the way an attacker
 * would, with the manifest updated to match, so only the check under test can catch it.
 */
class PackageFilesTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @TempDir static Path shared;
  private static Path converted;
  private static Path convertedInt8;
  private static Path convertedSplit;

  @TempDir Path temp;

  @BeforeAll
  static void convertOnce() throws IOException {
    converted = shared.resolve("tiny");
    Idefics3Package.write(ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM), converted);
    convertedInt8 = shared.resolve("tiny-int8");
    Idefics3Package.write(
        ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM),
        convertedInt8,
        ComputeDtype.INT8);
    convertedSplit = shared.resolve("tiny-split");
    Idefics3Package.write(
        ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM),
        convertedSplit,
        ComputeDtype.FP32,
        0,
        2);
  }

  /** A copy of the converted package to edit. */
  private Path copy() throws IOException {
    Path dir = temp.resolve("package");
    try (Stream<Path> walk = Files.walk(converted)) {
      for (Path path : walk.toList()) {
        Path target = dir.resolve(converted.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(target);
        } else {
          Files.copy(path, target);
        }
      }
    }
    return dir;
  }

  private static SavedModel readGraph(Path dir) throws IOException {
    return SavedModel.parseFrom(Files.readAllBytes(dir.resolve(PackageFiles.GRAPH)));
  }

  /** Rewrites the package's graph through {@code edit} and records its new size and sha256. */
  private static void editGraph(Path dir, UnaryOperator<MetaGraphDef.Builder> edit)
      throws IOException {
    SavedModel model = readGraph(dir);
    MetaGraphDef.Builder meta = edit.apply(model.getMetaGraphs(0).toBuilder());
    Files.write(
        dir.resolve(PackageFiles.GRAPH),
        model.toBuilder().setMetaGraphs(0, meta).build().toByteArray());
    recordInManifest(dir, PackageFiles.GRAPH);
  }

  private static void recordInManifest(Path dir, String name) throws IOException {
    Path file = dir.resolve(PackageFiles.MANIFEST);
    JsonNode manifest = MAPPER.readTree(file.toFile());
    ObjectNode entry = (ObjectNode) manifest.path("package").path("files").path(name);
    entry.put("bytes", Files.size(dir.resolve(name)));
    entry.put("sha256", PackageFiles.sha256(dir.resolve(name)));
    MAPPER.writeValue(file.toFile(), manifest);
  }

  private static NodeDef stringConst(String name, String value) {
    return NodeDef.newBuilder()
        .setName(name)
        .setOp("Const")
        .putAttr("dtype", AttrValue.newBuilder().setType(DataType.DT_STRING).build())
        .putAttr(
            "value",
            AttrValue.newBuilder()
                .setTensor(
                    TensorProto.newBuilder()
                        .setDtype(DataType.DT_STRING)
                        .addStringVal(ByteString.copyFromUtf8(value)))
                .build())
        .build();
  }

  private static NodeDef node(String name, String op, String... inputs) {
    return NodeDef.newBuilder().setName(name).setOp(op).addAllInput(List.of(inputs)).build();
  }

  /** Refused by load, quick and full verification alike, with every part of the message. */
  private static String refusedEverywhere(Path dir, String... parts) {
    IOException load = assertThrows(IOException.class, () -> Idefics3Package.load(dir, 1));
    for (String part : parts) {
      assertTrue(load.getMessage().contains(part), "'" + part + "' in: " + load.getMessage());
    }
    assertTrue(
        load.getMessage().contains("convert the checkpoint again"),
        "what to do, in: " + load.getMessage());
    for (Verification verification : Verification.values()) {
      IOException e = assertThrows(IOException.class, () -> PackageFiles.verify(dir, verification));
      assertEquals(load.getMessage(), e.getMessage(), verification.flag());
    }
    return load.getMessage();
  }

  /** Every node of a package's graph and of its functions. */
  static List<NodeDef> nodes(Path dir) throws IOException {
    GraphDef graph = readGraph(dir).getMetaGraphs(0).getGraphDef();
    List<NodeDef> nodes = new ArrayList<>(graph.getNodeList());
    for (FunctionDef function : graph.getLibrary().getFunctionList()) {
      nodes.addAll(function.getNodeDefList());
    }
    return nodes;
  }

  /** The op types in a package's graph and its functions, sorted. */
  private static TreeSet<String> opTypes(Path dir) throws IOException {
    TreeSet<String> used = new TreeSet<>();
    nodes(dir).forEach(node -> used.add(node.getOp()));
    return used;
  }

  /**
   * Both decode loops, generate's and continuous batching's, are While ops marked for lowering into
   * the executor's own loop (what makes the decode step about 10% shorter; see Generation), and no
   * other While op is written.
   */
  @Test
  void theDecodeLoopsAreMarkedToBeLoweredIntoTheExecutorsLoop() throws IOException {
    List<NodeDef> loops = nodes(converted).stream().filter(n -> n.getOp().equals("While")).toList();
    TreeSet<String> bodies = new TreeSet<>();
    for (NodeDef loop : loops) {
      assertTrue(
          loop.getAttrOrThrow("_lower_using_switch_merge").getB(), loop.getName() + " lowered");
      String body = loop.getAttrOrThrow("body").getFunc().getName(); // NAME_ + a unique suffix
      bodies.add(body.substring(0, body.lastIndexOf('_')));
    }
    assertEquals(List.of("decode_slots_step", "generate_step"), List.copyOf(bodies));
    assertEquals(2, loops.size(), "one While op a loop");
  }

  @Test
  void convertWritesExactlyTheListedOpTypes() throws IOException {
    TreeSet<String> used = opTypes(converted);
    TreeSet<String> int8 = opTypes(convertedInt8);
    TreeSet<String> onlyInt8 = new TreeSet<>(int8);
    onlyInt8.removeAll(used);
    assertEquals(
        List.of("Bitcast", "Idefics3Int8MatMul"),
        List.copyOf(onlyInt8),
        "what an int8 package adds");
    TreeSet<String> split = opTypes(convertedSplit);
    TreeSet<String> onlySplit = new TreeSet<>(split);
    onlySplit.removeAll(used);
    assertEquals(List.of("SplitV"), List.copyOf(onlySplit), "what a split package adds");
    used.addAll(int8);
    used.addAll(split);
    assertEquals(List.copyOf(used), PackageFiles.ALLOWED_OPS, "sorted, no more, no fewer");
    assertEquals(70, PackageFiles.ALLOWED_OPS.size());
  }

  /**
   * A package converted with --split-products passes both verifications and loads on the CPU; on a
   * GPU it is refused, naming the option to convert without.
   */
  @Test
  void aSplitPackagePassesBothVerificationsLoadsAndIsRefusedOnAGpu() throws IOException {
    assertEquals(2, PackageFiles.readManifest(convertedSplit).path("product_splits").asInt());
    assertEquals(1, PackageFiles.readManifest(converted).path("product_splits").asInt());
    for (Verification verification : Verification.values()) {
      PackageFiles.verify(convertedSplit, verification);
    }
    try (Idefics3Package pkg = Idefics3Package.load(convertedSplit, 2)) {
      assertEquals(convertedSplit, pkg.dir());
    }
    IOException e =
        assertThrows(IOException.class, () -> Idefics3Package.load(convertedSplit, 1, "0"));
    assertTrue(e.getMessage().contains("(convert --split-products)"), e.getMessage());
    assertTrue(e.getMessage().contains("without --split-products"), e.getMessage());
  }

  @Test
  void anInt8PackagePassesBothVerificationsAndLoads() throws IOException {
    assertEquals("int8", PackageFiles.readManifest(convertedInt8).path("dtype").asText());
    for (Verification verification : Verification.values()) {
      PackageFiles.verify(convertedInt8, verification);
    }
    try (Idefics3Package pkg = Idefics3Package.load(convertedInt8, 1)) {
      assertEquals(convertedInt8, pkg.dir());
    }
  }

  @Test
  void aConvertedPackagePassesBothVerificationsAndLoads() throws IOException {
    JsonNode manifest = PackageFiles.readManifest(converted);
    int files = manifest.path("package").path("files").size();
    int assets = 0;
    for (var entry : manifest.path("source").path("sha256").properties()) {
      assets += Files.isRegularFile(converted.resolve("assets").resolve(entry.getKey())) ? 1 : 0;
    }
    assertEquals(files, PackageFiles.verify(converted, Verification.FULL));
    assertEquals(assets + 1, PackageFiles.verify(converted, Verification.QUICK));
    try (Idefics3Package pkg = Idefics3Package.load(converted, 1)) {
      assertEquals(converted, pkg.dir());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"ReadFile", "WriteFile", "PyFunc", "MatchingFiles"})
  void anUnlistedOpInTheGraphIsRefusedNamingItsTypeAndNode(String op) throws IOException {
    Path dir = copy();
    editGraph(
        dir,
        meta -> {
          meta.getGraphDefBuilder()
              .addNode(stringConst("planted/path", "/etc/hostname"))
              .addNode(node("planted/" + op, op, "planted/path"));
          return meta;
        });
    refusedEverywhere(
        dir,
        dir.resolve("saved_model.pb").toString(),
        "node 'planted/" + op + "' in the graph runs op type " + op,
        "which convert never writes (the 70 op types it writes are PackageFiles.ALLOWED_OPS)");
  }

  @Test
  void anUnlistedOpInTheGenerateLoopBodyIsRefusedNamingTheFunction() throws IOException {
    Path dir = copy();
    List<String> names = new ArrayList<>();
    editGraph(
        dir,
        meta -> {
          var library = meta.getGraphDefBuilder().getLibraryBuilder();
          for (int i = 0; i < library.getFunctionCount(); i++) {
            String name = library.getFunction(i).getSignature().getName();
            if (name.startsWith("generate_step")) {
              names.add(name);
              library
                  .getFunctionBuilder(i)
                  .addNodeDef(stringConst("path", "/etc/hostname"))
                  .addNodeDef(node("read", "ReadFile", "path:output:0"));
            }
          }
          return meta;
        });
    assertEquals(1, names.size(), names.toString());
    refusedEverywhere(
        dir, "node 'read' in function " + names.get(0) + " runs op type ReadFile", "never writes");
  }

  /**
   * The attack as found: an init op that reads /etc/hostname and writes it out. TensorFlow itself
   * runs it while loading (shown by loading the edited package with TensorFlow directly); load
   * refuses the package before TensorFlow sees it, and nothing is written.
   */
  @Test
  void anInitOpThatReadsAndWritesFilesIsRefusedBeforeTensorFlowRunsIt() throws IOException {
    Path dir = copy();
    Path stolen = temp.resolve("stolen-hostname");
    editGraph(
        dir,
        meta -> {
          meta.getGraphDefBuilder()
              .addNode(stringConst("planted/source", "/etc/hostname"))
              .addNode(stringConst("planted/target", stolen.toString()))
              .addNode(node("planted/read", "ReadFile", "planted/source"))
              .addNode(node("planted/write", "WriteFile", "planted/target", "planted/read"))
              .addNode(node("planted/init", "NoOp", "^planted/write"));
          meta.putCollectionDef(
              "saved_model_main_op",
              CollectionDef.newBuilder()
                  .setNodeList(CollectionDef.NodeList.newBuilder().addValue("planted/init"))
                  .build());
          return meta;
        });
    refusedEverywhere(dir, "node 'planted/read' in the graph runs op type ReadFile");
    assertFalse(Files.exists(stolen), "nothing ran");

    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
      assertTrue(bundle.graph().operation("planted/write") != null);
    } catch (RuntimeException e) {
      // the Java side may dislike an init op without outputs; the C++ loader has run it by then
    }
    assertTrue(Files.exists(stolen), "TensorFlow alone runs the planted init op at load");
    assertEquals(
        Files.readString(Path.of("/etc/hostname"), StandardCharsets.UTF_8),
        Files.readString(stolen, StandardCharsets.UTF_8));
  }

  @Test
  void anInitOpOfListedOpsIsRefusedNamingTheCollection() throws IOException {
    Path dir = copy();
    editGraph(
        dir,
        meta -> {
          meta.getGraphDefBuilder().addNode(node("planted/init", "NoOp"));
          meta.putCollectionDef(
              "legacy_init_op",
              CollectionDef.newBuilder()
                  .setNodeList(CollectionDef.NodeList.newBuilder().addValue("planted/init"))
                  .build());
          return meta;
        });
    refusedEverywhere(dir, "holds the collection 'legacy_init_op'", "convert writes no collection");
  }

  @Test
  void anInitSignatureIsRefusedNamingIt() throws IOException {
    Path dir = copy();
    editGraph(
        dir,
        meta -> {
          meta.getGraphDefBuilder().addNode(node("planted/init", "NoOp"));
          meta.putSignatureDef(
              "__saved_model_init_op",
              SignatureDef.newBuilder()
                  .putOutputs(
                      "__saved_model_init_op",
                      TensorInfo.newBuilder().setName("planted/init").build())
                  .build());
          return meta;
        });
    refusedEverywhere(
        dir,
        "holds the signature '__saved_model_init_op' (an init op, which TensorFlow runs at load)",
        "convert writes only decode_slots, encode_images, generate, logits, prefill_slots, score_options");
  }

  @Test
  void aRestoreOpOtherThanConvertsIsRefused() throws IOException {
    Path dir = copy();
    editGraph(
        dir,
        meta -> {
          meta.getSaverDefBuilder().setRestoreOpName("save/control_dependency");
          return meta;
        });
    refusedEverywhere(
        dir,
        "restore_op_name: \"save/control_dependency\"",
        "convert writes {filename_tensor_name: \"save/filename:0\"",
        "restore_op_name: \"save/restore_all\"}, whose restore op TensorFlow runs at load");
  }

  @Test
  void aRestoreOpThatAlsoSavesIsRefusedNamingWhatItRuns() throws IOException {
    Path dir = copy();
    editGraph(
        dir,
        meta -> {
          GraphDef.Builder graph = meta.getGraphDefBuilder();
          for (int i = 0; i < graph.getNodeCount(); i++) {
            if (graph.getNode(i).getName().equals("save/restore_all")) {
              graph.getNodeBuilder(i).addInput("^save/Save");
            }
          }
          return meta;
        });
    refusedEverywhere(
        dir,
        "restore op 'save/restore_all' runs '^save/Save' at load (a SaveV2 of save/filename",
        "only assigns RestoreV2 outputs to variable handles");
  }

  @Test
  void aSaveOpWritingAnywhereButTheLoadersPathIsRefused() throws IOException {
    Path dir = copy();
    editGraph(
        dir,
        meta -> {
          NodeDef save =
              meta.getGraphDef().getNodeList().stream()
                  .filter(n -> n.getName().equals("save/Save"))
                  .findFirst()
                  .orElseThrow();
          meta.getGraphDefBuilder()
              .addNode(stringConst("planted/path", "/tmp/overwritten"))
              .addNode(save.toBuilder().setName("planted/save").setInput(0, "planted/path"));
          return meta;
        });
    refusedEverywhere(
        dir,
        "node 'planted/save' in the graph runs op type SaveV2 on 'planted/path'",
        "convert's saver reads and writes only at save/filename");
  }

  @Test
  void anEditedGraphIsRefusedWhenTheManifestWasNotUpdated() throws IOException {
    Path dir = copy();
    String recorded = PackageFiles.sha256(dir.resolve(PackageFiles.GRAPH));
    SavedModel model = readGraph(dir);
    byte[] edited =
        model.toBuilder()
            .setMetaGraphs(
                0,
                model.getMetaGraphs(0).toBuilder()
                    .setGraphDef(
                        model.getMetaGraphs(0).getGraphDef().toBuilder()
                            .addNode(node("planted/noop", "NoOp"))))
            .build()
            .toByteArray();
    Files.write(dir.resolve(PackageFiles.GRAPH), edited);
    Path file = dir.resolve(PackageFiles.MANIFEST);
    JsonNode manifest = MAPPER.readTree(file.toFile());
    ((ObjectNode) manifest.at("/package/files/saved_model.pb")).put("bytes", edited.length);
    MAPPER.writeValue(file.toFile(), manifest); // the size updated, the sha256 left as written
    refusedEverywhere(
        dir,
        "saved_model.pb has sha256 " + PackageFiles.sha256(edited),
        "idefics3-spark.json records " + recorded);
  }

  @Test
  void aManifestWhoseGraphHashWasEditedIsRefusedByBothVerifications() throws IOException {
    Path dir = copy();
    String zeros = "0".repeat(64);
    Path file = dir.resolve(PackageFiles.MANIFEST);
    JsonNode manifest = MAPPER.readTree(file.toFile());
    ((ObjectNode) manifest.at("/package/files/saved_model.pb")).put("sha256", zeros);
    MAPPER.writeValue(file.toFile(), manifest);
    refusedEverywhere(
        dir,
        "saved_model.pb has sha256 " + PackageFiles.sha256(dir.resolve(PackageFiles.GRAPH)),
        "records " + zeros);
  }

  @Test
  void fullVerificationRefusesWeightsWhoseHashDisagreesWithTheManifestQuickDoesNot()
      throws IOException {
    Path dir = copy();
    String data = "variables/variables.data-00000-of-00001";
    Path file = dir.resolve(PackageFiles.MANIFEST);
    JsonNode manifest = MAPPER.readTree(file.toFile());
    ((ObjectNode) manifest.path("package").path("files").path(data)).put("sha256", "ab".repeat(32));
    MAPPER.writeValue(file.toFile(), manifest);

    IOException e =
        assertThrows(IOException.class, () -> PackageFiles.verify(dir, Verification.FULL));
    assertTrue(
        e.getMessage()
            .contains(
                dir.resolve(data)
                    + " has sha256 "
                    + PackageFiles.sha256(dir.resolve(data))
                    + " but idefics3-spark.json records "
                    + "ab".repeat(32)),
        e.getMessage());
    assertTrue(e.getMessage().contains("copy the package again or convert"), e.getMessage());
    assertDoesNotThrow(() -> PackageFiles.verify(dir, Verification.QUICK), "sizes only");
  }

  @Test
  void aManifestNamingAFileOutsideThePackageIsRefused() throws IOException {
    Path dir = copy();
    Path file = dir.resolve(PackageFiles.MANIFEST);
    JsonNode manifest = MAPPER.readTree(file.toFile());
    ((ObjectNode) manifest.path("package").path("files"))
        .putObject("../outside")
        .put("bytes", 1)
        .put("sha256", "00");
    MAPPER.writeValue(file.toFile(), manifest);
    for (Verification verification : Verification.values()) {
      IOException e = assertThrows(IOException.class, () -> PackageFiles.verify(dir, verification));
      assertTrue(
          e.getMessage().contains("lists '../outside', which is not a file inside the package"),
          e.getMessage());
    }
  }

  @Test
  void verificationIsNamedByItsSettingValue() {
    assertEquals(Verification.QUICK, Verification.forValue("quick"));
    assertEquals(Verification.FULL, Verification.forValue(" FULL "));
    assertEquals(null, Verification.forValue("none"));
    assertEquals("quick|full", Verification.choices());
  }

  @Test
  void aPackageWhoseWeightsExceedThisMachinesMemoryIsRefusedBeforeLoading() throws IOException {
    Path dir = copy();
    Path config = dir.resolve("assets/config.json");
    com.fasterxml.jackson.databind.node.ObjectNode json =
        (com.fasterxml.jackson.databind.node.ObjectNode) MAPPER.readTree(config.toFile());
    com.fasterxml.jackson.databind.node.ObjectNode text =
        (com.fasterxml.jackson.databind.node.ObjectNode) json.get("text_config");
    // 64 layers of 16,384 with a 65,536-wide MLP: about a terabyte of fp32, each size
    // within the checkpoint's bounds
    text.put("num_hidden_layers", 64).put("hidden_size", 16384).put("intermediate_size", 65536);
    text.put("num_attention_heads", 128).put("num_key_value_heads", 8).put("head_dim", 128);
    MAPPER.writeValue(config.toFile(), json);
    IOException e = assertThrows(IOException.class, () -> Idefics3Package.load(dir, 1));
    assertTrue(e.getMessage().contains("GB of weights, but this machine has"), e.getMessage());
    assertTrue(e.getMessage().contains("parameters in fp32"), e.getMessage());
  }
}
