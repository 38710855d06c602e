"""Runs the official benchmark scorers on edge cases and writes what they return, for the Java tests.

The official code is not part of this repository: pass the checkouts (or copies) of
  MMMU-Benchmark/MMMU (bb0b95a), GT-Vision-Lab/VQA (a013f00), MMStar-Benchmark/MMStar (88f243a),
  lupantech/MathVista (53d5258), QwenLM/Qwen-VL's eval_mm/infographicsvqa_eval.py (aa00ed0), and
  facebookresearch/mmf's mmf/utils/m4c_evaluators.py (read at b0ffc7f; the file is unchanged since
  2dc099a, 2020; it imports only `re`, so plain Python runs it), and EvolvingLMMs-Lab/lmms-eval's
  lmms_eval/tasks/chartqa/utils.py (75571cf; it imports nothing) and lmms_eval/tasks/ocrbench/utils.py
  (75571cf; its loguru and lmms_eval imports stubbed).
Python 3.11 with pandas 2.2 (the script indexes a Series by position, which pandas 3 refuses),
Levenshtein 0.27 and tabulate; the other imports of those scripts
(openai, datasets, cv2, PIL, word2number, vlmeval.smp) are stubbed here because the functions called
do not use them. VQA's vqaEval.py is Python 2: it is run after turning its two print statements
into calls, nothing else changed.

  python make_official_expectations.py --mmmu MMMU --vqa VQA --mmstar MMStar \
      --mathvista MathVista --rrc infographicsvqa_eval.py --mmf m4c_evaluators.py --out .

Each scorer's files are written only when its option is given (--mmmu_data with --mmmu), so
`--mmf m4c_evaluators.py --out .` alone rewrites textvqa_cases.json.
"""

import argparse
import builtins
import importlib.util
import io
import json
import math
import os
import random as pyrandom
import runpy
import shutil
import sys
import tempfile
import types


def load_module(name, path, patch=None):
    source = open(path, encoding="utf-8").read()
    if patch:
        source = patch(source)
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    exec(compile(source, path, "exec"), module.__dict__)
    return module


def stub(name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def jfloat(x):
    """A float as JSON can hold it: repr for nan/inf, the number otherwise."""
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return {"float": repr(x)}
    return x


def dump(out, name, data, compact=False):
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=None if compact else 1,
                  separators=(",", ":") if compact else None)
        f.write("\n")


# ----------------------------------------------------------------------------- Python itself


def python_random_cases():
    out = {}
    r = pyrandom.Random(42)
    out["seed42_getrandbits32"] = [r.getrandbits(32) for _ in range(1300)]  # past 2 regenerations
    r = pyrandom.Random(42)
    seq = []
    for n in [4, 3, 5, 2, 7, 1, 6, 4, 4, 3, 9, 5, 2, 8] * 5:
        seq.append([n, r.choice(list(range(n)))])
    out["seed42_choices"] = seq
    for seed in [0, 1, 12345, 2**32 - 1, 2**32, 2**40 + 7, -42]:
        r = pyrandom.Random(seed)
        out["seed%d_first" % seed] = [r.getrandbits(32) for _ in range(5)]
    return out


def python_float_cases():
    values = [0.0, -0.0, 1.0, -1.5, 0.1, 0.2 + 0.1, 1 / 3, 2 / 3, 100.0, 1e15, 1e16, 1.5e16,
              123456789012345678.0, 1e-4, 1e-5, 0.00012345, 5e-324, 1.7976931348623157e308,
              2.675, 1.005, 0.5, 1.5, 2.5, -2.5, 1e22, 1e23, 9007199254740993.0, 0.3, 4.35,
              123.456, 3.14159, 1234.5, 0.045, 0.055, -0.001, float("inf"), float("-inf"),
              float("nan"), 2**-1074 * 3, 8.41e21, 5e-5, 299792458.0, 6.02214076e23]
    repr_cases = [[x.hex(), repr(x)] for x in values]
    round_cases = []
    for x in values:
        for n in [-2, -1, 0, 1, 2, 3, 10]:
            try:
                round_cases.append([x.hex(), n, round(x, n).hex()])
            except OverflowError:
                round_cases.append([x.hex(), n, "OverflowError"])
    strings = ["1", " 12 ", "\u00a012\u2003", "1_000", "1__000", "_1", "1_", "1.", ".5", ".",
               "1e5", "1E-5", "1e", "1e+", "1.e3", "-0", "+3.5", "--1", "inf", "-Infinity", "NaN",
               "nan(1)", "infinit", "0x10", "1,000", "1 000", "\u0661\u0662", "\u0663.\u0665",
               "12abc", "", "   ", "1e1_0", "1_0.5_5", "0001.500", "1d", "1f", "\u00bd", "\u00b2",
               "3.14159265358979323846", "1e400", "-1e400", "1e-400", "٣"]
    parse_cases = []
    for s in strings:
        try:
            parse_cases.append([s, float(s).hex()])
        except ValueError:
            parse_cases.append([s, None])
    int_cases = []
    for s in strings + ["007", "-0", "+12", "1" * 4300, "1" * 4301, "12.0", " -5_5 "]:
        try:
            int_cases.append([s, str(int(s))])
        except ValueError:
            int_cases.append([s, None])
    return {"repr": repr_cases, "round": round_cases, "parse": parse_cases, "int": int_cases}


# ----------------------------------------------------------------------------- MMMU


