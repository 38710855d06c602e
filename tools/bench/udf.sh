#!/usr/bin/env bash
# SQL function against ML Transformer: images captioned per second by vlm_caption(image) (one row a
# call) and by Idefics3Transformer (batches), on the same rows, model and settings, side by side in
# one local[2] Spark session; rounds alternate the sides so a change in machine load hits all alike.
#
#   tools/bench/udf.sh
#
# Uses the tiny SmolVLM checkpoint (converted once into target/), twice: on the real sample images
# (large: decoding and resizing them outweighs the tiny model, so batching shows little) and on the
# small made images (little preprocessing: the model's share, which batching speeds up, shows).
# BENCH_SETS (real small), BENCH_ROWS (64 real, 256 small images), BENCH_MAX_NEW_TOKENS,
# BENCH_BATCH_SIZE and BENCH_ROUNDS change the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
sets=${BENCH_SETS:-real small}
max_new_tokens=${BENCH_MAX_NEW_TOKENS:-16}
batch_size=${BENCH_BATCH_SIZE:-8}
rounds=${BENCH_ROUNDS:-3}
checkpoint=$root/model-loader/src/test/resources/reference/checkpoints/tiny-smolvlm
cache=$root/udf/target/model-cache
reference=$root/model-loader/src/test/resources/reference/images
real=$(mktemp -d)
small=$(mktemp -d)
out=$(mktemp -d)
trap 'rm -rf "$real" "$small" "$out"' EXIT
for f in page_5.png page_10.png ai2d_00000443.png ai2d_00001162.png validation_Biology_1_1.png \
         validation_Design_19_1.png background3.jpg background7.jpg; do
  cp "$reference/$f" "$real/"
done
for f in tile_64x64.png landscape_49x31.jpg portrait_35x49.jpg gray_40x29.png palette_33x45.gif \
         rgba_alpha_48x33.png cmyk_41x31.jpg tile_56x56.png; do
  cp "$reference/$f" "$small/"
done

(cd "$root" && mvn -B -q -DskipTests install -pl model-loader,udf >/dev/null)
cp_file=$out/classpath
(cd "$root/udf" && mvn -B -q dependency:build-classpath -Dmdep.outputFile="$cp_file" >/dev/null)
classpath="$root/udf/target/classes:$root/model-loader/target/classes:$(cat "$cp_file")"
javac -d "$out/classes" -cp "$classpath" "$root/tools/bench/java/UdfBench.java" \
  "$root/tools/bench/java/BenchStats.java"

# What Spark 4 needs opened on Java 17 (the parent pom's spark.test.jvm.opens).
opens=(--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED
  --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false
  -Dio.netty.tryReflectionSetAccessible=true)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for set in $sets; do
  images=$real
  rows=${BENCH_ROWS:-64}
  if [ "$set" = small ]; then
    images=$small
    rows=${BENCH_ROWS:-256}
  fi
  echo "== $set images: $(ls "$images" | xargs)"
  SPARK_LOCAL_IP=127.0.0.1 TF_CPP_MIN_LOG_LEVEL=2 java -Xmx4g "${opens[@]}" \
    -cp "$out/classes:$classpath" UdfBench \
    "$checkpoint" "$cache" "$images" "$rows" "$max_new_tokens" "$batch_size" "$rounds" \
    2>"$out/stderr" || { tail -50 "$out/stderr"; exit 1; }
done
