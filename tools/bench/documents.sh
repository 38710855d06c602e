#!/usr/bin/env bash
# Document benchmark: pages per second and peak RSS on a bundled multi-page PDF
# (model-loader/src/test/resources/document/twenty-pages.pdf: 20 US-letter pages of text, tables,
# bar charts and a JPEG, made by tools/reference/document_fixtures.py), side by side in one run:
#
#   tools/bench/documents.sh [PYTHON]   (PYTHON: an interpreter with pypdfium2, e.g. /work/venv's,
#                                        for the pdfium side and the table)
#
# 1. builds the job jar (mvn package -pl job -am) unless BENCH_SKIP_BUILD=1;
# 2. rounds alternate the sides, rotating which goes first, one fresh process per side and round:
#    pdfbox-1t    rendering alone (DocumentBench.java): every page through DocumentPages.render at
#                 BENCH_DPI then RgbImage.toBmp, as a task renders a page request (the document opened
#                 again for each page), 1 thread; a pass renders the document BENCH_COPIES times
#                 over (the job's pages); one warm-up pass, BENCH_PASSES timed passes;
#    pdfbox-2t    the same with 2 threads taking the next page in turn (local[2]'s two tasks);
#    pdfium-1t    pypdfium2 (the renderer Docling uses) at the same DPI, page.render(scale=DPI/72)
#                 to an RGB PIL image, the document opened once a copy, 1 thread (pdfium is not
#                 thread-safe); passes as pdfbox-1t's;
#    job          end to end: caption on a folder holding the PDF BENCH_COPIES times, through
#                 SparkSubmit on local[2] as job.sh runs it, the tiny SmolVLM fixture
#                 (model-loader/src/test/resources/reference/checkpoints/tiny-smolvlm, converted
#                 once into BENCH_WORK/package by the job jar's converter), --dpi BENCH_DPI,
#                 BENCH_NEW_TOKENS new tokens, batch BENCH_BATCH: pages/s from the job's own summary (its tasks:
#                 split, render, decode, preprocess, model, Parquet) and from wall time (process
#                 start to exit: JVM, Spark, listing, the split, the count, stop as well);
# 3. prints per side the median pages/s, each process's peak RSS (/usr/bin/time's maximum resident
#    set; the render sides also report VmHWM) and the load average (1 minute) when each run ended.
#
# Environment: BENCH_WORK (/tmp/idefics3-document-bench), BENCH_PDF (the bundled twenty-pages.pdf),
# BENCH_DPI (144), BENCH_PASSES (3), BENCH_ROUNDS (2), BENCH_COPIES (5: 100 pages), BENCH_BATCH (8),
# BENCH_NEW_TOKENS (16), BENCH_SIDES ("pdfbox-1t pdfbox-2t pdfium-1t job"), BENCH_JAVA_OPTS (the
# render side's JVM options, none), BENCH_SKIP_BUILD (1: use the jar built before).
#
# The machine may be shared: the load average beside each figure says how busy it was; the figures
# are provisional unless the load stayed below the number of cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${1:-python3}
work=${BENCH_WORK:-/tmp/idefics3-document-bench}
pdf=${BENCH_PDF:-$root/model-loader/src/test/resources/document/twenty-pages.pdf}
dpi=${BENCH_DPI:-144}
passes=${BENCH_PASSES:-3}
rounds=${BENCH_ROUNDS:-2}
copies=${BENCH_COPIES:-5}
batch=${BENCH_BATCH:-8}
new_tokens=${BENCH_NEW_TOKENS:-16}
sides=${BENCH_SIDES:-pdfbox-1t pdfbox-2t pdfium-1t job}
java_opts=${BENCH_JAVA_OPTS:-}
jar=$root/job/target/idefics3-spark-job.jar
checkpoint=$root/model-loader/src/test/resources/reference/checkpoints/tiny-smolvlm
documents=$work/documents
out=$work/results-$(date +%Y%m%d-%H%M%S)
mkdir -p "$work" "$out"

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ] || [ ! -f "$root/job/target/spark-submit.args" ]; then
  (cd "$root" && mvn -B -q -DskipTests package -pl job -am >/dev/null)