def mmmu_cases(mmmu_dir):
    sys.path.insert(0, os.path.join(mmmu_dir, "mmmu"))
    from utils import eval_utils  # seeds random with 42 at import

    eval_utils.random.seed(42)
    mc = [
        ["The answer is (B).", ["A", "B", "C", "D"], {"A": "1", "B": "2", "C": "3", "D": "4"}],
        ["(A) or (C), finally (A)", ["A", "B", "C"], {"A": "x", "B": "y", "C": "z"}],
        ["(C) is wrong, (A) is right", ["A", "B", "C"], {"A": "x", "B": "y", "C": "z"}],
        ["B", ["A", "B", "C", "D"], {"A": "a", "B": "b", "C": "c", "D": "d"}],
        ["B.", ["A", "B", "C", "D"], {"A": "a", "B": "b", "C": "c", "D": "d"}],
        ["'B'", ["A", "B", "C", "D"], {"A": "a", "B": "b", "C": "c", "D": "d"}],
        ["B,.", ["A", "B"], {"A": "a", "B": "b"}],
        ["B.,", ["A", "B"], {"A": "a", "B": "b"}],
        ["I think A is better than B here", ["A", "B", "C"], {"A": "p", "B": "q", "C": "r"}],
        ["A B", ["A", "B"], {"A": "p", "B": "q"}],
        ["I am not sure", ["A", "B", "C", "D"], {"A": "one", "B": "two", "C": "three", "D": "four"}],
        ["", ["A", "B", "C", "D", "E"], {"A": "a", "B": "b", "C": "c", "D": "d", "E": "e"}],
        ["The correct option should be the red apple for sure", ["A", "B", "C"],
         {"A": "green pear", "B": "red apple", "C": "blue berry"}],
        ["It is either the red apple or the green pear, I guess", ["A", "B", "C"],
         {"A": "green pear", "B": "red apple", "C": "blue berry"}],
        ["The Answer Mentions RED APPLE in capitals here", ["A", "B"],
         {"A": "green pear", "B": "red apple"}],
        ["cat food is what the cat eats daily", ["A", "B"], {"A": "cat", "B": "cat food"}],
        ["only four words here", ["A", "B"], {"A": "four", "B": "five"}],
        ["(b) lower case", ["A", "B"], {"A": "x", "B": "y"}],
        ["\u00a0B\u00a0", ["A", "B", "C"], {"A": "x", "B": "y", "C": "z"}],
        ["B\n", ["A", "B", "C"], {"A": "x", "B": "y", "C": "z"}],
        ["answer:\tC\t", ["A", "B", "C"], {"A": "x", "B": "y", "C": "z"}],
        ["The options are A and C but the answer is (D)", ["A", "B", "C", "D"],
         {"A": "a", "B": "b", "C": "c", "D": "d"}],
        ["none", ["A", "B", "C"], {"A": "x", "B": "y", "C": "z"}],
        ["none", ["A", "B"], {"A": "x", "B": "y"}],
        ["none", ["A", "B", "C", "D", "E", "F", "G"], {c: c.lower() for c in "ABCDEFG"}],
        ["this long response mentions nothing about the choices at all", ["A", "B", "C"],
         {"A": "x1", "B": "y2", "C": "z3"}],
        ["one two three four five six empty option", ["A", "B"], {"A": "", "B": "zzz"}],
    ]
    mc_out = [[r, c, i, eval_utils.parse_multi_choice_response(r, c, i)] for r, c, i in mc]

    opens = ["The answer is 42.", "So the result is 3,000 meters", "x = 5\ny = 7",
             "The final answer is 1.5e3 or 2e-2.", "Therefore, it is -3.14159", "B",
             "is .", "It is 12.345 kg. So total is 10,5", "The answer is Paris",
             "answer is \u0661\u0662", "the value is 1,234,567.89 and 9,99", "so so so x",
             "The area is 25 m\u00b2 and 10\u00b2", "It is 1_000", "result is inf",
             "The answer is nan", "  \n  .", "", "=", "a is b is c", "is  ", "7e5e3",
             "It could be 3.5 thus 4", "The answer is 0.005", "The answer is -0.001",
             "Multiple.\nLines. With Caps.\nis 8", "0.125", "1/2", "2.675 is it"]
    open_out = []
    for r in opens:
        pred = eval_utils.parse_open_response(r)
        open_out.append([r, sorted(jfloat(p) for p in pred if isinstance(p, str)),
                         sorted((jfloat(p) for p in pred if not isinstance(p, str)),
                                key=lambda v: repr(v))])
    numbers = ["1,234 and 5,678,901", "-12 and +13", "3.5e10 and 2E-3", "1.5 2. .5",
               "abc123 123abc 4,56", "10,00", "x2 = 5", "\u0661\u0662\u0663", "1e5,3"]
    numbers_out = [[s, eval_utils.extract_numbers(s)] for s in numbers]
    norm = ["  42 ", "1,000", "A", "ab", "", "2.675", "1.005", "-0.001", "inf", "nan", "x",
            "\u0661.\u0665", "1_0", " B "]
    norm_out = [[s, [jfloat(v) for v in eval_utils.normalize_str(s)]] for s in norm]
    evals = [
        [["42"], "The answer is 42."], [["42"], "The answer is 420."], [["4"], "it is 42"],
        [["4"], "it is 4"], [["b"], "The answer is b"], [["b"], "about"], [["Paris"], "paris is it"],
        [["24/7", "3.429"], "The answer is 3.43"], [["$MgS$", "MgS"], "it is mgs"],
        [["nan"], "nan"], [["inf"], "it is inf"], [["0"], "it is -0.001"], [["1,000"], "1000"],
        [["1.005"], "1.0"], [[""], "anything"], [["Tampa", "Florida"], "florida, usa"],
    ]
    eval_out = [[g, r, eval_utils.eval_open(g if len(g) > 1 else g[0],
                                            eval_utils.parse_open_response(r))] for g, r in evals]
    return {"multi_choice": mc_out, "open": open_out, "extract_numbers": numbers_out,
            "normalize_str": norm_out, "eval_open": eval_out}


def mmmu_example_outputs(mmmu_dir, data_dir, out):
    """Runs main_parse_and_eval.py and main_eval_only.py on the example outputs of both models."""
    from utils.data_utils import CAT_SHORT2LONG, DOMAIN_CAT2SUB_CAT
    from utils.eval_utils import calculate_ins_level_acc

    for model in ["llava1.5_13b", "qwen_vl"]:
        work = tempfile.mkdtemp()
        shutil.copytree(os.path.join(data_dir, "example_outputs", model), os.path.join(work, model))
        cwd = os.getcwd()
        os.chdir(os.path.join(mmmu_dir, "mmmu"))
        try:
            # a fresh interpreter, as `python main_parse_and_eval.py --path ... --subject ALL`
            rc = os.system("%s main_parse_and_eval.py --path %s --subject ALL > /dev/null"
                           % (sys.executable, os.path.join(work, model)))
            assert rc == 0, rc
        finally:
            os.chdir(cwd)
        questions = {}
        results = {}
        for cat in CAT_SHORT2LONG.values():
            folder = os.path.join(work, model, cat)
            for s in json.load(open(os.path.join(folder, "parsed_output.json"))):
                p = s["parsed_pred"]
                if isinstance(p, list):
                    p = {"strings": sorted(x for x in p if isinstance(x, str)),
                         "numbers": sorted(jfloat(x) for x in p if not isinstance(x, str))}
                questions[s["id"]] = {"parsed": p, "correct": s["judge"] == "Correct"}
            results[cat] = json.load(open(os.path.join(folder, "result.json")))
        # print_results.py's table, categories in the official (CAT_SHORT2LONG) order
        table = {}
        for domain, cats in DOMAIN_CAT2SUB_CAT.items():
            in_domain = {c: results[c] for c in cats if c in results}
            acc = calculate_ins_level_acc(in_domain)
            table["Overall-" + domain] = {"num": sum(r["num_example"] for r in in_domain.values()),
                                          "acc": acc, "rounded": round(acc, 3)}
            for c, r in in_domain.items():
                table[c] = {"num": r["num_example"], "acc": r["acc"], "rounded": round(r["acc"], 3)}
        acc = calculate_ins_level_acc({c: results[c] for c in CAT_SHORT2LONG.values()})
        table["Overall"] = {"num": sum(r["num_example"] for r in results.values()), "acc": acc,
                            "rounded": round(acc, 3)}
        # main_eval_only.py on total_val_output.json: its printed dict
        captured = []
        real_print = builtins.print
        builtins.print = lambda *a, **k: captured.append(a)
        argv = sys.argv
        sys.argv = ["main_eval_only.py", "--output_path",
                    os.path.join(data_dir, "example_outputs", model, "total_val_output.json"),
                    "--answer_path", os.path.join(data_dir, "answer_dict_val.json")]
        try:
            runpy.run_path(os.path.join(mmmu_dir, "mmmu", "main_eval_only.py"), run_name="__main__")
        finally:
            builtins.print = real_print
            sys.argv = argv
        eval_only = captured[-1][0]
        dump(out, "mmmu_expected_%s.json" % model,
             {"table": table, "eval_only_table": eval_only, "questions": questions}, compact=True)
        shutil.rmtree(work)


