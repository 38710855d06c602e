"""Hugging Face side of the preprocessing benchmark: decode + resize + split + normalise + tokens.

Times, per image, what transformers' Idefics3 processor does on its recommended path (the Pillow
image processor, `Idefics3ImageProcessorPil`): open the bytes with Pillow, apply the EXIF
orientation, convert to RGB, then `Idefics3Processor(text=prompt, images=[image])`. Prints one
JSON object per image with the median and all timings in milliseconds.

Run by tools/bench/preprocess.sh, pinned to one core next to the Java side.
"""

import argparse
import io
import json
import os
import statistics
import time
from pathlib import Path

import torch
from PIL import Image, ImageOps
from transformers import AutoTokenizer, Idefics3Processor
from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil


def build_processor(checkpoint: Path, longest_edge: int, max_image_size: int, image_seq_len: int):
    """The reference processor with the given resolution (a released checkpoint's values)."""
    config = json.loads((checkpoint / "preprocessor_config.json").read_text())
    config.pop("image_processor_type", None)
    config.pop("processor_class", None)
    config["size"] = {"longest_edge": longest_edge}
    config["max_image_size"] = {"longest_edge": max_image_size}
    image_processor = Idefics3ImageProcessorPil(**config)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    return Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=image_seq_len,
        chat_template=(checkpoint / "chat_template.jinja").read_text(),
    )


def preprocess(processor, data: bytes):
    """Everything the benchmark counts, from the file's bytes to pixel values and input ids."""
    image = Image.open(io.BytesIO(data))
    image = ImageOps.exif_transpose(image).convert("RGB")
    messages = [
        {
            "role": "user",
            "content": [{"type": "image"}, {"type": "text", "text": "What is in this image?"}],
        }
    ]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    return processor(text=prompt, images=[image], return_tensors="np")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--longest-edge", type=int, required=True)
    parser.add_argument("--max-image-size", type=int, required=True)
    parser.add_argument("--image-seq-len", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=7)
    args = parser.parse_args()

    torch.set_num_threads(1)
    processor = build_processor(
        args.checkpoint, args.longest_edge, args.max_image_size, args.image_seq_len
    )
    for path in sorted(args.images.iterdir()):
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            continue
        data = path.read_bytes()
        for _ in range(args.warmup):
            out = preprocess(processor, data)
        times = []
        for _ in range(args.iterations):
            start = time.perf_counter()
            out = preprocess(processor, data)
            times.append((time.perf_counter() - start) * 1000)
        print(
            json.dumps(
                {
                    "side": "hf",
                    "image": path.name,
                    "frames": int(out["pixel_values"].shape[1]),
                    "tokens": int(out["input_ids"].shape[1]),
                    "median_ms": statistics.median(times),
                    "ms": [round(t, 3) for t in times],
                    "pid": os.getpid(),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
