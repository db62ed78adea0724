#!/usr/bin/env bash
# The main job, end to end, on the embedded default store (no server):
# fetch the real all-MiniLM-L6-v2, ingest it, fuse two of its layers, export,
# and verify everything against numpy. Pass --db DIR to use another store.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/pyenv.sh
source scripts/model.sh
mkdir -p bin .cache/demo
go build -o bin/vsdb ./cmd/vsdb
vsdb() { echo "+ vsdb $*" >&2; bin/vsdb "$@"; }
out="$root/.cache/demo"
fuse="FUSE minilm:encoder.layer.0, minilm:encoder.layer.1 WEIGHTS 0.5, 0.5"

# Start from a clean slate for the demo's own models.
for m in minilm minilm_fused minilm_resharded; do bin/vsdb "$@" delete --if-exists "$m"; done
rm -rf "$out/minilm_sharded"
vsdb "$@" ingest "$MODEL_DIR/model.safetensors" --as minilm
vsdb "$@" query "SHOW MODELS"
vsdb "$@" query "SHOW TENSORS FROM minilm WHERE layer = 'encoder.layer.0'"
vsdb "$@" query "EXPLAIN $fuse"
vsdb "$@" query --out "$out/fused_returned.safetensors" "$fuse"
vsdb "$@" query "$fuse INTO minilm_fused"
vsdb "$@" export minilm "$out/minilm.safetensors"
vsdb "$@" export minilm_fused "$out/minilm_fused.safetensors"
vsdb "$@" export minilm "$out/minilm_sharded/" --shard-size 20MB
vsdb "$@" ingest "$out/minilm_sharded" --as minilm_resharded
vsdb "$@" export minilm_resharded "$out/minilm_resharded.safetensors"
vsdb "$@" check
echo "+ verify against numpy" >&2
"$PYTHON" scripts/verify.py "$MODEL_DIR/model.safetensors" "$out/minilm.safetensors" \
  "$out/fused_returned.safetensors" encoder.layer.0 encoder.layer.1 0.5 0.5
"$PYTHON" scripts/verify.py "$MODEL_DIR/model.safetensors" "$out/minilm.safetensors" \
  "$out/minilm_fused.safetensors" encoder.layer.0 encoder.layer.1 0.5 0.5
"$PYTHON" scripts/verify_sharded.py "$MODEL_DIR/model.safetensors" "$out/minilm_sharded" \
  "$out/minilm_resharded.safetensors"
echo "+ verify merge methods (FUSE ... USING) on the real model against numpy" >&2
"$PYTHON" scripts/verify_merges.py bin/vsdb "$MODEL_DIR/model.safetensors" "$@"