# ----------------------------------------------------------------------------- ANLS (RRC)


def anls_cases(rrc_path):
    rrc = load_module("infographicsvqa_eval", rrc_path)
    cases = [
        ["Paris", ["paris"]], ["  PARIS  ", ["Paris"]], ["the  big\tdog", ["The big dog"]],
        ["abc", ["abd"]], ["abcd", ["abxy"]], ["ab", ["abcd"]], ["abcdef", ["abc"]],
        ["1,000", ["1000"]], ["", [""]], ["", ["x"]], ["x", [""]], ["hello", ["hallo", "hello!"]],
        ["straße", ["STRASSE"]], ["ǅ", ["dž"]], ["İstanbul", ["istanbul"]], ["ﬁle", ["file"]],
        ["  a  b  ", ["a b"]], ["abc\u00a0def", ["abc def"]], ["AbCdEfGh", ["abcdefgh", "x"]],
        ["12.5%", ["12.5"]], ["abcdefghij", ["abcdefghxx"]], ["abcdefghij", ["abcdexxxxx"]],
        ["abcdefghij", ["abcdxxxxxx"]], ["a\U0001F600b", ["ab"]], ["résumé", ["resume"]],
        ["New York City", ["new york", "NYC", "New York City, NY"]], ["ΣΑΣ", ["σας"]],
    ]
    answer_types = list(rrc.answer_types)
    evidence = list(rrc.evidence_types)
    reasoning = list(rrc.reasoning_requirements)
    gt = {"dataset_name": "cases", "data": []}
    subm = []
    for i, (pred, answers) in enumerate(cases):
        gt["data"].append({
            "questionId": i + 1, "question": "q%d" % i, "answers": answers,
            "answer_type": [answer_types[i % len(answer_types)]] + (
                [answer_types[(i + 1) % len(answer_types)]] if i % 3 == 0 else []),
            "evidence": [evidence[i % len(evidence)]],
            "operation/reasoning": [reasoning[i % len(reasoning)]],
        })
        subm.append({"questionId": i + 1, "answer": pred})
    d = tempfile.mkdtemp()
    json.dump(gt, open(os.path.join(d, "gt.json"), "w"))
    json.dump(subm, open(os.path.join(d, "subm.json"), "w"))
    args = argparse.Namespace(anls_threshold=0.5, answer_types=True)
    res = rrc.evaluate_method(os.path.join(d, "gt.json"), os.path.join(d, "subm.json"), args)
    shutil.rmtree(d)
    per_question = []
    for q in gt["data"]:
        s = res["per_sample_result"][str(q["questionId"])]
        per_question.append({"prediction": s["det"], "answers": s["gt"],
                             "answer_type": q["answer_type"], "score": s["score"]})
    by_type = {t: res["scores_by_types"]["answer_types"][ref] for t, ref in rrc.answer_types.items()}
    return {"questions": per_question, "overall": res["result"]["score"],
            "by_answer_type": by_type}


# ----------------------------------------------------------------------------- VQA


def vqa_cases(vqa_dir):
    path = os.path.join(vqa_dir, "PythonEvaluationTools", "vqaEvaluation", "vqaEval.py")
    vqa_eval = load_module(
        "vqaEval", path,
        lambda s: s.replace('print "computing accuracy"', 'print("computing accuracy")')
                   .replace('print "Done computing accuracy"', 'print("Done computing accuracy")'))

    class QA:
        def __init__(self, qa):
            self.qa = qa

        def getQuesIds(self):
            return list(self.qa)

    cases = [
        ["yes", ["yes"] * 10], ["no", ["yes"] * 10],
        ["yes", ["yes"] * 3 + ["no"] * 7], ["yes", ["yes"] * 2 + ["no"] * 8],
        ["yes", ["yes"] * 1 + ["no"] * 9], ["yes", ["yes"] * 4 + ["no"] * 6],
        ["two", ["2"] * 5 + ["two"] * 5], ["Two", ["2"] * 10], ["2", ["two"] * 10],
        ["the cat", ["cat"] * 9 + ["a cat"]], ["The Cat.", ["cat"] * 4 + ["dog"] * 6],
        ["dont", ["don't"] * 6 + ["do not"] * 4], ["don't", ["dont"] * 6 + ["no"] * 4],
        ["3.5", ["3.5"] * 6 + ["3"] * 4], ["1,000", ["1000"] * 5 + ["1,000"] * 5],
        ["hello-world", ["hello world"] * 5 + ["x"] * 5], ["hello - world", ["hello world"] * 5 + ["x"] * 5],
        ["a.b.c", ["abc"] * 5 + ["x"] * 5], ["end.", ["end"] * 5 + ["x"] * 5],
        ["yes\n", ["yes"] * 10], ["\tyes ", ["yes"] * 5 + ["no"] * 5],
        ["Yes", ["yes"] * 10], ["none", ["0"] * 5 + ["zero"] * 5],
        ["coca-cola", ["coca cola"] * 4 + ["coca-cola"] * 6], ["(a)", ["a"] * 5 + ["b"] * 5],
        ["1,2 and 3-4", ["12 and 34"] * 5 + ["x"] * 5], ["..." + "." * 40 + "x", ["x"] * 5 + ["y"] * 5],
        ["." * 40 + "x", ["." * 8 + "x"] * 5 + ["y"] * 5], ["Im here", ["I'm here"] * 5 + ["x"] * 5],
        ["im here", ["i'm here"] * 5 + ["x"] * 5], ["theyre", ["they're"] * 5 + ["x"] * 5],
        ["\u00a0yes\u00a0", ["yes"] * 5 + ["no"] * 5], ["5\u00a0people", ["5 people"] * 5 + ["x"] * 5],
        ["a", ["a"] * 5 + ["the"] * 5], ["", [""] * 5 + ["x"] * 5], ["", [""] * 10],
        ["what's up?", ["whats up"] * 5 + ["x"] * 5], ["x", ["x", "y", "z"]],
        ["\u0663.5", ["\u06635"] * 5 + ["x"] * 5], ["yes", ["Yes"] * 10],
        ["@home #1", ["home #1"] * 5 + ["x"] * 5], ["<b>bold</b>", ["b bold /b"] * 5 + ["x"] * 5],
    ]
    gts = {}
    res = {}
    for i, (pred, answers) in enumerate(cases):
        gts[i] = {"answers": [{"answer": a, "answer_id": j + 1, "answer_confidence": "yes"}
                              for j, a in enumerate(answers)],
                  "question_type": "qt%d" % (i % 3), "answer_type": "at%d" % (i % 2)}
        res[i] = {"answer": pred}
    ev = vqa_eval.VQAEval(QA(gts), QA(res), n=2)
    raw = {}
    ev.setEvalQA = lambda q, acc: raw.__setitem__(q, acc)
    sums = {}

    def set_accuracy(accQA, accQuesType, accAnsType):
        sums["overall"] = 100 * float(sum(accQA)) / len(accQA)
        sums["qt"] = {t: 100 * float(sum(v)) / len(v) for t, v in accQuesType.items()}

    ev.setAccuracy = set_accuracy
    ev.updateProgress = lambda p: None
    sys.stdout, real = io.StringIO(), sys.stdout
    try:
        ev.evaluate()
    finally:
        sys.stdout = real
    ev2 = vqa_eval.VQAEval(QA({}), QA({}))
    punct = ["a;b", "a ;b", "1,000 yes", "a,b", "x-y z-", "(x)", "a.b", "3.5", "end.", "a/b/c",
             "x" + "." * 40, "don't!", "\u0661,\u0662", "he said \"hi\""]
    digit_article = ["The Two dogs", "an apple and a pear", "none of them", "DONT WONT", "Im Ive",
                     "  ten   eleven ", "yall'd've", "Ten", "\u00a0three\u2003four"]
    return {
        "questions": [{"prediction": p, "answers": a, "question_type": gts[i]["question_type"],
                       "accuracy": raw[i]} for i, (p, a) in enumerate(cases)],
        "overall": sums["overall"], "by_question_type": sums["qt"],
        "process_punctuation": [[s, ev2.processPunctuation(s)] for s in punct],
        "process_digit_article": [[s, ev2.processDigitArticle(s)] for s in digit_article],
    }


