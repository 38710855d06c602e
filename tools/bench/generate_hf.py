"""Hugging Face side of the generation benchmark: Idefics3Processor + model.generate, torch fp32.

Per iteration, for every batch of --batch requests (in request order): open the image bytes with
Pillow, EXIF-transpose, convert to RGB, render the chat template and run the processor (the Pillow
image processor at --longest-edge, left padding) ("preprocess"), then
`generate(do_sample=False, max_new_tokens=N, eos_token_id=[])` so that every row gets N tokens
("generate"). A logits processor stamps the time of each decoding step: the first stamp is the end
of the prefill (vision encoder, connector, text prefill, lm_head), the rest the decode steps.
Prints one JSON line per iteration and a last line with the load time, the peak RSS (VmHWM) and
the resident memory by phase (PhaseMemory: start, runtime = import torch and transformers, load,
warmup, then over the timed passes preprocess, encode = vision encoder + connector (to the
connector's forward hook), prefill (to the first logits-processor call) and decode).
Each line also holds every row's smallest top-1 minus top-2 logit margin over its steps, so that a
token mismatch with the Java side can be told from a near tie. --warmup passes of the first request
alone with two new tokens come first (nothing printed for them), as on the Java side.

Run by tools/bench/generate.sh next to the Java side, pinned to the same cores.
"""

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path


class PhaseMemory:
    """Resident memory by phase: each phase's peak and the RSS at its end, in kB.

    mark(phase) ends a phase: it reads VmRSS and VmHWM from /proc/self/status, then resets the
    kernel's peak counter (writing 5 to /proc/self/clear_refs), so the next mark's VmHWM is the
    peak of that phase alone. A phase marked several times (once per batch) keeps its highest peak
    and its last RSS. Where the reset is refused, peaks are the process's so far (peak_reset false).
    GenerateBench.PhaseMemory does the same on the Java side.
    """

    def __init__(self):
        self.phases = {}
        self.recording = True
        self.peak_reset = True

    def mark(self, phase):
        if not self.recording:
            return
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        rss, peak = int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])
        entry = self.phases.setdefault(phase, dict(rss_kb=0, peak_kb=0))
        entry["rss_kb"], entry["peak_kb"] = rss, max(entry["peak_kb"], peak)
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            self.peak_reset = False

    def peak_kb(self):
        return max(entry["peak_kb"] for entry in self.phases.values())


MEMORY = PhaseMemory()
MEMORY.mark("start")  # the interpreter, before torch and transformers are imported

import torch  # noqa: E402
import transformers  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402
from transformers import (  # noqa: E402
    Idefics3ForConditionalGeneration,
    LogitsProcessor,
    LogitsProcessorList,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from pil_processor import load_pil_processor  # noqa: E402


class StepClock(LogitsProcessor):
    """Records perf_counter() each time generate asks for the next token's scores; the first call
    ends the prefill (MEMORY's "prefill" phase)."""

    def __init__(self):
        self.stamps = []

    def __call__(self, input_ids, scores):
        if not self.stamps:
            MEMORY.mark("prefill")
        self.stamps.append(time.perf_counter())
        return scores


def run(model, processor, requests, data, batch, n):
    """One pass over the requests in batches of `batch`, n new tokens each: timings, tokens, margins."""
    totals = dict(preprocess_ms=0.0, prefill_ms=0.0, decode_ms=0.0, generate_ms=0.0)
    tokens, prompt_tokens, margins = [], [], []
    frames = 0
    for start in range(0, len(requests), batch):
        group = range(start, min(len(requests), start + batch))
        t0 = time.perf_counter()
        images, texts = [], []
        for i in group:
            image = ImageOps.exif_transpose(Image.open(io.BytesIO(data[i]))).convert("RGB")
            messages = [
                {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": requests[i]["prompt"]}]}
            ]
            texts.append(processor.apply_chat_template(messages, add_generation_prompt=True))
            images.append([image])
        inputs = processor(text=texts, images=images, padding=True, return_tensors="pt")
        t1 = time.perf_counter()
        MEMORY.mark("preprocess")
        clock = StepClock()
        with torch.inference_mode():
            out = model.generate(
                **inputs,
                do_sample=False,
                max_new_tokens=n,
                eos_token_id=[],
                pad_token_id=processor.tokenizer.pad_token_id,
                logits_processor=LogitsProcessorList([clock]),
                return_dict_in_generate=True,
                output_logits=True,
            )
        t2 = time.perf_counter()
        MEMORY.mark("decode")
        assert len(clock.stamps) == n, (len(clock.stamps), n)
        totals["preprocess_ms"] += (t1 - t0) * 1000
        totals["generate_ms"] += (t2 - t1) * 1000
        totals["prefill_ms"] += (clock.stamps[0] - t1) * 1000
        totals["decode_ms"] += (t2 - clock.stamps[0]) * 1000
        frames += int(inputs["pixel_attention_mask"].flatten(2).any(-1).sum())
        new = out.sequences[:, inputs["input_ids"].shape[1] :]
        assert new.shape[1] == n
        for row in range(new.shape[0]):
            tokens.append(new[row].tolist())
            prompt_tokens.append(int(inputs["attention_mask"][row].sum()))
            top2 = torch.stack([step[row].float().topk(2).values for step in out.logits])
            margins.append(float((top2[:, 0] - top2[:, 1]).min()))
    return dict(
        images=len(requests),
        frames=frames,
        new_tokens=n,
        tokens=tokens,
        prompt_tokens=prompt_tokens,
        min_margin=margins,
        **totals,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--requests", type=Path, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--longest-edge", type=int, required=True)
    parser.add_argument("--max-new-tokens", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--attn", default="sdpa", help="attn_implementation (sdpa: transformers' default)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    transformers.logging.set_verbosity_error()
    MEMORY.mark("runtime")
    load_start = time.perf_counter()
    processor = load_pil_processor(args.checkpoint)
    processor.image_processor.size = {"longest_edge": args.longest_edge}
    processor.tokenizer.padding_side = "left"
    model = Idefics3ForConditionalGeneration.from_pretrained(
        args.checkpoint, dtype=torch.float32, attn_implementation=args.attn
    ).eval()
    # the vision encoder and connector end here: the image features, before the text prefill
    model.model.connector.register_forward_hook(lambda module, inputs, output: MEMORY.mark("encode"))
    load_ms = (time.perf_counter() - load_start) * 1000
    requests = json.loads(args.requests.read_text())
    data = [(args.images / r["image"]).read_bytes() for r in requests]
    n = args.max_new_tokens
    MEMORY.mark("load")
    MEMORY.recording = False
    for _ in range(args.warmup):
        run(model, processor, requests[:1], data[:1], 1, 2)
    MEMORY.recording = True
    MEMORY.mark("warmup")
    for iteration in range(args.iterations):
        line = run(model, processor, requests, data, args.batch, n)
        print(json.dumps(dict(side="hf", batch=args.batch, iteration=iteration, **line)), flush=True)
    print(json.dumps(dict(side="hf", batch=args.batch, load_ms=load_ms, peak_rss_kb=MEMORY.peak_kb(),
                          memory=MEMORY.phases, peak_reset=MEMORY.peak_reset,
                          attn=model.config._attn_implementation, pid=os.getpid())), flush=True)


if __name__ == "__main__":
    main()
