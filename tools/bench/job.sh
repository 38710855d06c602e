#!/usr/bin/env bash
# Job benchmark: the Spark job end to end (caption on local[2], through SparkSubmit as
# `java @job/target/spark-submit.args` runs it, Parquet written) against the runtime alone
# (Idefics3Runtime.answer, no Spark) on the same images, model and settings, side by side in one run.
#
#   tools/bench/job.sh [PYTHON]     (PYTHON: for the table; with tools/reference/requirements.txt
#                                    installed it also makes the checkpoint when it is missing)
#
# 1. builds the job jar (mvn package -pl job -am) unless BENCH_SKIP_BUILD=1;
# 2. makes the random SmolVLM-256M-shaped checkpoint with tools/reference/make_random_checkpoint.py
#    if BENCH_CHECKPOINT is missing (about 1 GB, outside the repository) and converts it once into
#    BENCH_WORK/package (fp32) with the job jar's converter;
# 3. copies the 8 real sample images BENCH_COPIES times into one folder (NN_name: rows = 8 x
#    copies, each copy a different file, so the job reads and answers every row);
# 4. rounds alternate the sides, rotating which goes first, one fresh JVM per side and round:
#    job          caption --master local[2] (2 tasks of 1 core sharing the JVM's one model, TF
#                 intra-op threads = spark.task.cpus = 1), --mode overwrite into BENCH_WORK;
#    runtime-2x1  RuntimeBench: one model loaded with 1 intra-op thread, shared by 2 worker
#                 threads, each answering a contiguous half of the files: what local[2] does;
#    runtime-1x2  RuntimeBench: one thread, 2 intra-op threads, all the files in order;
#    every side: batch BENCH_BATCH, greedy, BENCH_NEW_TOKENS new tokens (stop tokens on, as the job),
#    longest edge BENCH_LONGEST_EDGE, image splitting BENCH_IMAGE_SPLITTING, "Describe this image.";
# 5. prints medians per side and the overheads 1 - job images/s / runtime images/s:
#    steady     the job's own summary (the write: tasks, model load inside them, Parquet) against
#               the runtime's load + answer time;
#    inference  the job's summary less its model load (the "loaded model ... in X s" log line)
#               against the runtime's answer time alone;
#    wall       the job process from exec to exit (JVM, Spark session, listing, id check, count,
#               summary read-back, stop) against the runtime process from exec to exit;
#    each as the median of per-round ratios (the sides of one round saw about the same load), and
#    the generated tokens of both sides, which must match (same requests, same greedy decoding).
#
# Environment: BENCH_WORK (/tmp/idefics3-job-bench: checkpoint, package, images, results),
# BENCH_CHECKPOINT (BENCH_WORK/smolvlm-256m-random), BENCH_COPIES (8: 64 rows), BENCH_BATCH (8),
# BENCH_NEW_TOKENS (32), BENCH_LONGEST_EDGE (512: one 512 x 512 frame, 64 image tokens, an image),
# BENCH_IMAGE_SPLITTING (true), BENCH_ROUNDS (3), BENCH_SIDES ("job runtime-2x1 runtime-1x2"),
# BENCH_JOB_ARGS (extra job options, e.g. "--partitions 4"), BENCH_SPARK_CONF (extra Spark
# options before the jar), BENCH_JAVA_OPTS (runtime JVM options, none), BENCH_SKIP_BUILD (1: use
# the jar built before), BENCH_JAR (the job jar both sides run; default job/target's: another
# build's jar compares a candidate change on both sides).
#
# Also printed: each process's CPU seconds (user + sys) and peak RSS. On a shared machine CPU
# seconds per image move much less with other people's load than images per second do.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${1:-python3}
work=${BENCH_WORK:-/tmp/idefics3-job-bench}
checkpoint=${BENCH_CHECKPOINT:-$work/smolvlm-256m-random}
copies=${BENCH_COPIES:-8}
batch=${BENCH_BATCH:-8}
new_tokens=${BENCH_NEW_TOKENS:-32}
longest_edge=${BENCH_LONGEST_EDGE:-512}
splitting=${BENCH_IMAGE_SPLITTING:-true}
rounds=${BENCH_ROUNDS:-3}
sides=${BENCH_SIDES:-job runtime-2x1 runtime-1x2}
job_args=${BENCH_JOB_ARGS:-}
spark_conf=${BENCH_SPARK_CONF:-}
java_opts=${BENCH_JAVA_OPTS:-}
jar=${BENCH_JAR:-$root/job/target/idefics3-spark-job.jar}
package=$work/package
images=$work/images
out=$work/results-$(date +%Y%m%d-%H%M%S)
mkdir -p "$work" "$out"

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ] || [ ! -f "$root/job/target/spark-submit.args" ]; then
  (cd "$root" && mvn -B -q -DskipTests package -pl job -am >/dev/null)