# ----------------------------------------------------------------------------- MMStar


def mmstar_cases(mmstar_dir):
    import pandas as pd

    dumped = {}
    smp = stub("vlmeval.smp")
    stub("vlmeval")
    smp.__dict__.update({
        "load": lambda f: FRAMES[f], "dump": lambda d, p: dumped.__setitem__("score", d),
        "get_logger": lambda n: type("L", (), {"info": lambda self, *a: None})(),
        "tqdm": lambda it: it,
    })
    mod = load_module("mmstar_eval", os.path.join(mmstar_dir, "eval", "vlmeval", "evaluate", "mmstar.py"),
                      lambda s: s.replace("from vlmeval.smp import *",
                                          "from vlmeval.smp import load, dump, get_logger, tqdm"))
    l2s = [(c, l2) for c, v in {
        "coarse perception": ["image scene and topic", "image style & quality", "image emotion"],
        "fine-grained perception": ["object counting", "recognition", "localization"],
        "instance reasoning": ["single-instance reasoning", "cross-instance attribute reasoning",
                               "cross-instance relation reasoning"],
        "logical reasoning": ["code & sequence reasoning", "diagram reasoning", "common reasoning"],
        "science & technology": ["biology & chemistry & physics",
                                 "electronics & energy & mechanical eng.",
                                 "geography & earth science & agriculture"],
        "math": ["geometry", "numeric commonsense and calculation", "statistical reasoning"],
    }.items() for l2 in v]
    FRAMES = {}
    predictions = ["A", "a", " B ", "(C)", "(c) text", "Option D", "option d", "option ",
                   "The answer is A", "the answer is b.", "The answer is", "", "\nA", "A\nB",
                   "B) no", "answer: A", "Answer is A", "(", "AB", "option  A", "the answer is  A",
                   "nan", "\u00a0A", "ÀB", "İ", "Bold", "a"]
    answers = ["A", "A", "B", "C", "C", "D", "D", "A", "A", "B", "A", "A", "A", "B", "B", "A", "A",
               "A", "B", "A", "A", "N", "A", "A", "I", "B", " a\n"]
    per_case = []
    for pred, ans in zip(predictions, answers):
        rows = [{"prediction": pred, "answer": ans, "bench": "x", "category": l2s[0][0],
                 "l2_category": l2s[0][1]}]
        rows += [{"prediction": "zzz", "answer": "A", "bench": "x", "category": c, "l2_category": l2}
                 for c, l2 in l2s[1:]]
        FRAMES["f.xlsx"] = pd.DataFrame(rows)
        mod.MMStar_eval("f.xlsx")
        per_case.append([pred, ans, dumped["score"]["%s(%s)" % l2s[0]] == 1.0])
    rng = pyrandom.Random(7)
    rows = []
    for i in range(180):
        c, l2 = l2s[i % 18]
        ans = rng.choice("ABCD")
        pred = rng.choice([ans, "ABCD"[rng.randrange(4)], "(" + ans + ") x", "Option " + ans, "no idea"])
        rows.append({"prediction": pred, "answer": ans, "bench": "x", "category": c, "l2_category": l2})
    FRAMES["g.xlsx"] = pd.DataFrame(rows)
    mod.MMStar_eval("g.xlsx")
    return {"cases": per_case, "dataset": [[r["prediction"], r["answer"], r["category"],
                                            r["l2_category"]] for r in rows],
            "scores": dumped["score"]}


# ----------------------------------------------------------------------------- MathVista


class NoGpt:
    SENTINEL = "<GPT-4 extraction>"

    def get_response(self, user_prompt):
        return self.SENTINEL


def mathvista_setup(mathvista_dir):
    stub("openai", AzureOpenAI=object, OpenAI=object)
    stub("models")
    stub("models.gpt", GPT_Model=object)
    stub("cv2")
    stub("PIL", Image=stub("PIL.Image"))
    stub("word2number", w2n=None)
    stub("datasets", load_dataset=lambda *a, **k: [])
    sys.path.insert(0, mathvista_dir)
    import evaluation.extract_answer as extract
    import evaluation.calculate_score as score
    return extract, score


