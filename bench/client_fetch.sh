#!/usr/bin/env bash
# A 100 MB tensor through the Python client (vsdb serve over loopback)
# against numpy.load of the same data from a local .npy, same run
# (bench/client_fetch.py). RUNS (default 7) and MB (default 100) change it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/pyenv.sh
"$PYTHON" -c 'import vsdb' 2>/dev/null || "$PYTHON" -m pip install -q --disable-pip-version-check -e clients/python
mkdir -p bin
go build -o bin/vsdb ./cmd/vsdb
echo "machine: nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "date: $(date -u); $(go version | cut -d' ' -f3-); $("$PYTHON" -c 'import sys, numpy; print("python %d.%d, numpy %s" % (sys.version_info[:2] + (numpy.__version__,)))')"
echo "load before:$(uptime | sed 's/.*load average://')"
"$PYTHON" bench/client_fetch.py bin/vsdb "${RUNS:-7}" "${MB:-100}"
