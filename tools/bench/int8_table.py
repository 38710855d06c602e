"""Table of tools/bench/int8.sh: medians over every timed pass, the int8 package against fp32.

Usage: python tools/bench/int8_table.py RESULTS_DIR   (the folder int8.sh writes: java-fp32.jsonl,
java-int8.jsonl, sizes.jsonl)
"""

import json
import os
import sys

from generate_table import java_metrics, load, median


def agreement(fp32_tokens, int8_tokens):
    """Tokens equal before each request's first difference, and requests wholly identical."""
    same = total = identical = 0
    for f, i in zip(fp32_tokens, int8_tokens):
        n = 0
        while n < len(f) and n < len(i) and f[n] == i[n]:
            n += 1
        same += n
        total += len(f)
        identical += f == i
    return same, total, identical


def main():
    out = sys.argv[1]
    fp32, fp32_ends = load(os.path.join(out, "java-fp32.jsonl"))
    int8, int8_ends = load(os.path.join(out, "java-int8.jsonl"))
    sizes = {r["dtype"]: r for r in map(json.loads, open(os.path.join(out, "sizes.jsonl")))}
    print()
    for key, name in (("weights_bytes", "weights (variables/)"), ("package_bytes", "whole package")):
        f, i = sizes["fp32"][key], sizes["int8"][key]
        print(f"{name:28} fp32 {f / 1e6:9.1f} MB   int8 {i / 1e6:9.1f} MB   int8/fp32 {i / f:.3f}")
    print()
    print(f"{'batch':>5} {'metric':28} {'fp32':>10} {'int8':>10} {'int8/fp32':>10}   (passes fp32/int8)")
    for b in sorted(set(fp32) & set(int8)):
        fm = [java_metrics(p) for p in fp32[b]]
        im = [java_metrics(p) for p in int8[b]]
        count = f"({len(fm)}/{len(im)})"
        for metric, label in (
            ("decode", "decode tokens / s"),
            ("prefill", "prefill s / image"),
            ("e2e", "images / s end to end"),
        ):
            f, i = median([m[metric] for m in fm]), median([m[metric] for m in im])
            print(f"{b:>5} {label:28} {f:>10.3f} {i:>10.3f} {i / f:>10.2f}   {count}")
        f = median([e["peak_rss_kb"] for e in fp32_ends[b]]) / 1024
        i = median([e["peak_rss_kb"] for e in int8_ends[b]]) / 1024
        print(f"{b:>5} {'peak RSS MB':28} {f:>10.0f} {i:>10.0f} {i / f:>10.2f}")
    print("\ngreedy tokens, int8 against fp32 (first pass of each):")
    for b in sorted(set(fp32) & set(int8)):
        same, total, identical = agreement(fp32[b][0]["tokens"], int8[b][0]["tokens"])
        runs = {json.dumps(p["tokens"]) for p in int8[b]}
        print(
            f"  batch {b}: {same} of {total} tokens agree before the first difference ({same / total:.2f}),"
            f" {identical} of {len(fp32[b][0]['tokens'])} requests identical;"
            f" int8 passes all alike: {len(runs) == 1}"
        )


if __name__ == "__main__":
    main()