def mathvista_cases(extract, score):
    ext = [
        ["", "free_form", "integer", None], ["14", "free_form", "integer", None],
        [" 14\n", "free_form", "integer", None], ["+007", "free_form", "integer", None],
        ["1_000", "free_form", "integer", None], ["14.0", "free_form", "integer", None],
        ["\u0661\u0664", "free_form", "integer", None], ["1.50", "free_form", "float", None],
        ["1e-5", "free_form", "float", None], ["1e16", "free_form", "float", None],
        [".5", "free_form", "float", None], ["nan", "free_form", "float", None],
        ["3", "free_form", "float", None], ["B", "multi_choice", "text", ["A", "B"]],
        ["4", "multi_choice", "text", ["3", "4", "5"]], ["4 ", "multi_choice", "text", ["3", "4"]],
        ['The answer is "7".', "free_form", "integer", None],
        ['The answer is "7". The answer is "8".', "free_form", "integer", None],
        ['The answer is "a\nb".', "free_form", "integer", None],
        ["The answer is 7.", "free_form", "integer", None], ["seven", "free_form", "integer", None],
        ["1,000", "free_form", "integer", None], ["[1, 2]", "free_form", "list", None],
    ]
    ext_out = []
    for r, qt, at, ch in ext:
        problem = {"question_type": qt, "answer_type": at, "choices": ch, "query": "", "pid": "1"}
        ext_out.append([r, qt, at, ch, extract.extract_answer(NoGpt(), r, problem, True),
                        extract.extract_answer(NoGpt(), r, problem, False)])
    norm = [
        ["B", ["3", "4", "5"], "multi_choice", "text", None], ["(b) 4", ["3", "4"], "multi_choice", "text", None],
        [" C ", ["3", "4", "5"], "multi_choice", "text", None], ["D", ["3", "4", "5"], "multi_choice", "text", None],
        ["b", ["3", "4"], "multi_choice", "text", None], ["41", ["3", "40", "45"], "multi_choice", "text", None],
        ["", ["apple", "kiwi", "fig"], "multi_choice", "text", None],
        ["grape", ["apple", "kiwi", "fig", "pear"], "multi_choice", "text", None],
        ["(A) (B)", ["x", "y"], "multi_choice", "text", None], ["(z)", ["x", "y"], "multi_choice", "text", None],
        ["14", None, "free_form", "integer", None], ["14.9", None, "free_form", "integer", None],
        ["-0.5", None, "free_form", "integer", None], ["1e20", None, "free_form", "integer", None],
        ["inf", None, "free_form", "integer", None], ["nan", None, "free_form", "integer", None],
        ["abc", None, "free_form", "integer", None], ["1,000", None, "free_form", "integer", None],
        ["2.675", None, "free_form", "float", 2], ["2.5", None, "free_form", "float", 0],
        ["3.14159", None, "free_form", "float", 1.0], ["0.1", None, "free_form", "float", 3],
        ["1234.5", None, "free_form", "float", -2], ["1e16", None, "free_form", "float", 1],
        ["1.5", None, "free_form", "float", None], ["x", None, "free_form", "float", 1],
        ["-0.04", None, "free_form", "float", 1], ["[1, 2]", None, "free_form", "list", None],
        ["1.25", None, "free_form", "float", 1.9],
    ]
    norm_out = [[e, ch, qt, at, p, score.normalize_extracted_answer(e, ch, qt, at, p)]
                for e, ch, qt, at, p in norm]
    norm_out.append(["  ", ["a", "bb"], "multi_choice", "text", None,
                     score.normalize_extracted_answer("  ", ["a", "bb"], "multi_choice", "text", None,
                                                      ignore_empty_extractions=True), True])
    return {"extract": ext_out, "normalize": norm_out,
            "demo": [["The number missing in the sequence is 14.", "free_form", "integer", None, "14"],
                     ["The fraction of females facing the camera is 0.6, which means that six out of ten "
                      "females in the group are facing the camera.", "free_form", "float", None, "0.6"],
                     ["Luca needs $1.45 to buy a sour apple candy and a butterscotch candy.",
                      "free_form", "float", None, "1.45"],
                     ["The line graph saw its maximum peak between 2007 and 2008.", "free_form", "list",
                      None, "[2007, 2008]"],
                     ["The correct answer is (B) 8/11.", "multi_choice", "text",
                      ["3/11", "8/11", "6/11", "3/5"], "B"]]}


def mathvista_results(mathvista_dir, extract, score, out):
    """Official extraction rules and calculate_score.py main() on published model outputs."""
    keep_meta = ["language", "source", "category", "task", "context", "grade", "skills"]
    for name, path in [("idefics_9b_instruct", "results/idefics/output_idefics_9b_instruct.json"),
                       ("llava_llama_2_13b", "results/llava/output_llava_llama_2_13b.json")]:
        data = json.load(open(os.path.join(mathvista_dir, path)))
        problems = {}
        for pid, p in data.items():
            rule = extract.extract_answer(NoGpt(), p["response"], p, quick_extract=True)
            problems[pid] = {
                "pid": pid, "question_type": p["question_type"], "answer_type": p["answer_type"],
                "choices": p["choices"], "precision": p["precision"], "answer": p["answer"],
                "metadata": {k: p["metadata"][k] for k in keep_meta},
                "response": p["response"], "gpt4_extraction": p["extraction"],
                "official_rule_extraction": None if rule == NoGpt.SENTINEL else rule,
            }
        d = tempfile.mkdtemp()
        run = {pid: {"choices": p["choices"], "question_type": p["question_type"],
                     "answer_type": p["answer_type"], "precision": p["precision"],
                     "extraction": p["gpt4_extraction"], "answer": p["answer"],
                     "metadata": p["metadata"]} for pid, p in problems.items()}
        json.dump(run, open(os.path.join(d, "out.json"), "w"))
        argv = sys.argv
        sys.argv = ["calculate_score.py", "--output_dir", d, "--output_file", "out.json",
                    "--score_file", "scores.json", "--rerun"]
        try:
            score.main()
        finally:
            sys.argv = argv
        scored = json.load(open(os.path.join(d, "out.json")))
        for pid, p in problems.items():
            p["prediction"] = scored[pid]["prediction"]
            p["true_false"] = scored[pid]["true_false"]
        scores = json.load(open(os.path.join(d, "scores.json")))
        shutil.rmtree(d)
        dump(out, "mathvista_%s.json" % name, {"problems": problems, "scores": scores}, compact=True)


# ----------------------------------------------------------------------------- TextVQA (mmf)


