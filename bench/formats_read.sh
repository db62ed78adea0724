#!/usr/bin/env bash
# Times reading ~100 MB checkpoints, every tensor into freshly allocated
# memory, with vsdb's readers and with the Python reference, best of $RUNS
# each, and prints the ratio vsdb / Python (below 1: vsdb is faster):
#
#   .npz (numpy.savez, stored)            format/npz   vs numpy.load
#   .npz (numpy.savez_compressed)         format/npz   vs numpy.load
#   .npy                                  format/npy   vs numpy.load
#   .gguf (F16, gguf.GGUFWriter)          format/gguf  vs gguf.GGUFReader
#                                                         (+ np.array copy
#                                                         of each memmap)
#
# The files are written once into a temporary folder and read from the
# page cache by both sides. vsdb's side is the BenchmarkReadFile benchmarks
# of format/npz and format/gguf.
#
#   bash bench/formats_read.sh          # RUNS=5 by default
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
# shellcheck source=../scripts/pyenv.sh
source scripts/pyenv.sh
if ! "$PYTHON" -c 'import gguf' 2>/dev/null; then
  echo "installing gguf (llama.cpp's Python package) into .venv" >&2
  "$PYTHON" -m pip install -q --disable-pip-version-check gguf
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "date:    $(date -u)"
echo "go:      $(go version)"
echo "python:  $("$PYTHON" -c 'import sys, numpy, gguf; from importlib.metadata import version; print(sys.version.split()[0], "numpy", numpy.__version__, "gguf", version("gguf"))')"
echo "load:    $(cut -d" " -f1-3 /proc/loadavg)"

"$PYTHON" - "$tmp" <<'EOF'
import os, sys
import numpy as np
import gguf
d = sys.argv[1]
rng = np.random.default_rng(0)
# 24 weight-like float32 matrices of 4 MiB: 96 MiB.
arrays = {f"layers.{i}.weight": rng.standard_normal((1024, 1024), dtype=np.float32) * 0.02 for i in range(24)}
np.savez(os.path.join(d, "stored.npz"), **arrays)
np.savez_compressed(os.path.join(d, "deflated.npz"), **arrays)
np.save(os.path.join(d, "one.npy"), rng.standard_normal((5000, 5000), dtype=np.float32))
w = gguf.GGUFWriter(os.path.join(d, "f16.gguf"), arch="llama")
for i in range(24):
    w.add_tensor(f"blk.{i}.weight", (rng.standard_normal((2048, 1024), dtype=np.float32) * 0.02).astype(np.float16))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
EOF
ls -l "$tmp" | awk 'NR > 1 {printf "file:    %-14s %6.1f MB\n", $9, $5 / 1e6}'

# Python: best of RUNS, seconds.
"$PYTHON" - "$tmp" "$RUNS" >"$tmp/python.txt" <<'EOF'
import os, sys, time
import numpy as np
import gguf
d, runs = sys.argv[1], int(sys.argv[2])
def best(f):
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return min(t)
def npz(p):
    with np.load(p) as z:
        return [z[k] for k in z.files]
def gg(p):
    r = gguf.GGUFReader(p)
    return [np.array(t.data) for t in r.tensors]
print("stored.npz", best(lambda: npz(os.path.join(d, "stored.npz"))))
print("deflated.npz", best(lambda: npz(os.path.join(d, "deflated.npz"))))
print("one.npy", best(lambda: np.load(os.path.join(d, "one.npy"))))
print("f16.gguf", best(lambda: gg(os.path.join(d, "f16.gguf"))))
EOF

# vsdb: the benchmarks, RUNS iterations, best of 3 counts, seconds.
go test -c -o "$tmp/npz.test" ./format/npz
go test -c -o "$tmp/gguf.test" ./format/gguf
gobest() { # prints the smallest ns/op of the benchmark output on stdin, in seconds
  awk '/ns\/op/ { for (i = 1; i < NF; i++) if ($(i+1) == "ns/op") { v = $i; if (best == "" || v < best) best = v } }
       END { printf "%.6f\n", best / 1e9 }'
}
bench() { "$@" -test.run '^$' -test.bench BenchmarkReadFile -test.benchtime "${RUNS}x" -test.count 3; }
{
  echo "stored.npz $(VSDB_BENCH_NPZ="$tmp/stored.npz" bench "$tmp/npz.test" | gobest)"
  echo "deflated.npz $(VSDB_BENCH_NPZ="$tmp/deflated.npz" bench "$tmp/npz.test" | gobest)"
  echo "one.npy $(VSDB_BENCH_NPY="$tmp/one.npy" bench "$tmp/npz.test" | gobest)"
  echo "f16.gguf $(VSDB_BENCH_GGUF="$tmp/f16.gguf" bench "$tmp/gguf.test" | gobest)"
} >"$tmp/vsdb.txt"
echo "load:    $(cut -d" " -f1-3 /proc/loadavg) (after)"
echo
printf "%-14s %10s %10s %8s   %s\n" file "vsdb s" "python s" ratio "python reader"
join "$tmp/vsdb.txt" "$tmp/python.txt" | while read -r name v p; do
  case $name in
    *.gguf) ref="gguf.GGUFReader + np.array" ;;
    *) ref="numpy.load" ;;
  esac
  awk -v n="$name" -v v="$v" -v p="$p" -v r="$ref" 'BEGIN { printf "%-14s %10.4f %10.4f %7.2fx   %s\n", n, v, p, v / p, r }'
done
