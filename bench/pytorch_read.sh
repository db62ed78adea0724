#!/usr/bin/env bash
# Reading speed of format/pytorch against torch.load(weights_only=True) on
# the same generated checkpoint (~100 MB: 24 F32 1024x1024 matrices, one of
# them a transposed view, plus BF16 and int64 tensors), in the zip layout
# and the legacy one. Both read every tensor into memory, file in the page
# cache, best of $ITERS runs (default 5). Prints the machine, a table and
# the ratio vsdb / torch (below 1: vsdb is faster).
#
#   bash bench/pytorch_read.sh          # needs torch in .venv (or PYTHON=...)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PYTHON=${PYTHON:-$root/.venv/bin/python}
ITERS=${ITERS:-5}
"$PYTHON" -c 'import torch' 2>/dev/null || { echo "torch is not importable by $PYTHON; set PYTHON" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
echo "date:    $(date -u)"
echo "go:      $(go version)"
echo "torch:   $("$PYTHON" -c 'import torch, sys; print(torch.__version__, "python %d.%d" % sys.version_info[:2])')"
echo "load:    $(cut -d" " -f1-3 /proc/loadavg) (1, 5, 15 min averages)"

go build -o "$tmp/readall" ./bench/readall
"$PYTHON" - "$tmp" <<'PY'
import collections, os, sys, torch
d = sys.argv[1]
g = torch.Generator().manual_seed(1)
sd = collections.OrderedDict()
for i in range(24):
    w = torch.randn(1024, 1024, generator=g)
    sd["layers.%d.weight" % i] = w.t() if i == 0 else w
    sd["layers.%d.bias" % i] = torch.randn(1024, generator=g)
sd["embed.bf16"] = torch.randn(512, 1024, generator=g).to(torch.bfloat16)
sd["steps"] = torch.arange(4096, dtype=torch.int64)
torch.save(sd, os.path.join(d, "zip.pt"))
torch.save(sd, os.path.join(d, "legacy.pt"), _use_new_zipfile_serialization=False)
PY

printf '\n%-8s %-28s %10s %10s\n' layout reader seconds MB/s
for layout in zip legacy; do
  f="$tmp/$layout.pt"
  cat "$f" >/dev/null  # into the page cache
  go_json=$("$tmp/readall" -iters "$ITERS" "$f")
  py_json=$("$PYTHON" - "$f" "$ITERS" <<'PY'
import json, os, sys, time, torch
path, iters = sys.argv[1], int(sys.argv[2])
best = 1e9
for _ in range(iters):
    t = time.perf_counter()
    sd = torch.load(path, weights_only=True)
    n = sum(v.nbytes for v in sd.values())
    best = min(best, time.perf_counter() - t)
    del sd
print(json.dumps({"seconds": best, "bytes": n, "mb_per_s": n / 1e6 / best}))
PY
)
  "$PYTHON" - "$layout" "$go_json" "$py_json" <<'PY'
import json, sys
layout, g, p = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
assert g["bytes"] == p["bytes"], (g["bytes"], p["bytes"])
print("%-8s %-28s %10.4f %10.0f" % (layout, "vsdb format/pytorch", g["seconds"], g["mb_per_s"]))
print("%-8s %-28s %10.4f %10.0f" % (layout, "torch.load(weights_only)", p["seconds"], p["mb_per_s"]))
print("%-8s ratio vsdb/torch: %.2f (%d bytes, %d tensors)" % (layout, g["seconds"] / p["seconds"], g["bytes"], g["tensors"]))
PY
done