def textvqa_cases(mmf_path):
    """facebookresearch/mmf mmf/utils/m4c_evaluators.py (b0ffc7f; unchanged since 2dc099a):
    EvalAIAnswerProcessor and TextVQAAccuracyEvaluator, the TextVQA authors' evaluator, run as is."""
    m4c = load_module("m4c_evaluators", mmf_path)
    ten = lambda *groups: [a for n, a in groups for _ in range(n)]
    cases = [
        ["two", ten((10, "2"))], ["2", ten((10, "two"))], ["Two", ten((5, "2"), (5, "two"))],
        ["none", ten((10, "0"))], ["ten", ten((10, "10"))],
        ["the cat", ten((10, "cat"))], ["a cat", ten((9, "cat"), (1, "the cat"))],
        ["an apple", ten((10, "apple"))], ["The Cat.", ten((4, "cat"), (6, "dog"))],
        ["Nokia.", ten((10, "nokia"))], ["NOKIA", ten((10, "Nokia"))],
        ["coca-cola", ten((10, "coca cola"))], ["coca - cola", ten((10, "coca cola"))],
        ["stop!", ten((10, "stop"))], ["stop !", ten((10, "stop"))], ["{x}", ten((10, "x"))],
        ["{ x }", ten((7, "x"), (3, "y"))], ["3.5", ten((6, "3.5"), (4, "35"))],
        ["3.5.", ten((10, "3.5"))], ["a.b.c", ten((10, "abc"))], ["end.", ten((5, "end"), (5, "x"))],
        ["dont", ten((10, "don't"))], ["don't", ten((10, "dont"))], ["Im here", ten((10, "I'm here"))],
        ["im here", ten((10, "i'm here"))], ["theyre", ten((10, "they're"))],
        ["john's", ten((10, "johns"))], ["john's", ten((10, "john 's"))],
        ["JOHN'S BAR", ten((10, "john's bar"))], ["yes\n", ten((10, "yes"))],
        ["\tyes ", ten((5, "yes"), (5, "no"))], ["new\nyork", ten((10, "new york"))],
        ["new\tyork", ten((10, "new york"))], ["  yes  ", ten((10, "yes"))],
        ["1,000", ten((10, "1000"))], ["1,000", ten((10, "1,000"))],
        ["1, 2", ten((10, "12"))], ["red,blue", ten((10, "redblue"))],
        ["what?", ten((10, "what"))], ["why ?", ten((10, "why"))],
        ["yes", ten((3, "yes"), (7, "no"))], ["yes", ten((2, "yes"), (8, "no"))],
        ["yes", ten((1, "yes"), (9, "no"))], ["yes", ten((4, "yes"), (6, "no"))],
        ["no", ten((10, "yes"))], ["", ten((10, ""))], ["", ten((5, ""), (5, "x"))],
        ["x", ten((1, "x"), (1, "y"), (1, "z"), (1, "w"), (6, "v"))],
        ["(a)", ten((5, "a"), (5, "b"))], ["@home #1", ten((10, "home #1"))],
        ["<b>bold</b>", ten((10, "b bold /b"))], ["hello/world", ten((10, "hello world"))],
        ["\u00a0yes\u00a0", ten((10, "yes"))], ["5\u00a0people", ten((10, "5 people"))],
        ["." * 40 + "x", ten((10, "x"))], ["\u0663.5", ten((10, "\u06635"))],
        ["it's", ten((10, "it 's"))], ["the", ten((10, "a"))],
    ]
    ev = m4c.TextVQAAccuracyEvaluator()
    questions = []
    for pred, answers in cases:
        entry = {"pred_answer": pred, "gt_answers": answers}
        questions.append({"prediction": pred, "answers": answers,
                          "processed_prediction": ev.answer_processor(pred),
                          "processed_answers": [ev.answer_processor(a) for a in answers],
                          "accuracy": ev.eval_pred_list([entry])})
    overall = ev.eval_pred_list([{"pred_answer": p, "gt_answers": a} for p, a in cases])
    processor = ["The Two dogs", "an apple and a pear", "none of them", "DONT WONT", "Im Ive",
                 "  ten   eleven ", "yall'd've", "a;b", "a ;b", "1,000 yes", "x-y z-", "(x)",
                 "a/b/c", "x" + "." * 40, "don't!", "he said \"hi\"", "\u0661,\u0662",
                 "it's Bob's", "'s", "what's up?", "[1]=2+3", "a\\b_c", "`q` <r>", "İstanbul",
                 "1.5.2", "1..2", "3 . 5"]
    return {"questions": questions, "accuracy": overall,
            "answer_processor": [[s, ev.answer_processor(s)] for s in processor]}


# ----------------------------------------------------------------------------- ChartQA (lmms-eval)


def chartqa_cases(utils_path):
    """EvolvingLMMs-Lab/lmms-eval lmms_eval/tasks/chartqa/utils.py (75571cf; unchanged since 1d3f34a,
    2024): relaxed_correctness and chartqa_process_results, run as is (the file imports nothing);
    the dataset's responses stripped first as lmms_eval/api/task.py does; the split means as
    lmms-eval's `mean` aggregation, sum(arr) / len(arr)."""
    u = load_module("chartqa_utils", utils_path)
    pairs = [
        ["12", "12"], ["12.5", "12"], ["12.6", "12"], ["12.61", "12"], ["11.4", "12"],
        ["11.39", "12"], ["105", "100"], ["105.0000001", "100"], ["95", "100"], ["94.99", "100"],
        ["-10", "-10"], ["-10.4", "-10"], ["10", "-10"], ["-0.5", "-0.5"], ["0", "0"], ["0.0", "0"],
        ["0.01", "0"], ["zero", "0"], ["0", "0.0"], ["50%", "0.5"], ["0.5", "50%"], ["50%", "50%"],
        ["50", "50%"], ["51%", "50%"], ["50%%", "0.5"], ["%", "%"], ["50 %", "50%"],
        ["1,000", "1000"], ["1000", "1,000"], ["1,000", "1,000"], ["1 000", "1000"],
        ["$5", "5"], ["5$", "$5"], ["5 million", "5"], ["5 million", "5 Million"],
        ["12 ", "12"], [" 12", "12"], ["12\n", "12"], ["Yes", "yes"], ["YES", "Yes"],
        ["yes ", "Yes"], ["No", "yes"], ["United States", "united states"],
        ["  blue", "blue"], ["1e2", "100"], ["1E2", "100"], ["1_000", "1000"], ["1__0", "10"],
        ["inf", "5"], ["inf", "inf"], ["nan", "nan"], ["NaN", "nan"], ["5", "nan"],
        ["+5", "5"], [".5", "0.5"], ["5.", "5"], ["0x10", "16"], ["\u0665", "5"],
        ["\u00a05\u00a0", "5"], ["", ""], ["", "0"], ["5", ""], ["2019", "2018"],
        ["2018", "2019"], ["1.05", "1"], ["1.0500000000000003", "1"], ["0.95", "1"],
        ["0.9499999", "1"], ["\u0130", "i\u0307"], ["STRASSE", "stra\u00dfe"],
        ["\u03a3\u0391\u03a3", "\u03c3\u03b1\u03c2"], ["1e400", "1e400"], ["1e-400", "0"],
    ]
    pairs = [[p.encode().decode("unicode_escape") if "\\" in p else p for p in pair]
             for pair in pairs]
    cases = [[p, t, u.relaxed_correctness(p, t)] for p, t in pairs]
    dataset = [[p, t, "human_test" if i % 3 else "augmented_test"]
               for i, (p, t) in enumerate(pairs)]
    # lmms-eval's ConfigurableTask.process_results (lmms_eval/api/task.py, since 309242c) strips each
    # generated text before the task's process_results: the same here
    results = [u.chartqa_process_results({"type": ty, "answer": t}, [p.strip()])
               for p, t, ty in dataset]
    splits = {}
    for r in results:
        for k, v in r.items():
            splits.setdefault(k, []).append(v)
    means = {k: sum(v) / len(v) for k, v in splits.items()}
    return {"cases": cases, "dataset": dataset, "scores": [r for r in results], "means": means}


