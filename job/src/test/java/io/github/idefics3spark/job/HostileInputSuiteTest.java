package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.idefics3spark.ReferenceFixtures;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.checkpoint.PackageFiles;
import io.github.idefics3spark.idefics3.processor.ChatMessage;
import io.github.idefics3spark.idefics3.processor.ChatTemplate;
import io.github.idefics3spark.image.ImageDecoder;
import io.github.idefics3spark.safetensors.SafeTensors;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hostile-input suite: every case that {@code hostile/make_hostile.py} wrote into {@code
 * hostile/cases.json}, each checked for its exact outcome. Image, question and manifest-row cases
 * are rows of one manifest answered by one job (the good rows beside the hostile ones answered);
 * CSV rows by a second; model-side cases (configs, safetensors, chat templates, packages) through
 * the code that reads them. The README's "Hostile input" table holds the counts this suite checks.
 */
class HostileInputSuiteTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Path SUITE = resource("hostile");
  private static final List<JsonNode> CASES = readCases();

  @TempDir static Path dir;
  private static Path inputs;

  @BeforeAll
  static void copyInputs() throws IOException {
    inputs = dir.resolve("inputs");
    copyTree(SUITE.resolve("inputs"), inputs);
  }

  private static Path resource(String name) {
    try {
      return Path.of(HostileInputSuiteTest.class.getResource("/" + name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<JsonNode> readCases() {
    try {
      List<JsonNode> cases = new ArrayList<>();
      MAPPER.readTree(SUITE.resolve("cases.json").toFile()).forEach(cases::add);
      return cases;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<JsonNode> group(String name) {
    return CASES.stream().filter(c -> c.path("group").asText().equals(name)).toList();
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path path : walk.toList()) {
        Path target = to.resolve(from.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(target);
        } else {
          Files.copy(path, target);
        }
      }
    }
  }

  /** The output rows of a vqa job over {@code manifest}, by id. */
  private static Map<String, Row> runJob(Path manifest, String outputName) {
    Path output = dir.resolve(outputName);
    JobRun run =
        JobCommandLine.withTinyModel("vqa", manifest, output, dir.resolve("cache"), 2)
            .with("--max-image-bytes", "300000", "--prompt-template", "{question}")
            .runLocally();
    assertEquals(0, run.status(), run.err());
    SparkSession spark = SparkTestSession.start("HostileInputSuiteTest-" + outputName);
    try {
      Map<String, Row> rows = new TreeMap<>();
      for (Row row :
          spark
              .read()
              .parquet(output.toString())
              .select("id", "answer", "error", "error_kind")
              .collectAsList()) {
        assertEquals(null, rows.put(row.getString(0), row), "each id once: " + row.getString(0));
      }
      return rows;
    } finally {
      spark.stop();
    }
  }

  /** Checks one output row against its case; returns a line describing a mismatch, or null. */
  private static String mismatch(JsonNode c, Row row) {
    JsonNode expect = c.path("expect");
    String name = c.path("case").asText();
    if (row == null) {
      return name + ": no output row";
    }
    String answer = row.getString(1);
    String error = row.getString(2);
    String kind = row.getString(3);
    String got = kind == null ? "answered" : kind + ": " + error;
    if (expect.path("outcome").asText().equals("answered")) {
      return answer != null && error == null && kind == null
          ? null
          : name + ": expected answered, got " + got;
    }
    String wantKind = expect.path("error_kind").asText();
    String fragment = expect.path("fragment").asText();
    if (answer == null && wantKind.equals(kind) && error != null && error.contains(fragment)) {
      return null;
    }
    return name + ": expected " + wantKind + " with '" + fragment + "', got " + got;
  }

  private static void checkRows(List<JsonNode> cases, Map<String, Row> rows) {
    List<String> mismatches = new ArrayList<>();
    for (JsonNode c : cases) {
      String id = c.has("id") ? c.path("id").asText() : c.path("case").asText();
      String problem = mismatch(c, rows.get(id));
      if (problem != null) {
        mismatches.add(problem);
      }
    }
    assertTrue(mismatches.isEmpty(), String.join("\n", mismatches));
  }

  @Test
  void everyImageQuestionAndManifestRowCaseHasItsOutcomeInOneJob() throws IOException {
    Path manifest = inputs.resolve("manifest.jsonl");
    long lines = Files.readAllLines(manifest).stream().filter(l -> !l.isBlank()).count();
    Map<String, Row> output = runJob(manifest, "out-jsonl");
    // A TIFF of several frames (IFDs) is a document: one row per frame, id#page=N. Page 1 has
    // its case's outcome; every other page is answered or an error row naming its page.
    Map<String, Row> rows = new TreeMap<>();
    int laterPages = 0;
    for (Map.Entry<String, Row> entry : output.entrySet()) {
      java.util.regex.Matcher page =
          java.util.regex.Pattern.compile("(.*)#page=([0-9]+)").matcher(entry.getKey());
      if (!page.matches() || page.group(2).equals("1")) {
        rows.put(page.matches() ? page.group(1) : entry.getKey(), entry.getValue());
        continue;
      }
      laterPages++;
      String error = entry.getValue().getString(2);
      assertTrue(
          error == null || error.contains(" page " + page.group(2) + ": "),
          entry.getKey() + ": " + error);
    }
    assertEquals(lines, rows.size(), "one row per manifest line: " + rows.keySet());
    assertEquals(lines + laterPages, output.size());
    List<JsonNode> cases = new ArrayList<>();
    for (String g : List.of("image", "question", "manifest")) {
      cases.addAll(group(g));
    }
    assertEquals(lines, cases.size(), "every line is a case");
    checkRows(cases, rows);
    // no error message quotes the bytes of a file that is no image
    for (Row row : rows.values()) {
      String error = row.getString(2);
      assertFalse(error != null && error.contains("root:x:0:0"), error);
    }
  }

  /**
   * Metadata is read without recursion per IFD: each image case that is answered decodes on a
   * thread of a 512 KiB stack too (a TIFF of 3000 IFDs and an EXIF block of 9000 overflowed it, and
   * the row became CORRUPT_IMAGE on executors with small stacks).
   */
  @Test
  void everyAnsweredImageDecodesOnASmallStack() throws Exception {
    ImageDecoder decoder = new ImageDecoder();
    List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    List<JsonNode> answered =
        group("image").stream()
            .filter(c -> c.path("expect").path("outcome").asText().equals("answered"))
            .toList();
    Thread thread =
        new Thread(
            null,
            () -> {
              for (JsonNode c : answered) {
                try {
                  decoder.decode(Files.readAllBytes(inputs.resolve(c.path("image").asText())));
                } catch (IOException | RuntimeException e) {
                  failures.add(c.path("case").asText() + ": " + e.getMessage());
                }
              }
            },
            "small-stack",
            512 * 1024);
    thread.start();
    thread.join();
    assertTrue(answered.size() > 30, "answered image cases: " + answered.size());
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  @Test
  void malformedCsvRowsAreNamedAndTheOthersAnswered() {
    Map<String, Row> rows = runJob(inputs.resolve("manifest.csv"), "out-csv");
    assertEquals(group("csv").size(), rows.size(), rows.keySet().toString());
    checkRows(group("csv"), rows);
  }

  @Test
  void jobsWithRepeatedOrNullIdsAreRefusedNamingThem() {
    for (JsonNode c : group("job")) {
      JobRun run =
          JobRun.of(
              "caption",
              "--input",
              inputs.resolve(c.path("input").asText()).toString(),
              "--output",
              dir.resolve("out-" + c.path("case").asText()).toString(),
              "--model",
              SparkTestSession.TINY_CHECKPOINT.toString());
      JsonNode expect = c.path("expect");
      assertEquals(expect.path("status").asInt(), run.status(), c + "\n" + run.err());
      assertTrue(run.err().contains(expect.path("fragment").asText()), c + "\n" + run.err());
    }
  }

  /** Runs {@code attempt}; the case holds when it throws with the fragment in its message. */
  private static String refusalMismatch(JsonNode c, Function<JsonNode, Object> attempt) {
    String fragment = c.path("expect").path("fragment").asText();
    String name = c.path("group").asText() + " " + c.path("case").asText();
    try {
      Object result = attempt.apply(c);
      return name + ": expected a refusal with '" + fragment + "', got " + result;
    } catch (RuntimeException e) {
      String message = String.valueOf(e.getMessage());
      if (e.getCause() instanceof IOException io && !message.contains(fragment)) {
        message = io.getMessage();
      }
      if (c.has("absent") && message.contains(c.path("absent").asText())) {
        return name + ": the message quotes the file: " + message;
      }
      return message.contains(fragment) ? null : name + ": expected '" + fragment + "', got " + e;
    }
  }

  private static RuntimeException wrap(IOException e) {
    return new IllegalStateException(e.getMessage(), e);
  }

  @Test
  void hostileConfigsSafetensorsAndTemplatesAreRefusedWithAClearMessage() throws IOException {
    List<String> mismatches = new ArrayList<>();
    Path tiny = ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM);
    for (JsonNode c : group("config")) {
      Path folder = dir.resolve("checkpoint-" + c.path("case").asText());
      copyTree(tiny, folder);
      Files.copy(
          inputs.resolve("checkpoints/" + c.path("case").asText() + "/config.json"),
          folder.resolve("config.json"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      long start = System.nanoTime();
      mismatches.add(refusalMismatch(c, x -> Idefics3Checkpoint.read(folder)));
      assertTrue(System.nanoTime() - start < 5_000_000_000L, c + " refused at once");
    }
    for (JsonNode c : group("safetensors")) {
      Path file = inputs.resolve("safetensors/" + c.path("case").asText() + ".safetensors");
      mismatches.add(
          refusalMismatch(
              c,
              x -> {
                try (SafeTensors st = SafeTensors.open(file)) {
                  return st.tensors().keySet();
                } catch (IOException e) {
                  throw wrap(e);
                }
              }));
    }
    Map<String, String> tokens = Map.of("bos_token", "<s>", "eos_token", "</s>");
    List<ChatMessage> chat = List.of(ChatMessage.user(ChatMessage.text("hello")));
    for (JsonNode c : group("template")) {
      String source =
          Files.readString(inputs.resolve("templates/" + c.path("case").asText() + ".jinja"));
      long start = System.nanoTime();
      if (c.path("expect").path("outcome").asText().equals("no_java")) {
        String rendered;
        try {
          rendered = new ChatTemplate(source, tokens).render(chat, true, false);
        } catch (RuntimeException e) {
          rendered = ""; // refused: holds
        }
        if (rendered.contains("java.") || rendered.contains("Runtime")) {
          mismatches.add("template " + c.path("case").asText() + " reached Java: " + rendered);
        }
      } else {
        mismatches.add(
            refusalMismatch(c, x -> new ChatTemplate(source, tokens).render(chat, true, false)));
      }
      assertTrue(System.nanoTime() - start < 30_000_000_000L, c + " stopped within its budget");
    }
    mismatches.removeIf(m -> m == null);
    assertTrue(mismatches.isEmpty(), String.join("\n", mismatches));
  }

  @Test
  void editedPackagesAreRefusedBeforeTensorFlowLoadsThem() throws IOException {
    Path converted = dir.resolve("package");
    Idefics3Package.write(ReferenceFixtures.checkpoint(ReferenceFixtures.TINY_SMOLVLM), converted);
    List<String> mismatches = new ArrayList<>();
    for (JsonNode c : group("package")) {
      Path copy = dir.resolve("package-" + c.path("case").asText());
      copyTree(converted, copy);
      JsonNode edit = c.path("edit");
      Path file = copy.resolve(edit.path("file").asText());
      if (edit.path("delete").asBoolean()) {
        Files.delete(file);
      } else if (edit.has("text")) {
        Files.writeString(file, edit.path("text").asText());
      } else if (edit.has("replace")) {
        String text = Files.readString(file);
        String old = edit.path("replace").get(0).asText();
        assertTrue(text.contains(old), c.toString());
        Files.writeString(file, text.replace(old, edit.path("replace").get(1).asText()));
      } else if (edit.has("truncate")) {
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, edit.path("truncate").asInt()));
      } else {
        fail("unknown edit " + edit);
      }
      mismatches.add(
          refusalMismatch(
              c,
              x -> {
                try {
                  PackageFiles.verify(copy, PackageFiles.Verification.QUICK);
                  try (Idefics3Package loaded = Idefics3Package.load(copy, 1)) {
                    return "a loaded package";
                  }
                } catch (IOException e) {
                  throw wrap(e);
                }
              }));
    }
    mismatches.removeIf(m -> m == null);
    assertTrue(mismatches.isEmpty(), String.join("\n", mismatches));
  }

  /** The README's table row of each group: | group | ... | tried | held |. */
  @Test
  void theReadmeTableCountsEveryGroupOfTheSuite() throws IOException {
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (JsonNode c : CASES) {
      counts.merge(c.path("group").asText(), 1, Integer::sum);
    }
    String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
    Map<String, int[]> table = new HashMap<>();
    Matcher m =
        Pattern.compile("(?m)^\\| `([a-z]+)` \\|[^\\n]*\\| (\\d+) \\| (\\d+) \\|$").matcher(readme);
    while (m.find()) {
      table.put(m.group(1), new int[] {Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))});
    }
    for (Map.Entry<String, Integer> group : counts.entrySet()) {
      int[] row = table.get(group.getKey());
      assertTrue(row != null, "README has no hostile-suite row for `" + group.getKey() + "`");
      assertEquals(group.getValue(), row[0], group.getKey() + ": tried");
      assertEquals(group.getValue(), row[1], group.getKey() + ": held (every case is asserted)");
    }
    assertEquals(counts.keySet(), table.keySet());
    int total = CASES.size();
    assertTrue(
        readme.contains(total + " hostile inputs of " + counts.size() + " kinds"),
        "README states the total: " + total + " hostile inputs of " + counts.size() + " kinds");
  }
}
