"""Converts every corpus page with docling-core itself and compares with the hand-written Markdown.

Not a test (docling-core is not installable here): a check run by hand, its output committed as
docling_core_comparison.txt. docling-core's source at commit
b7a4298b4fe2470a97b2b3383d4e9e373e1727b0 (github.com/docling-project/docling-core, MIT) on
PYTHONPATH, in a virtualenv with pydantic, pydantic-settings, jsonschema, jsonref, tabulate,
defusedxml, pyyaml, pillow and pandas:

    PYTHONPATH=/path/to/docling-core python compare_with_docling_core.py > docling_core_comparison.txt

Each page is split at <page_break> into docling-core pages without images, loaded with
DoclingDocument.load_from_doctags and written with export_to_markdown() (and, where NAME.keep.md
or NAME.pages.md exist, with the furniture layer included or page_break_placeholder set).
SAME: docling-core writes exactly the expected file. DIFF: it does not, which the corpus README
lists as a departure; docling-core's Markdown is printed.
"""

import pathlib
import warnings

from docling_core.types.doc import ContentLayer
from docling_core.types.doc.document import DoclingDocument, DocTagsDocument

warnings.simplefilter("ignore")
CORPUS = pathlib.Path(__file__).parent


def expected(path):
    text = path.read_text(encoding="utf-8")
    return text[:-1] if text.endswith("\n") else text


for source in sorted(CORPUS.glob("*.doctags")):
    name = source.stem
    pages = source.read_text(encoding="utf-8").split("<page_break>")
    try:
        doc = DoclingDocument.load_from_doctags(
            DocTagsDocument.from_doctags_and_image_pairs(pages, [None] * len(pages))
        )
        outputs = {".md": doc.export_to_markdown()}
        outputs[".keep.md"] = doc.export_to_markdown(
            included_content_layers={ContentLayer.BODY, ContentLayer.FURNITURE}
        )
        outputs[".pages.md"] = doc.export_to_markdown(page_break_placeholder="<!-- page break -->")
    except Exception as e:  # noqa: BLE001 - the point is to record what docling-core does
        print(f"{name}: docling-core raised {type(e).__name__}: {str(e).splitlines()[0]}")
        continue
    results = []
    diffs = []
    for suffix, markdown in outputs.items():
        path = CORPUS / (name + suffix)
        if path.exists():
            same = markdown == expected(path)
            results.append(f"{name}{suffix} {'SAME' if same else 'DIFF'}")
            if not same:
                diffs.append(f"  docling-core {name}{suffix}: {markdown!r}")
    print(", ".join(results))
    for line in diffs:
        print(line)
