"""Runs VLMEvalKit's own SmolVLM prompt code on sample rows and writes the prompts, for the Java tests.

VLMEvalKit (open-compass/VLMEvalKit) is not part of this repository: pass a checkout (or an
extracted snapshot) at commit e8e78f05f3080fe28154f2130321f17951c3be94. What is run from it:

- vlmeval/vlm/smolvlm.py, the whole file, class SmolVLM: `generate_inner` (its dataset dispatch)
  and every `build_prompt_*` it calls. Its imports are stubbed (torch, transformers' load_image,
  vlmeval.smp, the BaseModel base class); `processor(text=..., images=...)` is replaced by a stub
  that records the prompt string and the image list and stops there, so nothing else runs.
- the datasets' message builders, their source cut out of the files by name and executed in class
  bodies of the same names: ImageBaseDataset.build_prompt (image_base.py), ImageVQADataset.build_prompt
  (image_vqa.py), ImageMCQDataset.build_prompt, MMMUDataset.split_MMMU and MMMUDataset.build_prompt
  (image_mcq.py), and vlmeval/smp/misc.py `istype`. VLMEvalKit asks SmolVLM with these messages
  (SmolVLM does not override use_custom_prompt; inference.py calls dataset.build_prompt).

VLMEvalKit reads its own TSV files (MMMU_DEV_VAL.tsv, MMStar.tsv, ...), not the Hugging Face
Parquet the job reads. `tsv_line` below turns a row of the Hugging Face layout into the TSV row
VLMEvalKit's code reads; that mapping is this project's (the TSVs cannot be fetched here) and
SmolVlmPrompts.java makes the same one:
  DocVQA, InfographicVQA, TextVQA, ChartQA, OCRBench: question as is.
  MathVista: question = the dataset's `query` (VLMEvalKit's MathVista judge prompt reads it as
    the full query, hint and choices included).
  MMStar: the Hugging Face question holds the options ("...\nOptions: A: x, B: y, ..."): the TSV
    has the text before "\nOptions: " as question and the options in columns A, B, ...
  AI2D: question, options[i] in column chr(65 + i).  ScienceQA-IMG: question, choices in A, B,
    ..., hint (an empty hint is NaN, as pandas reads an empty TSV field).
  MMMU: question, the `options` list literal's items in A, B, ...; images image_1 ... in order.
Images are given as the names of their columns, so the prompt's image list says which image
stands in each <image>.

  python make_smolvlm_prompts.py --vlmevalkit VLMEvalKit --out .

writes smolvlm_prompts.json. Python 3.11 with pandas (any 2.x or 3.x); nothing else.
"""

import argparse
import ast
import json
import os
import string
import sys
import types

import pandas as pd

COMMIT = "e8e78f05f3080fe28154f2130321f17951c3be94"


