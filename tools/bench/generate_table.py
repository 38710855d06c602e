"""Table of tools/bench/generate.sh: medians over every timed pass, Java against Hugging Face.

Usage: python tools/bench/generate_table.py JAVA_JSONL HF_JSONL   (the raw results generate.sh keeps)
"""

import json
import statistics
import sys
from collections import defaultdict


def load(path):
    passes, ends = defaultdict(list), defaultdict(list)
    for line in open(path):
        record = json.loads(line)
        (ends if "peak_rss_kb" in record else passes)[record["batch"]].append(record)
    return passes, ends


def java_metrics(p):
    rows = len(p["tokens"])
    n = p["new_tokens"]
    if p.get("workers", 1) > 1:  # workers at once: their phases overlap, only the wall time counts
        nan = float("nan")
        return dict(prefill=nan, decode=nan, e2e=p["images"] / (p["wall_ms"] / 1000),
                    parts=dict(wall=p["wall_ms"]))
    return dict(
        prefill=(p["encode_ms"] + p["prefill_generate_ms"]) / 1000 / p["images"],
        decode=rows * (n - 1) / ((p["generate_ms"] - p["prefill_generate_ms"]) / 1000),
        e2e=p["images"] / ((p["preprocess_ms"] + p["encode_ms"] + p["generate_ms"]) / 1000),
        parts=dict(
            preprocess=p["preprocess_ms"],
            vision=p["encode_ms"],
            text_prefill=p["prefill_generate_ms"],
            decode=p["generate_ms"] - p["prefill_generate_ms"],
        ),
    )


def hf_metrics(p):
    rows = len(p["tokens"])
    n = p["new_tokens"]
    return dict(
        prefill=p["prefill_ms"] / 1000 / p["images"],
        decode=rows * (n - 1) / (p["decode_ms"] / 1000),
        e2e=p["images"] / ((p["preprocess_ms"] + p["generate_ms"]) / 1000),
        parts=dict(preprocess=p["preprocess_ms"], vision_and_text_prefill=p["prefill_ms"], decode=p["decode_ms"]),
    )


def median(values):
    return statistics.median(values) if values else float("nan")


PHASES = ("start", "runtime", "load", "warmup", "preprocess", "encode", "prefill", "decode")
PHASE_NOTES = {
    "start": "the JVM / the interpreter",
    "runtime": "TensorFlow's native library / import torch, transformers",
    "load": "package + processor / from_pretrained (HF maps the weights: resident once touched)",
    "warmup": "one request, 2 new tokens",
    "preprocess": "decode, resize, prompt ids of a batch",
    "encode": "vision encoder + connector",
    "prefill": "java: generate(1); hf: to the first logits",
    "decode": "java: generate(N), its prefill inside; hf: the decode steps",
}


def print_memory(batches, java_ends, hf_ends):
    """Resident memory by phase (the `memory` of each process's last line), medians over processes."""
    if not all("memory" in e for b in batches for e in java_ends[b] + hf_ends[b]):
        return
    print("\nresident memory by phase, MB (medians over processes): the phase's peak, and the RSS at its end")
    print(f"{'batch':>5} {'phase':11} {'java peak':>9} {'hf peak':>8} {'java/hf':>7} {'java end':>9} {'hf end':>7}   what")
    for b in batches:
        for phase in PHASES:
            j = [e["memory"][phase] for e in java_ends[b] if phase in e["memory"]]
            h = [e["memory"][phase] for e in hf_ends[b] if phase in e["memory"]]
            if not j or not h:
                continue
            jp, hp = (median([m["peak_kb"] / 1024 for m in x]) for x in (j, h))
            je, he = (median([m["rss_kb"] / 1024 for m in x]) for x in (j, h))
            print(f"{b:>5} {phase:11} {jp:>9.0f} {hp:>8.0f} {jp / hp:>7.2f} {je:>9.0f} {he:>7.0f}   {PHASE_NOTES[phase]}")
    resets = {e["peak_reset"] for b in batches for e in java_ends[b] + hf_ends[b]}
    if resets != {True}:
        print("  the kernel refused to reset the peak between phases: peaks are the process's so far")


