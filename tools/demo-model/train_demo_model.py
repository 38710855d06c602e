#!/usr/bin/env python3
"""Train demo-smolvlm: a tiny Idefics3 checkpoint that really answers, on synthetic pictures.

    /work/venv/bin/python -X utf8 tools/demo-model/train_demo_model.py train      # about 35 min, 2 cores
    /work/venv/bin/python -X utf8 tools/demo-model/train_demo_model.py evaluate   # a minute

`train` draws its own data (seeded), trains transformers' Idefics3ForConditionalGeneration from
scratch and saves it as Hugging Face saves it, with its own tokenizer (a byte-level BPE trained on
the synthetic language, SmolVLM's special tokens), the SmolVLM chat template and the Pillow
(LANCZOS) Idefics3 image processor, into model-loader/src/test/resources/demo/demo-smolvlm.

`evaluate` loads that folder back as a user would (the Pillow processor, fp32, eager) and
writes, next to it, the bundled evaluation set and what the Java tests compare with:

    demo/captions/scene_NN.png                     the Quick start's pictures (scenes)
    demo/docvqa/validation-00000-of-00001.parquet  rendered pages with questions, lmms-lab/DocVQA's layout
    demo/expected.json                             transformers' greedy answers, tokens and ANLS on it

Two kinds of pictures, drawn by `scene` and `page`:

- scenes, 256 x 128: one shape on the left, in the middle or on the right ("a red circle on the
  left"), or two to four shapes of one kind and colour ("three blue squares"); the prompt is the
  caption task's "Describe this image.";
- pages, 128 x 256: a title, two lines "<fruit> <number>" and a line "total <number>"; questions
  "What is the title?", "What is the total?", "How many <fruit>?", "Which fruit is listed first?"
  in DocVQA's prompt ("{question}\\nAnswer the question using a single word or phrase.").

Text is drawn with Pillow's own default font (ImageFont.load_default(size), the FreeType font
bundled in Pillow 12.3.0), so the pictures depend on the pinned Pillow only, not on system fonts.
Image side: longest_edge 256, tile 128, patch 16, scale factor 2: both kinds of picture are split
into two tiles plus the global image, 3 frames of 16 image tokens each.

This is a demonstration model for synthetic pictures, not a captioner: on a photograph or a real
document its answers are words from its tiny synthetic language and mean nothing.
"""

import argparse
import functools
import io
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import PIL
import pyarrow as pa
import pyarrow.parquet as pq
import tokenizers
import torch
import transformers
from PIL import Image, ImageDraw, ImageFont
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    GenerationConfig,
    Idefics3Config,
    Idefics3ForConditionalGeneration,
    Idefics3Processor,
    LlamaConfig,
    PreTrainedTokenizerFast,
)
from transformers.models.idefics3.configuration_idefics3 import Idefics3VisionConfig
from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import generate  # noqa: E402  (the SmolVLM chat template, the image processor settings, write_json)
from pil_processor import load_pil_processor  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "model-loader/src/test/resources/demo"
CHECKPOINT = DEMO / "demo-smolvlm"
SEED = 20261206

# ---------------------------------------------------------------------------------------------
# The synthetic world
# ---------------------------------------------------------------------------------------------

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 70, 220),
    "yellow": (235, 200, 20),
    "purple": (140, 40, 170),
}
SHAPES = ("circle", "square", "triangle")
COUNTS = {2: "two", 3: "three", 4: "four"}
PLACES = (("on the left", 24), ("in the middle", 64), ("on the right", 104))
TITLES = ("Invoice", "Receipt", "Menu", "Report", "Order", "Budget", "Summary", "Notes")
FRUITS = ("apples", "pears", "plums", "lemons", "grapes", "figs", "limes", "melons")
CAPTION_PROMPT = "Describe this image."  # the caption task's prompt (job Task.CAPTION)
DOCVQA_PROMPT = "{question}\nAnswer the question using a single word or phrase."  # lmms-eval docvqa

