#!/usr/bin/env python3
"""Build the reference fixtures of idefics3-spark from Hugging Face's own classes.

Writes, deterministically (rerun it and every file comes out byte-identical),
everything the Java tests compare against into
model-loader/src/test/resources/reference/ (see tools/reference/README.md):

1. two tiny random Idefics3 checkpoints saved by save_pretrained
   (tiny-idefics3 with Idefics3-8B-Llama3's traits, tiny-smolvlm with SmolVLM's);
2. the input images: the shared real samples plus small made ones that hit the
   decoder corner cases (EXIF, alpha, palette, 16 bit, CMYK, GIF, BMP...);
3. processor goldens: uint8 frames plus the reference's lookup table, prompts,
   token ids, a left-padded batch;
4. model goldens: image features, logits, greedy generations;
   option goldens: each multiple-choice option's log-probability after its prompt;
5. manifest.json: versions and the sha256 of every file.

Usage: python -X utf8 tools/reference/generate.py [--real-images DIR] [--out DIR]
"""

import argparse
import copy
import gzip
import hashlib
import io
import json
import math
import os
import platform
import re
import shutil
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import PIL
import safetensors
import tokenizers
import torch
import transformers
from PIL import Image, ImageDraw, ImageOps
from safetensors.numpy import save as safetensors_save
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    GenerationConfig,
    Idefics3Config,
    Idefics3ForConditionalGeneration,
    Idefics3Processor,
    LlamaConfig,
    PreTrainedTokenizerFast,
)
from transformers.models.idefics2.image_processing_pil_idefics2 import convert_to_rgb
from transformers.models.idefics3.configuration_idefics3 import Idefics3VisionConfig
from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

from pil_processor import load_pil_processor

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "model-loader" / "src" / "test" / "resources" / "reference"
DEFAULT_REAL_IMAGES = REPO.parent / "shared" / "data" / "images"

MAX_NEW_TOKENS = 24
MIN_MARGIN_REQUIRED = 1e-3
GLOBAL_SEED = 20240917

# ---------------------------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------------------------

# Llama 3's pre-tokenizer pattern, as in Meta-Llama-3's tokenizer.json.
LLAMA3_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# The fixed training corpus of both tokenizers: captions, document questions, chat turns.
CORPUS = (
    "User: What is in this image?\nAssistant: A red car is parked next to the sea, under a grey sky.\n\n",
    "User: Describe the picture in detail.\nAssistant: The photograph shows a small wooden house with a green door, "
    "two windows and a garden full of yellow flowers. Behind the house there are tall trees and mountains.\n\n",
    "User: Read the text on the page.\nAssistant: The page is an exam question. It says: Which of the following "
    "statements about the diagram is correct? Options: (A) the arrow points up; (B) the arrow points down; "
    "(C) there is no arrow; (D) none of the above.\n\n",
    "User: What does this diagram show?\nAssistant: It shows the life cycle of a frog: the egg, the tadpole, "
    "the young frog and the adult frog. Each stage is labelled and the arrows show the order.\n\n",
    "User: How many people are in the photo?\nAssistant: There are 3 people: a woman, a man and a child. "
    "They are standing on a beach at sunset and the water is calm.\n\n",
    "User: What is the total on the invoice?\nAssistant: The total is 1,254.90 dollars, due on 12 March 2024. "
    "The invoice number is 58213 and the tax is 209.15 dollars.\n\n",
    "User: Answer with a single word. What colour is the sky?\nAssistant: Blue.\n\n",
    "User: Which one is the largest planet in the solar system?\nAssistant: Jupiter is the largest planet. "
    "It is a gas giant and it has a great red spot, a storm bigger than the Earth.\n\n",
    "User: Compare these two pictures.\nAssistant: The first picture is bright and shows a city at noon; the "
    "second one is dark and shows the same street at night, with lights in the windows.\n\n",
    "User: Let's fix this step by step.\nAssistant: First, we read the question. Then we look at the figure. "
    "Finally, we check each option and we choose the one that matches the figure.\n\n",
    "The quick brown fox jumps over the lazy dog. It's a sentence that uses every letter; we'll use it again.\n\n",
    "Documents, tables and charts: the table has 4 rows and 6 columns; the chart is a bar chart with 12 bars. "
    "The values go from 0 to 100 and the title is written at the top of the page.\n\n",
    "Science question: a ball is thrown upward at 20 m/s. How high does it go? Use g = 9.8 m/s^2 and explain.\n\n",
    "The image is split into tiles: <row_1_col_1> <row_1_col_2> <row_2_col_1> <row_2_col_2> and a <global-img> "
    "view of the whole picture, so the model can read small text.\n\n",
    "Design question: which logo uses more colours, the left one or the right one? Look at the shapes, the "
    "lines and the letters, then give your answer with a short reason.\n\n",
    "Biology question: the cell in the figure has a nucleus, a membrane and many small organelles. "
    "Name the part labelled with the letter B.\n\n",
    "A train leaves the station at 08:45 and arrives at 11:20. How long is the journey? "
    "The answer is 2 hours and 35 minutes.\n\n",
    "Title\n\nSection one\n\nThe first paragraph\n\nThe second paragraph\n\nA list\n\nThe end\n\n",
    "Question 1\n\nLook at the map\n\nQuestion 2\n\nRead the label\n\nQuestion 3\n\nName the river\n\n",
)

TINY_VOCAB_TARGET = 480  # BPE vocabulary before the added tokens (256 byte symbols + merges)


def train_byte_level_bpe(pre_tokenizer, special_tokens, ignore_merges):
    """Train a small byte-level BPE on CORPUS; special_tokens take the first ids of the model vocab."""
    tokenizer = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_VOCAB_TARGET,
        min_frequency=2,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    return tokenizer


def special(content):
    """An added special token as HF declares them: matched as is, never normalised or stripped."""
    return tokenizers.AddedToken(content, special=True, normalized=False, lstrip=False, rstrip=False)


def build_llama3_tokenizer():
    """Tokenizer with Llama 3's traits, as Idefics3-8B-Llama3 ships it.

    Split(Llama 3 pattern) + ByteLevel(use_regex=False) pre-tokenizer, ByteLevel decoder, a
    post-processor that prepends <|begin_of_text|>, the special tokens appended after the BPE
    vocabulary (Llama 3 order, then Idefics3's three). <global-img> and <row_r_col_c> are plain text.
    """
    pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
        ]
    )
    tokenizer = train_byte_level_bpe(pre_tokenizer, special_tokens=(), ignore_merges=True)
    tokenizer.add_special_tokens(
        [
            special(t)
            for t in (
                "<|begin_of_text|>",
                "<|end_of_text|>",
                "<|reserved_special_token_0|>",
                "<|eom_id|>",
                "<|eot_id|>",
                "<fake_token_around_image>",
                "<image>",
                "<end_of_utterance>",
            )
        ]
    )
    bos = "<|begin_of_text|>"
    bos_id = tokenizer.token_to_id(bos)
    tokenizer.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1", special_tokens=[(bos, bos_id)]
            ),
        ]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token="<end_of_utterance>",
        pad_token="<|reserved_special_token_0|>",
    )


