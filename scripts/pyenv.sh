# Sourced by the scripts: makes .venv (numpy, safetensors and gguf, pinned in
# requirements-dev.txt) if missing and sets PYTHON to its interpreter.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import numpy, safetensors, gguf' 2>/dev/null; then
  echo "setting up $venv (numpy, safetensors, gguf)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/requirements-dev.txt"
fi
PYTHON="$venv/bin/python"
export PYTHON