SCENE_SIZE = (128, 128)
PAGE_SIZE = (128, 128)
LONGEST_EDGE = 128
TILE = 128
VISION = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    patch_size=16,
    image_size=TILE,
    hidden_act="gelu_pytorch_tanh",
    layer_norm_eps=1e-6,
)
TEXT = dict(
    hidden_size=96,
    intermediate_size=192,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    rope_theta=10000.0,
    rms_norm_eps=1e-5,
    max_position_embeddings=2048,
)
SCALE_FACTOR = 2
IMAGE_SEQ_LEN = (TILE // VISION["patch_size"]) ** 2 // SCALE_FACTOR**2  # 16

STEPS = 2400
BATCH = 32
LEARNING_RATE = 2e-3
WARMUP = 100


@functools.lru_cache(maxsize=None)
def font(size):
    return ImageFont.load_default(size=size)


def draw_shape(draw, shape, colour, cx, cy, r):
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    elif shape == "square":
        draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=colour)
    else:
        draw.polygon(((cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)), fill=colour)


def scene(rng):
    """A 256 x 128 scene and its caption."""
    image = Image.new("RGB", SCENE_SIZE, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    colour = str(rng.choice(list(COLOURS)))
    shape = str(rng.choice(SHAPES))
    if rng.random() < 0.5:
        place, cx = PLACES[rng.integers(len(PLACES))]
        r = int(rng.integers(10, 16))
        cx += int(rng.integers(-4, 5))
        cy = 64 + int(rng.integers(-30, 31))
        draw_shape(draw, shape, COLOURS[colour], cx, cy, r)
        caption = f"a {colour} {shape} {place}"
    else:
        count = int(rng.integers(2, 5))
        slots = sorted(rng.choice(4, size=count, replace=False))
        for slot in slots:
            r = int(rng.integers(10, 16))
            cx = 32 + 64 * (int(slot) % 2) + int(rng.integers(-8, 9))
            cy = 32 + 64 * (int(slot) // 2) + int(rng.integers(-8, 9))
            draw_shape(draw, shape, COLOURS[colour], cx, cy, r)
        caption = f"{COUNTS[count]} {colour} {shape}s"
    return image, caption


def page(rng):
    """A 128 x 256 page and its questions with answers."""
    image = Image.new("RGB", PAGE_SIZE, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    title = str(rng.choice(TITLES))
    fruits = [str(f) for f in rng.choice(FRUITS, size=2, replace=False)]
    counts = [int(n) for n in rng.integers(1, 50, size=2)]
    total = sum(counts)
    ink = (0, 0, 0)
    draw.text((4, 2), title, font=font(22), fill=ink)
    draw.line((4, 31, 124, 31), fill=ink, width=2)
    for i, (fruit, count) in enumerate(zip(fruits, counts)):
        y = 36 + 26 * i
        draw.text((4, y), fruit, font=font(18), fill=ink)
        draw.text((124, y), str(count), font=font(18), fill=ink, anchor="ra")
    draw.line((4, 94, 124, 94), fill=ink, width=1)
    draw.text((4, 100), "total", font=font(18), fill=ink)
    draw.text((124, 100), str(total), font=font(18), fill=ink, anchor="ra")
    questions = [
        ("What is the title?", title),
        ("What is the total?", str(total)),
        (f"How many {fruits[0]}?", str(counts[0])),
        (f"How many {fruits[1]}?", str(counts[1])),
        ("Which fruit is listed first?", fruits[0]),
    ]
    return image, questions


def corpus():
    """Every sentence of the synthetic language, for the tokenizer."""
    lines = [CAPTION_PROMPT, DOCVQA_PROMPT.format(question="What is the title?")]
    lines += [f"a {c} {s} {p}" for c in COLOURS for s in SHAPES for p, _ in PLACES]
    lines += [f"{n} {c} {s}s" for n in COUNTS.values() for c in COLOURS for s in SHAPES]
    lines += ["What is the total?", "Which fruit is listed first?", "total"]
    lines += [f"How many {f}?" for f in FRUITS] + list(TITLES) + [str(n) for n in range(100)]
    return [" " + line for line in lines] + lines


# ---------------------------------------------------------------------------------------------
# Tokenizer, processor, model
# ---------------------------------------------------------------------------------------------


def build_tokenizer():
    """SmolLM2's traits (as generate.build_smollm_tokenizer) with a BPE trained on the synthetic
    language until every word is one token: Digits(individual) + ByteLevel, ids 0-2
    <|endoftext|> <|im_start|> <|im_end|>, then <global-img>, <row_r_col_c>, <fake_token_around_image>,
    <image>, <end_of_utterance> as added tokens."""
    pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )
    tokenizer = Tokenizer(models.BPE(ignore_merges=False))
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=2000,
        min_frequency=1,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus(), trainer=trainer)
    tile_tags = [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    tokenizer.add_special_tokens(
        [
            generate.special(t)
            for t in (
                "<|endoftext|>",
                "<|im_start|>",
                "<|im_end|>",
                "<global-img>",
                *tile_tags,
                "<fake_token_around_image>",
                "<image>",
                "<end_of_utterance>",
            )
        ]
    )
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|im_start|>",
        eos_token="<end_of_utterance>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
    )


def build_processor():
    return Idefics3Processor(
        image_processor=generate.make_image_processor(LONGEST_EDGE, TILE),
        tokenizer=build_tokenizer(),
        image_seq_len=IMAGE_SEQ_LEN,
        chat_template=generate.TINY_SMOLVLM.chat_template,
    )


def build_model(tokenizer):
    vocab = tokenizer.get_vocab()
    eos = vocab["<end_of_utterance>"]
    text_config = LlamaConfig(
        vocab_size=len(tokenizer),
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=eos,
        pad_token_id=tokenizer.pad_token_id,
        **TEXT,
    )
    config = Idefics3Config(
        vision_config=Idefics3VisionConfig(**VISION),
        text_config=text_config,
        scale_factor=SCALE_FACTOR,
        image_token_id=vocab["<image>"],
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    model = Idefics3ForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id
    )
    return model


def save(model, processor, folder):
    """save_pretrained, then the released SmolVLM layout (as generate.save_checkpoint does)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        stale.unlink()
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    preprocessor = processor.image_processor.to_dict()
    preprocessor["processor_class"] = "Idefics3Processor"
    generate.write_json(folder / "preprocessor_config.json", preprocessor, indent=2)
    generate.write_json(
        folder / "processor_config.json",
        {"image_seq_len": IMAGE_SEQ_LEN, "processor_class": "Idefics3Processor"},
        indent=2,
    )
    assert (folder / "chat_template.jinja").read_text(encoding="utf-8") == generate.TINY_SMOLVLM.chat_template


def load(folder):
    processor = load_pil_processor(folder)
    assert type(processor.image_processor) is Idefics3ImageProcessorPil, type(processor.image_processor)
    model = Idefics3ForConditionalGeneration.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    return processor, model


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def messages(prompt):
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]


def fast_frames(image):
    """The processor's pixel_values for a 128 x 128 picture: one frame (no resize, no split),
    (x / 255 - 0.5) / 0.5. Checked against the processor in `check_fast_frames`."""
    array = np.asarray(image, dtype=np.float32).transpose(2, 0, 1)[None]
    return (array / 255.0 - 0.5) / 0.5


class Prompts:
    """Token ids of prompts (by text) and answers, through the processor's own path."""

    def __init__(self, processor):
        self.processor = processor
        self.cache = {}
        self.eos = processor.tokenizer.convert_tokens_to_ids("<end_of_utterance>")

    def prompt(self, kind_image, text):
        key = (kind_image.size, text)
        if key not in self.cache:
            rendered = self.processor.apply_chat_template(messages(text), add_generation_prompt=True, tokenize=False)
            ids = self.processor(text=rendered, images=[kind_image], return_tensors="pt")["input_ids"][0]
            self.cache[key] = ids.tolist()
        return self.cache[key]

    def answer(self, text):
        key = ("answer", text)
        if key not in self.cache:
            self.cache[key] = self.processor.tokenizer(" " + text, add_special_tokens=False)["input_ids"] + [self.eos]
        return self.cache[key]


def check_fast_frames(processor, rng):
    for draw in (scene, page) * 4:
        image = draw(rng)[0]
        reference = processor.image_processor(images=[[image]], return_tensors="np")["pixel_values"][0]
        assert np.array_equal(reference, fast_frames(image)), "fast_frames differs from the processor"


def training_example(rng, prompts):
    if rng.random() < 0.5:
        image, caption = scene(rng)
        prompt, answer = CAPTION_PROMPT, caption
    else:
        image, questions = page(rng)
        question, answer = questions[rng.integers(len(questions))]
        prompt = DOCVQA_PROMPT.format(question=question)
    return prompts.prompt(image, prompt), prompts.answer(answer), fast_frames(image)


def training_batch(rng, prompts, pad_id, batch):
    examples = [training_example(rng, prompts) for _ in range(batch)]
    length = max(len(p) + len(a) for p, a, _ in examples)
    input_ids = torch.full((batch, length), pad_id, dtype=torch.long)
    labels = torch.full((batch, length), -100, dtype=torch.long)
    attention = torch.zeros((batch, length), dtype=torch.long)
    for i, (p, a, _) in enumerate(examples):
        ids = p + a
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, len(p) : len(ids)] = torch.tensor(a)
        attention[i, : len(ids)] = 1
    pixels = torch.from_numpy(np.stack([f for _, _, f in examples]))
    pixel_mask = torch.ones((batch, pixels.shape[1], TILE, TILE), dtype=torch.bool)
    return input_ids, attention, labels, pixels, pixel_mask