fi
if [ ! -f "$checkpoint/model.safetensors" ]; then
  "$python" -X utf8 "$root/tools/reference/make_random_checkpoint.py" "$checkpoint"
fi
if [ ! -f "$package/idefics3-spark.json" ]; then
  rm -rf "$package"
  java -cp "$jar" io.github.idefics3spark.idefics3.checkpoint.Convert "$checkpoint" "$package" >/dev/null
fi

# The real sample images only (the made ones are tiny), BENCH_COPIES times: NN_name, so the files
# sorted by name hold every image once per copy.
rm -rf "$images" && mkdir -p "$images"
for copy in $(seq -w 0 $((copies - 1))); do
  for f in page_5.png page_10.png ai2d_00000443.png ai2d_00001162.png validation_Biology_1_1.png \
           validation_Design_19_1.png background3.jpg background7.jpg; do
    cp "$root/model-loader/src/test/resources/reference/images/$f" "$images/${copy}_$f"
  done
done
rows=$(ls "$images" | wc -l)

# RuntimeBench against the job jar (the same classes and TensorFlow natives the job runs);
# JobOutputSummary against Spark's jars (parquet-hadoop, Hadoop).
spark_cp=$(sed -n '/^-cp$/{n;p;}' "$root/job/target/spark-submit.args" | tr -d '"')
javac -d "$out/classes" -cp "$jar" "$root/tools/bench/java/RuntimeBench.java"
javac -d "$out/classes" -cp "$spark_cp" "$root/tools/bench/java/JobOutputSummary.java"

settings="batch $batch, $new_tokens new tokens (greedy), longest_edge $longest_edge, image_splitting $splitting"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rows: $rows ($copies copies of the 8 real sample images); $settings; model $checkpoint"

now() { date +%s.%N; }
# "user sys maxrss_kb" from /usr/bin/time -> the process's CPU seconds and peak RSS, as JSON fields
cpu() { awk '{ printf "\"cpu_s\": %.2f, \"rss_mb\": %.0f", $1 + $2, $3 / 1024 }' "$1"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

run_job() {
  local round=$1 log=$out/job-$1 start end wall summary
  rm -rf "$out/job-output"
  start=$(now)
  # shellcheck disable=SC2086  # BENCH_SPARK_CONF and BENCH_JOB_ARGS are lists of words
  TF_CPP_MIN_LOG_LEVEL=2 /usr/bin/time -f "%U %S %M" -o "$log.time" \
    java @"$root/job/target/spark-submit.args" --master 'local[2]' \
    --conf spark.ui.enabled=false $spark_conf "$jar" caption \
    --input "$images" --model "$package" --output "$out/job-output" --mode overwrite \
    --batch-size "$batch" --max-new-tokens "$new_tokens" --longest-edge "$longest_edge" \
    --image-splitting "$splitting" $job_args >"$log.out" 2>"$log.err" ||
    { echo "the job failed ($log.err):" >&2; tail -20 "$log.err" >&2; exit 1; }
  end=$(now)
  wall=$(elapsed "$start" "$end")
  # "time: 101.2 s, 0.63 rows/s, 0.63 images/s, 20.2 generated tokens/s"
  summary=$(sed -n 's/^time: \([0-9.]*\) s, [0-9.]* rows\/s, \([0-9.]*\) images\/s.*/\1 \2/p' "$log.out")
  local load
  load=$(sed -n 's/.*loaded model .* in \([0-9.]*\) s (.*/\1/p' "$log.err" | head -1)
  java -cp "$out/classes:$spark_cp" JobOutputSummary "$out/job-output" 2>/dev/null |
    sed "s/}\$/, \"side\": \"job\", \"round\": $round, \"wall_s\": $wall, $(cpu "$log.time"), \"summary_s\": ${summary% *}, \"summary_images_per_s\": ${summary#* }, \"load_s\": ${load:-null}}/" \
    >> "$out/results.jsonl"
}

run_runtime() {
  local round=$1 threads=$2 intra=$3 start end wall
  start=$(now)
  # shellcheck disable=SC2086
  /usr/bin/time -f "%U %S %M" -o "$out/runtime.time" \
    java $java_opts -cp "$out/classes:$jar" RuntimeBench "$package" "$images" "$threads" "$intra" \
    "$batch" "$new_tokens" "$longest_edge" "$splitting" >"$out/runtime.out" 2>>"$out/runtime.err" ||
    { echo "RuntimeBench failed ($out/runtime.err):" >&2; tail -20 "$out/runtime.err" >&2; exit 1; }
  end=$(now)
  wall=$(elapsed "$start" "$end")
  sed "s/}\$/, \"side\": \"runtime-${threads}x${intra}\", \"round\": $round, \"wall_s\": $wall, $(cpu "$out/runtime.time")}/" \
    "$out/runtime.out" >> "$out/results.jsonl"
}

run_side() {
  case $1 in
    job) run_job "$2" ;;
    runtime-*x*) local t=${1#runtime-}; run_runtime "$2" "${t%x*}" "${t#*x}" ;;
    *) echo "unknown side $1" >&2; exit 2 ;;
  esac
}

