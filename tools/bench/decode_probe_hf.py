"""Hugging Face side of GenerateProfile's decode probe: decode ms per step on text-only prompts.

For each prompt length (token ids (37 (i + row)) mod 470 + 3, no image, every row full length):
generate(do_sample=False, max_new_tokens=N, eos_token_id=[]) with a logits processor stamping each
step; prints the prefill time and the median time of a decode step (best of two runs). Compare with
the Java lines of GenerateProfile at the same batch, lengths, N and threads.

Usage: python tools/bench/decode_probe_hf.py CHECKPOINT BATCH MAX_NEW THREADS LENGTHS (e.g. 100,1000)
"""

import statistics
import sys
import time

import torch
import transformers
from transformers import Idefics3ForConditionalGeneration, LogitsProcessor, LogitsProcessorList


class StepClock(LogitsProcessor):
    def __init__(self):
        self.stamps = []

    def __call__(self, input_ids, scores):
        self.stamps.append(time.perf_counter())
        return scores


def main():
    checkpoint, batch, n, threads, lengths = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    torch.set_num_threads(threads)
    transformers.logging.set_verbosity_error()
    model = Idefics3ForConditionalGeneration.from_pretrained(checkpoint, dtype=torch.float32).eval()
    for length in map(int, lengths.split(",")):
        ids = torch.tensor([[(37 * (i + b)) % 470 + 3 for i in range(length)] for b in range(batch)])
        mask = torch.ones_like(ids)
        best = None
        for attempt in range(3):  # the first is a warm-up
            clock = StepClock()
            start = time.perf_counter()
            with torch.inference_mode():
                model.generate(input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=n,
                               eos_token_id=[], pad_token_id=2, logits_processor=LogitsProcessorList([clock]))
            end = time.perf_counter()
            steps = [b - a for a, b in zip(clock.stamps, clock.stamps[1:])]
            result = ((clock.stamps[0] - start) * 1000, statistics.median(steps) * 1000, (end - clock.stamps[0]) * 1000 / (n - 1))
            if attempt > 0 and (best is None or result[2] < best[2]):
                best = result
        print(f"hf decode probe: batch {batch}, prompt {length:5d} tokens: prefill {best[0]:7.0f} ms, "
              f"decode {best[2]:6.1f} ms/step (median step {best[1]:.1f})", flush=True)


if __name__ == "__main__":
    main()