# ----------------------------------------------------------------------------- AI2D (lmms-eval)


def ai2d_cases(lmms_eval_dir):
    """EvolvingLMMs-Lab/lmms-eval (75571cf) as its ai2d task scores: lmms_eval/tasks/ai2d/utils.py
    ai2d_doc_to_text (default kwargs of ai2d.yaml), ai2d_doc_to_target ("mcq") and the
    MultiChoiceRegexFilter (its base class stubbed: its apply uses none of it), then the harness's
    strip (lmms_eval/api/task.py process_results) and lmms_eval/api/metrics.py
    exact_match_hf_evaluate (ignore_case, ignore_punctuation), the function's own source run with
    numpy."""
    import ast
    import re
    import string
    import numpy as np

    class ExtendedRegexFilter:
        def __init__(self, *args, **kwargs):
            pass
    stub("lmms_eval"), stub("lmms_eval.filters")
    stub("lmms_eval.filters.extraction", ExtendedRegexFilter=ExtendedRegexFilter)
    u = load_module("ai2d_utils", os.path.join(lmms_eval_dir, "lmms_eval/tasks/ai2d/utils.py"))
    metrics_path = os.path.join(lmms_eval_dir, "lmms_eval/api/metrics.py")
    tree = ast.parse(open(metrics_path, encoding="utf-8").read())
    fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "exact_match_hf_evaluate"]
    scope = {"np": np, "re": re, "string": string}
    exec(compile(ast.Module(body=fn, type_ignores=[]), metrics_path, "exec"), scope)
    exact_match = scope["exact_match_hf_evaluate"]
    kwargs = {"prompt_format": "mcq", "pre_prompt": "",
              "post_prompt": "\nAnswer with the option's letter from the given choices directly."}
    filt = u.MultiChoiceRegexFilter()

    def score(response, doc):
        filtered = filt.apply([[response]], [doc])[0]
        result = [filtered.strip()]
        gold = u.ai2d_doc_to_target(doc, "mcq")
        return filtered, gold, float(exact_match(predictions=result, references=[gold],
                                                 ignore_case=True, ignore_punctuation=True)["exact_match"])

    four = ["sun", "moon", "earth", "mars"]
    responses = [
        ["A", "0"], ["B", "1"], ["A", "1"], ["a", "0"], ["A.", "0"], ["A. sun", "0"],
        [" B. moon", "1"], ["\nC.", "2"], ["C", "3"], ["(A)", "0"], ["(a)", "0"], ["A)", "0"],
        ["A) sun", "0"], ["A: sun", "0"], ["Answer: A", "0"], ["The answer is A", "0"],
        ["A.B", "0"], ["B.A", "0"], ["AB", "0"], ["A ", "0"], [" A", "0"], ["A\n", "0"],
        ["'A'", "0"], ["\"A\"", "0"], ["A!", "0"], ["A,", "0"], ["[A]", "0"], ["*A*", "0"],
        ["D", "3"], ["d.", "3"], ["sun", "0"], ["A\u3002", "0"], ["\uff21", "0"], ["", "0"],
        [".", "0"], ["E", "3"], ["\u00a0A", "0"], ["\u00a0A.", "0"], ["A\u2019", "0"],
        ["A\u0000", "0"], ["\u0130", "0"], ["A-", "0"], ["-A", "0"], ["A .", "0"],
    ]
    cases = []
    for response, answer in responses:
        response = response.encode().decode("unicode_escape") if "\\" in response else response
        doc = {"question": "Which is shown?", "options": four, "answer": answer}
        filtered, gold, s = score(response, doc)
        cases.append([response, answer, filtered, gold, s])
    prompts = []
    for question, options in [["Which is shown?", four], ["What eats grass?", ["deer", "wolf"]],
                              ["Label E?", ["a", "b", "c", "d", "e", "f"]]]:
        prompts.append([question, options, u.ai2d_doc_to_text({"question": question,
                                                               "options": options}, kwargs)])
    scores = [c[4] for c in cases]
    return {"cases": cases, "prompts": prompts, "accuracy": sum(scores) / len(scores)}


# ----------------------------------------------------------------------------- OCRBench (lmms-eval)


def ocrbench_cases(utils_path):
    """EvolvingLMMs-Lab/lmms-eval lmms_eval/tasks/ocrbench/utils.py (75571cf): ocrbench_doc_to_text
    (ocrbench.yaml's default kwargs), ocrbench_process_results and ocrbench_aggregate_accuracy, run
    as is with loguru's logger and generate_submission_file stubbed (the aggregate's report is
    written to a temporary file, read back here); each response stripped first as
    lmms_eval/api/task.py does."""
    import logging
    report_dir = tempfile.mkdtemp()
    stub("loguru", logger=logging.getLogger("ocrbench"))
    stub("lmms_eval"), stub("lmms_eval.tasks"), stub("lmms_eval.tasks._task_utils")
    stub("lmms_eval.tasks._task_utils.file_utils",
         generate_submission_file=lambda name, args, subpath=None: os.path.join(report_dir, name))
    u = load_module("ocrbench_utils", utils_path)
    categories = list(u.OCRBench_score)
    # [response, answers, dataset]
    raw = [
        ["Hello", ["hello"], "IIIT5K"], ["HELLO world", ["hello"], "IIIT5K"],
        ["hell", ["hello"], "IIIT5K"], ["  hello  ", [" hello "], "IIIT5K"],
        ["The word is \"STOP\".", ["stop"], "SVT"], ["stop", ["STOP", "halt"], "SVT"],
        ["halt", ["STOP", "halt"], "SVT"], ["go", ["STOP", "halt"], "SVT"],
        ["line one\nline two", ["one line"], "FUNSD"], ["line one\nline two", ["one\nline"], "FUNSD"],
        ["ab\ncd", ["b c"], "FUNSD"], ["\uff21\uff22\uff23", ["abc"], "ReCTS"],
        ["abc", ["\uff41\uff42\uff43"], "ReCTS"], ["a\u3000b", ["a b"], "ReCTS"],
        ["STRASSE", ["stra\u00dfe"], "IIIT5K"], ["stra\u00dfe", ["STRASSE"], "IIIT5K"],
        ["\u0130stanbul", ["istanbul"], "IIIT5K"], ["x", [""], "IIIT5K"], ["", ["a"], "IIIT5K"],
        ["", [""], "IIIT5K"], ["12 345", ["12345"], "IIIT5K"], ["\u00a0road\u00a0", ["road"], "SVT"],
        ["x^{2}+1", ["x^{2}+1"], "HME100k"], ["x ^ { 2 } + 1", ["x^{2}+1"], "HME100k"],
        ["x^{2}+1", ["x ^ { 2 } + 1"], "HME100k"], ["X^{2}+1", ["x^{2}+1"], "HME100k"],
        ["\\frac{a}{b}\n= c", ["\\frac {a} {b} = c"], "HME100k"],
        ["x\t^2", ["x^2"], "HME100k"], ["x\u3000^2", ["x^2"], "HME100k"],
        ["\uff58^2", ["x^2"], "HME100k"], ["y = x^2 + 1", ["x^2+1", "x^{2}+1"], "HME100k"],
        ["x^2", ["X^2"], "hme100k"], ["X^2", ["x^2"], "hme100k"], ["", [""], "HME100k"],
        ["a\u00a0b", ["ab"], "HME100k"], ["total: $12.50", ["12.50"], "SROIE"],
        ["TOTAL: $12.50", ["$12.50", "12.5"], "SROIE"], ["12,50", ["12.50"], "SROIE"],
        ["Answer: yes\n", ["Yes"], "DocVQA"], ["no", ["yes"], "DocVQA"],
    ]
    dataset = [[r, answers, d, categories[i % len(categories)]] for i, (r, answers, d) in enumerate(raw)]
    results = [u.ocrbench_process_results({"answer": a, "dataset": d, "question_type": q}, [r.strip()])
               for r, a, d, q in dataset]
    scores = [res["ocrbench_accuracy"]["score"] for res in results]
    accuracy = u.ocrbench_aggregate_accuracy([res["ocrbench_accuracy"] for res in results], None)
    report = open(os.path.join(report_dir, "ocrbench_results.txt"), encoding="utf-8").read()
    shutil.rmtree(report_dir)
    prompts = [[q, u.ocrbench_doc_to_text({"question": q}, {"pre_prompt": "", "post_prompt": ""})]
               for q in ["what is written in the image?", "  What is the total?\n", "Q"]]
    return {"dataset": dataset, "scores": scores, "by_category": dict(u.OCRBench_score),
            "accuracy": accuracy, "report": report, "prompts": prompts}