def build_smollm_tokenizer(extra_tokens=()):
    """Tokenizer with SmolLM2's traits, as SmolVLM ships it.

    Digits(individual) + ByteLevel pre-tokenizer (GPT-2 regex), ByteLevel decoder and
    post-processor (no BOS added), <|endoftext|> <|im_start|> <|im_end|> as ids 0-2, then the
    image tokens appended in SmolVLM's order: <global-img>, the 36 <row_r_col_c>,
    <fake_token_around_image>, <image>, <end_of_utterance>, all added tokens; then extra_tokens
    (special added tokens too: SmolDocling's DocTags), after every id tiny-smolvlm has.
    """
    pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )
    tokenizer = train_byte_level_bpe(
        pre_tokenizer, special_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"), ignore_merges=False
    )
    tile_tags = [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    tokenizer.add_special_tokens(
        [special(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<global-img>", *tile_tags)]
        + [special(t) for t in ("<fake_token_around_image>", "<image>", "<end_of_utterance>")]
    )
    if extra_tokens:
        tokenizer.add_special_tokens([special(t) for t in extra_tokens])
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|im_start|>",
        eos_token="<end_of_utterance>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
    )


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------

# Idefics3-8B-Llama3's chat template (spec section 3); SmolVLM's differs only in its literal prefix.
CHAT_TEMPLATE_BODY = (
    "{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)


@dataclass(frozen=True)
class CheckpointSpec:
    """What distinguishes one tiny checkpoint: shapes, image sizes, tokenizer, template file."""

    name: str
    seed: int
    vision: dict  # Idefics3VisionConfig arguments
    text: dict  # LlamaConfig arguments, without the vocabulary and token ids
    scale_factor: int
    longest_edge: int  # preprocessor size.longest_edge
    tile: int  # preprocessor max_image_size.longest_edge
    build_tokenizer: object
    template_prefix: str
    template_file: str  # "chat_template.json" (Idefics3-8B) or "chat_template.jinja" (transformers 5)
    eos_tokens: tuple
    logit_scale: float  # std of the logits of a random hidden state, so greedy steps have clear margins
    eos_boost: float  # scale of the eos rows of lm_head, so that some greedy runs stop early
    boosted_tokens: tuple = ()  # tokens whose lm_head rows are scaled by boost (tiny-smoldocling's DocTags)
    boost: float = 1.0

    @property
    def chat_template(self):
        return self.template_prefix + CHAT_TEMPLATE_BODY

    @property
    def image_seq_len(self):
        side = self.vision["image_size"] // self.vision["patch_size"]
        return side * side // (self.scale_factor * self.scale_factor)


TINY_IDEFICS3 = CheckpointSpec(
    name="tiny-idefics3",
    seed=GLOBAL_SEED + 8,
    vision=dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        patch_size=14,
        image_size=56,
        hidden_act="gelu_pytorch_tanh",
        layer_norm_eps=1e-6,
    ),
    text=dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        rope_theta=500000.0,
        rope_scaling={
            "rope_type": "llama3",
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192,
        },
        rms_norm_eps=1e-5,
        max_position_embeddings=131072,
    ),
    scale_factor=2,
    longest_edge=224,
    tile=56,
    build_tokenizer=build_llama3_tokenizer,
    template_prefix="<|begin_of_text|>",
    template_file="chat_template.json",
    eos_tokens=("<|end_of_text|>", "<|eom_id|>", "<|eot_id|>", "<end_of_utterance>"),
    logit_scale=6.0,
    eos_boost=1.0,
)

TINY_SMOLVLM = CheckpointSpec(
    name="tiny-smolvlm",
    seed=GLOBAL_SEED + 2,
    vision=dict(
        hidden_size=48,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=3,
        patch_size=8,
        image_size=64,
        hidden_act="gelu_pytorch_tanh",
        layer_norm_eps=1e-6,
    ),
    text=dict(
        hidden_size=48,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=6,
        num_key_value_heads=2,
        rope_theta=100000.0,
        rms_norm_eps=1e-5,
        max_position_embeddings=8192,
    ),
    scale_factor=4,
    longest_edge=256,
    tile=64,
    build_tokenizer=build_smollm_tokenizer,
    template_prefix="<|im_start|>",
    template_file="chat_template.jinja",
    eos_tokens=("<end_of_utterance>",),
    logit_scale=6.0,
    eos_boost=1.3,
)

CHECKPOINTS = (TINY_IDEFICS3, TINY_SMOLVLM)


def doctags_tokens():
    """SmolDocling's DocTags vocabulary: docling-core's DocumentToken.get_special_tokens(), in its order.

    Transcribed from docling_core/types/doc/tokens.py at commit b7a4298b4fe2470a97b2b3383d4e9e373e1727b0
    (github.com/docling-project/docling-core, the commit the Java converter follows): an opening and a
    closing tag per DocumentToken, <section_header_level_0..5> opening and closing, the picture
    classes, the code languages, the table (OTSL) tokens, then <loc_0> ... <loc_499>. That list holds
    <chart> and <table> twice (element and picture class); the second is dropped here, as adding a
    token twice would.
    """
    elements = (
        "doctag otsl chart ordered_list unordered_list page_break smiles inline caption footnote formula"
        " list_item page_footer page_header picture table text title document_index code checkbox_selected"
        " checkbox_unselected form key_value_region paragraph reference handwritten_text"
    ).split()
    pictures = (
        "bar_chart box_plot flow_chart line_chart pie_chart scatter_plot table full_page_image page_thumbnail"
        " photograph chemistry_structure bar_code icon logo qr_code signature stamp engineering_drawing"
        " screenshot_from_computer screenshot_from_manual geographical_map topographical_map calendar"
        " crossword_puzzle music other cad_drawing chart decoration electrical_diagram map heatmap illustration"
        " infographic chemistry_markush_structure chemistry_molecular_structure natural_image person"
        " picture_group remote_sensing scatter_chart screenshot stacked_bar_chart stratigraphic_chart ui_element"
    ).split()
    languages = (
        "Ada Awk Bash bc C C# C++ CMake COBOL CSS Ceylon Clojure Crystal Cuda Cython D Dart dc Dockerfile Elixir"
        " Erlang FORTRAN Forth Go HTML Haskell Haxe Java JavaScript Julia Kotlin Lisp Lua Matlab MoonScript Nim"
        " OCaml ObjectiveC Octave PHP Pascal Perl Prolog Python Racket Ruby Rust SML SQL Scala Scheme Swift"
        " TypeScript unknown VisualBasic XML YAML"
    ).split()
    table = "column_header row_header shed data ecel fcel lcel ucel xcel nl ched rhed srow".split()
    tokens = [t for e in elements for t in (f"<{e}>", f"</{e}>")]
    tokens += [t for level in range(6) for t in (f"<section_header_level_{level}>", f"</section_header_level_{level}>")]
    tokens += [f"<{p}>" for p in pictures] + [f"<_{lang}_>" for lang in languages] + [f"<{t}>" for t in table]
    tokens += [f"<loc_{i}>" for i in range(500)]
    assert len(tokens) == 681
    return tuple(dict.fromkeys(tokens))


DOCTAGS = doctags_tokens()

# SmolDocling-256M-preview's traits at tiny-smolvlm's sizes: SmolVLM's architecture, tokenizer and
# template, plus the DocTags as special added tokens (ids 520 on). The DocTags rows of lm_head are
# scaled up so that random weights emit them (the point is decoding added tokens, not quality).
# Seed and scales were picked (seeds +3..+6, boost 1.15 / 1.25, eos_boost 1.2 / 1.35) so that one run
# holds </doctag> and reaches the token limit and two stop at <end_of_utterance>.
TINY_SMOLDOCLING = CheckpointSpec(
    name="tiny-smoldocling",
    seed=GLOBAL_SEED + 5,
    vision=TINY_SMOLVLM.vision,
    text=TINY_SMOLVLM.text,
    scale_factor=4,
    longest_edge=256,
    tile=64,
    build_tokenizer=lambda: build_smollm_tokenizer(DOCTAGS),
    template_prefix="<|im_start|>",
    template_file="chat_template.jinja",
    eos_tokens=("<end_of_utterance>",),
    logit_scale=6.0,
    eos_boost=1.35,
    boosted_tokens=DOCTAGS,
    boost=1.15,
)


def make_image_processor(longest_edge, tile):
    """The Pillow (LANCZOS) Idefics3 image processor with the real checkpoints' settings."""
    return Idefics3ImageProcessorPil(
        do_convert_rgb=True,
        do_resize=True,
        size={"longest_edge": longest_edge},
        resample=PIL.Image.Resampling.LANCZOS,
        do_image_splitting=True,
        max_image_size={"longest_edge": tile},
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        do_pad=True,
    )


def randomize_weights(model, seed, logit_scale, eos_ids, eos_boost, boosted_ids=(), boost=1.0):
    """Fill every parameter from its own seeded generator (independent of module order).

    Linear and conv weights N(0, 1/fan_in), biases N(0, 0.1^2), norm weights 1 + N(0, 0.1^2),
    token and position embeddings N(0, 1), lm_head N(0, logit_scale^2 / hidden): the activations
    keep unit scale, every weight (norm gains and biases included) matters, and the logits spread
    enough for greedy decoding to have clear margins. The lm_head rows of the eos tokens are then
    multiplied by eos_boost, so that some greedy runs stop early, and those of boosted_ids by boost
    (tiny-smoldocling: its DocTags tokens become likely, so greedy output holds them).
    """
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            generator = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
            noise = torch.randn(param.shape, generator=generator, dtype=torch.float64)
            if "norm" in name and name.endswith(".weight"):
                value = 1.0 + 0.1 * noise
            elif name.endswith(".bias"):
                value = 0.1 * noise
            elif name.endswith("embed_tokens.weight") or name.endswith("position_embedding.weight"):
                value = noise
            elif name == "lm_head.weight":
                value = noise * logit_scale / math.sqrt(param.shape[1])
                value[eos_ids] *= eos_boost
                if boosted_ids:
                    value[list(boosted_ids)] *= boost
            else:
                value = noise / math.sqrt(math.prod(param.shape[1:]))
            param.copy_(value.to(param.dtype))


def build_model(spec, tokenizer):
    """A random Idefics3ForConditionalGeneration with the spec's shapes and the tokenizer's ids."""
    vocab = tokenizer.get_vocab()
    pad_id = tokenizer.pad_token_id
    bos_id = tokenizer.bos_token_id
    eos_ids = [vocab[t] for t in spec.eos_tokens]
    text_config = LlamaConfig(
        vocab_size=len(tokenizer),
        tie_word_embeddings=False,
        bos_token_id=bos_id,
        eos_token_id=eos_ids[0] if len(eos_ids) == 1 else eos_ids,
        pad_token_id=pad_id,
        **spec.text,
    )
    config = Idefics3Config(
        vision_config=Idefics3VisionConfig(**spec.vision),
        text_config=text_config,
        scale_factor=spec.scale_factor,
        image_token_id=vocab["<image>"],
        pad_token_id=pad_id,
        tie_word_embeddings=False,
    )
    model = Idefics3ForConditionalGeneration(config)
    boosted_ids = [vocab[t] for t in spec.boosted_tokens]
    randomize_weights(model, spec.seed, spec.logit_scale, eos_ids, spec.eos_boost, boosted_ids, spec.boost)
    model.generation_config = GenerationConfig(
        bos_token_id=bos_id,
        eos_token_id=eos_ids[0] if len(eos_ids) == 1 else eos_ids,
        pad_token_id=pad_id,
    )
    return model


def save_checkpoint(spec, folder):
    """Build and save one tiny checkpoint the way the real ones are laid out.

    transformers 5.18 writes the image processor nested inside processor_config.json and the chat
    template as chat_template.jinja; the real checkpoints ship preprocessor_config.json and a
    processor_config.json holding image_seq_len only, and Idefics3-8B ships chat_template.json.
    Those three files are rewritten here into that layout; everything else is save_pretrained's.
    """
    tokenizer = spec.build_tokenizer()
    image_processor = make_image_processor(spec.longest_edge, spec.tile)
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=spec.image_seq_len,
        chat_template=spec.chat_template,
    )
    model = build_model(spec, processor.tokenizer)

    if folder.exists():
        shutil.rmtree(folder)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)

    preprocessor = image_processor.to_dict()
    preprocessor["processor_class"] = "Idefics3Processor"
    write_json(folder / "preprocessor_config.json", preprocessor, indent=2)
    write_json(
        folder / "processor_config.json",
        {"image_seq_len": spec.image_seq_len, "processor_class": "Idefics3Processor"},
        indent=2,
    )
    if spec.template_file == "chat_template.json":
        (folder / "chat_template.jinja").unlink()
        write_json(folder / "chat_template.json", {"chat_template": spec.chat_template}, indent=2)
    else:
        assert (folder / "chat_template.jinja").read_text(encoding="utf-8") == spec.chat_template


