#!/usr/bin/env python3
"""Checks vsdb's FUSE ... USING merge methods on the real model against NumPy.

usage: verify_merges.py VSDB MODEL.safetensors [VSDB GLOBAL ARGS...]
       verify_merges.py VSDB STORE MODEL.safetensors

VSDB is the vsdb binary; the global args (e.g. `--db DIR`, or nothing for the
default store) go before every vsdb command; the second form is short for
`VSDB MODEL --db STORE`. MODEL is the real checkpoint, which must be stored
as `minilm` (it is ingested with `vsdb ingest MODEL --as minilm` if missing).

For each statement the script runs `vsdb query --out FILE "STATEMENT"`
(nothing is stored), computes the same merge in float64 with the functions
of scripts/merge_reference.py (the NumPy reference the Go merge package is
tested against) on the tensors read from MODEL with safetensors, and
compares every output tensor: max|got - want| / max(1, max|want|) <= 1e-6.
It also checks that the output holds exactly the first input's tensor names
with their shapes and dtypes. One line per statement (worst error, PASS or
FAIL); exit status 1 on any failure.

BASE m takes, for each output tensor, m's tensor of the same name as the
first input's tensor (so `FUSE minilm:encoder.layer.1, ... BASE minilm` uses
encoder.layer.1.* as the base). dare_* seeds are per tensor, as in vsdb's
planner: seed' = splitmix64(seed ^ fnv1a64(output tensor name)); the keep
mask is docs/MERGE.md's u(i, j) < density, computed here vectorised and
exactly (an integer threshold found with Python's float(int)), and checked
against merge_reference.random_mask on small tensors before use.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from safetensors.numpy import load_file

sys.dont_write_bytecode = True  # no scripts/__pycache__ left behind
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import merge_reference as ref  # noqa: E402  (its main() only runs as a script)

TOL = 1e-6
MASK64 = (1 << 64) - 1


# --- vsdb's per-tensor DARE seed and a fast, exact keep-mask -----------------

def fnv1a64(s):
    h = 0xCBF29CE484222325
    for byte in s.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return h


def tensor_seed(seed, name):
    """planner/exec_fuse.go tensorSeed: splitmix64(seed ^ fnv1a64(name))."""
    return ref.splitmix64((seed ^ fnv1a64(name)) & MASK64)


def splitmix64_np(x):
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def zlimit(density):
    """The least integer z with float(z) >= density * 2**64 (float(int)
    rounds half to even, as the reference's keep_uniform does), so that
    u(z) < density  <=>  z < zlimit. Found by bisection on Python floats."""
    target = density * 18446744073709551616.0
    lo, hi = 0, 1 << 64  # float(hi) >= target for density <= 1
    while lo < hi:
        mid = (lo + hi) // 2
        if float(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def random_mask_fast(n, density, seed, i):
    """merge_reference.random_mask, vectorised; identical results."""
    j = np.arange(n, dtype=np.uint64)
    z = splitmix64_np(np.uint64((seed ^ ((i << 40) & MASK64)) & MASK64) ^ j)
    lim = zlimit(density)
    if lim > MASK64:
        return np.ones(n)
    return (z < np.uint64(lim)).astype(np.float64)


def self_test_mask():
    slow = ref.random_mask
    for n, d, seed, i in [(384, 0.5, tensor_seed(1, "x"), 0), (1000, 0.3, 0xDEADBEEFCAFEF00D, 2),
                          (257, 0.9, 0, 1), (64, 1.0, 7, 0), (64, 0.0, 7, 1), (300, 0.5, MASK64, 3)]:
        if not np.array_equal(slow(n, d, seed, i), random_mask_fast(n, d, seed, i)):
            raise SystemExit("verify_merges: internal error: vectorised DARE mask differs from merge_reference.random_mask")
    # Known answers for the helpers (splitmix64's is also asserted by merge_reference).
    assert fnv1a64("") == 0xCBF29CE484222325 and fnv1a64("a") == 0xAF63DC4C8601EC8C


# --- statements ----------------------------------------------------------------

def layer(k):
    return "encoder.layer.%d" % k


def case(stmt, method, layers, params, base=False):
    return {"stmt": stmt, "method": method, "layers": layers, "params": params, "base": base}


def cases():
    L = "minilm:encoder.layer."
    return [
        case(f"FUSE {L}1, {L}2 WEIGHTS 0.3, 0.7 USING linear",
             "linear", [1, 2], {"weights": [0.3, 0.7]}),
        case(f"FUSE {L}1, {L}2 WEIGHTS 1, 3 USING linear",
             "linear", [1, 2], {"weights": [1.0, 3.0]}),
        case(f"FUSE {L}1, {L}2, {L}3 WEIGHTS 0.5, 0.3, 0.2 USING linear(normalize = false)",
             "linear", [1, 2, 3], {"weights": [0.5, 0.3, 0.2], "normalize": False}),
        case(f"FUSE {L}1, {L}2, {L}3 WEIGHTS 0.5, 0.3, 0.2 USING ties(density = 0.3) BASE minilm",
             "ties", [1, 2, 3], {"weights": [0.5, 0.3, 0.2], "density": 0.3}, base=True),
        case(f"FUSE {L}1, {L}2, {L}3 WEIGHTS 0.5, 0.3, 0.2 USING ties(density = 0.5, rescale = true, lambda = 0.9) BASE minilm",
             "ties", [1, 2, 3], {"weights": [0.5, 0.3, 0.2], "density": 0.5, "rescale": True, "lambda": 0.9}, base=True),
        case(f"FUSE {L}1, {L}2, {L}3 WEIGHTS 0.5, 0.3, 0.2 USING task_arithmetic(lambda = 0.8) BASE minilm",
             "task_arithmetic", [1, 2, 3], {"weights": [0.5, 0.3, 0.2], "lambda": 0.8}, base=True),
        case(f"FUSE {L}4, {L}2, {L}3 WEIGHTS 0.6, 0.9, 0.5 USING task_arithmetic(lambda = 1.5, normalize = true) BASE minilm",
             "task_arithmetic", [4, 2, 3], {"weights": [0.6, 0.9, 0.5], "lambda": 1.5, "normalize": True}, base=True),
        case(f"FUSE {L}1, {L}2 USING slerp(t = 0.3)",
             "slerp", [1, 2], {"t": 0.3}),
        case(f"FUSE {L}1, {L}2, {L}3 WEIGHTS 0.5, 0.3, 0.2 USING dare_ties(density = 0.5, seed = 1) BASE minilm",
             "dare_ties", [1, 2, 3], {"weights": [0.5, 0.3, 0.2], "density": 0.5, "seed": 1}, base=True),
        case(f"FUSE {L}1, {L}2, {L}3 WEIGHTS 0.5, 0.3, 0.2 USING dare_linear(density = 0.4, seed = 7) BASE minilm",
             "dare_linear", [1, 2, 3], {"weights": [0.5, 0.3, 0.2], "density": 0.4, "seed": 7}, base=True),
        case(f"FUSE {L}1, {L}2, {L}3, {L}4 USING model_stock BASE minilm",
             "model_stock", [1, 2, 3, 4], {}, base=True),
    ]


def reference(c, model, param):
    """NumPy float64 result for one output tensor (parameter `param`)."""
    shape = model[layer(c["layers"][0]) + "." + param].shape
    ins = [model[layer(k) + "." + param].reshape(-1) for k in c["layers"]]
    base = model[layer(c["layers"][0]) + "." + param].reshape(-1) if c["base"] else None
    p = dict(c["params"])
    m = c["method"]
    if m == "linear":
        out = ref.linear(ins, p)
    elif m in ref.GTA:
        if "seed" in p:  # vsdb derives each tensor's seed from the output name
            p["seed"] = tensor_seed(p["seed"], layer(c["layers"][0]) + "." + param)
        out = ref.gta(base, ins, p, *ref.GTA[m])
    elif m == "slerp":
        out = ref.slerp(ins[0], ins[1], p["t"])
    elif m == "model_stock":
        out = ref.model_stock(base, ins)
    else:
        raise ValueError(m)
    return np.asarray(out, dtype=np.float64).reshape(shape)


def header(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        h = json.loads(f.read(n))
    h.pop("__metadata__", None)
    return h


def check(c, vsdb, gargs, model, work):
    out = os.path.join(work, "out.safetensors")
    if os.path.exists(out):
        os.remove(out)
    t0 = time.perf_counter()
    r = subprocess.run([vsdb, *gargs, "query", "--out", out, c["stmt"]], capture_output=True, text=True)
    t_vsdb = time.perf_counter() - t0
    if r.returncode != 0:
        return False, "vsdb exited %d: %s" % (r.returncode, (r.stderr or r.stdout).strip()), None
    got, hdr = load_file(out), header(out)
    first = layer(c["layers"][0]) + "."
    params = [k[len(first):] for k in model if k.startswith(first)]
    problems = []
    expected = {first + p for p in params}
    if set(got) != expected:
        problems.append("output names differ from %s*: missing %s, extra %s"
                        % (first, sorted(expected - set(got))[:3], sorted(set(got) - expected)[:3]))
    worst, worst_name = 0.0, ""
    t0 = time.perf_counter()
    for p in params:
        name = first + p
        g = got.get(name)
        if g is None:
            continue
        src = model[name]
        if g.shape != src.shape or hdr[name]["dtype"] != "F32":
            problems.append("%s is %s %s, want F32 %s" % (name, hdr[name]["dtype"], g.shape, src.shape))
            continue
        want = reference(c, model, p)
        if not np.all(np.isfinite(want)):
            problems.append("%s: the NumPy reference is not finite" % name)
            continue
        err = float(np.max(np.abs(g.astype(np.float64) - want), initial=0.0)) / max(1.0, float(np.max(np.abs(want), initial=0.0)))
        if err > worst or not worst_name:
            worst, worst_name = err, name
        if not err <= TOL:
            problems.append("%s: relative error %.3g" % (name, err))
    t_np = time.perf_counter() - t0
    ok = not problems and bool(params)
    detail = "%d tensors, worst %.3g (%s); vsdb %.2fs, numpy %.2fs" % (len(params), worst, worst_name, t_vsdb, t_np)
    return ok, detail, problems


def main():
    a = sys.argv[1:]
    if len(a) < 2:
        raise SystemExit(__doc__.split("\n\n")[1])
    vsdb = a[0]
    if a[1].endswith(".safetensors") or not os.path.isdir(a[1]) or len(a) < 3:
        model_path, gargs = a[1], a[2:]
    else:
        model_path, gargs = a[2], ["--db", a[1]] + a[3:]
    self_test_mask()
    ref.random_mask = random_mask_fast  # the reference's per-element Python loop takes ~5 s per statement

    r = subprocess.run([vsdb, *gargs, "query", "--json", "SHOW MODELS"], capture_output=True, text=True)
    if r.returncode != 0:  # e.g. no store yet: the ingest below creates it
        print("vsdb SHOW MODELS failed (%s)" % r.stderr.strip())
        names = set()
    else:
        names = {row.get("model") for row in json.loads(r.stdout or "[]")}
    if "minilm" not in names:
        print("minilm not in the store; ingesting %s" % model_path)
        subprocess.run([vsdb, *gargs, "ingest", model_path, "--as", "minilm"], check=True)

    model = load_file(model_path)
    print("merge methods on the real model (%s) vs NumPy float64 (scripts/merge_reference.py), "
          "tolerance max|got-want|/max(1,max|want|) <= %g" % (os.path.basename(model_path), TOL))
    failed = 0
    with tempfile.TemporaryDirectory(prefix="vsdb-verify-merges-") as work:
        for c in cases():
            ok, detail, problems = check(c, vsdb, gargs, model, work)
            failed += not ok
            print("%s  %s\n      %s" % ("PASS" if ok else "FAIL", c["stmt"], detail))
            for line in (problems or [])[:10]:
                print("      " + line)
    n = len(cases())
    print("verify_merges: %d/%d statements passed" % (n - failed, n))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
