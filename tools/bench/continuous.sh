#!/usr/bin/env bash
# Continuous batching benchmark: requests whose answers vary in length (each its own
# max_new_tokens in [BENCH_MIN_NEW, BENCH_MAX_NEW], seeded, BENCH_DISTRIBUTION loguniform: most
# answers short, a few long; or uniform) answered by one loaded runtime
# in static batches and with continuous batching, rounds alternating them (ContinuousBench.java).
# Prints tokens/s per side, the ratio, the decode steps each way would need with no overhead, the
# load average beside each pass, and whether both sides generated the same tokens.
#
#   tools/bench/continuous.sh [PYTHON]     (PYTHON: makes the random checkpoint when missing)
#
# 1. makes the random SmolVLM-256M-shaped checkpoint (tools/reference/make_random_checkpoint.py,
#    the same as generate.sh) if BENCH_CHECKPOINT is missing;
# 2. compiles model-loader (mvn -o compile) unless BENCH_SKIP_BUILD=1, and converts the checkpoint
#    into BENCH_WORK/package once (delete it after changing the graph);
# 3. runs ContinuousBench on the 8 real sample images, one image and question a request; the
#    images are encoded once in the warm-up, so a pass times prefill and decode.
#
# Environment: BENCH_WORK (/tmp/idefics3-continuous-bench), BENCH_CHECKPOINT
# (/tmp/idefics3-bench/smolvlm-256m-random), BENCH_REQUESTS (24), BENCH_BATCH (8), BENCH_MIN_NEW
# (8), BENCH_MAX_NEW (512), BENCH_DISTRIBUTION (loguniform), BENCH_LONGEST_EDGE (512: one frame, 64 image tokens, an image),
# BENCH_INTRA_OP (1), BENCH_ROUNDS (3), BENCH_SEED (11), BENCH_CORES (taskset list, none by
# default), BENCH_JAVA_OPTS (-Xmx3g), BENCH_SKIP_BUILD.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${1:-python3}
work=${BENCH_WORK:-/tmp/idefics3-continuous-bench}
checkpoint=${BENCH_CHECKPOINT:-/tmp/idefics3-bench/smolvlm-256m-random}
count=${BENCH_REQUESTS:-24}
batch=${BENCH_BATCH:-8}
min_new=${BENCH_MIN_NEW:-8}
max_new=${BENCH_MAX_NEW:-512}
distribution=${BENCH_DISTRIBUTION:-loguniform}
longest_edge=${BENCH_LONGEST_EDGE:-512}
intra=${BENCH_INTRA_OP:-1}
rounds=${BENCH_ROUNDS:-3}
seed=${BENCH_SEED:-11}
java_opts=${BENCH_JAVA_OPTS:--Xmx3g}
samples=$root/model-loader/src/test/resources/reference/images
images=$(for f in page_5.png page_10.png ai2d_00000443.png ai2d_00001162.png \
  validation_Biology_1_1.png validation_Design_19_1.png background3.jpg background7.jpg; do
  printf '%s ' "$samples/$f"; done)
mkdir -p "$work"

if [ ! -f "$checkpoint/model.safetensors" ]; then
  "$python" -X utf8 "$root/tools/reference/make_random_checkpoint.py" "$checkpoint"
fi
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  (cd "$root" && mvn -B -o -q -pl model-loader -am compile)
fi
(cd "$root" && mvn -B -o -q -pl model-loader dependency:build-classpath \
  -Dmdep.outputFile="$work/classpath.txt" >/dev/null)
cp="$root/model-loader/target/classes:$(cat "$work/classpath.txt")"

package=$work/package
if [ ! -f "$package/idefics3-spark.json" ]; then
  rm -rf "$package"
  java -cp "$cp" io.github.idefics3spark.idefics3.checkpoint.Convert "$checkpoint" "$package" >/dev/null
fi

mkdir -p "$work/classes"
javac -d "$work/classes" -cp "$cp" "$root/tools/bench/java/ContinuousBench.java" \
  "$root/tools/bench/java/BenchStats.java"
pin=()
if [ -n "${BENCH_CORES:-}" ]; then
  pin=(taskset -c "$BENCH_CORES")
fi
echo "model $checkpoint; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
"${pin[@]}" java $java_opts -cp "$work/classes:$cp" ContinuousBench "$package" "$batch" \
  "$min_new" "$max_new" "$distribution" "$count" "$longest_edge" "$intra" "$rounds" "$seed" $images
