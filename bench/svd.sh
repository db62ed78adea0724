#!/usr/bin/env bash
# Times a randomized SVD, rank 64 (oversample 10, 2 power iterations, fixed
# seed), of one 4096×4096 float32 matrix in vsdb (codec.RandomizedSVD) and in
# numpy (bench/svd.py, the same algorithm), best of $RUNS each, and prints
# the machine, a table and the ratio vsdb / numpy.
#
# vsdb is built twice: with the default toolchain settings, as users and CI
# build it (the main figure: the AVX2+FMA assembly micro-kernel where the
# CPU has both), and with -tags purego (gonum blas32.Gemm, the path of
# other CPUs and architectures; timed once, it is slow). The Go program
# writes the matrix to a file that numpy then reads, so both factor the
# very same values.
#
#   bash bench/svd.sh                 # RUNS=3 ROUNDS=2 by default
#   RUNS=5 ROUNDS=3 PORTABLE=0 ONE=0 bash bench/svd.sh
#
# ROUNDS repeats the (vsdb, numpy) pair and keeps each side's best: on a
# shared machine other processes skew single runs by 2× and more (numpy's
# OpenBLAS threads suffer most when the cores are oversubscribed). ONE=1
# (the default) also times both on one thread (GOMAXPROCS=1,
# OPENBLAS_NUM_THREADS=1), which other load disturbs less.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
ROUNDS=${ROUNDS:-2}
PORTABLE=${PORTABLE:-1}
ONE=${ONE:-1}
# shellcheck source=../scripts/pyenv.sh
source scripts/pyenv.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
echo "date:    $(date -u)"
echo "go:      $(go version)"
echo "load:    $(cut -d" " -f1-3 /proc/loadavg) (1, 5, 15 min averages; other work on the machine skews timings)"

go build -o "$tmp/svd" ./bench/svd
go build -tags purego -o "$tmp/svd_portable" ./bench/svd
"$tmp/svd" -runs 1 -write "$tmp/a.f32" -gonum >"$tmp/gonum.json"

# OPENBLAS_* tuning variables set on some machines are dropped for numpy.
numpy() {
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@" \
    "$PYTHON" bench/svd.py "$tmp/a.f32" 4096 64 10 2 "$RUNS"
}
for r in $(seq "$ROUNDS"); do
  "$tmp/svd" -runs "$RUNS" >"$tmp/vsdb.$r.json"
  numpy >"$tmp/numpy.$r.json"
  if [ "$ONE" = 1 ]; then
    GOMAXPROCS=1 "$tmp/svd" -runs "$RUNS" >"$tmp/vsdb1.$r.json"
    numpy OPENBLAS_NUM_THREADS=1 >"$tmp/numpy1.$r.json"
  fi
done
if [ "$PORTABLE" = 1 ]; then
  "$tmp/svd_portable" -runs 1 >"$tmp/portable.json"
else
  echo '{}' >"$tmp/portable.json"
fi
echo "load:    $(cut -d" " -f1-3 /proc/loadavg) (after)"

"$PYTHON" - "$tmp" "$ROUNDS" "$ONE" <<'PY'
import json, sys

tmp, rounds, one = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
load = lambda p: json.load(open(f"{tmp}/{p}"))
vsdb = [load(f"vsdb.{r}.json") for r in range(1, rounds + 1)]
npy = [load(f"numpy.{r}.json") for r in range(1, rounds + 1)]
gon, port = load("gonum.json"), load("portable.json")

def merge(rs):
    best = min(rs, key=lambda r: r["best_s"])
    return best, [round(t, 3) for r in rs for t in r["times_s"]]

vs, vs_all = merge(vsdb)
nb, nb_all = merge(npy)
print()
print(f"numpy {nb['numpy']}, BLAS {nb['blas']} ({nb['blas_config'].strip()}); threadpool: {nb['threadpool']}")
print(f"vsdb GOMAXPROCS {vs['gomaxprocs']}; matrix {vs['n']}x{vs['n']}, rank {vs['rank']}, "
      f"oversample {vs['oversample']}, power iterations {vs['power_iters']}; "
      f"{vs['gflop_per_run']:.1f} GFLOP in the large products per run")
print()
print("| implementation | best s | all runs s | rel. Frobenius error at rank 64 | σ₁ | σ₆₄ | time / numpy |")
print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
rows = [(f"vsdb codec.RandomizedSVD, default build, {vs['kernel']}", vs, vs_all)]
if port:
    rows.append((f"vsdb codec.RandomizedSVD, -tags purego, {port['kernel']}", port, [round(t, 3) for t in port["times_s"]]))
rows.append((f"numpy {nb['numpy']} (same algorithm, float32)", nb, nb_all))
if one:
    vs1, vs1_all = merge([load(f"vsdb1.{r}.json") for r in range(1, rounds + 1)])
    nb1, nb1_all = merge([load(f"numpy1.{r}.json") for r in range(1, rounds + 1)])
    rows.append((f"vsdb, {vs1['kernel']}, GOMAXPROCS=1", vs1, vs1_all))
    rows.append(("numpy, OPENBLAS_NUM_THREADS=1", nb1, nb1_all))
for name, r, alls in rows:
    base = nb1 if one and "=1" in name else nb
    print(f"| {name} | {r['best_s']:.3f} | {', '.join(map(str, alls))} | {r['rel_err']:.4f} | "
          f"{r['s0']:.4f} | {r['s_k']:.4f} | {r['best_s'] / base['best_s']:.2f} |")
print()
g = gon["gonum_gemm_s"]
print(f"context: one A·Ω product (4096x4096 by 4096x{vs['rank'] + vs['oversample']}, "
      f"{gon['gemm_gflop']:.2f} GFLOP) with gonum blas32.Gemm: {g:.3f} s "
      f"({gon['gemm_gflop'] / g:.1f} GFLOP/s); a run makes {2 + 2 * vs['power_iters']} of them. "
      f"numpy's np.linalg.svd of the small {nb['small_svd_shape'][0]}x{nb['small_svd_shape'][1]} B: "
      f"{nb['small_svd_best_s']:.3f} s.")
print()
print(f"ratio vsdb_time / numpy_time (best, default build): {vs['best_s'] / nb['best_s']:.2f} (goal <= 2)"
      + (f"; purego build: {port['best_s'] / nb['best_s']:.2f}" if port else "")
      + (f"; one thread each: {vs1['best_s'] / nb1['best_s']:.2f}" if one else ""))
print("(the time / numpy column compares one-thread rows with numpy on one thread)" if one else "")
PY
