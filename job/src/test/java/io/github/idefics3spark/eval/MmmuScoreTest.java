package io.github.idefics3spark.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.idefics3spark.eval.MmmuScore.Judged;
import io.github.idefics3spark.eval.MmmuScore.Question;
import io.github.idefics3spark.eval.MmmuScore.Result;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The official MMMU example outputs (mmmu/, 900 validation responses from each of two models)
 * scored as MMMU's main_parse_and_eval.py and main_eval_only.py score them; the expected values in
 * eval/mmmu_expected_*.json were written by running those scripts.
 */
class MmmuScoreTest {

  @Test
  void llavaExampleOutputsGiveTheOfficialAccuracies() {
    Map<String, Result> table = scoreExampleOutputs("llava1.5_13b").table();
    // python main_parse_and_eval.py --path example_outputs/llava1.5_13b --subject ALL;
    // print_results.py
    assertEquals(new Result(900, 330, 0.36666666666666664), table.get("Overall"));
    assertEquals(0.367, table.get("Overall").rounded());
    assertEquals(0.6, table.get("Art").rounded());
    assertEquals(0.733, table.get("Literature").rounded());
    assertEquals(0.133, table.get("Finance").rounded());
    assertEquals(0.227, table.get("Overall-Business").rounded());
    assertEquals(0.31, table.get("Overall-Tech and Engineering").rounded());
  }

  @Test
  void qwenExampleOutputsGiveTheOfficialAccuracies() {
    Map<String, Result> table = scoreExampleOutputs("qwen_vl").table();
    assertEquals(new Result(900, 325, 0.3611111111111111), table.get("Overall"));
    assertEquals(0.361, table.get("Overall").rounded());
    assertEquals(0.467, table.get("Art").rounded());
    assertEquals(0.8, table.get("Literature").rounded());
    assertEquals(0.2, table.get("Diagnostics_and_Laboratory_Medicine").rounded());
    assertEquals(0.475, table.get("Overall-Humanities and Social Science").rounded());
    assertEquals(0.319, table.get("Overall-Tech and Engineering").rounded());
  }

  @ParameterizedTest
  @ValueSource(strings = {"llava1.5_13b", "qwen_vl"})
  void everyTableRowIsTheOfficialOneToTheLastBit(String model) {
    JsonNode expected = Fixtures.read("eval/mmmu_expected_" + model + ".json").get("table");
    Map<String, Result> table = scoreExampleOutputs(model).table();
    assertEquals(fieldNames(expected), new ArrayList<>(table.keySet()));
    expected
        .properties()
        .forEach(
            e -> {
              Result r = table.get(e.getKey());
              assertEquals(e.getValue().get("num").asInt(), r.num(), e.getKey());
              assertEquals(e.getValue().get("acc").asDouble(), r.acc(), 0.0, e.getKey());
              assertEquals(e.getValue().get("rounded").asDouble(), r.rounded(), 0.0, e.getKey());
            });
  }

  @ParameterizedTest
  @ValueSource(strings = {"llava1.5_13b", "qwen_vl"})
  void everyQuestionIsParsedAndJudgedAsOfficially(String model) {
    JsonNode expected = Fixtures.read("eval/mmmu_expected_" + model + ".json").get("questions");
    MmmuScore score = new MmmuScore();
    List<Question> questions = exampleOutputs(model);
    Collections.reverse(questions); // parseAndEvaluate restores the official order itself
    List<Judged> judged = score.parseAndEvaluate(questions);
    int sameParse = 0;
    int sameJudge = 0;
    int randomGuesses = 0;
    Map<String, Question> byId = new java.util.HashMap<>();
    questions.forEach(q -> byId.put(q.id(), q));
    for (Judged j : judged) {
      JsonNode e = expected.get(j.id());
      Question q = byId.get(j.id());
      if (MmmuScore.isMultipleChoice(q.questionType())) {
        sameParse += e.get("parsed").asText().equals(j.parsed()) ? 1 : 0;
      } else {
        MmmuResponseParser.OpenAnswer open = MmmuResponseParser.parseOpen(q.response());
        Set<String> numbers = new HashSet<>();
        e.get("parsed")
            .get("numbers")
            .forEach(n -> numbers.add(PythonFloat.repr(Fixtures.pyFloat(n))));
        Set<String> gotNumbers = new HashSet<>();
        open.numbers().forEach(n -> gotNumbers.add(PythonFloat.repr(n)));
        boolean same =
            new HashSet<>(Fixtures.strings(e.get("parsed").get("strings")))
                    .equals(new HashSet<>(open.strings()))
                && numbers.equals(gotNumbers);
        sameParse += same ? 1 : 0;
      }
      sameJudge += e.get("correct").asBoolean() == j.correct() ? 1 : 0;
      randomGuesses += j.randomGuess() ? 1 : 0;
    }
    assertEquals(900, judged.size());
    assertEquals(900, sameParse, "questions parsed as the official script parses them");
    assertEquals(900, sameJudge, "questions judged as the official script judges them");
    assertEquals(model.equals("qwen_vl") ? 48 : 2, randomGuesses, "random guesses drawn");
  }

