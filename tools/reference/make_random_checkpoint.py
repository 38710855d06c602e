#!/usr/bin/env python3
"""Write a random SmolVLM-256M-shaped Idefics3 checkpoint (fp32 safetensors, about 1 GB) for benchmarks.

Usage: python -X utf8 tools/reference/make_random_checkpoint.py OUT_DIR   (outside the repository,
e.g. /tmp/smolvlm-256m-random; never commit it)

Shapes are SmolVLM-256M-Instruct's (docs: ../shared/spec/idefics3-reference.md section 1): vision
768 / 3072, 12 layers, 12 heads, image 512, patch 16, scale factor 4 -> 64 tokens a tile; text
576 / 1536, 30 layers, 9 heads, 3 kv heads, vocab 49280, rope_theta 100000, context 8192;
preprocessor longest_edge 2048, max_image_size 512 (LANCZOS, mean/std 0.5).

Tokenizer, chat template and image processor are the tiny SmolVLM checkpoint's (built by
generate.py's own functions, so nothing there changes): its 520 ids keep their meaning (<image> 518,
<end_of_utterance> 519 = eos, pad <|im_end|> 2, bos <|im_start|> 1) and the text embedding and
lm_head are padded to SmolVLM's 49280 rows, so the matmul shapes are the real model's. Generated ids
above 519 have no token string: benchmarks compare ids, not text.

Weights come from generate.py's randomize_weights (each parameter from its own seeded generator:
linear N(0, 1/fan_in), norms 1 + N(0, 0.01), embeddings N(0, 1), lm_head scaled so logits have a
spread of about 6), so reruns give byte-identical safetensors. The script prints the sha256.
"""

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

import torch
import transformers
from transformers import GenerationConfig, Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor, LlamaConfig
from transformers.models.idefics3.configuration_idefics3 import Idefics3VisionConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402  (the tiny checkpoints' tokenizer, template, processor and weight filler)

SEED = generate.GLOBAL_SEED + 256
VOCAB = 49280
VISION = dict(
    hidden_size=768,
    intermediate_size=3072,
    num_hidden_layers=12,
    num_attention_heads=12,
    patch_size=16,
    image_size=512,
    hidden_act="gelu_pytorch_tanh",
    layer_norm_eps=1e-6,
)
TEXT = dict(
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    rope_theta=100000.0,
    rms_norm_eps=1e-5,
    max_position_embeddings=8192,
)
SCALE_FACTOR = 4
LONGEST_EDGE = 2048
TILE = 512
IMAGE_SEQ_LEN = (TILE // VISION["patch_size"]) ** 2 // SCALE_FACTOR**2  # 64
LOGIT_SCALE = 6.0


def build(out: Path):
    tokenizer = generate.build_smollm_tokenizer()
    image_processor = generate.make_image_processor(LONGEST_EDGE, TILE)
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=IMAGE_SEQ_LEN,
        chat_template=generate.TINY_SMOLVLM.chat_template,
    )
    vocab = tokenizer.get_vocab()
    eos = vocab["<end_of_utterance>"]
    assert len(tokenizer) <= VOCAB
    text_config = LlamaConfig(
        vocab_size=VOCAB,
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
    generate.randomize_weights(model, SEED, LOGIT_SCALE, [eos], 1.0)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id
    )
    if out.exists():
        shutil.rmtree(out)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    # The released checkpoints' layout (as generate.save_checkpoint writes it for tiny-smolvlm).
    preprocessor = image_processor.to_dict()
    preprocessor["processor_class"] = "Idefics3Processor"
    generate.write_json(out / "preprocessor_config.json", preprocessor, indent=2)
    generate.write_json(
        out / "processor_config.json",
        {"image_seq_len": IMAGE_SEQ_LEN, "processor_class": "Idefics3Processor"},
        indent=2,
    )
    parameters = sum(p.numel() for p in model.parameters())
    return parameters


def sha256(path: Path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="checkpoint folder to (re)write, outside the repository")
    args = parser.parse_args()
    out = args.out.resolve()
    if generate.REPO in out.parents or out == generate.REPO:
        parser.error(f"{out} is inside the repository; write the checkpoint elsewhere (e.g. /tmp)")
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    parameters = build(out)
    weights = sorted(out.glob("*.safetensors"))
    size = sum(p.stat().st_size for p in weights)
    print(f"{out}: {parameters:,} parameters, {size / 1e9:.3f} GB of fp32 safetensors")
    for path in weights:
        print(f"  {path.name} sha256 {sha256(path)}")


if __name__ == "__main__":
    sys.exit(main())
