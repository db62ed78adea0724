#!/usr/bin/env python3
"""Whole-model linear merge of two real models, vsdb against NumPy, in one run.

usage: merge_models.py VSDB_BINARY MODEL.safetensors [RUNS]

The checkpoint is ingested twice, as `a` and `b`, into a fresh store: the two
models hold the SAME real weights (there is only one real checkpoint here),
which changes nothing for the arithmetic or the bytes moved. Then, each the
median of RUNS (default 5) after one warm-up:

- vsdb, whole processes: `vsdb query "FUSE a, b WEIGHTS 0.5, 0.5 USING linear
  INTO c"` (stored durably as model c; `vsdb delete c` after each run is not
  timed); the same FUSE without INTO written to a file with `query --out`;
  `vsdb query "EXPLAIN FUSE ..."` (start-up + planning only); and, for
  context, the FUSE INTO c on a second store where a and b were ingested
  with `--codec raw` (the main store uses the default, lossless).
- NumPy, in this process: loading both files with safetensors.numpy.load_file
  (timed separately), then the same math, (0.5*a + 0.5*b) / (0.5 + 0.5) per
  float tensor with integer tensors (position_ids, I64) copied, and
  safetensors.numpy.save_file of the result (compute+save; also with an
  fsync of the file, since vsdb syncs what it stores), and load+compute+save.
- NumPy as a whole process too (interpreter start, imports, load, compute,
  save), the closest match to a vsdb command.

Finally the stored c is exported and compared with the NumPy result.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from safetensors.numpy import load_file, save_file

FUSE = "FUSE a, b WEIGHTS 0.5, 0.5 USING linear"

NUMPY_PROCESS = r"""
import sys
import numpy as np
from safetensors.numpy import load_file, save_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[1])
out = {}
for k, x in a.items():
    out[k] = (0.5 * x + 0.5 * b[k]) / (0.5 + 0.5) if np.issubdtype(x.dtype, np.floating) else x.copy()