  @ParameterizedTest
  @ValueSource(strings = {"llava1.5_13b", "qwen_vl"})
  void evalOnlyOnFinalPredictionsGivesMainEvalOnlysTable(String model) {
    JsonNode predictions =
        Fixtures.read("mmmu/example_outputs/" + model + "/total_val_output.json");
    JsonNode answers = Fixtures.read("mmmu/answer_dict_val.json");
    MmmuScore score = new MmmuScore();
    predictions
        .properties()
        .forEach(
            e -> {
              JsonNode answer = answers.get(e.getKey());
              score.add(
                  e.getKey(),
                  MmmuScore.evalPrediction(
                      answer.get("question_type").asText(),
                      Fixtures.stringOrList(answer.get("ground_truth")),
                      e.getValue().asText()));
            });
    JsonNode expected =
        Fixtures.read("eval/mmmu_expected_" + model + ".json").get("eval_only_table");
    Map<String, Result> table = score.table();
    assertEquals(fieldNames(expected), new ArrayList<>(table.keySet()));
    expected
        .properties()
        .forEach(
            e -> {
              assertEquals(
                  e.getValue().get("num").asInt(), table.get(e.getKey()).num(), e.getKey());
              assertEquals(
                  e.getValue().get("acc").asDouble(),
                  table.get(e.getKey()).rounded(),
                  0.0,
                  e.getKey());
            });
  }

  @Test
  void categoryComesFromTheIdAndUnknownOnesAreNamed() {
    assertEquals("Art_Theory", MmmuScore.categoryOf("validation_Art_Theory_12"));
    assertEquals(
        "Diagnostics_and_Laboratory_Medicine",
        MmmuScore.categoryOf("dev_Diagnostics_and_Laboratory_Medicine_1"));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> MmmuScore.categoryOf("validation_Cooking_3"));
    assertEquals(true, e.getMessage().contains("'Cooking'"), e.getMessage());
  }

  @Test
  void officialOrderIsCategoryThenQuestionNumber() {
    List<String> ids =
        new ArrayList<>(
            List.of(
                "validation_Art_10",
                "validation_Accounting_2",
                "validation_Art_9",
                "validation_Accounting_11"));
    ids.sort(MmmuScore.OFFICIAL_ORDER);
    assertEquals(
        List.of(
            "validation_Accounting_2",
            "validation_Accounting_11",
            "validation_Art_9",
            "validation_Art_10"),
        ids);
  }

  private static MmmuScore scoreExampleOutputs(String model) {
    MmmuScore score = new MmmuScore();
    score.parseAndEvaluate(exampleOutputs(model));
    return score;
  }

  /** Every category's output.json, as the official driver reads them. */
  static List<Question> exampleOutputs(String model) {
    List<Question> questions = new ArrayList<>();
    for (String category : MmmuScore.CATEGORIES) {
      JsonNode outputs =
          Fixtures.read("mmmu/example_outputs/" + model + "/" + category + "/output.json");
      for (JsonNode o : outputs) {
        boolean mc = MmmuScore.isMultipleChoice(o.get("question_type").asText());
        questions.add(
            new Question(
                o.get("id").asText(),
                o.get("question_type").asText(),
                Fixtures.stringOrList(o.get("answer")),
                mc ? Fixtures.strings(o.get("all_choices")) : List.of(),
                mc ? Fixtures.stringMap(o.get("index2ans")) : Map.of(),
                o.get("response").asText()));
      }
    }
    return questions;
  }

  private static List<String> fieldNames(JsonNode object) {
    List<String> names = new ArrayList<>();
    object.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