# ----------------------------------------------------------------------------- ScienceQA-IMG (lmms-eval)


def scienceqa_img_cases(lmms_eval_dir):
    """EvolvingLMMs-Lab/lmms-eval (75571cf) as its scienceqa_img task scores: lmms_eval/tasks/
    scienceqa/utils.py (it imports nothing; since 8ada805) sqa_doc_to_target and
    sqa_process_results, each response stripped first as lmms_eval/api/task.py process_results
    does; the mean as lmms-eval's `mean` aggregation; sqa_doc_to_text with scienceqa_img.yaml's
    default kwargs."""
    u = load_module("scienceqa_utils", os.path.join(lmms_eval_dir, "lmms_eval/tasks/scienceqa/utils.py"))
    kwargs = {"format": "default", "pre_prompt": "",
              "post_prompt": "\nAnswer with the option's letter from the given choices directly."}
    three = ["sun", "moon", "earth"]
    responses = [
        ["A", 0], ["B", 1], ["A", 1], ["a", 0], ["b", 1], ["A.", 0], ["A. sun", 0], ["B. moon", 0],
        [" B. moon", 1], ["\nC.", 2], ["a.", 0], ["a. sun", 0], ["(A)", 0], ["A)", 0], ["A: sun", 0],
        ["Answer: A", 0], ["The answer is A", 0], ["A.B", 0], ["B.A", 0], ["AB", 0], ["A ", 0],
        ["A\n", 0], ["'A'", 0], ["A!", 0], ["A,", 0], ["sun", 0], ["C", -1], ["A", -3],
        ["D", 2], ["D.", 2], ["", 0], [".", 0], ["\u00a0A\u00a0", 0], ["\u3000B", 1],
        ["\uff21", 0], ["\uff21.", 0], ["\u212a", 0], ["K", 0], ["\u00c0.", 0], ["A\u3002", 0],
        ["A .", 0], ["\u0130", 0], ["A\u0000", 0], ["\u1d2c.", 0],
    ]
    cases = []
    for response, answer in responses:
        response = response.encode().decode("unicode_escape") if "\\" in response else response
        choices = three if answer > -3 else ["x", "y", "z"]
        doc = {"question": "Which is shown?", "choices": choices, "answer": answer, "hint": ""}
        target = u.sqa_doc_to_target(doc)
        score = u.sqa_process_results(doc, [response.strip()])["exact_match"]
        cases.append([response, answer, len(choices), target, score])
    prompts = []
    for hint, question, choices in [["", "Which is shown?", three],
                                    ["The diagram shows a food web.", "What eats grass?", ["deer", "wolf"]],
                                    [None, "Label E?", ["a", "b", "c", "d", "e"]],
                                    ["  ", "Which?", ["x"]]]:
        doc = {"hint": hint, "question": question, "choices": choices}
        prompts.append([hint, question, choices, u.sqa_doc_to_text(doc, kwargs)])
    scores = [c[4] for c in cases]
    return {"cases": cases, "prompts": prompts, "accuracy": sum(scores) / len(scores)}


def main():
    ap = argparse.ArgumentParser()
    for a in ["mmmu", "mmmu_data", "vqa", "mmstar", "mathvista", "rrc", "mmf", "chartqa", "lmms_eval", "ocrbench"]:
        ap.add_argument("--" + a)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = args.out
    if args.mmmu:
        dump(out, "python_random.json", python_random_cases())
        dump(out, "python_float.json", python_float_cases())
        dump(out, "mmmu_cases.json", mmmu_cases(args.mmmu))
        mmmu_example_outputs(args.mmmu, args.mmmu_data, out)
    if args.rrc:
        dump(out, "anls_cases.json", anls_cases(args.rrc))
    if args.vqa:
        dump(out, "vqa_cases.json", vqa_cases(args.vqa))
    if args.mmstar:
        dump(out, "mmstar_cases.json", mmstar_cases(args.mmstar))
    if args.mathvista:
        extract, score = mathvista_setup(args.mathvista)
        dump(out, "mathvista_cases.json", mathvista_cases(extract, score))
        mathvista_results(args.mathvista, extract, score, out)
    if args.mmf:
        dump(out, "textvqa_cases.json", textvqa_cases(args.mmf))
    if args.chartqa:
        dump(out, "chartqa_cases.json", chartqa_cases(args.chartqa))
    if args.lmms_eval:
        dump(out, "ai2d_cases.json", ai2d_cases(args.lmms_eval))
        dump(out, "scienceqa_img_cases.json", scienceqa_img_cases(args.lmms_eval))
    if args.ocrbench:
        dump(out, "ocrbench_cases.json", ocrbench_cases(args.ocrbench))


if __name__ == "__main__":
    main()
