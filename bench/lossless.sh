#!/usr/bin/env bash
# vsdb's lossless codec against ZipNN (the PyPI package zipnn) and zstd on the
# real all-MiniLM-L6-v2, its FP32 weights and their BF16 cast, in one run:
# ratio, and encode/decode speed on one core (best of RUNS, default 7).
# The Go side (bench/lossless) measures vsdb and zstd and writes the exact
# bytes it measured; bench/lossless.py runs zipnn on those bytes and prints
# the table. zipnn is installed into the .venv when missing (it pulls torch).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/pyenv.sh
source scripts/model.sh
runs=${RUNS:-7}

if ! "$PYTHON" -c 'import zipnn' 2>/dev/null; then
  if "$PYTHON" -m pip index versions zipnn >/dev/null 2>&1; then
    echo "installing zipnn into $(dirname "$(dirname "$PYTHON")") (with its torch dependency)" >&2
    "$PYTHON" -m pip install -q --disable-pip-version-check zipnn >&2 || echo "zipnn could not be installed here" >&2
  else
    echo "zipnn is not on the package index here" >&2
  fi
fi

echo "machine: nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $(awk '/MemTotal/ {printf "%.1f GiB (MemTotal %d kB)", $2/1048576, $2}' /proc/meminfo)"
echo "date: $(date -u); $(go version | cut -d' ' -f3-); $("$PYTHON" -c 'import sys; print("python %d.%d" % sys.version_info[:2])')"
echo "load before:$(uptime | sed 's/.*load average://')"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/lossless" ./bench/lossless
cmd=("$tmp/lossless" -file "$MODEL_DIR/model.safetensors" -dtype f32,bf16 -runs "$runs" -json -dump "$tmp")
echo "+ go run ./bench/lossless ${cmd[*]:1}"
"${cmd[@]}" > "$tmp/vsdb.jsonl"

# The python side runs without OpenBLAS overrides some environments set.
unset_env=()
for v in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do
  if [ -n "${!v+x}" ]; then unset_env+=(-u "$v"); fi
done
echo "+ $PYTHON bench/lossless.py DIR $runs"
env "${unset_env[@]}" "$PYTHON" bench/lossless.py "$tmp" "$runs" 2>&1 | grep -v -e 'FutureWarning' -e 'warnings.warn'
echo "load after:$(uptime | sed 's/.*load average://')"
