#!/usr/bin/env bash
# Preprocessing benchmark: decode + resize + split + normalise + tokens, per image, Java against
# the Hugging Face processor, side by side in one run, each pinned to the same single core.
#
#   tools/bench/preprocess.sh [PYTHON]     (PYTHON: an interpreter with requirements.txt installed)
#
# Uses the real sample images and SmolVLM-256M's resolution (longest edge 2048, tiles of 512,
# 64 tokens a tile) with the tiny SmolVLM checkpoint's tokenizer and template.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${1:-python3}
core=${BENCH_CORE:-0}
warmup=${BENCH_WARMUP:-3}
iterations=${BENCH_ITERATIONS:-5}
rounds=${BENCH_ROUNDS:-3}
checkpoint=$root/model-loader/src/test/resources/reference/checkpoints/tiny-smolvlm
images=$(mktemp -d)
out=$(mktemp -d)
trap 'rm -rf "$images" "$out"' EXIT
# The real sample images only (the made ones are tiny).
for f in page_5.png page_10.png ai2d_00000443.png ai2d_00001162.png validation_Biology_1_1.png \
         validation_Design_19_1.png background3.jpg background7.jpg; do
  cp "$root/model-loader/src/test/resources/reference/images/$f" "$images/"
done

(cd "$root" && mvn -B -q -DskipTests install -pl model-loader -am >/dev/null)
cp_file=$out/classpath
(cd "$root/model-loader" && mvn -B -q dependency:build-classpath -Dmdep.outputFile="$cp_file" >/dev/null)
classpath="$root/model-loader/target/classes:$(cat "$cp_file")"
javac -d "$out/classes" -cp "$classpath" "$root/tools/bench/java/PreprocessBench.java"

args=(2048 512 64 "$warmup" "$iterations")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), pinned to core $core"
# Rounds alternate the two sides, so a change in machine load hits both alike.
for round in $(seq "$rounds"); do
  taskset -c "$core" java -XX:ActiveProcessorCount=1 -cp "$out/classes:$classpath" PreprocessBench \
    "$checkpoint" "$images" "${args[@]}" 2>/dev/null >> "$out/java.jsonl"
  OMP_NUM_THREADS=1 taskset -c "$core" "$python" "$root/tools/bench/preprocess_hf.py" \
    --checkpoint "$checkpoint" --images "$images" --longest-edge 2048 --max-image-size 512 \
    --image-seq-len 64 --warmup "$warmup" --iterations "$iterations" 2>/dev/null >> "$out/hf.jsonl"
done

"$python" - "$out/java.jsonl" "$out/hf.jsonl" <<'PY'
import json, statistics, sys
from collections import defaultdict

def load(path):
    runs = defaultdict(list)
    shape = {}
    for record in map(json.loads, open(path)):
        runs[record["image"]].extend(record["ms"])
        shape[record["image"]] = (record["frames"], record["tokens"])
    return runs, shape

java, java_shape = load(sys.argv[1])
hf, hf_shape = load(sys.argv[2])
print(f"{'image':28} {'frames':>6} {'tokens':>6} {'java ms':>9} {'hf ms':>9} {'hf/java':>8}")
ratios = []
for name in sorted(java):
    assert java_shape[name] == hf_shape[name], (name, java_shape[name], hf_shape[name])
    j, h = statistics.median(java[name]), statistics.median(hf[name])
    ratios.append(h / j)
    frames, tokens = java_shape[name]
    print(f"{name:28} {frames:>6} {tokens:>6} {j:>9.1f} {h:>9.1f} {h / j:>8.2f}")
print(f"median of {len(next(iter(java.values())))} timings per image and side;"
      f" median speed-up of Java over Hugging Face (hf ms / java ms): {statistics.median(ratios):.2f}")
PY
