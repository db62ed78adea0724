#!/usr/bin/env bash
# Reading and ingesting each checkpoint format, on REAL weights, against the
# format's reference Python loader in the same run.
#
# The real all-MiniLM-L6-v2 (scripts/model.sh: model.safetensors, 104
# tensors, 103 F32 and one I64, 90.9 MB) is converted into a temporary
# folder as:
#
#   safetensors      the original file, copied
#   pytorch zip      torch.save(safetensors.torch.load_file(...))
#   pytorch legacy   the same with _use_new_zipfile_serialization=False
#   npz stored       numpy.savez
#   npz deflated     numpy.savez_compressed
#   gguf F32         gguf.GGUFWriter, every tensor as stored (F32; the I64
#                    position_ids as GGUF I64)
#   npy              numpy.save of the largest tensor alone,
#                    embeddings.word_embeddings.weight (F32 30522x384)
#
# For each file, with the file in the page cache:
#
#   reference s      the format's own Python loader, in-process (imports
#                    excluded), best of $RUNS, every tensor fully in memory:
#                    safetensors.numpy.load_file; torch.load(weights_only=
#                    True); numpy.load with {k: z[k] for k in z.files} (npz)
#                    or numpy.load (npy); gguf.GGUFReader + np.array(t.data)
#                    (a copy of each memory-mapped tensor)
#   vsdb read s      bench/readall: format.Open, then every tensor into a
#                    freshly allocated buffer of its size, best of $RUNS
#   ingest raw s     the whole command `vsdb --db STORE ingest FILE --as m
#   ingest lossless s  --codec raw|lossless` into a fresh store each run
#                    (process start, read, encode, write, fsync), best of
#                    $INGEST_RUNS; in parentheses, relative to the ingest
#                    of the safetensors original
#
# Byte and tensor totals of the reference loader and of vsdb must agree, and
# each ingest must report the same tensor count, or the script fails.
#
#   bash bench/ingest_formats.sh               # RUNS=5 INGEST_RUNS=3 by default
#
# Needs torch importable by .venv's Python (pip install -r
# requirements-torch.txt into .venv).
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
RUNS=${RUNS:-5}
INGEST_RUNS=${INGEST_RUNS:-3}
# shellcheck source=../scripts/pyenv.sh
source scripts/pyenv.sh
# shellcheck source=../scripts/model.sh
source scripts/model.sh
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  echo "torch is not importable by $PYTHON: install it with" >&2
  echo "  $PYTHON -m pip install -r requirements-torch.txt" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -m | awk '/^Mem:/ {printf "%.1f", $2 / 1024}') GiB RAM"
echo "date:    $(date -u)"
echo "go:      $(go version)"
echo "python:  $("$PYTHON" -c '
import sys, numpy, torch
from importlib.metadata import version
print(sys.version.split()[0], "numpy", numpy.__version__, "torch", torch.__version__,
      "safetensors", version("safetensors"), "gguf", version("gguf"))')"
echo "load:    $(cut -d" " -f1-3 /proc/loadavg) (1, 5, 15 min averages)"
echo "model:   $MODEL_DIR/model.safetensors"

go build -o "$tmp/readall" ./bench/readall
go build -o "$tmp/vsdb" ./cmd/vsdb

mkdir "$tmp/files"
"$PYTHON" - "$MODEL_DIR/model.safetensors" "$tmp/files" <<'PY'
import os, shutil, sys
import numpy as np
import torch
import gguf
import safetensors.numpy
import safetensors.torch

src, d = sys.argv[1], sys.argv[2]
shutil.copyfile(src, os.path.join(d, "model.safetensors"))
sd = safetensors.torch.load_file(src)
torch.save(sd, os.path.join(d, "model_zip.pt"))
torch.save(sd, os.path.join(d, "model_legacy.pt"), _use_new_zipfile_serialization=False)
arrays = safetensors.numpy.load_file(src)
np.savez(os.path.join(d, "model_stored.npz"), **arrays)
np.savez_compressed(os.path.join(d, "model_deflated.npz"), **arrays)
np.save(os.path.join(d, "word_embeddings.npy"), arrays["embeddings.word_embeddings.weight"])

w = gguf.GGUFWriter(os.path.join(d, "model_f32.gguf"), arch="bert")
notes = []
for name, a in arrays.items():
    if a.dtype == np.float32:
        w.add_tensor(name, a)
    elif a.dtype == np.int64:
        # gguf (>= 0.10) writes GGML_TYPE_I64; older versions cannot, and
        # would need a cast to int32.
        w.add_tensor(name, a)
        notes.append(f"{name} {a.dtype} {list(a.shape)} written as GGUF I64 (no conversion)")
    else:
        w.add_tensor(name, a.astype(np.float32))
        notes.append(f"{name} {a.dtype} cast to float32")
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
for n in notes:
    print("gguf:    " + n)
PY

formats=(
  "safetensors|model.safetensors|safetensors"
  "pytorch zip|model_zip.pt|torch"
  "pytorch legacy|model_legacy.pt|torch"
  "npz stored|model_stored.npz|npz"
  "npz deflated|model_deflated.npz|npz"
  "gguf F32|model_f32.gguf|gguf"
  "npy (largest tensor)|word_embeddings.npy|npy"
)
for f in "${formats[@]}"; do
  IFS='|' read -r label file _ <<<"$f"
  printf 'file:    %-22s %-20s %7.1f MB\n' "$label" "$file" "$(stat -c %s "$tmp/files/$file" | awk '{print $1 / 1e6}')"
