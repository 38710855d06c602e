#!/usr/bin/env bash
# Convert memory at full size: converts a random checkpoint of Idefics3-8B-Llama3's shape
# (make_random_idefics3_8b.py: 8,462,086,384 parameters, bf16 shards, about 17 GB) and prints the
# wall time, the peak RSS of the converting JVM and the package size, against the weights' size.
#
#   tools/bench/convert_8b.sh [PYTHON]   (PYTHON: with transformers, torch and safetensors, e.g.
#                                         tools/reference/requirements.txt installed; only to make
#                                         the checkpoint when BENCH_CHECKPOINT is missing)
#
# Environment: BENCH_WORK (/tmp/idefics3-8b-bench), BENCH_CHECKPOINT (BENCH_WORK/checkpoint),
# BENCH_DTYPE (bf16: a 17 GB package; fp32 needs 34 GB more disk), BENCH_JAR (the job jar, whose
# converter runs; default job/target's, built unless BENCH_SKIP_BUILD=1), BENCH_JAVA_OPTS.
# Disk: the checkpoint (17 GB) and the package (17 GB in bf16) at once; the package is removed after.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${1:-python3}
work=${BENCH_WORK:-/tmp/idefics3-8b-bench}
checkpoint=${BENCH_CHECKPOINT:-$work/checkpoint}
dtype=${BENCH_DTYPE:-bf16}
jar=${BENCH_JAR:-$root/job/target/idefics3-spark-job.jar}
mkdir -p "$work"

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  (cd "$root" && mvn -B -q -DskipTests package -pl job -am >/dev/null)
fi
if [ ! -f "$checkpoint/model.safetensors.index.json" ]; then
  "$python" -X utf8 "$root/tools/bench/make_random_idefics3_8b.py" "$checkpoint"
fi
weights=$(du -cb "$checkpoint"/*.safetensors | tail -1 | cut -f1)
package=$work/package-$dtype
rm -rf "$package"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB, load $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086  # BENCH_JAVA_OPTS is a list of words
TF_CPP_MIN_LOG_LEVEL=2 /usr/bin/time -f "%e %M" -o "$work/convert.time" \
  java ${BENCH_JAVA_OPTS:-} -cp "$jar" io.github.idefics3spark.idefics3.checkpoint.Convert \
  "$checkpoint" "$package" --dtype "$dtype" >"$work/convert.out" 2>"$work/convert.err" ||
  { echo "convert failed ($work/convert.err):" >&2; tail -20 "$work/convert.err" >&2; exit 1; }
read -r seconds peak_kb < "$work/convert.time"
size=$(du -sb "$package" | cut -f1)
awk -v w="$weights" -v s="$seconds" -v p="$peak_kb" -v z="$size" -v d="$dtype" 'BEGIN {
  printf "checkpoint %.2f GB (bf16); package %.2f GB (%s); convert %.0f s, peak RSS %.2f GB = %.2fx the checkpoint, %.2fx the package\n",
    w / 1e9, z / 1e9, d, s, p * 1024 / 1e9, p * 1024 / w, p * 1024 / z }'
tail -3 "$work/convert.out"
rm -rf "$package"