# Rounds alternate the sides, rotating which goes first, so load changes hit all alike.
read -r -a order <<< "$sides"
for round in $(seq "$rounds"); do
  for i in $(seq 0 $((${#order[@]} - 1))); do
    side=${order[$(((i + round - 1) % ${#order[@]}))]}
    run_side "$side" "$round"
    echo "round $round: $side done ($(date +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
  done
done

"$python" - "$out/results.jsonl" "$rows" <<'PY'
import json, statistics, sys
from collections import defaultdict

results = [json.loads(line) for line in open(sys.argv[1])]
rows = int(sys.argv[2])
by_side = defaultdict(list)
for r in results:
    assert r["rows"] == rows and r["errors"] == 0, r
    by_side[r["side"]].append(r)
med = statistics.median

def rates(r):
    """images/s: wall (process), steady (job summary; runtime load + answer), inference."""
    if r["side"] == "job":
        steady = r["summary_s"]
        inference = r["summary_s"] - (r["load_s"] or 0)
    else:
        steady = r["load_s"] + r["answer_s"]
        inference = r["answer_s"]
    return {"wall": rows / r["wall_s"], "steady": rows / steady, "inference": rows / inference}

print(f"{'side':12} {'runs':>4} {'wall s':>7} {'img/s':>6} {'steady s':>8} {'img/s':>6}"
      f" {'infer s':>7} {'img/s':>6} {'load s':>6} {'model s':>7} {'prep s':>6} {'cpu s':>6}"
      f" {'cpu/img':>7} {'rss MB':>6} {'gen tok':>7}")
for side, runs in by_side.items():
    r = {k: med([rates(x)[k] for x in runs]) for k in ("wall", "steady", "inference")}
    job = side == "job"
    steady_s = med([x["summary_s"] if job else x["load_s"] + x["answer_s"] for x in runs])
    infer_s = med([x["summary_s"] - (x["load_s"] or 0) if job else x["answer_s"] for x in runs])
    tokens = sorted({x["generated_tokens"] for x in runs})
    print(f"{side:12} {len(runs):>4} {med([x['wall_s'] for x in runs]):>7.1f} {r['wall']:>6.3f}"
          f" {steady_s:>8.1f} {r['steady']:>6.3f} {infer_s:>7.1f} {r['inference']:>6.3f}"
          f" {med([x['load_s'] or 0 for x in runs]):>6.1f} {med([x['model_s'] for x in runs]):>7.1f}"
          f" {med([x['preprocess_s'] for x in runs]):>6.1f} {med([x['cpu_s'] for x in runs]):>6.1f}"
          f" {med([x['cpu_s'] / rows for x in runs]):>7.2f} {med([x['rss_mb'] for x in runs]):>6.0f}"
          f" {'/'.join(map(str, tokens)):>7}")
print("steady: job = its summary's time (tasks with the model load, Parquet write); runtime = load + answer."
      "\ninfer: job = summary less the model load; runtime = answer alone. model s: summed encode + generate"
      "\nof the batches (both tasks/threads together); prep s: summed per-row read + decode + preprocess;"
      "\ncpu s: the process's user + sys seconds; rss: its peak resident memory. Medians over the runs.")

if "job" in by_side:
    job = {x["round"]: x for x in by_side["job"]}
    for side, runs in by_side.items():
        if side == "job":
            continue
        pairs = [(job[x["round"]], x) for x in runs if x["round"] in job]
        line = []
        for kind in ("steady", "inference", "wall"):
            overheads = [1 - rates(j)[kind] / rates(x)[kind] for j, x in pairs]
            line.append(f"{kind} {100 * med(overheads):+.1f}%"
                        f" [{', '.join(f'{100 * o:+.1f}' for o in overheads)}]")
        cpu = [j["cpu_s"] / x["cpu_s"] - 1 for j, x in pairs]
        line.append(f"cpu {100 * med(cpu):+.1f}% [{', '.join(f'{100 * o:+.1f}' for o in cpu)}]")
        print(f"Spark overhead vs {side} (1 - job img/s / runtime img/s; cpu: job cpu s / runtime"
              f" cpu s - 1; median of rounds [each round]):\n  " + "; ".join(line))
    fixed = {side: med([x["wall_s"] - (x["summary_s"] if side == "job" else x["load_s"] + x["answer_s"])
                        for x in runs]) for side, runs in by_side.items()}
    print("outside the steady time (job: JVM, Spark start, listing, count, summary read-back, stop;"
          " runtime: JVM, listing): " + ", ".join(f"{side} {s:.1f} s" for side, s in fixed.items()))
    tokens = {side: sorted({x["generated_tokens"] for x in runs}) for side, runs in by_side.items()}
    print("generated tokens per side:", tokens)
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); raw results: $out"
