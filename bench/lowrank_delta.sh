#!/usr/bin/env bash
# Low-rank fine-tunes of the real all-MiniLM-L6-v2 (base + rank-8 updates)
# stored as deltas with CODEC lowrank, and merged in factored space, against
# dense storage and a NumPy merge in the same run (bench/lowrank_delta.py).
#   bash bench/lowrank_delta.sh            # RUNS=5 BUDGET=0.001
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/pyenv.sh
source scripts/model.sh
mkdir -p bin
go build -o bin/vsdb ./cmd/vsdb
echo "machine: nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "date: $(date -u); $(go version | cut -d' ' -f3-); git HEAD $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "load before:$(uptime | sed 's/.*load average://')"
"$PYTHON" bench/lowrank_delta.py bin/vsdb "$MODEL_DIR/model.safetensors" "${RUNS:-5}" "${BUDGET:-0.001}"