def load_checkpoint(spec, folder):
    """Load a saved checkpoint back, as a user would: the Pillow processor, the fp32 eager model."""
    processor = load_pil_processor(folder)
    assert type(processor.image_processor) is Idefics3ImageProcessorPil, type(processor.image_processor)
    assert processor.chat_template == spec.chat_template
    assert processor.image_seq_len == spec.image_seq_len
    settings = processor.image_processor.to_dict()
    assert settings["size"] == {"longest_edge": spec.longest_edge}, settings
    assert settings["max_image_size"] == {"longest_edge": spec.tile}, settings
    assert settings["resample"] == PIL.Image.Resampling.LANCZOS, settings
    model = Idefics3ForConditionalGeneration.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    embed = model.model.text_model.embed_tokens.weight
    assert not torch.equal(model.lm_head.weight, embed), "lm_head must not be tied to embed_tokens"
    assert model.config.text_config.vocab_size == len(processor.tokenizer)
    return processor, model


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


def picture(width, height, seed, noise=24):
    """RGB uint8 test picture: gradients, hard-edged shapes (LANCZOS ringing, clamping) and seeded noise.

    The noise (uniform, +-noise) covers the bottom-right quarter of each side only, which keeps the
    stored frames compressible.
    """
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    red = 255 * x / max(width - 1, 1)
    green = 255 * y / max(height - 1, 1)
    blue = 127.5 + 127.5 * np.sin((x + 2 * y) / 5.0)
    image = Image.fromarray(np.clip(np.stack([red, green, blue], -1), 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.15, height * 0.2, width * 0.55, height * 0.75), fill=(250, 240, 20))
    draw.rectangle((width * 0.6, height * 0.1, width * 0.9, height * 0.45), fill=(10, 20, 200))
    draw.line((0, height - 1, width - 1, 0), fill=(0, 0, 0), width=max(1, min(width, height) // 16))
    pixels = np.asarray(image).astype(np.int16)
    block = pixels[height - (height + 3) // 4 :, width - (width + 3) // 4 :]
    block += np.random.RandomState(seed).randint(-noise, noise + 1, size=block.shape).astype(np.int16)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def png_16bit_rgb(pixels16):
    """Encode a 16-bit-per-channel RGB PNG (Pillow cannot write one): IHDR bit depth 16, colour type 2."""
    height, width, _ = pixels16.shape
    raw = b"".join(b"\x00" + pixels16[row].astype(">u2").tobytes() for row in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def with_orientation(orientation):
    """EXIF bytes holding only an Orientation tag."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def encode(image, fmt, **params):
    """Encode a Pillow image to bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def made_images():
    """The made images: name -> encoded bytes. Small, each aimed at one decoding or sizing case.

    Names carry the stored size (width x height); the EXIF-rotated ones display transposed.
    """

    def rgb(width, height, seed):
        return Image.fromarray(picture(width, height, seed), "RGB")

    images = {}
    images["pixel_1x1.png"] = encode(Image.new("RGB", (1, 1), (200, 30, 90)), "PNG")
    images["strip_2000x37.png"] = encode(Image.fromarray(picture(2000, 37, 2, noise=0), "RGB"), "PNG")
    images["tile_56x56.png"] = encode(rgb(56, 56, 3), "PNG")
    images["tile_64x64.png"] = encode(rgb(64, 64, 4), "PNG")
    images["portrait_35x49.jpg"] = encode(rgb(35, 49, 5), "JPEG", quality=90)
    images["landscape_49x31.jpg"] = encode(rgb(49, 31, 6), "JPEG", quality=90)
    images["progressive_46x35.jpg"] = encode(rgb(46, 35, 7), "JPEG", quality=85, progressive=True)
    images["exif_rotate6_40x24.jpg"] = encode(rgb(40, 24, 8), "JPEG", quality=90, exif=with_orientation(6))
    images["exif_rotate8_27x39.jpg"] = encode(rgb(27, 39, 9), "JPEG", quality=90, exif=with_orientation(8))
    images["gray_40x29.png"] = encode(rgb(40, 29, 10).convert("L"), "PNG")
    palette = rgb(29, 41, 11).quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    alphas = bytes([0, 64, 128, 192] + [255] * 12)  # tRNS: entry 0 transparent, 1-3 partly
    images["palette_trns_29x41.png"] = encode(palette, "PNG", transparency=alphas)
    rgba = rgb(48, 33, 12).convert("RGBA")
    y, x = np.mgrid[0:33, 0:48]
    rgba.putalpha(Image.fromarray(((x * 5 + y * 3) % 256).astype(np.uint8), "L"))
    images["rgba_alpha_48x33.png"] = encode(rgba, "PNG")
    low_bytes = np.random.RandomState(13).randint(0, 256, (27, 39, 3))
    images["rgb16_39x27.png"] = png_16bit_rgb(
        (picture(39, 27, 13).astype(np.uint16) * 256 + low_bytes).astype(np.uint16)
    )
    y, x = np.mgrid[0:47, 0:31]
    gray16 = ((x * 2000 + y * 700) % 65536).astype(np.uint16)
    images["gray16_31x47.png"] = encode(Image.fromarray(gray16), "PNG")
    images["cmyk_41x31.jpg"] = encode(rgb(41, 31, 14).convert("CMYK"), "JPEG", quality=90)
    gif = rgb(33, 45, 15).quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    images["palette_33x45.gif"] = encode(gif, "GIF")
    images["bitmap_45x33.bmp"] = encode(rgb(45, 33, 16), "BMP")
    return images


def write_images(real_images, folder):
    """Write the real images (with SOURCE.md) and the made ones into folder.

    real_images may be folder itself (a fresh clone has no shared/): everything in it that is not a
    made image or SOURCE.md counts as real. Returns ({name: bytes} sorted by name, made names).
    """
    made = made_images()
    source = (real_images / "SOURCE.md").read_bytes()
    real = {p.name: p.read_bytes() for p in sorted(real_images.iterdir()) if p.name not in made and p.suffix != ".md"}
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "SOURCE.md").write_bytes(source)
    files = dict(sorted({**real, **made}.items()))
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files, sorted(made)


def decode_rgb(data):
    """The project's input policy: decode, apply EXIF orientation, then convert to RGB.

    Alpha (RGBA, LA, PA, and PNG tRNS on P/L/RGB) is composited over white exactly as transformers'
    Idefics2 convert_to_rgb does (Pillow alpha_composite); every other mode goes through the same
    function, i.e. Pillow's own conversion: grayscale replicated, CMYK by Pillow's formula, 16-bit
    as Pillow decodes it (RGB 16-bit keeps the high byte; I;16 clamps to 255).
    """
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    image.load()
    rgb = convert_to_rgb(image)
    assert rgb.mode == "RGB"
    return rgb


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# Prompts
# ---------------------------------------------------------------------------------------------


class Request(NamedTuple):
    """One golden prompt: chat messages in HF's format and the names of its images, in order.

    continue_final_message: the last message is an assistant prefix to continue (no generation
    prompt then). source "project": its user text holds added-token strings, which transformers'
    processor would count as image slots; its ids come from the safe-tokenisation rule only.
    """

    name: str
    messages: list
    images: list
    continue_final_message: bool = False
    source: str = "hf"


def message(role, *content):
    """A chat message; content items are strings (text) or IMAGE."""
    return {"role": role, "content": [{"type": "text", "text": c} if isinstance(c, str) else c for c in content]}


IMAGE = {"type": "image"}

REQUESTS = (
    Request("single_image", [message("user", IMAGE, "What is written on this page?")], ["page_5.png"]),
    Request(
        "three_images_interleaved",
        [
            message(
                "user",
                "Compare these pictures. First:",
                IMAGE,
                "then the tile:",
                IMAGE,
                "and a single pixel:",
                IMAGE,
                "Which one is the brightest?",
            )
        ],
        ["background7.jpg", "tile_56x56.png", "pixel_1x1.png"],
    ),
    Request(
        "multi_turn",
        [
            message("user", IMAGE, "What does this diagram show?"),
            message("assistant", "It shows the life cycle of a frog."),
            message("user", "And this one?", IMAGE),
        ],
        ["ai2d_00000443.png", "palette_trns_29x41.png"],
    ),
    Request("text_only", [message("user", "Write a short poem about autumn leaves.")], []),
    Request(
        "system_prompt",
        [
            message("system", "You are a careful assistant. Answer briefly."),
            message("user", IMAGE, "How many shapes are there?"),
        ],
        ["landscape_49x31.jpg"],
    ),
    Request("wide_strip", [message("user", IMAGE, "Read the banner.")], ["strip_2000x37.png"]),
    Request(
        "assistant_prefix",
        [
            message("user", IMAGE, "Solve the puzzle in the picture."),
            message("assistant", "Let's fix this step by step"),
        ],
        ["portrait_35x49.jpg"],
        continue_final_message=True,
    ),
    Request(
        "assistant_prefix_trailing_space",
        [message("user", "Count to five."), message("assistant", "Sure: ")],
        [],
        continue_final_message=True,
    ),
    Request(
        "unicode",
        [message("user", IMAGE, "Décris l'image, s'il te plaît. 这是什么？ Ünïcödé naïve café 🙂👍🏽 — “quotes”")],
        ["exif_rotate6_40x24.jpg"],
    ),
    Request(
        "literal_control_text",
        [message("user", IMAGE, "Does the text <image> or <end_of_utterance> appear here? <image>")],
        ["rgba_alpha_48x33.png"],
        source="project",
    ),
)

BATCH = ("mixed_4", ("single_image", "text_only", "multi_turn", "wide_strip"))

FULL_LOGITS_REQUESTS = ("text_only", "wide_strip")  # every other request: the last position only


def image_string(rows, cols, seq_len, fake="<fake_token_around_image>", image="<image>"):
    """The text an <image> marker expands to (spec section 3)."""
    if rows == 0 and cols == 0:
        return f"{fake}<global-img>{image * seq_len}{fake}"
    tiles = "".join(
        "".join(f"{fake}<row_{r + 1}_col_{c + 1}>{image * seq_len}" for c in range(cols)) + "\n" for r in range(rows)
    )
    return f"{tiles}\n{fake}<global-img>{image * seq_len}{fake}"


def sentinel(index):
    """A placeholder for user text that cannot meet an added token or the template's text."""
    return f"\ue000{index}\ue001"


def safe_tokenize(processor, request, image_grids):
    """The project's safe-tokenisation rule (tools/reference/README.md).

    Returns (rendered, expanded, input_ids): user text is tokenised as plain text even where it
    contains an added token's string; only the template's and the expansion's added tokens count.
    """
    tokenizer = processor.tokenizer
    texts = []
    masked = copy.deepcopy(request.messages)
    for item in (item for m in masked for item in m["content"] if item["type"] == "text"):
        texts.append(item["text"])
        item["text"] = sentinel(len(texts) - 1)
    rendered_masked = processor.apply_chat_template(
        masked, add_generation_prompt=not request.continue_final_message, tokenize=False
    )
    if request.continue_final_message:
        # transformers 5.18: cut right after the final message's last text block, its spaces kept.
        final = sentinel(len(texts) - 1)
        rendered_masked = rendered_masked[: rendered_masked.rindex(final) + len(final)]

    markers = rendered_masked.split("<image>")
    assert len(markers) == len(image_grids) + 1, "the template wrote one <image> per image"
    expanded_masked = markers[0]
    for (rows, cols), tail in zip(image_grids, markers[1:], strict=True):
        expanded_masked += image_string(rows, cols, processor.image_seq_len) + tail

    def unmask(value):
        for index, original in enumerate(texts):
            value = value.replace(sentinel(index), original)
        return value

    added = sorted(tokenizer.get_added_vocab(), key=lambda t: (-len(t), t))
    splitter = re.compile("(" + "|".join(re.escape(t) for t in added) + ")")
    stripped = json.loads(tokenizer.backend_tokenizer.to_str())
    stripped["added_tokens"] = []
    stripped["post_processor"] = None
    plain = Tokenizer.from_str(json.dumps(stripped))

    ids = []
    for index, piece in enumerate(splitter.split(expanded_masked)):
        if index % 2 == 1:
            ids.append(tokenizer.convert_tokens_to_ids(piece))
        elif piece:
            ids.extend(plain.encode(unmask(piece), add_special_tokens=False).ids)
    prefix = tokenizer("", add_special_tokens=True)["input_ids"]
    probe = tokenizer("a b", add_special_tokens=False)["input_ids"]
    assert tokenizer("a b", add_special_tokens=True)["input_ids"] == prefix + probe, "post-processor only prepends"
    return unmask(rendered_masked), unmask(expanded_masked), prefix + ids


# ---------------------------------------------------------------------------------------------
# Processor goldens
# ---------------------------------------------------------------------------------------------


def lookup_table(image_processor):
    """lut[v] = normalize(rescale(v)) for v in 0..255, by the image processor's own methods."""
    ramp = np.broadcast_to(np.arange(256, dtype=np.uint8), (3, 1, 256)).copy()
    values = image_processor.normalize(
        image_processor.rescale(ramp, image_processor.rescale_factor),
        image_processor.image_mean,
        image_processor.image_std,
    )
    assert values.dtype == np.float32
    assert all(np.array_equal(values[0], values[c]) for c in (1, 2))
    lut = values[0, 0].copy()
    assert np.all(np.diff(lut) > 0)
    return lut


def to_frames_u8(pixel_values, lut, real_frames):
    """Invert the lookup table; assert lut[frames_u8] == pixel_values bit for bit on the real frames.

    pixel_values: float32 [..., F, 3, T, T]; real_frames: bool [..., F]. Padding frames are zeros in
    pixel_values and 0 in the returned uint8 array.
    """
    index = np.clip(np.searchsorted(lut, pixel_values), 0, 255).astype(np.uint8)
    real = np.asarray(real_frames, dtype=bool)
    assert np.array_equal(lut[index][real].view(np.uint32), pixel_values[real].view(np.uint32))
    assert not np.any(pixel_values[~real])
    index[~real] = 0
    return index


def float_sha256(array):
    return sha256(np.ascontiguousarray(array, dtype="<f4").tobytes())


def process_images(processor, decoded, lut, split, tensors):
    """Per image: rows, cols, frames, uint8 frames; the frames go into tensors."""
    records = []
    suffix = "split" if split else "nosplit"
    for name, image in decoded.items():
        out = processor.image_processor(images=[[image]], do_image_splitting=split, return_row_col_info=True)
        pixels = out["pixel_values"][0]
        assert np.all(out["pixel_attention_mask"] == 1)
        key = f"images/{name}/{suffix}"
        tensors[key] = to_frames_u8(pixels, lut, np.ones(pixels.shape[0], dtype=bool))
        records.append(
            {
                "name": name,
                "width": image.width,
                "height": image.height,
                "decoded_sha256": sha256(np.asarray(image).tobytes()),
                "rows": int(out["rows"][0][0]),
                "cols": int(out["cols"][0][0]),
                "frames": int(pixels.shape[0]),
                "frames_u8": key,
                "pixel_sha256": float_sha256(pixels),
            }
        )
    return records


def hf_request(processor, request, images):
    """Transformers' own path: apply_chat_template to text, then the processor on text and images."""
    rendered = processor.apply_chat_template(
        copy.deepcopy(request.messages),
        add_generation_prompt=not request.continue_final_message,
        continue_final_message=request.continue_final_message,
        tokenize=False,
    )
    out = processor(text=rendered, images=[images] if images else None, return_tensors="np")
    return rendered, out


def process_requests(processor, decoded, image_records):
    """Golden prompts of every request; each "hf" one is transformers' output, checked against the safe rule."""
    grids = {r["name"]: (r["rows"], r["cols"]) for r in image_records}
    frames = {r["name"]: r["frames"] for r in image_records}
    seq_len = processor.image_seq_len
    goldens = []
    for request in REQUESTS:
        image_grids = [grids[n] for n in request.images]
        rendered, expanded, ids = safe_tokenize(processor, request, image_grids)
        assert ids.count(processor.image_token_id) == seq_len * sum(frames[n] for n in request.images)
        if request.source == "hf":
            hf_rendered, out = hf_request(processor, request, [decoded[n] for n in request.images])
            assert hf_rendered == rendered, (request.name, hf_rendered, rendered)
            assert out["input_ids"][0].tolist() == ids, request.name
            assert np.all(out["attention_mask"] == 1)
            replacements = [processor.replace_image_token({"rows": [[r]], "cols": [[c]]}, 0) for r, c in image_grids]
            assert replacements == [image_string(r, c, seq_len) for r, c in image_grids]
            if request.images:
                expected = np.concatenate([pixels_of(processor, decoded[n]) for n in request.images])
                assert np.array_equal(out["pixel_values"][0], expected)
        goldens.append(
            {
                "name": request.name,
                "messages": request.messages,
                "images": request.images,
                "add_generation_prompt": not request.continue_final_message,
                "continue_final_message": request.continue_final_message,
                "rendered": rendered,
                "expanded": expanded,
                "input_ids": ids,
                "attention_mask": [1] * len(ids),
                "source": request.source,
            }
        )
    return goldens


def pixels_of(processor, image):
    """Reference float32 pixel_values [F, 3, T, T] of one image, default splitting."""
    return processor.image_processor(images=[[image]])["pixel_values"][0]


def process_batch(processor, decoded, requests, lut, tensors):
    """The left-padded batch through transformers' processor, with its frames and masks."""
    batch_name, names = BATCH
    by_name = {r["name"]: r for r in requests}
    members = [by_name[n] for n in names]
    assert all(r["source"] == "hf" for r in members)
    out = processor(
        text=[r["rendered"] for r in members],
        images=[[decoded[i] for i in r["images"]] for r in members],
        padding=True,
        padding_side="left",
        return_tensors="np",
    )
    pad_id = processor.tokenizer.pad_token_id
    input_ids = out["input_ids"]
    attention_mask = out["attention_mask"]
    for row, member in enumerate(members):
        length = len(member["input_ids"])
        pads = input_ids.shape[1] - length
        assert input_ids[row, pads:].tolist() == member["input_ids"], "batch row equals the request alone"
        assert np.all(input_ids[row, :pads] == pad_id) and attention_mask[row].tolist() == [0] * pads + [1] * length
    pixel_values = out["pixel_values"]
    pixel_mask = out["pixel_attention_mask"]
    real = pixel_mask.reshape(pixel_mask.shape[:2] + (-1,)).any(-1)
    assert np.array_equal(real, pixel_mask.reshape(pixel_mask.shape[:2] + (-1,)).all(-1))
    for row, member in enumerate(members):
        expected = [pixels_of(processor, decoded[i]) for i in member["images"]]
        count = sum(len(e) for e in expected)
        assert real[row].sum() == count and real[row, :count].all()
        if expected:
            assert np.array_equal(pixel_values[row, :count], np.concatenate(expected))
    tensors[f"batches/{batch_name}/frames"] = to_frames_u8(pixel_values, lut, real)
    tensors[f"batches/{batch_name}/mask"] = pixel_mask.astype(np.uint8)
    return {
        "name": batch_name,
        "requests": list(names),
        "input_ids": input_ids.tolist(),
        "attention_mask": attention_mask.tolist(),
        "frames_u8": f"batches/{batch_name}/frames",
        "pixel_attention_mask": f"batches/{batch_name}/mask",
        "pixel_sha256": float_sha256(pixel_values),
    }, out


def processor_goldens(spec, processor, decoded, out_dir):
    """processor.json and pixels.safetensors.gz of one checkpoint; returns what the model stage needs."""
    lut = lookup_table(processor.image_processor)
    tensors = {"lut": lut}
    images = process_images(processor, decoded, lut, True, tensors)
    images_no_split = process_images(processor, decoded, lut, False, tensors)
    requests = process_requests(processor, decoded, images)
    batch, batch_inputs = process_batch(processor, decoded, requests, lut, tensors)
    tokenizer = processor.tokenizer
    golden = {
        "checkpoint": spec.name,
        "image_seq_len": processor.image_seq_len,
        "image_token_id": processor.image_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "longest_edge": spec.longest_edge,
        "tile": spec.tile,
        "lut": "lut",
        "images": images,
        "images_no_split": images_no_split,
        "requests": requests,
        "batches": [batch],
    }
    write_json(out_dir / "processor.json", golden)
    write_safetensors_gz(out_dir / "pixels.safetensors.gz", tensors)
    return golden, batch_inputs


# ---------------------------------------------------------------------------------------------
# Model goldens
# ---------------------------------------------------------------------------------------------


def positions_from_mask(attention_mask):
    """cumsum(attention_mask) - 1, with 1 at the padding positions (spec section 6)."""
    positions = attention_mask.long().cumsum(-1) - 1
    return positions.masked_fill(attention_mask == 0, 1)


def margins(logits):
    """top-1 minus top-2 of each row of a [..., V] float tensor."""
    top = torch.topk(logits.double(), 2, dim=-1).values
    return top[..., 0] - top[..., 1]


def greedy(model, inputs, eos_ids, pad_id, max_new_tokens=MAX_NEW_TOKENS):
    """generate(do_sample=False) for max_new_tokens; returns new tokens [B, n], step margins and logits.

    eos_ids=[] disables stopping (None would fall back to the checkpoint's generation_config).
    """
    config = GenerationConfig(
        do_sample=False,
        max_new_tokens=max_new_tokens,
        eos_token_id=eos_ids,
        pad_token_id=pad_id,
        bos_token_id=model.generation_config.bos_token_id,
    )
    out = model.generate(**inputs, generation_config=config, return_dict_in_generate=True, output_logits=True)
    prompt_length = inputs["input_ids"].shape[1]
    tokens = out.sequences[:, prompt_length:]
    step_margins = torch.stack([margins(step) for step in out.logits], dim=1)
    return tokens, step_margins, torch.stack(out.logits, dim=1)


def replay_greedy(model, inputs, tokens):
    """Full forwards without cache on the prompt plus the generated tokens: last-position logits per step.

    Only the prompt's <image> positions take image features: a generated <image> token is plain text,
    as in generate (whose decode steps never see pixels).
    """
    prompt_ids = inputs["input_ids"]
    embed = model.get_input_embeddings()
    image_slots = prompt_ids == model.config.image_token_id
    prompt_embeds = embed(prompt_ids)
    if "pixel_values" in inputs:
        features = model.model.get_image_features(inputs["pixel_values"], inputs["pixel_attention_mask"])
        prompt_embeds[image_slots] = features.pooler_output.reshape(-1, prompt_embeds.shape[-1])
    steps = []
    for step in range(tokens.shape[1]):
        embeds = torch.cat([prompt_embeds, embed(tokens[:, :step])], dim=1)
        mask = torch.cat([inputs["attention_mask"], torch.ones_like(tokens[:, :step])], dim=1)
        out = model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions_from_mask(mask), use_cache=False)
        steps.append(out.logits[:, -1])
    return torch.stack(steps, dim=1)


def forward_logits(model, inputs):
    """One full forward of the prompt with explicit positions; logits [B, L, V]."""
    extra = {k: inputs[k] for k in ("pixel_values", "pixel_attention_mask") if k in inputs}
    out = model(
        input_ids=inputs["input_ids"],
        attention_mask=inputs["attention_mask"],
        position_ids=positions_from_mask(inputs["attention_mask"]),
        use_cache=False,
        **extra,
    )
    return out.logits


def torch_inputs(input_ids, attention_mask, pixel_values=None, pixel_mask=None):
    inputs = {
        "input_ids": torch.tensor(np.asarray(input_ids), dtype=torch.long),
        "attention_mask": torch.tensor(np.asarray(attention_mask), dtype=torch.long),
    }
    if pixel_values is not None:
        inputs["pixel_values"] = torch.from_numpy(np.ascontiguousarray(pixel_values))
        inputs["pixel_attention_mask"] = torch.from_numpy(np.ascontiguousarray(pixel_mask)).bool()
    return inputs


def request_inputs(processor, decoded, request):
    """Model inputs of one request from its golden ids and the reference pixels of its images."""
    ids = [request["input_ids"]]
    mask = [request["attention_mask"]]
    if not request["images"]:
        return torch_inputs(ids, mask)
    pixels = np.concatenate([pixels_of(processor, decoded[n]) for n in request["images"]])[None]
    return torch_inputs(ids, mask, pixels, np.ones((1, pixels.shape[1]) + pixels.shape[3:], dtype=np.int64))


def generation_records(tokenizer, label, tokens, step_margins, eos_ids, pad_id):
    """JSON records of one generate call, one per row; eos_ids is empty when stopping was disabled.

    tokens: the new tokens as generate returned them, rows that finished early padded with pad_id;
    length: how many of them the row generated (its eos included). min_margin covers those steps.
    """
    records = []
    for row in range(tokens.shape[0]):
        row_tokens = tokens[row].tolist()
        stops = [i for i, t in enumerate(row_tokens) if t in eos_ids]
        length = stops[0] + 1 if stops else len(row_tokens)
        assert all(t == pad_id for t in row_tokens[length:]), "finished rows emit pad"
        kept = row_tokens[:length]
        records.append(
            {
                **label,
                "row": row,
                "eos": bool(eos_ids),
                "tokens": row_tokens,
                "length": length,
                "finish": "eos" if stops else "length",
                "text": tokenizer.decode(kept, skip_special_tokens=True),
                "text_raw": tokenizer.decode(kept, skip_special_tokens=False),
                "min_margin": float(step_margins[row, :length].min()),
            }
        )
    return records


def image_feature_goldens(processor, model, decoded, golden, tensors):
    """Connector outputs [frames, image_seq_len, text_hidden] of every image, split and not."""
    features = []
    for split, records in ((True, golden["images"]), (False, golden["images_no_split"])):
        for record in records:
            out = processor.image_processor(images=[[decoded[record["name"]]]], do_image_splitting=split)
            pixels = torch.from_numpy(out["pixel_values"])
            mask = torch.from_numpy(out["pixel_attention_mask"])
            value = model.model.get_image_features(pixels, mask).pooler_output
            key = f"image_features/{record['name']}/{'split' if split else 'nosplit'}"
            tensors[key] = value.numpy()
            features.append({"name": record["name"], "split": split, "key": key, "shape": list(value.shape)})
    return features


def model_cases(processor, decoded, golden, batch_inputs):
    """(label, torch inputs) of every request alone, then of the batch."""
    cases = [({"request": r["name"]}, request_inputs(processor, decoded, r)) for r in golden["requests"]]
    batch = torch_inputs(
        batch_inputs["input_ids"],
        batch_inputs["attention_mask"],
        batch_inputs["pixel_values"],
        batch_inputs["pixel_attention_mask"],
    )
    cases.append(({"batch": golden["batches"][0]["name"]}, batch))
    return cases


def greedy_goldens(model, tokenizer, label, inputs, prompt_logits, eos_ids, pad_id):
    """Greedy runs with the checkpoint's eos ids and without; the eos-free run is replayed without cache."""
    records = []
    for stop_ids in (eos_ids, []):
        tokens, step_margins, step_logits = greedy(model, inputs, stop_ids, pad_id)
        if not stop_ids:
            assert tokens.shape[1] == MAX_NEW_TOKENS
            replay = replay_greedy(model, inputs, tokens)
            assert torch.equal(replay.argmax(-1), tokens), "generate agrees with full forwards"
            assert torch.allclose(replay, step_logits, atol=1e-4, rtol=0)
            assert torch.allclose(step_logits[:, 0], prompt_logits[:, -1], atol=1e-5, rtol=0)
        records.extend(generation_records(tokenizer, label, tokens, step_margins, stop_ids, pad_id))
    half = len(records) // 2
    for stopped, free in zip(records[:half], records[half:], strict=True):
        assert free["tokens"][: stopped["length"]] == stopped["tokens"][: stopped["length"]], "eos run is a prefix"
    return records


def check_batch_matches_requests(golden, logits_by_case, generations):
    """Each batch row (left-padded) gives the same greedy tokens and, within 1e-4, logits as its request alone."""
    batch = golden["batches"][0]
    batch_logits = logits_by_case[batch["name"]][:, -1]
    alone = {(g["request"], g["eos"]): g for g in generations if "request" in g}
    for g in generations:
        if "batch" in g:
            single = alone[(batch["requests"][g["row"]], g["eos"])]
            assert g["length"] == single["length"] and g["tokens"][: g["length"]] == single["tokens"]
    for row, name in enumerate(batch["requests"]):
        difference = (batch_logits[row] - logits_by_case[name][0, -1]).abs().max().item()
        assert difference < 1e-4, (name, difference)


def model_goldens(spec, processor, model, decoded, golden, batch_inputs, out_dir):
    """model.json and model.safetensors.gz of one checkpoint."""
    tokenizer = processor.tokenizer
    eos_ids = list(np.atleast_1d(model.generation_config.eos_token_id).tolist())
    pad_id = tokenizer.pad_token_id
    tensors = {}
    logits_records = []
    generations = []
    logits_by_case = {}
    with torch.no_grad():
        features = image_feature_goldens(processor, model, decoded, golden, tensors)
        for label, inputs in model_cases(processor, decoded, golden, batch_inputs):
            name = label.get("request") or label["batch"]
            logits = forward_logits(model, inputs)
            logits_by_case[name] = logits
            full = name in FULL_LOGITS_REQUESTS
            key = f"logits/{name}"
            tensors[key] = (logits[0] if full else logits[:, -1]).numpy()
            logits_records.append(
                {**label, "positions": "all" if full else "last", "key": key, "shape": list(tensors[key].shape)}
            )
            generations.extend(greedy_goldens(model, tokenizer, label, inputs, logits, eos_ids, pad_id))
    check_batch_matches_requests(golden, logits_by_case, generations)

    smallest = min(g["min_margin"] for g in generations)
    assert smallest >= MIN_MARGIN_REQUIRED, f"{spec.name}: smallest greedy margin {smallest} < {MIN_MARGIN_REQUIRED}"
    golden_model = {
        "checkpoint": spec.name,
        "dtype": "float32",
        "attn_implementation": "eager",
        "positions": "cumsum(attention_mask) - 1, 1 at padding",
        "vocab_size": model.config.text_config.vocab_size,
        "text_hidden": model.config.text_config.hidden_size,
        "image_seq_len": processor.image_seq_len,
        "eos_token_ids": eos_ids,
        "pad_token_id": pad_id,
        "max_new_tokens": MAX_NEW_TOKENS,
        "min_logit_margin": smallest,
        "image_features": features,
        "logits": logits_records,
        "generations": generations,
    }
    write_json(out_dir / "model.json", golden_model)
    write_safetensors_gz(out_dir / "model.safetensors.gz", tensors)
    return golden_model


# ---------------------------------------------------------------------------------------------
# Option goldens: likelihood scoring of multiple-choice options
# ---------------------------------------------------------------------------------------------

LETTER_INSTRUCTION = "Answer with the option's letter from the given choices directly."

# (request, options): each option is the text that follows the generation prompt "Assistant:", the
# space the model writes first included, so " A" is what transformers scores at the end of
# tokenizer(prompt + " A"). In the tiny tokenizers " C" and " D" are two tokens ("Ġ", "C"): they
# cover continuations of several tokens; "Ġ" + letter is one token in the real checkpoints'.
OPTION_REQUESTS = (
    (
        Request(
            "mc_single_image",
            [
                message(
                    "user",
                    IMAGE,
                    "Which shape is in the picture?\nA. a circle\nB. a square\nC. a triangle\nD. a star\n"
                    + LETTER_INSTRUCTION,
                )
            ],
            ["landscape_49x31.jpg"],
        ),
        (" A", " B", " C", " D"),
    ),
    (
        Request(
            "mc_interleaved",
            [
                message(
                    "user",
                    "Look at the organism",
                    IMAGE,
                    "and the diagram",
                    IMAGE,
                    "Which stage comes first?\nA. egg\nB. larva\nC. adult\n\n" + LETTER_INSTRUCTION,
                )
            ],
            ["validation_Biology_1_1.png", "ai2d_00000443.png"],
        ),
        (" A", " B", " C"),
    ),
    (
        Request(
            "mc_text_only",
            [message("user", "Is the sky blue?\nA. yes\nB. no\n" + LETTER_INSTRUCTION)],
            [],
        ),
        (" A", " B", " E", " yes"),
    ),
)


def option_goldens(spec, processor, model, decoded, out_path):
    """options.json: each option's log-probability after its prompt, one forward per option.

    The log-probability of an option is the sum, over its tokens, of the log-softmax (fp32) of the
    logits at the position before each token, in a forward of prompt + option with no padding.
    """
    tokenizer = processor.tokenizer
    cases = []
    with torch.no_grad():
        for request, options in OPTION_REQUESTS:
            images = [decoded[n] for n in request.images]
            _, out = hf_request(processor, request, images)
            prompt = out["input_ids"][0].tolist()
            records = []
            for option in options:
                option_ids = tokenizer(option, add_special_tokens=False)["input_ids"]
                full = tokenizer(tokenizer.decode(prompt) + option, add_special_tokens=False)["input_ids"]
                assert full[-len(option_ids) :] == option_ids, (request.name, option)
                ids = prompt + option_ids
                inputs = torch_inputs([ids], [[1] * len(ids)])
                if images:
                    pixels = np.concatenate([pixels_of(processor, image) for image in images])[None]
                    inputs = torch_inputs(
                        [ids], [[1] * len(ids)], pixels, np.ones((1, pixels.shape[1]) + pixels.shape[3:], dtype=np.int64)
                    )
                logprobs = torch.log_softmax(forward_logits(model, inputs)[0].float(), dim=-1)
                total = sum(float(logprobs[len(prompt) - 1 + j, t]) for j, t in enumerate(option_ids))
                records.append({"option": option, "ids": option_ids, "logprob": total})
            cases.append(
                {
                    "name": request.name,
                    "messages": request.messages,
                    "images": request.images,
                    "add_generation_prompt": True,
                    "input_ids": prompt,
                    "options": records,
                }
            )
    write_json(
        out_path,
        {
            "checkpoint": spec.name,
            "dtype": "float32",
            "logprob": "sum over the option's tokens of log_softmax(logits) at the position before each,"
            " one forward of prompt + option (positions 0..n-1, no padding)",
            "cases": cases,
        },
    )


# ---------------------------------------------------------------------------------------------
# DocTags goldens: tiny-smoldocling on SmolDocling's document prompt
# ---------------------------------------------------------------------------------------------

DOCLING_PROMPT = "Convert this page to docling."
DOCLING_MAX_NEW_TOKENS = 64
DOCLING_REQUESTS = (
    Request("page", [message("user", IMAGE, DOCLING_PROMPT)], ["page_5.png"]),
    Request("made_page", [message("user", IMAGE, DOCLING_PROMPT)], ["landscape_49x31.jpg"]),
    Request("text_only", [message("user", DOCLING_PROMPT)], []),
)


def doctags_goldens(spec, processor, model, decoded, out_path):
    """doctags.json: the document prompt's ids and greedy DocTags of tiny-smoldocling.

    Per request: transformers' ids (checked against the safe-tokenisation rule), the greedy tokens
    with the generation_config's eos (<end_of_utterance>) for DOCLING_MAX_NEW_TOKENS, and their
    decodes: "text" skips special tokens (the DocTags are special: they vanish), "text_raw" keeps
    them, "doctags" keeps them without the final eos (what Docling reads: it decodes with
    skip_special_tokens=False and removes the end-of-utterance marker). The eos-free run is
    replayed without cache as for the other checkpoints.
    """
    tokenizer = processor.tokenizer
    eos_ids = list(np.atleast_1d(model.generation_config.eos_token_id).tolist())
    pad_id = tokenizer.pad_token_id
    doctag_end = tokenizer.convert_tokens_to_ids("</doctag>")
    doctag_ids = set(tokenizer.convert_tokens_to_ids(list(DOCTAGS)))
    cases = []
    with torch.no_grad():
        for request in DOCLING_REQUESTS:
            images = [decoded[n] for n in request.images]
            rendered, out = hf_request(processor, request, images)
            ids = out["input_ids"][0].tolist()
            grids = []
            for image in images:
                info = processor.image_processor(images=[[image]], return_row_col_info=True)
                grids.append((int(info["rows"][0][0]), int(info["cols"][0][0])))
            safe_rendered, _, safe_ids = safe_tokenize(processor, request, grids)
            assert safe_rendered == rendered and safe_ids == ids, request.name
            golden = {"images": request.images, "input_ids": ids, "attention_mask": [1] * len(ids)}
            inputs = request_inputs(processor, decoded, golden)
            prompt_logits = forward_logits(model, inputs)
            runs = {}
            for stop_ids in (eos_ids, []):
                tokens, step_margins, step_logits = greedy(model, inputs, stop_ids, pad_id, DOCLING_MAX_NEW_TOKENS)
                runs[bool(stop_ids)] = (tokens[0].tolist(), step_margins[0])
                if not stop_ids:
                    replay = replay_greedy(model, inputs, tokens)
                    assert torch.equal(replay.argmax(-1), tokens), "generate agrees with full forwards"
                    assert torch.allclose(replay, step_logits, atol=1e-4, rtol=0)
                    assert torch.allclose(step_logits[:, 0], prompt_logits[:, -1], atol=1e-5, rtol=0)
            tokens, step_margins = runs[True]
            free, _ = runs[False]
            stops = [i for i, t in enumerate(tokens) if t in eos_ids]
            length = stops[0] + 1 if stops else len(tokens)
            assert free[:length] == tokens[:length], "eos run is a prefix"
            kept = tokens[:length]
            body = kept[:-1] if stops else kept
            text = tokenizer.decode(kept, skip_special_tokens=True)
            doctags = tokenizer.decode(body, skip_special_tokens=False)
            assert sum(t in doctag_ids for t in body) >= 3, (request.name, doctags)
            assert not any(t in text for t in ("<loc_", "<doctag>", "<fcel>")), "DocTags are special tokens"
            cases.append(
                {
                    "name": request.name,
                    "messages": request.messages,
                    "images": request.images,
                    "rendered": rendered,
                    "input_ids": ids,
                    "tokens": tokens,
                    "length": length,
                    "finish": "eos" if stops else "length",
                    "doctag_end": kept.index(doctag_end) + 1 if doctag_end in kept else None,
                    "doctags_generated": sum(t in doctag_ids for t in kept),
                    "text": text,
                    "text_raw": tokenizer.decode(kept, skip_special_tokens=False),
                    "doctags": doctags,
                    "min_margin": float(step_margins[:length].min()),
                }
            )
    smallest = min(c["min_margin"] for c in cases)
    assert smallest >= MIN_MARGIN_REQUIRED, f"{spec.name}: smallest greedy margin {smallest}"
    write_json(
        out_path,
        {
            "checkpoint": spec.name,
            "dtype": "float32",
            "attn_implementation": "eager",
            "prompt": DOCLING_PROMPT,
            "max_new_tokens": DOCLING_MAX_NEW_TOKENS,
            "eos_token_ids": eos_ids,
            "pad_token_id": pad_id,
            "doctag_end_id": doctag_end,
            "doctags_first_id": min(doctag_ids),
            "doctags_count": len(doctag_ids),
            "vocab_size": len(tokenizer),
            "min_logit_margin": smallest,
            "doctag_end": "1-based position of the first </doctag> in tokens (Docling stops there), or null",
            "text": "decode(tokens[:length], skip_special_tokens=True): the DocTags are special, so removed",
            "text_raw": "decode(tokens[:length], skip_special_tokens=False)",
            "doctags": "decode(tokens[:length] without the final eos, skip_special_tokens=False)",
            "cases": cases,
        },
    )
    return smallest


# ---------------------------------------------------------------------------------------------
# Real preprocessor settings, decoded images, files
# ---------------------------------------------------------------------------------------------

REAL_PREPROCESSORS = {
    "Idefics3-8B-Llama3": (1456, 364),
    "SmolVLM-256M-Instruct": (2048, 512),
}
REAL_PREPROCESSOR_MADE_IMAGES = (
    "pixel_1x1.png",
    "strip_2000x37.png",
    "tile_56x56.png",
    "exif_rotate6_40x24.jpg",
    "rgba_alpha_48x33.png",
)


def real_preprocessor_goldens(decoded, real_names, out_path):
    """Pixel hashes with the real checkpoints' preprocessor settings (no arrays)."""
    result = {}
    for model_name, (longest_edge, tile) in REAL_PREPROCESSORS.items():
        image_processor = make_image_processor(longest_edge, tile)
        entries = []
        for name in list(real_names) + list(REAL_PREPROCESSOR_MADE_IMAGES):
            for split in (True, False):
                out = image_processor(images=[[decoded[name]]], do_image_splitting=split, return_row_col_info=True)
                pixels = out["pixel_values"][0]
                entries.append(
                    {
                        "name": name,
                        "split": split,
                        "rows": int(out["rows"][0][0]),
                        "cols": int(out["cols"][0][0]),
                        "frames": int(pixels.shape[0]),
                        "shape": list(pixels.shape),
                        "pixel_sha256": float_sha256(pixels),
                    }
                )
        result[model_name] = {
            "size": {"longest_edge": longest_edge},
            "max_image_size": {"longest_edge": tile},
            "images": entries,
        }
    write_json(out_path, result)


def write_json(path, value, indent=1):
    """Sorted keys, UTF-8, trailing newline: byte-stable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def write_safetensors_gz(path, tensors):
    """A gzip (mtime 0, no name) of a safetensors file holding the arrays, keys sorted."""
    data = safetensors_save({k: np.ascontiguousarray(tensors[k]) for k in sorted(tensors)})
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(data)


def manifest(out_dir, command, image_names, made_names):
    """manifest.json: versions, the command line, and every file's size and sha256."""
    files = []
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != "manifest.json"):
        data = path.read_bytes()
        files.append({"path": path.relative_to(out_dir).as_posix(), "size": len(data), "sha256": sha256(data)})
    value = {
        "generator": "tools/reference/generate.py",
        "command": command,
        "versions": {
            "python": platform.python_version(),
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "tokenizers": tokenizers.__version__,
            "pillow": PIL.__version__,
            "numpy": np.__version__,
            "safetensors": safetensors.__version__,
        },
        "images": image_names,
        "made_images": made_names,
        "checkpoints": [spec.name for spec in CHECKPOINTS] + [TINY_SMOLDOCLING.name],
        "goldens": {
            "goldens/<checkpoint>/processor.json": "image grids and hashes, prompts, token ids, the batch",
            "goldens/<checkpoint>/pixels.safetensors.gz": "lut (float32[256]) and uint8 frames of every image",
            "goldens/<checkpoint>/model.json": "image features index, logits index, greedy generations",
            "goldens/<checkpoint>/model.safetensors.gz": "image features and logits (float32)",
            "goldens/<checkpoint>/options.json": "multiple-choice prompts and each option's log-probability",
            "goldens/tiny-smoldocling/doctags.json": "document prompts, greedy DocTags tokens and their decodes",
            "goldens/decoded.safetensors.gz": "Pillow's decoded RGB uint8 [H, W, 3] of the made images",
            "goldens/real-preprocessors.json": "pixel hashes with the real preprocessor settings",
        },
        "files": files,
    }
    write_json(out_dir / "manifest.json", value)


def configure_determinism():
    """One thread everywhere (torch, the tokenizers' Rayon pool), deterministic kernels, quiet logs."""
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    os.environ["RAYON_NUM_THREADS"] = "1"
    torch.manual_seed(GLOBAL_SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real-images", type=Path, default=DEFAULT_REAL_IMAGES, help="folder of the shared samples")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="fixture folder to (re)write")
    args = parser.parse_args()
    configure_determinism()

    out_dir = args.out.resolve()
    command = " ".join(["python -X utf8 tools/reference/generate.py", *sys.argv[1:]])
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("checkpoints", "goldens"):
        if (out_dir / stale).exists():
            shutil.rmtree(out_dir / stale)

    files, made_names = write_images(args.real_images.resolve(), out_dir / "images")
    decoded = {name: decode_rgb(data) for name, data in files.items()}
    write_safetensors_gz(
        out_dir / "goldens" / "decoded.safetensors.gz", {n: np.asarray(decoded[n]) for n in made_names}
    )
    real_names = [n for n in files if n not in made_names]
    real_preprocessor_goldens(decoded, real_names, out_dir / "goldens" / "real-preprocessors.json")

    for spec in CHECKPOINTS:
        folder = out_dir / "checkpoints" / spec.name
        save_checkpoint(spec, folder)
        processor, model = load_checkpoint(spec, folder)
        golden_dir = out_dir / "goldens" / spec.name
        golden, batch_inputs = processor_goldens(spec, processor, decoded, golden_dir)
        result = model_goldens(spec, processor, model, decoded, golden, batch_inputs, golden_dir)
        print(f"{spec.name}: vocab {len(processor.tokenizer)}, min logit margin {result['min_logit_margin']:.4f}")

    for spec in CHECKPOINTS:  # after every other golden, so they come out as before
        processor, model = load_checkpoint(spec, out_dir / "checkpoints" / spec.name)
        option_goldens(spec, processor, model, decoded, out_dir / "goldens" / spec.name / "options.json")

    spec = TINY_SMOLDOCLING  # last, so that everything above comes out as before
    save_checkpoint(spec, out_dir / "checkpoints" / spec.name)
    processor, model = load_checkpoint(spec, out_dir / "checkpoints" / spec.name)
    smallest = doctags_goldens(spec, processor, model, decoded, out_dir / "goldens" / spec.name / "doctags.json")
    print(f"{spec.name}: vocab {len(processor.tokenizer)}, min logit margin {smallest:.4f}")

    manifest(out_dir, command, list(files), made_names)


if __name__ == "__main__":
    sys.exit(main())
