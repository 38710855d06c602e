#!/usr/bin/env bash
# Image cache and decode overlap benchmark: DocVQA's shape (BENCH_QUESTIONS questions on each
# image) answered by one loaded runtime four ways in one JVM, rounds alternating them
# (ImageCacheBench.java): image_cache_mb 0 or BENCH_CACHE_MB, one answer call per batch (the
# session waits while a batch decodes) or one call for all (the next batch decodes on the pool while
# the session runs this one). Prints questions/s, images/s, frames encoded and the session's idle
# share per side, the ratio against no cache and no overlap, the load average beside each, and
# whether every side generated the same tokens.
#
#   tools/bench/image_cache.sh
#
# 1. compiles model-loader (mvn -o compile) unless BENCH_SKIP_BUILD=1, and its classpath;
# 2. converts BENCH_CHECKPOINT (default: the tiny SmolVLM-shaped fixture, whose own longest edge
#    256 over 64-pixel tiles gives 17 frames to a page, as SmolVLM's 2048 over 512) into
#    BENCH_WORK/package once;
# 3. runs ImageCacheBench on BENCH_IMAGES (default: the 8 real sample images).
#
# Environment: BENCH_WORK (/tmp/idefics3-image-cache-bench), BENCH_CHECKPOINT, BENCH_QUESTIONS (4),
# BENCH_BATCH (8), BENCH_NEW_TOKENS (16), BENCH_LONGEST_EDGE (0: the checkpoint's), BENCH_INTRA_OP
# (1), BENCH_CACHE_MB (256), BENCH_ROUNDS (3), BENCH_IMAGES (space-separated files),
# BENCH_JAVA_OPTS (none), BENCH_SKIP_BUILD.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${BENCH_WORK:-/tmp/idefics3-image-cache-bench}
checkpoint=${BENCH_CHECKPOINT:-$root/model-loader/src/test/resources/reference/checkpoints/tiny-smolvlm}
questions=${BENCH_QUESTIONS:-4}
batch=${BENCH_BATCH:-8}
new_tokens=${BENCH_NEW_TOKENS:-16}
longest_edge=${BENCH_LONGEST_EDGE:-0}
intra=${BENCH_INTRA_OP:-1}
cache_mb=${BENCH_CACHE_MB:-256}
rounds=${BENCH_ROUNDS:-3}
java_opts=${BENCH_JAVA_OPTS:-}
samples=$root/model-loader/src/test/resources/reference/images
images=${BENCH_IMAGES:-$(for f in page_5.png page_10.png ai2d_00000443.png ai2d_00001162.png \
  validation_Biology_1_1.png validation_Design_19_1.png background3.jpg background7.jpg; do
  printf '%s ' "$samples/$f"; done)}
mkdir -p "$work"

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
javac -d "$work/classes" -cp "$cp" "$root/tools/bench/java/ImageCacheBench.java" \
  "$root/tools/bench/java/BenchStats.java"
echo "model $checkpoint; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
java $java_opts -cp "$work/classes:$cp" ImageCacheBench "$package" "$questions" "$batch" \
  "$new_tokens" "$longest_edge" "$intra" "$cache_mb" "$rounds" $images