def stub(name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def method_source(path, class_name, method_name):
    """The source lines of one method (decorators included), as indented in the file."""
    text = open(path, encoding="utf-8").read()
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == method_name:
                    start = min([item.lineno] + [d.lineno for d in item.decorator_list])
                    return "".join(lines[start - 1 : item.end_lineno])
    raise SystemExit(f"{path}: no {class_name}.{method_name}")


def function_source(path, name):
    text = open(path, encoding="utf-8").read()
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(text, node)
    raise SystemExit(f"{path}: no function {name}")


class Capture(Exception):
    def __init__(self, text, images):
        self.text = text
        self.images = images


class CapturingProcessor:
    def __call__(self, text=None, images=None, return_tensors=None):
        raise Capture(text, list(images))


def load_vlmevalkit(root):
    dataset_dir = os.path.join(root, "vlmeval", "dataset")
    namespace = {"pd": pd, "string": string, "toliststr": None}
    exec(function_source(os.path.join(root, "vlmeval", "smp", "misc.py"), "istype"), namespace)
    classes = [
        ("ImageBaseDataset", "object", "image_base.py", ["build_prompt"]),
        ("ImageVQADataset", "ImageBaseDataset", "image_vqa.py", ["build_prompt"]),
        ("ImageMCQDataset", "ImageBaseDataset", "image_mcq.py", ["build_prompt"]),
        ("MMMUDataset", "ImageMCQDataset", "image_mcq.py", ["split_MMMU", "build_prompt"]),
    ]
    for name, base, file, methods in classes:
        body = "".join(method_source(os.path.join(dataset_dir, file), name, m) for m in methods)
        exec(f"class {name}({base}):\n    meta_only = False\n{body}", namespace)
    # dump_image writes the TSV's base64 images to files and returns their paths; here the
    # image column names stand for them
    namespace["ImageBaseDataset"].dump_image = lambda self, line: list(line["image_path"])

    stub("torch", cuda=types.SimpleNamespace(empty_cache=lambda: None), float32=None)
    stub("PIL")
    stub("PIL.Image", Image=type("Image", (), {}))
    sys.modules["PIL"].Image = sys.modules["PIL.Image"]
    stub("transformers")
    stub("transformers.image_utils", load_image=lambda value: value)
    stub("vlmeval")
    stub("vlmeval.smp", splitlen=lambda s: len(s.split("/")))
    stub("vlmeval.vlm")
    stub("vlmeval.vlm.base", BaseModel=type("BaseModel", (), {}))
    path = os.path.join(root, "vlmeval", "vlm", "smolvlm.py")
    module = types.ModuleType("vlmeval.vlm.smolvlm")
    module.__package__ = "vlmeval.vlm"
    module.__file__ = path
    sys.modules[module.__name__] = module
    exec(compile(open(path, encoding="utf-8").read(), path, "exec"), module.__dict__)
    model = module.SmolVLM.__new__(module.SmolVLM)
    model.processor = CapturingProcessor()
    return namespace, model


# the dataset VLMEvalKit names for each benchmark, and its dataset class
DATASETS = {
    "docvqa": ("DocVQA_VAL", "ImageVQADataset"),
    "infographicvqa": ("InfoVQA_VAL", "ImageVQADataset"),
    "textvqa": ("TextVQA_VAL", "ImageVQADataset"),
    "chartqa": ("ChartQA_TEST", "ImageVQADataset"),
    "ocrbench": ("OCRBench", "ImageBaseDataset"),
    "mathvista": ("MathVista_MINI", "ImageBaseDataset"),
    "mmstar": ("MMStar", "ImageMCQDataset"),
    "ai2d": ("AI2D_TEST", "ImageMCQDataset"),
    "scienceqa_img": ("ScienceQA_TEST", "ImageMCQDataset"),
    "mmmu": ("MMMU_DEV_VAL", "MMMUDataset"),
}


def lettered(line, options):
    for i, option in enumerate(options):
        line[string.ascii_uppercase[i]] = option


def tsv_line(benchmark, row):
    """The TSV row VLMEvalKit would read for a row of the Hugging Face layout."""
    line = {"index": 0}
    if benchmark == "mathvista":
        line["question"] = row["query"]
        line["image_path"] = ["decoded_image"]
    elif benchmark == "mmstar":
        question, options = row["question"].rsplit("\nOptions: ", 1)
        line["question"] = question
        letters = string.ascii_uppercase
        parts = []
        rest = options
        assert rest.startswith("A: ")
        rest = rest[3:]
        for i in range(1, len(letters)):
            cut = rest.find(f", {letters[i]}: ")
            if cut < 0:
                break
            parts.append(rest[:cut])
            rest = rest[cut + len(f", {letters[i]}: ") :]
        parts.append(rest)
        lettered(line, parts)
        line["image_path"] = ["image"]
    elif benchmark == "ai2d":
        line["question"] = row["question"]
        lettered(line, row["options"])
        line["image_path"] = ["image"]
    elif benchmark == "scienceqa_img":
        line["question"] = row["question"]
        line["hint"] = row["hint"] if row["hint"] else float("nan")
        lettered(line, row["choices"])
        line["image_path"] = ["image"]
    elif benchmark == "mmmu":
        line["question"] = row["question"]
        lettered(line, ast.literal_eval(row["options"]))
        line["image_path"] = [f"image_{k}" for k in range(1, 8) if row.get(f"image_{k}")]
    else:
        line["question"] = row["question"]
        line["image_path"] = ["image"]
    return pd.Series(line)


# rows of each benchmark's Hugging Face layout (text columns; an image column is named when the
# row has that image)
ROWS = {
    "docvqa": [
        {"questionId": "q1", "question": "What is the date mentioned in this letter?"},
        {"questionId": "q2", "question": "  Who is the sender of the fax?\n"},
    ],
    "infographicvqa": [
        {"questionId": "i1", "question": "Which social platform has heavy female audience?"},
        {"questionId": "i2", "question": "What percentage of people use Facebook? "},
    ],
    "textvqa": [
        {"question_id": "t1", "question": "what is the brand of this camera?"},
        {"question_id": "t2", "question": " what time is it?  "},
    ],
    "chartqa": [
        {"question": "How many food item is shown in the bar graph?"},
        {"question": "What's the ratio of the two largest segments? "},
    ],
    "ocrbench": [
        {"question": "what is written in the image?"},
        {"question": "What is the title of this book? \n"},
    ],
    "mathvista": [
        {
            "pid": "1",
            "query": "Hint: Please answer the question requiring an integer answer and provide"
            " the final value, e.g., 1, 2, 3, at the end.\nQuestion: What is the age gap"
            " between these two people in image? (Unit: years)",
        },
        {
            "pid": "2",
            "query": "Hint: Please answer the question and provide the correct option letter,"
            " e.g., A, B, C, D, at the end.\nQuestion: Is the number of red cubes less than"
            " the number of balls?\nChoices:\n(A) Yes\n(B) No",
        },
        {
            "pid": "3",
            "query": "Hint: Please answer the question and provide the correct option letter,"
            " e.g., A, B, C, D, at the end.\nQuestion: Which angle is largest?\nChoices:\n"
            "(A) 30\n(B) 45\n(C) 60\n(D) 90\n(E) 120\n(F) 150\n(G) 160\n(H) 170",
        },
        {
            "pid": "4",
            "query": "Hint: Please answer the question requiring a floating-point number with"
            " one decimal place and provide the final value, e.g., 1.2, 1.3, 1.4, at the"
            " end.\nQuestion: Point A. lies left of B. How far apart are they?",
        },
    ],
    "mmstar": [
        {
            "index": 0,
            "question": "Which option describe the object relationship in the image"
            " correctly?\nOptions: A: The suitcase is on the book., B: The suitcase is beneath"
            " the cat., C: The suitcase is beneath the bed., D: The suitcase is beneath the"
            " book.",
        },
        {
            "index": 1,
            "question": "Is the man wearing a hat? Please answer yes or no.\nOptions: A: Yes,"
            " B: No",
        },
    ],
    "ai2d": [
        {
            "question": "which of these define dairy item",
            "options": ["c", "D", "b", "a"],
        },
        {
            "question": "What stage is shown at label E?\nWhich one?",
            "options": ["egg", "larva", "pupa", "adult"],
        },
    ],
    "scienceqa_img": [
        {
            "question": "Which of these states is farthest north?",
            "hint": "",
            "choices": ["West Virginia", "Louisiana", "Arizona", "Oklahoma"],
        },
        {
            "question": "Which animal's feet are also adapted for sticking to smooth surfaces?",
            "hint": "Tree frogs live in tropical rain forests.\nFigure: Madagascar tree frog.",
            "choices": ["Madagascar day gecko", "bearded dragon"],
        },
    ],
    "mmmu": [
        {
            "id": "validation_Accounting_1",
            "question": "<image 1> Baxter Company has a relevant range of production between"
            " 15,000 and 30,000 units. What are the per unit costs?",
            "options": "['$6', '$7', '$8', '$9']",
            "question_type": "multiple-choice",
            "image_1": True,
        },
        {
            "id": "validation_Art_2",
            "question": "Which painting is by the same artist as <image 1>?",
            "options": "['<image 2>', '<image 3>', 'neither']",
            "question_type": "multiple-choice",
            "image_1": True,
            "image_2": True,
            "image_3": True,
        },
        {
            "id": "validation_Math_3",
            "question": "Find the area of the shaded region. Give the answer in square units.",
            "options": "[]",
            "question_type": "open",
            "image_1": True,
        },
        {
            "id": "validation_Physics_4",
            "question": "Compare <image 2> with <image 1>; is <image 1> brighter? Question: why?",
            "options": "['yes', 'no']",
            "question_type": "multiple-choice",
            "image_1": True,
            "image_2": True,
        },
        {
            "id": "validation_Chemistry_5",
            "question": "In <image 1>, bond A. and bond B. differ. Which is longer?",
            "options": "[]",
            "question_type": "open",
            "image_1": True,
        },
    ],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vlmevalkit", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    namespace, model = load_vlmevalkit(args.vlmevalkit)
    cases = []
    for benchmark, rows in ROWS.items():
        dataset_name, dataset_class = DATASETS[benchmark]
        dataset = namespace[dataset_class]()
        for row in rows:
            message = dataset.build_prompt(tsv_line(benchmark, row))
            try:
                model.generate_inner([dict(m) for m in message], dataset=dataset_name)
            except Capture as c:
                cases.append(
                    {
                        "benchmark": benchmark,
                        "dataset": dataset_name,
                        "row": row,
                        "message": message,
                        "prompt": c.text,
                        "images": c.images,
                    }
                )
            else:
                raise SystemExit(f"{dataset_name}: generate_inner did not call the processor")
    out = {
        "source": "open-compass/VLMEvalKit " + COMMIT + " vlmeval/vlm/smolvlm.py class SmolVLM"
        " generate_inner, with the datasets' build_prompt",
        "cases": cases,
    }
    path = os.path.join(args.out, "smolvlm_prompts.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{path}: {len(cases)} prompts")


if __name__ == "__main__":
    main()