fi
if [ ! -f "$work/package/idefics3-spark.json" ]; then
  rm -rf "$work/package"
  TF_CPP_MIN_LOG_LEVEL=2 java -cp "$jar" io.github.idefics3spark.idefics3.checkpoint.Convert "$checkpoint" "$work/package" \
    >/dev/null 2>"$work/convert.err"
fi
rm -rf "$documents" && mkdir -p "$documents"
for copy in $(seq -w 0 $((copies - 1))); do
  cp "$pdf" "$documents/${copy}_$(basename "$pdf")"
done

spark_cp=$(sed -n '/^-cp$/{n;p;}' "$root/job/target/spark-submit.args" | tr -d '"')
javac -d "$out/classes" -cp "$jar" "$root/tools/bench/java/DocumentBench.java"
javac -d "$out/classes" -cp "$spark_cp" "$root/tools/bench/java/JobOutputSummary.java"

cat > "$out/pdfium_bench.py" <<'PY'
import json, statistics, sys, time
import pypdfium2 as pdfium

path, dpi, passes, copies = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def one_pass():
    """Every page of the document, copies times over (the document opened once a time over)."""
    size = 0
    count = 0
    for _ in range(copies):
        document = pdfium.PdfDocument(path)
        try:
            for index in range(len(document)):
                page = document[index]
                image = page.render(scale=dpi / 72).to_pil().convert("RGB")
                size += image.width * image.height * 3
                count += 1
                page.close()
        finally:
            document.close()
    return count, size

count, size = one_pass()
rates = []
for _ in range(passes):
    start = time.perf_counter()
    assert one_pass() == (count, size)
    rates.append(count / (time.perf_counter() - start))
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"pages": count, "dpi": dpi, "threads": 1, "pages_per_s": [round(r, 3) for r in rates],
                  "median_pages_per_s": round(statistics.median(rates), 3), "rgb_bytes": size,
                  "vmhwm_mb": round(peak / 1024, 1), "pypdfium2": str(pdfium.PYPDFIUM_INFO), "pdfium": str(pdfium.PDFIUM_INFO)}))
PY

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "document: $pdf x $copies, $dpi DPI; $passes timed passes a render run; job: batch $batch, $new_tokens new tokens, tiny-smolvlm"

