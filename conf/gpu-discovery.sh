#!/usr/bin/env bash
# Spark GPU discovery script (spark.executor.resource.gpu.discoveryScript,
# spark.worker.resource.gpu.discoveryScript): prints the GPUs this node's process may use as
#   {"name": "gpu", "addresses": ["0", "1"]}
# Respects CUDA_VISIBLE_DEVICES when the cluster manager set it (Kubernetes, YARN), so each
# executor reports the GPUs it was given; otherwise every GPU nvidia-smi lists.
set -euo pipefail
if [[ -n "${CUDA_VISIBLE_DEVICES:-}" && "${CUDA_VISIBLE_DEVICES}" != "NoDevFiles" ]]; then
  ids=$(echo "${CUDA_VISIBLE_DEVICES}" | tr ',' '\n' | awk 'NF')
  # the process sees them renumbered from 0
  addresses=$(echo "${ids}" | awk '{printf "%s\"%d\"", (NR > 1 ? "," : ""), NR - 1}')
else
  addresses=$(nvidia-smi --query-gpu=index --format=csv,noheader \
    | awk 'NF {printf "%s\"%s\"", (NR > 1 ? "," : ""), $1}')
fi
echo "{\"name\": \"gpu\", \"addresses\": [${addresses}]}"
