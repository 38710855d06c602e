#!/usr/bin/env bash
# Generation benchmark: this runtime (model-loader's package through TensorFlow Java) against
# Hugging Face transformers (torch, fp32, model.generate), side by side in one run, both pinned to
# the same cores with the same thread count, on a random SmolVLM-256M-shaped checkpoint.
#
#   tools/bench/generate.sh [PYTHON]     (PYTHON: an interpreter with tools/reference/requirements.txt)
#
# 1. makes the checkpoint with tools/reference/make_random_checkpoint.py if BENCH_CHECKPOINT is
#    missing (about 1 GB, outside the repository);
# 2. converts it once with model-loader's `convert`: wall time and peak RSS, against the size of
#    the weights (and against `convert --dry-run`, the JVM + TensorFlow + graph without weights);
# 3. rounds alternate the two sides (and which goes first), one process per side and batch size:
#    the 8 requests of generate_requests.json (one real sample image and one question each) at
#    batch 1 (8 calls) and batch 8 (one call), greedy, BENCH_NEW_TOKENS new tokens with stop
#    tokens disabled (HF eos_token_id=[], Java GenerationSettings.withoutStop());
# 4. prints medians and ratios: prefill per image (vision encoder + connector + text prefill +
#    first token), decode tokens per second, images per second end to end (decode and resize +
#    prompt ids + vision + generate), peak RSS; then whether both sides chose the same tokens;
#    then resident memory by phase, each side's process: the phase's own peak (the kernel's
#    VmHWM, reset between phases through /proc/self/clear_refs) and the RSS at its end, for
#    start, runtime (TensorFlow's library / import torch), load, warmup, and over the timed
#    passes preprocess, encode, prefill and decode (GenerateBench.PhaseMemory, generate_hf.py).
#
# Prefill: Java = encode_images + the `generate` signature with one new token; HF = from the call
# of generate to its first logits-processor call. Decode: Java = generate(N) - generate(1);
# HF = from that first call to the end of generate; both over (N - 1) x batch tokens.
#
# Environment: BENCH_CHECKPOINT (/tmp/idefics3-bench/smolvlm-256m-random), BENCH_WORK
# (/tmp/idefics3-bench: package and results), BENCH_THREADS (2), BENCH_CORES (0-(threads-1)),
# BENCH_LONGEST_EDGE (512: one 512 x 512 frame, 64 image tokens, per image; the checkpoint's own
# 2048 gives up to 17 frames an image), BENCH_NEW_TOKENS (32), BENCH_BATCHES ("1 8"),
# BENCH_ROUNDS (3), BENCH_ITERATIONS (1 timed pass per process), BENCH_WARMUP (1 pass of the first
# request with 2 tokens), BENCH_JAVA_OPTS (-Xmx2g), BENCH_SKIP_CONVERT (1: reuse the package),
# BENCH_REQUESTS (generate_requests.json: image file and question per request), BENCH_JAVA_WORKERS
# (1; N: the Java side runs as a Spark executor does, N threads sharing the one model with
# threads / N intra-op threads each, each answering its share of the requests at once (at batch 8,
# 8 / N requests a worker: as many in flight as the HF side's batch): images per second from the
# pass's wall time, no prefill or decode split, since the workers' phases overlap),
# BENCH_SPLIT_PRODUCTS (1; N: the package converted with --split-products N, in
# $BENCH_WORK/package-split-N, and loaded with the threads divided by N: see the README's
# "--split-products"), BENCH_DTYPE (fp32; int8: the Java side runs the package converted with
# --dtype int8, in $BENCH_WORK/package-int8, or package-int8-split-N with BENCH_SPLIT_PRODUCTS,
# against transformers in float32 as always: a row for what int8 buys, not a like-for-like
# comparison of precision).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${1:-python3}
work=${BENCH_WORK:-/tmp/idefics3-bench}
checkpoint=${BENCH_CHECKPOINT:-$work/smolvlm-256m-random}
threads=${BENCH_THREADS:-2}
cores=${BENCH_CORES:-0-$((threads - 1))}
longest_edge=${BENCH_LONGEST_EDGE:-512}
new_tokens=${BENCH_NEW_TOKENS:-32}
batches=${BENCH_BATCHES:-1 8}
rounds=${BENCH_ROUNDS:-3}
iterations=${BENCH_ITERATIONS:-1}
java_workers=${BENCH_JAVA_WORKERS:-1}
warmup=${BENCH_WARMUP:-1}
java_opts=${BENCH_JAVA_OPTS:--Xmx2g}
images=$root/model-loader/src/test/resources/reference/images
requests=${BENCH_REQUESTS:-$root/tools/bench/generate_requests.json}
split_products=${BENCH_SPLIT_PRODUCTS:-1}
dtype=${BENCH_DTYPE:-fp32}
package=$work/package
if [ "$dtype" != fp32 ]; then
  package=$package-$dtype
