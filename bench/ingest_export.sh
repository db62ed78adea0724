#!/usr/bin/env bash
# Ingest and export of the real all-MiniLM-L6-v2 against cp and safetensors, in one run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/pyenv.sh
source scripts/model.sh
mkdir -p bin
go build -o bin/vsdb ./cmd/vsdb
"$PYTHON" bench/ingest_export.py bin/vsdb "$MODEL_DIR/model.safetensors" "${RUNS:-5}"