now() { date +%s.%N; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# "user sys maxrss_kb" from /usr/bin/time -> CPU seconds and peak RSS, as JSON fields
cpu() { awk '{ printf "\"cpu_s\": %.2f, \"rss_mb\": %.0f", $1 + $2, $3 / 1024 }' "$1"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

run_render() {
  local round=$1 side=$2 log=$out/$2-$1
  if [ "$side" = pdfium-1t ]; then
    /usr/bin/time -f "%U %S %M" -o "$log.time" \
      "$python" "$out/pdfium_bench.py" "$pdf" "$dpi" "$passes" "$copies" >"$log.out" 2>"$log.err" ||
      { echo "pdfium failed ($log.err):" >&2; tail -20 "$log.err" >&2; exit 1; }
  else
    # shellcheck disable=SC2086  # BENCH_JAVA_OPTS is a list of words
    /usr/bin/time -f "%U %S %M" -o "$log.time" \
      java $java_opts -cp "$out/classes:$jar" DocumentBench "$pdf" "$dpi" "$(echo "$side" | tr -dc 0-9)" "$passes" "$copies" \
      >"$log.out" 2>"$log.err" ||
      { echo "DocumentBench failed ($log.err):" >&2; tail -20 "$log.err" >&2; exit 1; }
  fi
  sed "s/}\$/, \"side\": \"$side\", \"round\": $round, $(cpu "$log.time"), \"load1\": $(load1)}/" \
    "$log.out" >> "$out/results.jsonl"
}

run_job() {
  local round=$1 log=$out/job-$1 start end wall summary
  rm -rf "$out/job-output"
  start=$(now)
  TF_CPP_MIN_LOG_LEVEL=2 /usr/bin/time -f "%U %S %M" -o "$log.time" \
    java @"$root/job/target/spark-submit.args" --master 'local[2]' \
    --conf spark.ui.enabled=false "$jar" caption \
    --input "$documents" --model "$work/package" \
    --output "$out/job-output" --mode overwrite --dpi "$dpi" \
    --batch-size "$batch" --max-new-tokens "$new_tokens" >"$log.out" 2>"$log.err" ||
    { echo "the job failed ($log.err):" >&2; tail -20 "$log.err" >&2; exit 1; }
  end=$(now)
  wall=$(elapsed "$start" "$end")
  # "time: 101.2 s, 0.63 rows/s, 0.63 images/s, 20.2 generated tokens/s"
  summary=$(sed -n 's/^time: \([0-9.]*\) s, \([0-9.]*\) rows\/s.*/\1 \2/p' "$log.out")
  java -cp "$out/classes:$spark_cp" JobOutputSummary "$out/job-output" 2>/dev/null |
    sed "s/}\$/, \"side\": \"job\", \"round\": $round, \"wall_s\": $wall, $(cpu "$log.time"), \"summary_s\": ${summary% *}, \"summary_pages_per_s\": ${summary#* }, \"load1\": $(load1)}/" \
    >> "$out/results.jsonl"
}

read -r -a order <<< "$sides"
for round in $(seq "$rounds"); do
  for i in $(seq 0 $((${#order[@]} - 1))); do
    side=${order[$(((i + round - 1) % ${#order[@]}))]}
    case $side in
      job) run_job "$round" ;;
      pdfbox-*t | pdfium-1t) run_render "$round" "$side" ;;
      *) echo "unknown side $side" >&2; exit 2 ;;
    esac
    echo "round $round: $side done ($(date +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
  done
done

"$python" - "$out/results.jsonl" <<'PY'
import json, statistics, sys
from collections import defaultdict

results = [json.loads(line) for line in open(sys.argv[1])]
by_side = defaultdict(list)
for r in results:
    by_side[r["side"]].append(r)
med = statistics.median
print(f"{'side':10} {'runs':>4} {'pages/s':>8} {'(each run)':24} {'wall p/s':>8} {'rss MB':>6} {'cpu s':>6}"
      f" {'load':>12}")
for side, runs in by_side.items():
    loads = "/".join(f"{r['load1']:.1f}" for r in runs)
    if side == "job":
        for r in runs:
            assert r["errors"] == 0, r
        rate = med([r["summary_pages_per_s"] for r in runs])
        each = ", ".join(f"{r['summary_pages_per_s']:.2f}" for r in runs)
        wall = f"{med([r['rows'] / r['wall_s'] for r in runs]):8.3f}"
    else:
        rate = med([r["median_pages_per_s"] for r in runs])
        each = ", ".join(f"{r['median_pages_per_s']:.2f}" for r in runs)
        wall = f"{'':>8}"
    print(f"{side:10} {len(runs):>4} {rate:8.3f} {each:24} {wall} {med([r['rss_mb'] for r in runs]):6.0f}"
          f" {med([r['cpu_s'] for r in runs]):6.1f} {loads:>12}")
if "job" in by_side:
    runs = by_side["job"]
    print(f"job: {runs[0]['rows']} pages a run, {med([r['frames'] for r in runs]) / runs[0]['rows']:.1f} frames a page;"
          f" summed over its tasks, median of runs: read + render + decode + preprocess"
          f" {med([r['preprocess_s'] for r in runs]):.1f} s, model {med([r['model_s'] for r in runs]):.1f} s;"
          f" summary {med([r['summary_s'] for r in runs]):.1f} s of {med([r['wall_s'] for r in runs]):.1f} s wall")
print("pages/s: render sides, the median of the runs' median passes; job, its summary's rows/s (the tasks:"
      "\nsplit, render, decode, preprocess, model, Parquet write). wall p/s: the job's pages over process start"
      "\nto exit. rss: the process's peak resident set (median of runs); cpu s: user + sys of the whole process;"
      "\nload: the 1-minute load average as each run ended. Provisional where the load exceeded the cores.")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); raw results: $out"
