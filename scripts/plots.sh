#!/usr/bin/env bash
# Draws the three pictures of `vsdb plot` for the real all-MiniLM-L6-v2 and
# checks that each is a valid PNG (signature, chunk checksums, IHDR width
# and height over 100, image data that inflates to the right size) of over
# 10 KB. Usage: bash scripts/plots.sh [OUTDIR]  (default: a temporary
# folder, removed at the end; docs/images made docs/PLOTS.md's pictures).
# The store is a throwaway one: the model as minilm, and minilm_auto,
# ingested with --codec auto --error-budget 0.01 (q8 or f16 per tensor), so
# that the layers and the diff show errors.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/pyenv.sh
source scripts/model.sh
mkdir -p bin
go build -o bin/vsdb ./cmd/vsdb
store=$(mktemp -d)
cleanup=("$store")
if [ $# -ge 1 ]; then
  out=$1
  mkdir -p "$out"
else
  out=$(mktemp -d)
  cleanup+=("$out")
fi
trap 'rm -rf "${cleanup[@]}"' EXIT
vsdb() { echo "+ vsdb $*" >&2; bin/vsdb --db "$store" "$@"; }

vsdb ingest "$MODEL_DIR/model.safetensors" --as minilm
vsdb ingest "$MODEL_DIR/model.safetensors" --as minilm_auto --codec auto --error-budget 0.01
vsdb plot layers minilm_auto -o "$out/plot-layers.png"
vsdb plot diff minilm_auto minilm -o "$out/plot-diff.png"
vsdb plot hist minilm encoder.layer.0.attention.self.query.weight --bins 120 -o "$out/plot-hist.png"

"$PYTHON" - "$out/plot-layers.png" "$out/plot-diff.png" "$out/plot-hist.png" <<'PY'
import struct, sys, zlib

def check(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "no PNG signature"
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad checksum in chunk {kind}"
        chunks.append(kind)
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND", f"chunks {chunks}"
    ihdr = data[16:29]
    width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    assert width > 100 and height > 100, f"{width}x{height}: too small"
    assert len(data) > 10 * 1024, f"{len(data)} bytes: too small"
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    if interlace == 0:
        row = (width * channels * depth + 7) // 8 + 1
        assert len(raw) == row * height, f"image data {len(raw)} bytes, want {row * height}"
    return f"{path}: {width}x{height}, {len(data)} bytes"

for p in sys.argv[1:]:
    try:
        print("ok", check(p))
    except (AssertionError, OSError, struct.error, zlib.error, KeyError) as e:
        sys.exit(f"plots.sh: {p}: not a valid picture: {e}")
PY