save_file(out, sys.argv[2])
"""


def timed(fn, runs, after=None):
    """Median of `runs` timed calls of fn after one warm-up; `after` runs
    untimed after every call (cleanup)."""
    times = []
    for k in range(runs + 1):
        t0 = time.perf_counter()
        fn()
        t = time.perf_counter() - t0
        if after:
            after()
        if k > 0:
            times.append(t)
    return statistics.median(times), min(times), max(times)


def fsync(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def merge(a, b):
    out = {}
    for k, x in a.items():
        if np.issubdtype(x.dtype, np.floating):
            out[k] = (0.5 * x + 0.5 * b[k]) / (0.5 + 0.5)
        else:
            out[k] = x.copy()
    return out


def main():
    vsdb, model = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    work = tempfile.mkdtemp(prefix="vsdb-merge-bench-")
    store = os.path.join(work, "store")
    out = os.path.join(work, "out.safetensors")

    def vs(*args, check=True):
        return subprocess.run([vsdb, "--db", store, *args], check=check, stdout=subprocess.DEVNULL)

    t0 = time.perf_counter()
    vs("ingest", model, "--as", "a")
    vs("ingest", model, "--as", "b")
    t_ingest = time.perf_counter() - t0
    a0 = load_file(model)
    n_float = sum(np.issubdtype(x.dtype, np.floating) for x in a0.values())
    n_other = len(a0) - n_float
    other = ", ".join("%s %s" % (k, x.dtype) for k, x in a0.items() if not np.issubdtype(x.dtype, np.floating))
    size = os.path.getsize(model)
    print("model: %s (%.1f MB, %d tensors: %d float, %d copied: %s)" % (model, size / 1e6, len(a0), n_float, n_other, other))
    print("a and b are the same real checkpoint ingested twice (same weights); ingest of both took %.2f s (not part of the comparison)" % t_ingest)
    print("median of %d runs after one warm-up (min..max in brackets)\n" % runs)
    del a0

    rows = []
    t_into = timed(lambda: vs("query", FUSE + " INTO c"), runs, after=lambda: vs("delete", "c"))
    rows.append(("vsdb query \"%s INTO c\" (process)" % FUSE, t_into))

    def fuse_out():
        vs("query", "--out", out, FUSE)
    t_out = timed(fuse_out, runs, after=lambda: os.remove(out))
    rows.append(("vsdb query --out FILE \"%s\" (process)" % FUSE, t_out))
    t_explain = timed(lambda: vs("query", "EXPLAIN " + FUSE + " INTO c"), runs)
    rows.append(("vsdb query \"EXPLAIN %s INTO c\" (process)" % FUSE, t_explain))

    # Context: the same FUSE INTO c with a and b ingested --codec raw (no
    # Huffman decoding of the inputs; c is still written with the store's
    # default codec, lossless: FUSE INTO has no codec choice).
    raw_store = os.path.join(work, "store-raw")
    for name in ("a", "b"):
        subprocess.run([vsdb, "--db", raw_store, "ingest", model, "--as", name, "--codec", "raw"], check=True, stdout=subprocess.DEVNULL)
    t_raw = timed(lambda: subprocess.run([vsdb, "--db", raw_store, "query", FUSE + " INTO c"], check=True, stdout=subprocess.DEVNULL),
                  runs, after=lambda: subprocess.run([vsdb, "--db", raw_store, "delete", "c"], check=True, stdout=subprocess.DEVNULL))
    rows.append(("  same INTO c, a and b ingested --codec raw (process)", t_raw))

    state = {}

    def load():
        state["a"], state["b"] = load_file(model), load_file(model)
    t_load = timed(load, runs)
    rows.append(("numpy: load_file a and b", t_load))
    a, b = state["a"], state["b"]

    def compute_save(sync):
        def f():
            save_file(merge(a, b), out)
            if sync:
                fsync(out)
        return f
    t_cs = timed(compute_save(False), runs, after=lambda: os.remove(out))
    rows.append(("numpy: compute + save_file", t_cs))
    t_css = timed(compute_save(True), runs, after=lambda: os.remove(out))
    rows.append(("numpy: compute + save_file + fsync", t_css))

    def load_compute_save():
        x, y = load_file(model), load_file(model)
        save_file(merge(x, y), out)
    t_lcs = timed(load_compute_save, runs, after=lambda: os.remove(out))
    rows.append(("numpy: load + compute + save_file", t_lcs))
    script = os.path.join(work, "numpy_merge.py")
    with open(script, "w") as f:
        f.write(NUMPY_PROCESS)
    t_proc = timed(lambda: subprocess.run([sys.executable, script, model, out], check=True), runs, after=lambda: os.remove(out))
    rows.append(("numpy: whole process (python start, imports, load, compute, save)", t_proc))

    print("%-78s %9s  %s" % ("what", "median s", "[min..max]"))
    for name, (med, lo, hi) in rows:
        print("%-78s %9.3f  [%.3f..%.3f]" % (name, med, lo, hi))

    into = t_into[0]
    print("\nratios (time vsdb / time numpy; below 1 means vsdb is faster):")
    print("  vsdb FUSE INTO c (process)  / numpy compute+save_file          = %.2f" % (into / t_cs[0]))
    print("  vsdb FUSE INTO c (process)  / numpy compute+save_file+fsync    = %.2f" % (into / t_css[0]))
    print("  vsdb FUSE INTO c (process)  / numpy load+compute+save_file     = %.2f" % (into / t_lcs[0]))
    print("  vsdb FUSE INTO c (process)  / numpy whole process              = %.2f" % (into / t_proc[0]))
    print("  vsdb FUSE --out (process)   / numpy load+compute+save_file     = %.2f" % (t_out[0] / t_lcs[0]))
    print("  vsdb FUSE INTO c, raw a, b  / numpy load+compute+save_file     = %.2f" % (t_raw[0] / t_lcs[0]))
    print("  vsdb EXPLAIN (process)      / vsdb FUSE INTO c (process)       = %.3f" % (t_explain[0] / into))

    # Correctness of what was timed: store c once more, export, compare.
    vs("query", FUSE + " INTO c")
    vs("export", "c", out)
    got, want = load_file(out), merge(a, b)
    worst, bad = 0.0, []
    for k, w in want.items():
        g = got.get(k)
        if g is None or g.shape != w.shape or g.dtype != w.dtype:
            bad.append(k)
            continue
        if np.issubdtype(w.dtype, np.floating):
            err = float(np.max(np.abs(g.astype(np.float64) - w.astype(np.float64)), initial=0.0)) / max(1.0, float(np.max(np.abs(w), initial=0.0)))
            worst = max(worst, err)
        elif g.tobytes() != w.tobytes():
            bad.append(k)
    if set(got) != set(want):
        bad.append("names differ")
    ok = not bad and worst <= 1e-6
    print("\ncheck: exported c vs numpy: %d tensors, worst relative error %.3g, integer tensors bit-identical: %s -> %s"
          % (len(want), worst, "yes" if not bad else "NO " + str(bad[:5]), "ok" if ok else "FAILED"))
    vs("delete", "c")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
