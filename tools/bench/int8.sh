#!/usr/bin/env bash
# int8 benchmark: the same random SmolVLM-256M-shaped checkpoint converted with `convert --dtype
# fp32` and `--dtype int8`, both measured side by side in one run by GenerateBench (this runtime
# only; tools/bench/generate.sh compares it with Hugging Face).
#
#   tools/bench/int8.sh [PYTHON]     (PYTHON: an interpreter with tools/reference/requirements.txt,
#                                      used to make the checkpoint if it is missing and for the table)
#
# 1. makes the checkpoint with tools/reference/make_random_checkpoint.py if BENCH_CHECKPOINT is
#    missing (about 1 GB, outside the repository);
# 2. converts it twice (fp32 and int8): wall time, peak RSS, and the bytes of each package's
#    weights (variables/) and of the whole package;
# 3. rounds alternate the two packages (and which goes first), one process per package and batch
#    size: the 8 requests of generate_requests.json at batch 1 (8 calls) and batch 8 (one call),
#    greedy, BENCH_NEW_TOKENS new tokens with stop tokens disabled;
# 4. prints medians of decode tokens per second, prefill per image, images per second and peak
#    RSS, int8 against fp32, and how many of int8's greedy tokens agree with fp32's.
#
# Decode = generate(N) - generate(1), over (N - 1) x batch tokens, as in generate.sh.
#
# Environment: BENCH_CHECKPOINT (/tmp/idefics3-bench/smolvlm-256m-random), BENCH_WORK
# (/tmp/idefics3-bench-int8: packages and results), BENCH_THREADS (1), BENCH_CORES
# (0-(threads-1)), BENCH_LONGEST_EDGE (512), BENCH_NEW_TOKENS (32), BENCH_BATCHES ("1 8"),
# BENCH_ROUNDS (3), BENCH_ITERATIONS (1), BENCH_WARMUP (1), BENCH_JAVA_OPTS (-Xmx2g),
# BENCH_SKIP_CONVERT (1: reuse the packages), BENCH_REQUESTS (generate_requests.json).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${1:-python3}
work=${BENCH_WORK:-/tmp/idefics3-bench-int8}
checkpoint=${BENCH_CHECKPOINT:-/tmp/idefics3-bench/smolvlm-256m-random}
threads=${BENCH_THREADS:-1}
cores=${BENCH_CORES:-0-$((threads - 1))}
longest_edge=${BENCH_LONGEST_EDGE:-512}
new_tokens=${BENCH_NEW_TOKENS:-32}
batches=${BENCH_BATCHES:-1 8}
rounds=${BENCH_ROUNDS:-3}
iterations=${BENCH_ITERATIONS:-1}
warmup=${BENCH_WARMUP:-1}
java_opts=${BENCH_JAVA_OPTS:--Xmx2g}
images=$root/model-loader/src/test/resources/reference/images
requests=${BENCH_REQUESTS:-$root/tools/bench/generate_requests.json}
out=$work/results-$(date +%Y%m%d-%H%M%S)
mkdir -p "$work" "$out"

if [ ! -f "$checkpoint/model.safetensors" ]; then
  "$python" -X utf8 "$root/tools/reference/make_random_checkpoint.py" "$checkpoint"
fi

(cd "$root" && mvn -B -q -o -DskipTests compile -pl model-loader >/dev/null)
(cd "$root/model-loader" && mvn -B -q -o dependency:build-classpath -Dmdep.outputFile="$out/classpath" >/dev/null)
classpath="$root/model-loader/target/classes:$(cat "$out/classpath")"
javac -d "$out/classes" -cp "$classpath" "$root/tools/bench/java/GenerateBench.java"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "both packages: cores $cores, $threads threads, longest_edge $longest_edge, $new_tokens new tokens, stop tokens off"

for dtype in fp32 int8; do
  package=$work/package-$dtype
  if [ "${BENCH_SKIP_CONVERT:-0}" != 1 ] || [ ! -f "$package/idefics3-spark.json" ]; then
    rm -rf "$package"
    /usr/bin/time -f "%e %M" -o "$out/convert-$dtype.time" \
      java $java_opts -cp "$classpath" io.github.idefics3spark.idefics3.checkpoint.Convert \
      "$checkpoint" "$package" --dtype "$dtype" >/dev/null 2>"$out/convert-$dtype.err"
    read -r convert_s convert_kb < "$out/convert-$dtype.time"
    echo "convert --dtype $dtype: $convert_s s, peak RSS $((convert_kb / 1024)) MB"
  fi
  weights=$(du -sb "$package/variables" | cut -f1)
  total=$(du -sb "$package" | cut -f1)
  echo "{\"dtype\": \"$dtype\", \"weights_bytes\": $weights, \"package_bytes\": $total}" >> "$out/sizes.jsonl"
done

run_java() { # dtype batch
  taskset -c "$cores" java $java_opts -XX:ActiveProcessorCount="$threads" -cp "$out/classes:$classpath" \
    GenerateBench "$work/package-$1" "$images" "$requests" "$2" "$longest_edge" "$new_tokens" "$threads" \
    "$warmup" "$iterations" 2>>"$out/java-$1.err" >> "$out/java-$1.jsonl"
}
# Rounds alternate which package goes first, so load changes hit both alike.
for round in $(seq "$rounds"); do
  for batch in $batches; do
    if [ $((round % 2)) = 1 ]; then run_java fp32 "$batch"; run_java int8 "$batch"; else run_java int8 "$batch"; run_java fp32 "$batch"; fi
  done
  echo "round $round done ($(date +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
done

"$python" "$root/tools/bench/int8_table.py" "$out"
echo "raw results: $out"
