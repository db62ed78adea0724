#!/usr/bin/env bash
# Runs every test: formatting, vet, the Go tests under the race detector
# (including the layering test, the kill test, the object-store tests
# against a SeaweedFS server they start and, with numpy and
# safetensors from .venv, the Python interop tests, and with torch the
# PyTorch reader's tests), the shared bad-input
# cases through the real command line, then the Python client's tests
# against a real `vsdb serve` and the executed quickstart notebook
# (scripts/pytest.sh installs what they need into .venv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/pyenv.sh
# torch is for the tests only: format/pytorch writes its checkpoints with
# torch.save and compares what torch holds with what vsdb reads.
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  echo "installing torch (tests only; requirements-torch.txt) into .venv" >&2
  "$PYTHON" -m pip install -q --disable-pip-version-check -r requirements-torch.txt
fi
export VSDB_PYTHON="$PYTHON"
export VSDB_REQUIRE_TORCH=1
# The object-store tests run two vsdb nodes on the real model against a
# real SeaweedFS S3 gateway (weed, built once from the Go module proxy
# into .cache/weed by scripts/weed.sh; a few minutes the first time).
source scripts/weed.sh
source scripts/model.sh
export VSDB_REQUIRE_WEED=1
export VSDB_TIER_MODEL="$MODEL_DIR/model.safetensors"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
echo "== fuzz seeds with their memory budgets (not enforced under -race)"
go test -count=1 -run '^Fuzz|^TestBytes$' ./...
echo "== shared bad-input cases"
mkdir -p bin
go build -o bin/vsdb ./cmd/vsdb
cases="$root/../shared/cases"
if [ -f "$cases/check.py" ]; then
  python3 "$cases/check.py" bin/vsdb "$cases"
elif [ -n "${CI:-}" ]; then
  echo "missing $cases: CI must provide ../shared"; exit 1
else
  echo "skipped: $cases not found"
fi
echo "== vsdb plot on the real model"; bash scripts/plots.sh
echo "== Python client and notebook"
VSDB_BIN="$root/bin/vsdb" bash scripts/pytest.sh
