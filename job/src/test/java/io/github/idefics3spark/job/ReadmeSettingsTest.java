package io.github.idefics3spark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.idefics3spark.idefics3.checkpoint.PackageFiles.Verification;
import io.github.idefics3spark.spark.InferenceOption;
import io.github.idefics3spark.spark.InferenceOption.EntryPoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * README.md's "Options" table and its lists of the SQL functions' options and the Transformer's
 * params name the settings that {@link JobOption} and {@link InferenceOption} declare, with their
 * placeholders and defaults.
 */
class ReadmeSettingsTest {
  private static final Path README = Path.of("../README.md");
  private static final Pattern OPTION = Pattern.compile("--([a-z][a-z-]*)");
  private static final Pattern CODE = Pattern.compile("`([^`]+)`");

  /** The cells of each row of the "Options" table, the header and rule left out. */
  private static List<String[]> optionsTable() throws IOException {
    List<String> lines = Files.readAllLines(README);
    int start = lines.indexOf("### Options");
    List<String[]> rows = new ArrayList<>();
    for (String line : lines.subList(start + 1, lines.size())) {
      if (line.startsWith("#")) {
        break;
      }
      if (line.startsWith("| `--")) {
        String[] cells = line.replace("\\|", "\u0000").split("\\|");
        for (int i = 0; i < cells.length; i++) {
          cells[i] = cells[i].replace('\u0000', '|').strip();
        }
        rows.add(new String[] {cells[1], cells[2], cells[3]});
      }
    }
    return rows;
  }

  private static List<String> optionsOf(String cell) {
    List<String> names = new ArrayList<>();
    Matcher matcher = OPTION.matcher(cell);
    while (matcher.find()) {
      names.add(matcher.group(1));
    }
    return names;
  }

  @Test
  void theOptionsTableListsEveryOptionOfCaptionAndVqaAndNoOther() throws IOException {
    Set<String> listed = new LinkedHashSet<>();
    for (String[] row : optionsTable()) {
      for (String name : optionsOf(row[0])) {
        assertTrue(
            name.equals("conf") || JobOption.forKey(name) != null,
            "README's options table lists --" + name + ", which is not an option");
        listed.add(name);
      }
    }
    for (Task task : List.of(Task.CAPTION, Task.VQA)) {
      for (JobOption option : JobOption.of(task)) {
        assertTrue(
            listed.contains(option.key()), "README's options table lacks " + option.option());
      }
    }
  }

  @Test
  void theOptionsTableGivesEachSharedSettingItsPlaceholderAndDefault() throws IOException {
    int checked = 0;
    for (String[] row : optionsTable()) {
      List<String> names = optionsOf(row[0]);
      for (String name : names) {
        JobOption option = JobOption.forKey(name);
        InferenceOption shared = option == null ? null : option.shared();
        if (shared == null) {
          continue;
        }
        assertTrue(
            row[0].contains("--" + name + " " + shared.valueLabel() + "`"),
            "README's options table: "
                + row[0]
                + ", expected --"
                + name
                + " "
                + shared.valueLabel());
        if (names.size() == 1 && shared.defaultValue() != null) {
          String cell = row[1].replace("`", "");
          assertTrue(
              cell.startsWith(defaultText(shared.defaultValue())),
              "README's options table: --"
                  + name
                  + " default is '"
                  + row[1]
                  + "', expected "
                  + defaultText(shared.defaultValue()));
        }
        checked++;
      }
    }
    assertEquals(InferenceOption.of(EntryPoint.JOB).size(), checked);
  }

  @Test
  void theSqlSectionListsTheOptionsTheFunctionsTake() throws IOException {
    String readme = Files.readString(README).replace('\n', ' ');
    String start = "the options are the job's option names (";
    int from = readme.indexOf(start);
    String list = readme.substring(from + start.length(), readme.indexOf(") plus", from));
    List<String> keys = new ArrayList<>();
    Matcher matcher = CODE.matcher(list);
    while (matcher.find()) {
      keys.add(matcher.group(1));
    }
    assertEquals(
        InferenceOption.of(EntryPoint.SQL).stream().map(InferenceOption::key).sorted().toList(),
        keys.stream().sorted().toList());
  }

  @Test
  void theTransformerSectionNamesEverySharedParam() throws IOException {
    String readme = Files.readString(README).replace('\n', ' ');
    int from = readme.indexOf("The Transformer's params:");
    assertTrue(from >= 0, "README lacks \"The Transformer's params:\"");
    String params = readme.substring(from, readme.indexOf("Wrong values", from));
    for (InferenceOption option : InferenceOption.of(EntryPoint.TRANSFORMER)) {
      assertNotNull(option.paramName());
      assertTrue(
          params.contains("`" + option.paramName() + "`"),
          "README's Transformer params lack `" + option.paramName() + "`");
    }
  }

  private static String defaultText(Object value) {
    if (value instanceof Float decimal && decimal == Math.rint(decimal)) {
      return Long.toString(decimal.longValue());
    }
    if (value instanceof Verification verification) {
      return verification.flag();
    }
    return String.valueOf(value);
  }
}
