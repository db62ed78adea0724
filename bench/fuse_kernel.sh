#!/usr/bin/env bash
# Times the FUSE kernel out = 0.5*a + 0.5*b on two 256 MB float32 arrays
# (64Mi elements): vsdb's kernel.AxpbyParallel and kernel.Axpby against
# numpy's fastest (preallocated) form and its idiomatic form, best of
# $ITERS runs each, every output written before timing. Prints the machine,
# a table, and the ratio vsdb / numpy-preallocated.
#
#   bash bench/fuse_kernel.sh            # PYTHON=python3 ITERS=20 by default
#   PYTHON=/path/to/venv/bin/python bash bench/fuse_kernel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
ITERS=${ITERS:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
echo "date:    $(date -u)"
echo "go:      $(go version)"
echo "load:    $(cut -d" " -f1-3 /proc/loadavg) (1, 5, 15 min averages; other work on the machine skews timings)"

go build -o "$tmp/fusekernel" ./bench/fusekernel
"$tmp/fusekernel" -iters "$ITERS" >"$tmp/parallel.json"
"$tmp/fusekernel" -iters "$ITERS" -serial >"$tmp/serial.json"

# OPENBLAS_* tuning variables set on some machines are dropped for numpy.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PYTHON" - "$ITERS" >"$tmp/numpy.json" <<'PY'
import json, sys, time
import numpy as np

iters = int(sys.argv[1])
n = 64 << 20
rng = np.random.default_rng(1)
a = rng.random(n, dtype=np.float32)
b = rng.random(n, dtype=np.float32)
o = np.empty_like(a)
t = np.empty_like(a)
o.fill(0)
t.fill(0)  # touch the preallocated outputs before timing

def prealloc():
    np.multiply(a, 0.5, out=o)
    np.multiply(b, 0.5, out=t)
    np.add(o, t, out=o)

def idiomatic():
    return 0.5 * a + 0.5 * b

res = {"numpy": np.__version__}
for name, f in (("prealloc", prealloc), ("idiomatic", idiomatic)):
    for _ in range(3):
        f()
    ts = []
    for _ in range(iters):
        s = time.perf_counter()
        f()
        ts.append(time.perf_counter() - s)
    ts.sort()
    res[name] = {"best_s": ts[0], "median_s": ts[len(ts) // 2]}
assert abs(float(o[12345]) - (0.5 * float(a[12345]) + 0.5 * float(b[12345]))) < 1e-6
json.dump(res, sys.stdout)
PY

"$PYTHON" - "$tmp/parallel.json" "$tmp/serial.json" "$tmp/numpy.json" <<'PY'
import json, sys

par, ser, npy = (json.load(open(p)) for p in sys.argv[1:4])
mb = par["array_bytes"]
base = npy["prealloc"]["best_s"]
# Bytes each form must move at least: vsdb reads a and b and writes out
# once; each numpy form makes three passes (2 multiplies, 1 add) moving
# seven arrays' worth (read 4, write 3), not counting write-allocate reads.
rows = [
    (f"vsdb AxpbyParallel ({par['gomaxprocs']} goroutines)", par, 3),
    ("vsdb Axpby (1 goroutine)", ser, 3),
    (f"numpy {npy['numpy']} preallocated (multiply, multiply, add)", npy["prealloc"], 7),
    ("numpy idiomatic 0.5*a + 0.5*b", npy["idiomatic"], 7),
]
print()
print(f"| form | best s | median s | GB moved | GB/s (best) | time / numpy preallocated |")
print(f"| --- | ---: | ---: | ---: | ---: | ---: |")
for name, r, arrays in rows:
    gb = arrays * mb / 1e9
    print(f"| {name} | {r['best_s']:.4f} | {r['median_s']:.4f} | {gb:.2f} | "
          f"{gb / r['best_s']:.1f} | {r['best_s'] / base:.2f} |")
print()
print(f"ratio vsdb_time / numpy_time (best, preallocated): {par['best_s'] / base:.2f} "
      f"(goal <= 0.60); single goroutine: {ser['best_s'] / base:.2f}")
PY
