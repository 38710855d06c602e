"""Writes a small DocVQA-shaped Parquet file from the bundled sample images.

The columns and types are those of lmms-lab/DocVQA (config DocVQA) as published on Hugging Face
(see shared/spec/benchmarks.md): questionId, question, question_types, image (struct<bytes, path>),
docId, ucsf_document_id, ucsf_document_page_no, answers, data_split. The questions and answers are
written by hand for the sample pages and diagrams, so `eval --benchmark docvqa` can run anywhere;
with the tiny random-weight model the scores are noise, with a real checkpoint they mean something.

    python notebooks/make_sample_docvqa.py target/docvqa-sample
"""

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

IMAGES = Path(__file__).resolve().parent.parent / "model-loader/src/test/resources/reference/images"

# (questionId, image, question, question_types, answers)
QUESTIONS = [
    ("50001", "page_5.png", "What is the question number?", ["layout"], ["19", "No. 19"]),
    ("50002", "page_5.png", "What is option (D)?", ["table/list"], ["trill"]),
    ("50003", "page_10.png", "What is the question number?", ["layout"], ["26", "No. 26"]),
    ("50004", "page_10.png", "What is option (C)?", ["table/list"], ["E3"]),
    ("50005", "page_10.png", "What enters the first evaporator at the bottom left?",
     ["figure/diagram"], ["Feed"]),
    ("50006", "ai2d_00000443.png", "Which wall is labelled at the bottom of the diagram?",
     ["figure/diagram"], ["right ventricular free wall"]),
    ("50007", "ai2d_00001162.png", "What is the title of the diagram?",
     ["layout", "figure/diagram"], ["Prairie Food Web"]),
    ("50008", "ai2d_00001162.png", "Which animals eat the snakes?", ["figure/diagram"],
     ["hawks", "coyotes", "hawks and coyotes"]),
]

SCHEMA = pa.schema([
    ("questionId", pa.string()),
    ("question", pa.string()),
    ("question_types", pa.list_(pa.string())),
    ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    ("docId", pa.int64()),
    ("ucsf_document_id", pa.string()),
    ("ucsf_document_page_no", pa.string()),
    ("answers", pa.list_(pa.string())),
    ("data_split", pa.string()),
])


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    docs = {name: i + 1 for i, name in enumerate(dict.fromkeys(q[1] for q in QUESTIONS))}
    rows = {name: [] for name in SCHEMA.names}
    for qid, image, question, types, answers in QUESTIONS:
        rows["questionId"].append(qid)
        rows["question"].append(question)
        rows["question_types"].append(types)
        rows["image"].append({"bytes": (IMAGES / image).read_bytes(), "path": image})
        rows["docId"].append(docs[image])
        rows["ucsf_document_id"].append(Path(image).stem)
        rows["ucsf_document_page_no"].append("1")
        rows["answers"].append(answers)
        rows["data_split"].append("val")
    table = pa.table(rows, schema=SCHEMA)
    pq.write_table(table, out / "validation-00000-of-00001.parquet")
    print(f"{len(QUESTIONS)} DocVQA-shaped questions in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "target/docvqa-sample"))