def train(steps, batch, learning_rate, out, log):
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    processor = build_processor()
    check_fast_frames(processor, np.random.default_rng(SEED + 1))
    model = build_model(processor.tokenizer)
    model.config._attn_implementation = "sdpa"
    parameters = sum(p.numel() for p in model.parameters())
    print(f"{parameters:,} parameters, vocabulary {len(processor.tokenizer)}", file=log, flush=True)
    prompts = Prompts(processor)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01, betas=(0.9, 0.98))

    def rate(step):
        if step < WARMUP:
            return (step + 1) / WARMUP
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (step - WARMUP) / max(1, steps - WARMUP)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    model.train()
    start = time.time()
    running = None
    for step in range(steps):
        input_ids, attention, labels, pixels, pixel_mask = training_batch(rng, prompts, processor.tokenizer.pad_token_id, batch)
        loss = model(
            input_ids=input_ids,
            attention_mask=attention,
            pixel_values=pixels,
            pixel_attention_mask=pixel_mask,
            labels=labels,
        ).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step} loss {running:.4f} {time.time() - start:.0f} s", file=log, flush=True)
    model.eval()
    model.config._attn_implementation = "eager"
    save(model, processor, out)
    print(f"trained {steps} steps in {time.time() - start:.0f} s; saved {out}", file=log, flush=True)