fi
if [ "$split_products" != 1 ]; then
  package=$package-split-$split_products
fi
out=$work/results-$(date +%Y%m%d-%H%M%S)
mkdir -p "$work" "$out"

if [ ! -f "$checkpoint/model.safetensors" ]; then
  "$python" -X utf8 "$root/tools/reference/make_random_checkpoint.py" "$checkpoint"
fi

(cd "$root" && mvn -B -q -DskipTests compile -pl model-loader >/dev/null)
(cd "$root/model-loader" && mvn -B -q dependency:build-classpath -Dmdep.outputFile="$out/classpath" >/dev/null)
classpath="$root/model-loader/target/classes:$(cat "$out/classpath")"
javac -d "$out/classes" -cp "$classpath" "$root/tools/bench/java/GenerateBench.java"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "both sides: cores $cores, $threads threads, longest_edge $longest_edge, $new_tokens new tokens, stop tokens off"
if [ "$split_products" != 1 ]; then
  echo "java: the package's products split in $split_products: $threads / $split_products intra-op threads an operation (at least 1)"
fi
if [ "$java_workers" != 1 ]; then
  echo "java: $java_workers workers sharing one model, $((threads / java_workers)) intra-op threads each"
fi
if [ "$dtype" != fp32 ]; then
  echo "java: the package converted with --dtype $dtype; transformers in float32"
fi

weights=$(cat "$checkpoint"/*.safetensors | wc -c)
if [ "${BENCH_SKIP_CONVERT:-0}" != 1 ] || [ ! -f "$package/idefics3-spark.json" ]; then
  rm -rf "$package"
  convert=(java $java_opts -cp "$classpath" io.github.idefics3spark.idefics3.checkpoint.Convert "$checkpoint")
  /usr/bin/time -f "%e %M" -o "$out/dry-run.time" "${convert[@]}" --dry-run >/dev/null 2>&1
  /usr/bin/time -f "%e %M" -o "$out/convert.time" "${convert[@]}" "$package" --split-products "$split_products" --dtype "$dtype" >/dev/null 2>"$out/convert.err"
  read -r dry_s dry_kb < "$out/dry-run.time"
  read -r convert_s convert_kb < "$out/convert.time"
  awk -v w="$weights" -v s="$convert_s" -v k="$convert_kb" -v dk="$dry_kb" 'BEGIN {
    printf "convert: %.1f s, peak RSS %.2f GB = %.2f x the weights (%.2f GB); dry run (JVM + TF + graph) %.2f GB, convert above it %.2f GB = %.2f x\n",
      s, k * 1024 / 1e9, k * 1024 / w, w / 1e9, dk * 1024 / 1e9, (k - dk) * 1024 / 1e9, (k - dk) * 1024 / w }'
fi

run_java() {
  taskset -c "$cores" java $java_opts -XX:ActiveProcessorCount="$threads" -cp "$out/classes:$classpath" \
    GenerateBench "$package" "$images" "$requests" "$1" "$longest_edge" "$new_tokens" "$threads" \
    "$warmup" "$iterations" "$java_workers" 2>>"$out/java.err" >> "$out/java.jsonl"
}
run_hf() {
  OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads taskset -c "$cores" "$python" \
    "$root/tools/bench/generate_hf.py" --checkpoint "$checkpoint" --images "$images" \
    --requests "$requests" --batch "$1" --longest-edge "$longest_edge" --max-new-tokens "$new_tokens" \
    --threads "$threads" --warmup "$warmup" --iterations "$iterations" 2>>"$out/hf.err" >> "$out/hf.jsonl"
}
# Rounds alternate the sides, and which side goes first, so load changes hit both alike.
for round in $(seq "$rounds"); do
  for batch in $batches; do
    if [ $((round % 2)) = 1 ]; then run_java "$batch"; run_hf "$batch"; else run_hf "$batch"; run_java "$batch"; fi
  done
  echo "round $round done ($(date +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
done

"$python" "$root/tools/bench/generate_table.py" "$out/java.jsonl" "$out/hf.jsonl"
echo "raw results: $out"
