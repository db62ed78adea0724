#!/usr/bin/env bash
# Runs every fuzz target of vsdb for FUZZTIME each (default 5m), one after
# the other, and prints one line per target: executions, new corpus
# entries and the result. A crasher is written by go test under the
# package's testdata/fuzz/FuzzName/ folder: commit it, it becomes a
# regression case that every `go test` run replays.
#
#   bash scripts/fuzz.sh                 # 5 minutes per target
#   FUZZTIME=1h bash scripts/fuzz.sh     # longer (RELIABILITY.md reports 10m per target)
#   PARALLEL=2 bash scripts/fuzz.sh      # workers per target (default 1)
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-5m}
PARALLEL=${PARALLEL:-1}
targets=(
  "query FuzzParse"
  "lsm FuzzDecodeChunk"
  "codec FuzzLosslessDecode"
  "codec FuzzLosslessDecodeWide"
  "codec FuzzLosslessRoundTrip"
  "codec FuzzDecodeFloats"
  "codec FuzzDecodeLowRank"
  "format/safetensors FuzzSafetensors"
  "format/npy FuzzNpy"
  "format/npz FuzzNPZ"
  "format/gguf FuzzGGUF"
  "format/pytorch FuzzPickle"
)
echo "fuzzing ${#targets[@]} targets for $FUZZTIME each, $PARALLEL worker(s); $(nproc) CPUs; $(date -u)"
failed=0
for t in "${targets[@]}"; do
  set -- $t
  start=$(date +%s)
  out=$(go test -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" -parallel "$PARALLEL" "./$1" 2>&1)
  rc=$?
  last=$(grep 'execs:' <<<"$out" | tail -1 | sed 's/^fuzz: //')
  printf '%-20s %-28s rc=%d %4ds  %s\n' "$1" "$2" "$rc" "$(( $(date +%s) - start ))" "$last"
  if [ $rc -ne 0 ]; then
    failed=1
    tail -25 <<<"$out"
  fi
done
exit $failed