# ---------------------------------------------------------------------------------------------
# Evaluation set and what the Java tests compare with
# ---------------------------------------------------------------------------------------------

EVAL_SCENES = 12
EVAL_PAGES = 20
MAX_NEW_TOKENS = 32  # the job's default for docvqa (README, "Benchmark evaluation")
DOCVQA_SCHEMA = pa.schema(
    [
        ("questionId", pa.string()),
        ("question", pa.string()),
        ("question_types", pa.list_(pa.string())),
        ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
        ("docId", pa.int64()),
        ("ucsf_document_id", pa.string()),
        ("ucsf_document_page_no", pa.string()),
        ("answers", pa.list_(pa.string())),
        ("data_split", pa.string()),
    ]
)


def png(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def anls(prediction, answers, threshold=0.5):
    """lmms-eval's docvqa ANLS for one question (anls in lmms_eval/api/metrics.py): the Levenshtein
    distance of the stripped, lower-cased, whitespace-joined strings over the longer raw length,
    1 - the smallest over the answers, 0 under the threshold."""

    def levenshtein(a, b):
        previous = list(range(len(b) + 1))
        for i, x in enumerate(a, 1):
            current = [i]
            for j, y in enumerate(b, 1):
                current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
            previous = current
        return previous[-1]

    predicted = " ".join(prediction.strip().lower().split())
    values = []
    for answer in answers:
        truth = " ".join(answer.strip().lower().split())
        length = max(len(answer.upper()), len(prediction.upper()))
        values.append(0.0 if length == 0 else levenshtein(truth, predicted) / length)
    score = 1.0 - min(values)
    return 0.0 if score < threshold else score


def greedy(processor, model, image_bytes, prompt):
    """Transformers' own path on the stored bytes: the chat template, the processor, generate."""
    image = Image.open(io.BytesIO(image_bytes)).convert("RGB")
    rendered = processor.apply_chat_template(messages(prompt), add_generation_prompt=True, tokenize=False)
    inputs = processor(text=rendered, images=[image], return_tensors="pt")
    with torch.no_grad():
        out = model.generate(
            **inputs,
            do_sample=False,
            max_new_tokens=MAX_NEW_TOKENS,
            output_scores=True,
            return_dict_in_generate=True,
        )
    prompt_length = inputs["input_ids"].shape[1]
    tokens = out.sequences[0, prompt_length:].tolist()
    margins = [float(torch.topk(step[0], 2).values.diff().abs()) for step in out.scores]
    text = processor.tokenizer.decode(tokens, skip_special_tokens=True).strip()
    return {"prompt_tokens": prompt_length, "tokens": tokens, "text": text, "min_margin": round(min(margins), 4)}


def evaluate(checkpoint):
    processor, model = load(checkpoint)
    rng = np.random.default_rng(SEED + 2)
    captions_dir, pages_dir, docvqa_dir = DEMO / "captions", DEMO / "pages", DEMO / "docvqa"
    for folder in (captions_dir, pages_dir, docvqa_dir):
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.iterdir():
            stale.unlink()

    captions = []
    for i in range(EVAL_SCENES):
        image, truth = scene(rng)
        name = f"scene_{i:02d}.png"
        data = png(image)
        (captions_dir / name).write_bytes(data)
        result = greedy(processor, model, data, CAPTION_PROMPT)
        captions.append({"image": name, "prompt": CAPTION_PROMPT, "truth": truth, **result})

    questions = []
    rows = {name: [] for name in DOCVQA_SCHEMA.names}
    for i in range(EVAL_PAGES):
        image, page_questions = page(rng)
        name = f"page_{i:02d}.png"
        data = png(image)
        (pages_dir / name).write_bytes(data)
        which = [0, 1, 2 + int(rng.integers(3))]  # title, total, one of the two counts or the first fruit
        for k in which:
            question, answer = page_questions[k]
            qid = f"{70001 + len(questions)}"
            prompt = DOCVQA_PROMPT.format(question=question)
            result = greedy(processor, model, data, prompt)
            score = anls(result["text"], [answer])
            questions.append(
                {"questionId": qid, "image": name, "question": question, "prompt": prompt, "answers": [answer],
                 **result, "anls": score}
            )
            rows["questionId"].append(qid)
            rows["question"].append(question)
            rows["question_types"].append(["layout"] if k == 0 else ["table/list"])
            rows["image"].append({"bytes": data, "path": name})
            rows["docId"].append(i + 1)
            rows["ucsf_document_id"].append(f"demo_page_{i:02d}")
            rows["ucsf_document_page_no"].append("1")
            rows["answers"].append([answer])
            rows["data_split"].append("val")
    pq.write_table(pa.table(rows, schema=DOCVQA_SCHEMA), docvqa_dir / "validation-00000-of-00001.parquet")

    mean_anls = sum(q["anls"] for q in questions) / len(questions)
    by_kind = {}
    for q in questions:
        kind = "How many <fruit>?" if q["question"].startswith("How many") else q["question"]
        by_kind.setdefault(kind, []).append(q["anls"])
    by_kind = {k: {"anls": round(sum(v) / len(v), 6), "questions": len(v)} for k, v in sorted(by_kind.items())}
    exact = sum(c["text"] == c["truth"] for c in captions) / len(captions)
    margin = min(r["min_margin"] for r in captions + questions)
    assert margin > 1e-4, f"a greedy step has a margin of {margin}: too close for a parity fixture"
    expected = {
        "checkpoint": checkpoint.name,
        "made_by": "python -X utf8 tools/demo-model/train_demo_model.py evaluate",
        "versions": {
            "python": sys.version.split()[0],
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "tokenizers": tokenizers.__version__,
            "pillow": PIL.__version__,
        },
        "dtype": "float32",
        "attn_implementation": "eager",
        "max_new_tokens": MAX_NEW_TOKENS,
        "docvqa_anls": round(mean_anls, 6),
        "caption_exact_match": round(exact, 6),
        "docvqa_anls_by_question": by_kind,
        "min_logit_margin": margin,
        "captions": captions,
        "docvqa": questions,
    }
    generate.write_json(DEMO / "expected.json", expected, indent=1)
    print(f"docvqa ANLS {mean_anls:.4f} on {len(questions)} questions; captions exact {exact:.3f} "
          f"({len(captions)}); smallest greedy margin {margin:.4f}")
    for kind, value in by_kind.items():
        print(f"  {kind}: ANLS {value['anls']:.3f} ({value['questions']})")
    for c in captions[:5]:
        print(f"  {c['image']}: {c['text']!r} (truth {c['truth']!r})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("train", "evaluate"))
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--lr", type=float, default=LEARNING_RATE)
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINT, help="train: where to save; evaluate: what to load")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: see README, contention)")
    args = parser.parse_args()
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    if args.stage == "train":
        train(args.steps, args.batch, args.lr, args.checkpoint, sys.stdout)
    else:
        evaluate(args.checkpoint)


if __name__ == "__main__":
    sys.exit(main())
