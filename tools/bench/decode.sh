#!/usr/bin/env bash
# Decode ms per step against prompt length: this runtime (java/DecodeProbe.java) against
# transformers (decode_probe_hf.py), side by side on the same cores with the same thread count,
# rounds alternating the sides and which goes first. Text-only prompts of each length (no image,
# every row full length), batch BENCH_BATCH, greedy, stop tokens off; a step is the decode time
# after the first token over (new tokens - 1), the best of two runs after a warm-up per process.
# This is where a step's cost grows with the KV cache: document OCR and DocVQA prompts of 17 frames
# are about 1,100 tokens before the question.
#
# Usage: tools/bench/decode.sh [PYTHON]   (PYTHON: one with transformers and torch, default python3)
# Environment: BENCH_CHECKPOINT (/tmp/idefics3-bench/smolvlm-256m-random), BENCH_WORK
# (/tmp/idefics3-bench: its package/ as generate.sh converts it; converted here when missing),
# BENCH_THREADS (1), BENCH_CORES (0-(threads-1)), BENCH_BATCH (8), BENCH_NEW_TOKENS (33),
# BENCH_LENGTHS (100,1000), BENCH_ROUNDS (2), BENCH_JAVA_OPTS (-Xmx2g), BENCH_JAVA_WORKERS (1; N:
# the Java side as a Spark executor's N tasks, N threads sharing the model with threads / N
# intra-op threads and batch / N rows each, every call at once: a step is one of each, batch
# tokens, as the HF side's).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${1:-python3}
work=${BENCH_WORK:-/tmp/idefics3-bench}
checkpoint=${BENCH_CHECKPOINT:-$work/smolvlm-256m-random}
threads=${BENCH_THREADS:-1}
cores=${BENCH_CORES:-0-$((threads - 1))}
batch=${BENCH_BATCH:-8}
new_tokens=${BENCH_NEW_TOKENS:-33}
lengths=${BENCH_LENGTHS:-100,1000}
java_workers=${BENCH_JAVA_WORKERS:-1}
rounds=${BENCH_ROUNDS:-2}
java_opts=${BENCH_JAVA_OPTS:--Xmx2g}
package=$work/package
out=$work/decode-$(date +%Y%m%d-%H%M%S)
mkdir -p "$work" "$out"

if [ ! -f "$checkpoint/model.safetensors" ]; then
  "$python" -X utf8 "$root/tools/reference/make_random_checkpoint.py" "$checkpoint"
fi
(cd "$root" && mvn -B -q -DskipTests compile -pl model-loader >/dev/null)
(cd "$root/model-loader" && mvn -B -q dependency:build-classpath -Dmdep.outputFile="$out/classpath" >/dev/null)
classpath="$root/model-loader/target/classes:$(cat "$out/classpath")"
javac -d "$out/classes" -cp "$classpath" "$root/tools/bench/java/DecodeProbe.java"
if [ ! -f "$package/idefics3-spark.json" ]; then
  java $java_opts -cp "$classpath" io.github.idefics3spark.idefics3.checkpoint.Convert \
    "$checkpoint" "$package" >/dev/null 2>"$out/convert.err"
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "both sides: cores $cores, $threads threads, batch $batch, $new_tokens new tokens, prompts $lengths"
if [ "$java_workers" != 1 ]; then
  echo "java: $java_workers workers sharing one model, $((threads / java_workers)) intra-op threads and $((batch / java_workers)) rows each"
fi
run_java() {
  taskset -c "$cores" java $java_opts -XX:ActiveProcessorCount="$threads" \
    -cp "$out/classes:$classpath" DecodeProbe "$package" "$batch" "$new_tokens" "$threads" \
    "$lengths" "$java_workers" 2>>"$out/java.err" | tee -a "$out/java.txt"
}
run_hf() {
  OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads taskset -c "$cores" "$python" \
    "$root/tools/bench/decode_probe_hf.py" "$checkpoint" "$batch" "$new_tokens" "$threads" \
    "$lengths" 2>>"$out/hf.err" | tee -a "$out/hf.txt"
}
for round in $(seq "$rounds"); do
  if [ $((round % 2)) = 1 ]; then run_java; run_hf; else run_hf; run_java; fi
  echo "round $round done ($(date +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
done

# median over rounds of each side's ms per step, per prompt length
awk '
  /decode probe/ {
    side = ($1 == "java") ? "java" : "hf"
    for (i = 1; i <= NF; i++) {
      if ($i == "prompt") length_ = $(i + 1)
      if ($i == "decode") ms = $(i + 1)
    }
    n = ++count[side, length_]; value[side, length_, n] = ms; seen[length_] = 1
  }
  function median(side, l,   n, i, j, t, a) {
    n = count[side, l]
    for (i = 1; i <= n; i++) a[i] = value[side, l, i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    printf "\n%8s %14s %14s %10s\n", "prompt", "java ms/step", "hf ms/step", "java vs hf"
    for (l in seen) {
      j = median("java", l); h = median("hf", l)
      printf "%8d %14.1f %14.1f %9.2fx\n", l, j, h, h / j
    }
  }' "$out/java.txt" "$out/hf.txt" | sort -n
echo "raw results: $out"
