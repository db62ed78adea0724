#!/usr/bin/env bash
# Runs the Python client's tests (clients/python/tests, against a real
# `vsdb serve`) and then docs/notebooks/quickstart.ipynb against the real
# all-MiniLM-L6-v2. Installs into .venv, only when missing, what they need
# (clients/python/requirements-test.txt and the client, editable).
# Uses $VSDB_BIN when set, else builds bin/vsdb. Extra arguments go to pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/pyenv.sh

if ! "$PYTHON" - "$root/clients/python" 2>/dev/null <<'PY'
import os, sys
import ipykernel, matplotlib, nbclient, nbformat, numpy, pandas, pytest, safetensors, vsdb
# The client must be this checkout's, installed editable.
sys.exit(0 if os.path.realpath(vsdb.__file__).startswith(os.path.realpath(sys.argv[1]) + os.sep) else 1)
PY
then
  echo "installing the Python client's test requirements into .venv" >&2
  "$PYTHON" -m pip install -q --disable-pip-version-check -r clients/python/requirements-test.txt
  "$PYTHON" -m pip install -q --disable-pip-version-check -e clients/python
fi

if [ -z "${VSDB_BIN:-}" ]; then
  mkdir -p bin
  go build -o bin/vsdb ./cmd/vsdb
  VSDB_BIN="$root/bin/vsdb"
fi
export VSDB_BIN

echo "== pytest clients/python/tests"
"$PYTHON" -m pytest -q -p no:cacheprovider clients/python/tests "$@"

echo "== notebook docs/notebooks/quickstart.ipynb"
source scripts/model.sh
"$PYTHON" scripts/notebook.py "$VSDB_BIN" --model "$MODEL_DIR/model.safetensors"
