#!/usr/bin/env python3
"""Write a random checkpoint of Idefics3-8B-Llama3's shape (bf16, sharded safetensors with an index,
about 17 GB) for the convert memory benchmark (convert_8b.sh). Never commit it.

Usage: python -X utf8 tools/bench/make_random_idefics3_8b.py OUT_DIR

The tensor names and shapes are transformers' own: Idefics3ForConditionalGeneration built on the
meta device from config.json (the 8B values of ../shared/spec/idefics3-reference.md section 1;
8,462,086,384 parameters in 729 tensors), so nothing of that size is ever allocated at once. Each
tensor is drawn from its own seeded generator (N(0, 0.02); RMS-norm weights 1) and written in shards of about
4 GB, as Hugging Face shards. Tokenizer, chat template and processor files are the tiny-idefics3
fixture's (the 8B layout: markers as plain text, double BOS), with the 8B image sizes: conversion
reads them but does not use the vocabulary, and the weights are noise anyway.
"""

import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import Idefics3Config, Idefics3ForConditionalGeneration

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "model-loader/src/test/resources/reference/checkpoints/tiny-idefics3"
SHARD_BYTES = 4 << 30
SEED = 8_462_086_384


def config() -> dict:
    c = json.loads((TINY / "config.json").read_text())
    c["text_config"].update(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=128,
        vocab_size=128259,
    )
    c["vision_config"].update(
        hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
        image_size=364, patch_size=14,
    )
    return c


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=False)
    c = config()
    (out / "config.json").write_text(json.dumps(c, indent=2) + "\n")
    for name in ("generation_config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.json"):
        shutil.copy(TINY / name, out / name)
    pre = json.loads((TINY / "preprocessor_config.json").read_text())
    pre["size"] = {"longest_edge": 1456}
    pre["max_image_size"] = {"longest_edge": 364}
    (out / "preprocessor_config.json").write_text(json.dumps(pre, indent=2) + "\n")
    processor = json.loads((TINY / "processor_config.json").read_text())
    processor["image_seq_len"] = (364 // 14) ** 2 // 2**2  # 169
    (out / "processor_config.json").write_text(json.dumps(processor, indent=2) + "\n")

    with torch.device("meta"):
        model = Idefics3ForConditionalGeneration(Idefics3Config(**c))
    shapes = {name: tuple(p.shape) for name, p in model.state_dict().items()}
    total = sum(torch.Size(s).numel() for s in shapes.values())
    print(f"{len(shapes)} tensors, {total:,} parameters", flush=True)

    # Shards are written as they fill, under temporary names: their count is known only at the end.
    shard_keys, shard, size = [], {}, 0
    for i, (name, shape) in enumerate(sorted(shapes.items())):
        generator = torch.Generator().manual_seed(SEED + i)
        if name.endswith("norm.weight"):
            shard[name] = torch.ones(shape, dtype=torch.bfloat16)
        else:
            shard[name] = (torch.randn(shape, generator=generator) * 0.02).to(torch.bfloat16)
        size += shard[name].numel() * 2
        if size >= SHARD_BYTES:
            shard_keys.append(write_shard(out, len(shard_keys), shard))
            shard, size = {}, 0
    if shard:
        shard_keys.append(write_shard(out, len(shard_keys), shard))

    count = len(shard_keys)
    weight_map = {}
    for k, keys in enumerate(shard_keys):
        final = f"model-{k + 1:05d}-of-{count:05d}.safetensors"
        (out / f"part-{k}.safetensors").rename(out / final)
        weight_map.update((key, final) for key in keys)
    index = {"metadata": {"total_size": total * 2}, "weight_map": dict(sorted(weight_map.items()))}
    (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    print(f"wrote {count} shards to {out}", flush=True)


def write_shard(out: Path, k: int, shard: dict) -> list:
    save_file(shard, str(out / f"part-{k}.safetensors"), metadata={"format": "pt"})
    print(f"shard {k + 1} written", flush=True)
    return sorted(shard)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
