"""Random well-formed DocTags pages and docling-core's Markdown for each (parity fixture).

Writes pages.jsonl: one {"doctags": ..., "markdown": ..., "markdown_with_furniture": ...} per
line, the Markdown from docling-core's DoclingDocument.load_from_doctags + export_to_markdown(),
by default and with the furniture layer (page headers and footers) included. Deterministic
(seeded).
Run from docling-core's source at commit b7a4298b4fe2470a97b2b3383d4e9e373e1727b0
(github.com/docling-project/docling-core, MIT) with pydantic 2.13 and tabulate 0.10.0:

    PYTHONPATH=/path/to/docling-core python make_pages.py

Pages docling-core raises on are left out (it fails on some random OTSL span layouts).
"""

import json
import pathlib
import random
import warnings

from docling_core.types.doc import ContentLayer
from docling_core.types.doc.document import DoclingDocument, DocTagsDocument

warnings.simplefilter("ignore")
OUT = pathlib.Path(__file__).parent / "pages.jsonl"
WORDS = [
    "alpha", "snake_case", "a < b", "c > d", "x & y", "\\_kept", "__init__", "P < 0.05 and P > 0.01",
    "Ünïcode", "“quoted”", "it's", "100%", "<b>bold</b>", "#hash", "*star*", "[link](u)", "`tick`",
    "pipe | bar", "tab\there", "émigré", "中文", "🙂",
]
CELLS = [
    "1", "-3", "+7", "1.5", "1e3", "1_000", "nan", "inf", "INF", "True", "False", "x", "", "a_b",
    "0x1F", "1,000", "3.", ".5", "1__0", "infinity", "-", "12%", "中文", "１２", "2024-01-02",
    "a|b", "n/a", "0", "007", "1.2.3", "e5", "1e", "-0.0",
]
CLASSES = ["bar_chart", "pie_chart", "logo", "other", "line", "dot_line", "hbar_categorical",
           "natural_image", "screenshot", "chemistry_molecular_structure", "stamp"]
LANGS = ["Python", "Java", "C++", "unknown", "Bash"]


def loc(rng):
    a, b = sorted(rng.sample(range(0, 500), 2))
    c, d = sorted(rng.sample(range(0, 500), 2))
    return f"<loc_{a}><loc_{c}><loc_{b}><loc_{d}>"


def text(rng, n=None):
    return " ".join(rng.choice(WORDS) for _ in range(n or rng.randint(1, 5)))


def otsl(rng):
    rows, cols = rng.randint(1, 4), rng.randint(1, 4)
    out = []
    for r in range(rows):
        for c in range(cols):
            roll = rng.random()
            if roll < 0.1 and c > 0:
                out.append("<lcel>")
            elif roll < 0.18 and r > 0:
                out.append("<ucel>")
            elif roll < 0.22 and r > 0 and c > 0:
                out.append("<xcel>")
            elif roll < 0.3:
                out.append("<ecel>")
            else:
                tok = rng.choice(["<fcel>"] * 5 + ["<ched>", "<rhed>", "<srow>"])
                out.append(tok + (rng.choice(CELLS) or "z"))
        out.append("<nl>")
    return "".join(out)


def element(rng):
    kind = rng.randrange(15)
    if kind == 14:
        parts = [
            f"<text>{text(rng, 2)}</text>",
            f"<code><_{rng.choice(LANGS)}_>a_b()</code>",
            f"<formula>{rng.choice(['x_1', 'a < b', ''])}</formula>",
        ]
        rng.shuffle(parts)
        return f"<inline>{loc(rng)}{''.join(parts)}</inline>"
    if kind == 0:
        return f"<title>{loc(rng)}{text(rng)}</title>"
    if kind == 1:
        n = rng.randint(1, 6)
        return f"<section_header_level_{n}>{loc(rng)}{text(rng)}</section_header_level_{n}>"
    if kind == 2:
        tag = rng.choice(["text", "footnote", "caption", "page_header", "page_footer"])
        return f"<{tag}>{loc(rng)}{text(rng)}</{tag}>"
    if kind == 3:
        tag = rng.choice(["checkbox_selected", "checkbox_unselected"])
        return f"<{tag}>{loc(rng)}{text(rng)}</{tag}>"
    if kind == 4:
        lang = f"<_{rng.choice(LANGS)}_>" if rng.random() < 0.6 else ""
        return f"<code>{loc(rng)}{lang}x = a_b < c\n    y = 2</code>"
    if kind == 5:
        body = rng.choice(["E = m c ^ { 2 }", "x_i < y", "", "\\frac { a } { b }"])
        return f"<formula>{loc(rng)}{body}</formula>"
    if kind in (6, 7):
        tag = "ordered_list" if kind == 6 else "unordered_list"
        items = "".join(
            f"<list_item>{loc(rng)}{text(rng)}</list_item>\n" for _ in range(rng.randint(1, 4))
        )
        return f"<{tag}>{items}</{tag}>"
    if kind in (8, 9):
        cls = f"<{rng.choice(CLASSES)}>" if rng.random() < 0.6 else ""
        cap = f"<caption>{loc(rng)}{text(rng)}</caption>" if rng.random() < 0.6 else ""
        return f"<picture>{loc(rng)}{cls}{cap}</picture>"
    if kind == 10:
        cls = f"<{rng.choice(CLASSES)}>" if rng.random() < 0.7 else ""
        return f"<chart>{loc(rng)}{cls}{otsl(rng)}</chart>"
    if kind in (11, 12):
        cap = f"<caption>{loc(rng)}{text(rng)}</caption>" if rng.random() < 0.5 else ""
        return f"<otsl>{loc(rng)}{otsl(rng)}{cap}</otsl>"
    return (
        f"<key_value_region>{loc(rng)}<key_1>{loc(rng)}Name<link_2></key_1>"
        f"<value_2>{loc(rng)}{text(rng)}</value_2></key_value_region>"
    )


def main():
    rng = random.Random(20261207)
    kept = 0
    with OUT.open("w", encoding="utf-8") as out:
        for _ in range(400):
            body = "\n".join(element(rng) for _ in range(rng.randint(1, 8)))
            doctags = f"<doctag>{body}\n</doctag>"
            try:
                doc = DoclingDocument.load_from_doctags(
                    DocTagsDocument.from_doctags_and_image_pairs([doctags], [None])
                )
                markdown = doc.export_to_markdown()
                with_furniture = doc.export_to_markdown(
                    included_content_layers={ContentLayer.BODY, ContentLayer.FURNITURE}
                )
            except Exception:  # noqa: BLE001 - docling-core fails on some span layouts
                continue
            page = {
                "doctags": doctags,
                "markdown": markdown,
                "markdown_with_furniture": with_furniture,
            }
            out.write(json.dumps(page, ensure_ascii=False))
            out.write("\n")
            kept += 1
    print(f"{kept} pages written to {OUT.name}")


main()
