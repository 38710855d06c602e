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
iterations=${BENCH_ITERATIONS:-9}
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
taskset -c "$core" java -XX:ActiveProcessorCount=1 -cp "$out/classes:$classpath" PreprocessBench \
  "$checkpoint" "$images" "${args[@]}" > "$out/java.jsonl"
OMP_NUM_THREADS=1 taskset -c "$core" "$python" "$root/tools/bench/preprocess_hf.py" \
  --checkpoint "$checkpoint" --images "$images" --longest-edge 2048 --max-image-size 512 \
  --image-seq-len 64 --warmup "$warmup" --iterations "$iterations" > "$out/hf.jsonl"

"$python" - "$out/java.jsonl" "$out/hf.jsonl" <<'PY'
import json, statistics, sys
java = {r["image"]: r for r in map(json.loads, open(sys.argv[1]))}
hf = {r["image"]: r for r in map(json.loads, open(sys.argv[2]))}
print(f"{'image':28} {'frames':>6} {'tokens':>6} {'java ms':>9} {'hf ms':>9} {'hf/java':>8}")
ratios = []
for name in sorted(java):
    j, h = java[name], hf[name]
    assert j["frames"] == h["frames"], (name, j["frames"], h["frames"])
    assert j["tokens"] == h["tokens"], (name, j["tokens"], h["tokens"])
    ratio = h["median_ms"] / j["median_ms"]
    ratios.append(ratio)
    print(f"{name:28} {j['frames']:>6} {j['tokens']:>6} {j['median_ms']:>9.1f} {h['median_ms']:>9.1f} {ratio:>8.2f}")
print(f"median speed-up of Java over Hugging Face (hf ms / java ms): {statistics.median(ratios):.2f}")
PY