def main():
    java, java_ends = load(sys.argv[1])
    hf, hf_ends = load(sys.argv[2])
    batches = sorted(set(java) & set(hf))
    print()
    print(f"{'batch':>5} {'metric':28} {'java':>10} {'hf':>10} {'java vs hf':>11}   (passes java/hf)")
    for b in batches:
        jm = [java_metrics(p) for p in java[b]]
        hm = [hf_metrics(p) for p in hf[b]]
        count = f"({len(jm)}/{len(hm)})"
        j, h = median([m["prefill"] for m in jm]), median([m["prefill"] for m in hm])
        print(f"{b:>5} {'prefill s / image (lower)':28} {j:>10.3f} {h:>10.3f} {h / j:>10.2f}x   {count}")
        j, h = median([m["decode"] for m in jm]), median([m["decode"] for m in hm])
        print(f"{b:>5} {'decode tokens / s':28} {j:>10.2f} {h:>10.2f} {j / h:>10.2f}x")
        j, h = median([m["e2e"] for m in jm]), median([m["e2e"] for m in hm])
        print(f"{b:>5} {'images / s end to end':28} {j:>10.4f} {h:>10.4f} {j / h:>10.2f}x")
        j = median([e["peak_rss_kb"] * 1024 / 1e9 for e in java_ends[b]])
        h = median([e["peak_rss_kb"] * 1024 / 1e9 for e in hf_ends[b]])
        print(f"{b:>5} {'peak RSS GB (lower)':28} {j:>10.2f} {h:>10.2f} {h / j:>10.2f}x")
        heap = {e.get("max_heap_mb") for e in java_ends[b]} - {None}
        if heap:
            print(f"{b:>5} {'  java max heap MB':28} {'/'.join(str(x) for x in sorted(heap)):>10}")
    print("java vs hf: how many times faster (or smaller) Java is; above 1 = Java ahead")
    workers = {p.get("workers", 1) for b in batches for p in java[b]}
    if workers != {1}:
        print(f"java ran {'/'.join(map(str, sorted(workers)))} workers sharing one model at once: images / s"
              " from each pass's wall time; their prefill and decode overlap, so those are nan")

    print_memory(batches, java_ends, hf_ends)

    print("\nmedian ms per pass of the 8 requests:")
    for b in batches:
        for side, metrics in (("java", [java_metrics(p) for p in java[b]]), ("hf", [hf_metrics(p) for p in hf[b]])):
            parts = {k: median([m["parts"][k] for m in metrics]) for k in metrics[0]["parts"]}
            print(f"  batch {b} {side:4}: " + ", ".join(f"{k} {v:.0f}" for k, v in parts.items()))

    print("\ntokens (greedy, every pass):")
    for b in batches:
        java_runs = {json.dumps(p["tokens"]) for p in java[b]}
        hf_runs = {json.dumps(p["tokens"]) for p in hf[b]}
        print(f"  batch {b}: java passes agree with each other: {len(java_runs) == 1}; hf: {len(hf_runs) == 1}")
        jt, ht = java[b][0]["tokens"], hf[b][0]["tokens"]
        margins = hf[b][0]["min_margin"]
        same = sum(x == y for x, y in zip(jt, ht))
        print(f"  batch {b}: {same} of {len(ht)} requests give identical tokens, java vs hf")
        for i, (x, y) in enumerate(zip(jt, ht)):
            if x != y:
                step = next(k for k, (a, c) in enumerate(zip(x, y)) if a != c)
                print(f"    request {i}: first difference at new token {step}; hf smallest top-2 margin {margins[i]:.4g}")
        print(f"  batch {b}: hf smallest top-2 logit margin over all rows {min(margins):.4g}")
    if 1 in java and len(batches) > 1:
        for b in batches[1:]:
            print(f"  java batch 1 vs batch {b}: identical {java[1][0]['tokens'] == java[b][0]['tokens']};"
                  f" hf batch 1 vs batch {b}: identical {hf[1][0]['tokens'] == hf[b][0]['tokens']}")


if __name__ == "__main__":
    main()
