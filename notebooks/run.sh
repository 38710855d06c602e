#!/usr/bin/env bash
# Executes the notebooks against outputs the bundled demo model produces; .ci/run runs it after
# the tests. Needs the job jar (mvn -B -q -pl job -am package -DskipTests) and Python 3.11.
#
#   bash notebooks/run.sh
#
# 1. a venv in target/notebooks/venv with notebooks/requirements.txt (pinned, constraints.txt for
#    the rest), from the local mirror when this machine has one (/opt/pypi), else from PyPI;
# 2. the README's Quick start: caption the bundled scenes with the demo model into
#    target/quickstart-captions;
# 3. eval --benchmark docvqa on the bundled synthetic pages (DocVQA's layout) into
#    target/docvqa-demo-eval;
# 4. quickstart.ipynb and evaluation-report.ipynb executed with nbclient into
#    target/notebooks/executed: any failing cell fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

jar=job/target/idefics3-spark-job.jar
if [[ ! -f "$jar" || ! -f job/target/spark-submit.args ]]; then
  echo "notebooks: $jar is missing; build it first: mvn -B -q -pl job -am package -DskipTests" >&2
  exit 2
fi
work=target/notebooks
mkdir -p "$work"
demo=model-loader/src/test/resources/demo

# 1. the venv
venv="$work/venv"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
index=()
if [[ -d /opt/pypi/simple ]]; then
  index=(--index-url file:///opt/pypi/simple)
  if [[ -d /opt/pypi-more/simple ]]; then
    index+=(--extra-index-url file:///opt/pypi-more/simple)
  fi
fi
start=$SECONDS
"$venv/bin/pip" install --quiet --disable-pip-version-check "${index[@]}" \
  -r notebooks/requirements.txt -c notebooks/constraints.txt 2>"$work/pip.log" \
  || { cat "$work/pip.log" >&2; exit 1; }
echo "notebooks: venv ready in $((SECONDS - start)) s"
export PATH="$PWD/$venv/bin:$PATH"

# 2. and 3. the demo model's outputs, through SparkSubmit as the README's Quick start
export TF_CPP_MIN_LOG_LEVEL=2
spark=(java @job/target/spark-submit.args --master 'local[2]' --conf spark.ui.enabled=false "$jar")
run() { # run LOG ARGS...: the job, its log kept in a file and shown if it fails
  local log="$work/$1.log"
  shift
  "$@" >"$log" 2>&1 || { tail -n 60 "$log" >&2; echo "notebooks: failed: $*" >&2; exit 1; }
  grep -E '^(rows|errors|time|docvqa):' "$log" | sed 's/^/  /' || true
}
start=$SECONDS
run caption "${spark[@]}" caption --input "$demo/captions" \
  --model "$demo/demo-smolvlm" --output target/quickstart-captions --mode overwrite --max-new-tokens 16
run eval "${spark[@]}" eval --benchmark docvqa --input "$demo/docvqa" \
  --model "$demo/demo-smolvlm" --output target/docvqa-demo-eval --mode overwrite
echo "notebooks: demo model outputs in $((SECONDS - start)) s"

# 4. the notebooks
python notebooks/execute.py --out "$work/executed" \
  notebooks/quickstart.ipynb notebooks/evaluation-report.ipynb