done

# ref KIND FILE: the reference loader, best of RUNS, as a JSON line.
ref() {
  "$PYTHON" - "$1" "$2" "$RUNS" <<'PY'
import json, sys, time
import numpy as np
kind, path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "safetensors":
    import safetensors.numpy
    def load():
        return list(safetensors.numpy.load_file(path).values())
    def size(t):
        return t.nbytes
elif kind == "torch":
    import torch
    def load():
        return list(torch.load(path, weights_only=True).values())
    def size(t):
        return t.numel() * t.element_size()
elif kind == "npz":
    def load():
        with np.load(path) as z:
            return list({k: z[k] for k in z.files}.values())
    def size(t):
        return t.nbytes
elif kind == "npy":
    def load():
        return [np.load(path)]
    def size(t):
        return t.nbytes
elif kind == "gguf":
    import gguf
    def load():
        r = gguf.GGUFReader(path)
        return [np.array(t.data) for t in r.tensors]
    def size(t):
        return t.nbytes
best = float("inf")
for _ in range(runs):
    t0 = time.perf_counter()
    out = load()
    best = min(best, time.perf_counter() - t0)
    nbytes, tensors = sum(size(t) for t in out), len(out)
    del out
print(json.dumps({"seconds": best, "bytes": nbytes, "tensors": tensors}))
PY
}

# ingest FILE CODEC: best of INGEST_RUNS seconds of the whole vsdb ingest
# command, each into a fresh store; checks the tensor count it reports.
ingest() {
  local best="" i s e out want=$3
  for ((i = 1; i <= INGEST_RUNS; i++)); do
    rm -rf "$tmp/store_$i"
    s=$EPOCHREALTIME
    out=$("$tmp/vsdb" --db "$tmp/store_$i" ingest "$1" --as m --codec "$2")
    e=$EPOCHREALTIME
    rm -rf "$tmp/store_$i"
    case $out in
      "ingested m: $want tensors,"*) ;;
      *) echo "ingest of $1 --codec $2: expected $want tensors, vsdb said: $out" >&2; exit 1 ;;
    esac
    best=$(awk -v s="$s" -v e="$e" -v b="$best" 'BEGIN { t = e - s; if (b != "" && b < t) t = b; printf "%.6f", t }')
  done
  echo "$best"
}

results="$tmp/results.tsv"
for f in "${formats[@]}"; do
  IFS='|' read -r label file kind <<<"$f"
  path="$tmp/files/$file"
  echo "measuring $label ..." >&2
  cat "$path" >/dev/null # into the page cache
  r=$(ref "$kind" "$path")
  v=$("$tmp/readall" -iters "$RUNS" "$path")
  read -r rs rb rt vs vb vt < <("$PYTHON" -c '
import json, sys
r, v = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(r["seconds"], r["bytes"], r["tensors"], v["seconds"], v["bytes"], v["tensors"])' "$r" "$v")
  if [ "$rb" != "$vb" ] || [ "$rt" != "$vt" ]; then
    echo "$label: reference loader read $rb bytes in $rt tensors, vsdb $vb bytes in $vt tensors" >&2
    exit 1
  fi
  raw=$(ingest "$path" raw "$vt")
  lossless=$(ingest "$path" lossless "$vt")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$(stat -c %s "$path")" "$rs" "$vs" "$raw" "$lossless" "$vb" "$vt" >>"$results"
done
echo "load:    $(cut -d" " -f1-3 /proc/loadavg) (after)"
echo

"$PYTHON" - "$results" "$RUNS" "$INGEST_RUNS" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
runs, ingest_runs = sys.argv[2], sys.argv[3]
base = {}
for label, size, rs, vs, raw, lossless, nbytes, tensors in rows:
    if label == "safetensors":
        base = {"raw": float(raw), "lossless": float(lossless)}
print(f"best of {runs} (reads) and {ingest_runs} (ingests); ingest in parentheses: relative to ingest of the safetensors original")
print()
print("| format | file MB | reference loader s | vsdb read s | ratio vsdb/ref | vsdb ingest raw s | vsdb ingest lossless s |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for label, size, rs, vs, raw, lossless, nbytes, tensors in rows:
    rs, vs, raw, lossless = float(rs), float(vs), float(raw), float(lossless)
    print(f"| {label} | {int(size) / 1e6:.1f} | {rs:.4f} | {vs:.4f} | {vs / rs:.2f}x "
          f"| {raw:.3f} ({raw / base['raw']:.2f}x) | {lossless:.3f} ({lossless / base['lossless']:.2f}x) |")
print()
print("bytes read, equal for both readers: " +
      "; ".join(f"{r[0]} {int(r[6]) / 1e6:.2f} MB in {r[7]} tensor{'' if r[7] == '1' else 's'}" for r in rows))
print("reference loaders: safetensors.numpy.load_file; torch.load(weights_only=True); "
      "numpy.load (+ z[k] for every npz member); gguf.GGUFReader + np.array(t.data)")
PY
