#!/usr/bin/env bash
# The object-store tier on the real all-MiniLM-L6-v2 against a SeaweedFS S3
# gateway on loopback: ingest throughput, cold and warm reads, with the
# local store and a plain PUT/GET of the checkpoint file side by side.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/pyenv.sh
source scripts/model.sh
source scripts/weed.sh
go run ./bench/tier -runs "${RUNS:-3}" "$MODEL_DIR/model.safetensors"
