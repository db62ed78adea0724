#!/usr/bin/env python3
"""NumPy reference for vsdb's merge package (merge/*.go).

Implements the per-tensor formulas of mergekit's merge methods (linear,
task_arithmetic, ties, dare_linear, dare_ties, slerp, model_stock) in
float64, from the formulas written down in docs/MERGE.md rather than from
the Go code, and writes merge/testdata/cases.json: a list of cases

    {"name", "method", "params", "base", "inputs", "want", "error"}

that merge/merge_test.go replays against the Go implementation (within
1e-6 relative). `want` is null when the case must fail, and `error` is then
a substring of the expected error message.

The output is deterministic: rerunning the script must reproduce the
committed file (merge/reference_test.go checks this when VSDB_PYTHON names a
python with numpy).

    python scripts/merge_reference.py [--out merge/testdata/cases.json]
"""

import argparse
import json
import math
import os
import sys

import numpy as np

MASK64 = (1 << 64) - 1


# --- DARE's keep-mask ------------------------------------------------------

def splitmix64(x):
    """Standard splitmix64: the output for generator state x."""
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def keep_uniform(seed, i, j):
    """u for element j of input i; float(int) rounds half to even."""
    return float(splitmix64(seed ^ ((i << 40) & MASK64) ^ j)) / 18446744073709551616.0


# Known answer: the first output of splitmix64 seeded with 1234567.
assert splitmix64(1234567) == 6457827717110365317


# --- methods -----------------------------------------------------------------

class MergeError(Exception):
    pass


def f64(x):
    return np.asarray(x, dtype=np.float64)


def linear(inputs, p):
    w = p["weights"]
    res = np.zeros(len(inputs[0]))
    for wi, x in zip(w, inputs):
        res = res + wi * f64(x)
    if p.get("normalize", True):
        s = 0.0
        for wi in w:
            s += wi
        if abs(s) < 1e-8:
            raise MergeError("cannot normalize")
        res = res / s
    return res


def magnitude_mask(delta, density):
    """Top int(density*n) magnitudes; equal magnitudes: lower index first."""
    n = delta.size
    k = int(density * n)
    mask = np.zeros(n)
    if k > 0:
        order = np.argsort(-np.abs(delta), kind="stable")
        mask[order[:k]] = 1.0
    return mask


def random_mask(n, density, seed, i):
    return np.array([1.0 if keep_uniform(seed, i, j) < density else 0.0 for j in range(n)])


def gta(base, inputs, p, consensus, sparsify, normalize_default, rescale_default):
    """mergekit's generalized task arithmetic."""
    w = p["weights"]
    b = f64(base)
    n = b.size
    if "densities" in p:
        densities = list(p["densities"])
    else:
        densities = [p.get("density", 1.0)] * len(inputs)
    rescale = p.get("rescale", rescale_default)
    mode = p.get("rescale_mode", "l1")
    normalize = p.get("normalize", normalize_default)
    lam = p.get("lambda", 1.0)
    seed = p.get("seed", 0)

    wds = []
    for i, x in enumerate(inputs):
        delta = f64(x) - b
        d = densities[i]
        if sparsify is not None and d < 1:
            if sparsify == "magnitude":
                mask = magnitude_mask(delta, d)
            else:
                mask = random_mask(n, d, seed, i)
            masked = delta * mask
            if rescale:
                if mode == "inverse_density":
                    if d > 0:
                        masked = delta * (1.0 / d) * mask
                else:
                    before = np.abs(delta).sum()
                    after = np.abs(masked).sum()
                    if not (before < 1e-7 or after < 1e-7):
                        masked = masked * (before / after)
            delta = masked
        wds.append(w[i] * delta)

    if consensus:
        total = np.zeros(n)
        for wd in wds:
            total = total + wd
        majority = np.where(total >= 0, 1.0, -1.0)
        mixed = np.zeros(n)
        divisor = np.zeros(n)
        for wi, wd in zip(w, wds):
            agree = np.sign(wd) == majority
            mixed = mixed + np.where(agree, wd, 0.0)
            divisor = divisor + np.where(agree, wi, 0.0)
        divisor[divisor == 0] = 1.0
    else:
        mixed = np.zeros(n)
        for wd in wds:
            mixed = mixed + wd
        divisor = 0.0
        for wi in w:
            divisor += wi
        if abs(divisor) < 1e-8:
            divisor = 1.0
    if normalize:
        mixed = mixed / divisor
    if lam != 1:
        mixed = mixed * lam
    return b + mixed


def slerp(a, b, t):
    a = f64(a)
    b = f64(b)
    eps = 1e-8
    na = np.linalg.norm(a)
    nb = np.linalg.norm(b)
    ua = a / na if na > eps else a
    ub = b / nb if nb > eps else b
    dot = float(np.sum(ua * ub))
    if abs(dot) > 0.9995:
        return (1 - t) * a + t * b
    theta = math.acos(dot)
    s = math.sin(theta)
    return math.sin(theta - theta * t) / s * a + math.sin(theta * t) / s * b


def model_stock(base, inputs):
    w0 = f64(base)
    ws = [f64(x) for x in inputs]
    offsets = [x - w0 for x in ws]
    cos = []
    for i in range(len(offsets)):
        for k in range(i + 1, len(offsets)):
            prod = np.linalg.norm(offsets[i]) * np.linalg.norm(offsets[k])
            c = float(np.dot(offsets[i], offsets[k])) / max(prod, 1e-6)
            cos.append(min(1.0, max(-1.0, c)))
    c = sum(cos) / len(cos)
    N = len(ws)
    den = 1 + (N - 1) * c
    t = N * c / den if abs(den) >= 1e-6 else 0.0
    avg = sum(ws) / N
    return t * avg + (1 - t) * w0


GTA = {
    "task_arithmetic": (False, None, False, False),
    "ties": (True, "magnitude", True, False),
    "dare_linear": (False, "random", False, True),
    "dare_ties": (True, "random", False, True),
}


def run(case):
    m = case["method"]
    p = case["params"]
    if m == "linear":
        return linear(case["inputs"], p)
    if m in GTA:
        return gta(case["base"], case["inputs"], p, *GTA[m])
    if m == "slerp":
        return slerp(case["inputs"][0], case["inputs"][1], p["t"])
    if m == "model_stock":
        return model_stock(case["base"], case["inputs"])
    raise ValueError(m)


# --- cases -------------------------------------------------------------------

def f32list(x):
    return [float(v) for v in np.asarray(x, dtype=np.float32)]


class Cases:
    def __init__(self):
        self.rng = np.random.default_rng(20240607)
        self.cases = []

    def rand(self, n, scale=1.0):
        return f32list(self.rng.standard_normal(n) * scale)

    def add(self, name, method, params, base, inputs, error=None):
        case = {
            "name": name,
            "method": method,
            "params": params,
            "base": None if base is None else f32list(base),
            "inputs": [f32list(x) for x in inputs],
        }
        if error is not None:
            try:
                run(case)
            except MergeError:
                pass
            else:
                raise AssertionError(f"{name}: expected an error")
            case["want"] = None
            case["error"] = error
        else:
            want = run(case)
            assert np.all(np.isfinite(want)), name
            case["want"] = [float(v) for v in want]
        self.cases.append(case)

    def fine_tunes(self, n, k, spread=0.1):
        base = self.rand(n)
        inputs = [f32list(np.asarray(base) + np.asarray(self.rand(n, spread))) for _ in range(k)]
        return base, inputs


def build():
    c = Cases()
    sizes = [0, 1, 7, 64]

    # linear
    for n in sizes:
        ins = [c.rand(n) for _ in range(3)]
        c.add(f"linear/n{n}/normalize", "linear", {"weights": [0.5, 0.3, 0.2]}, None, ins)
        c.add(f"linear/n{n}/weights2", "linear", {"weights": [1.0, 2.0, -0.5]}, None, ins)
        c.add(f"linear/n{n}/plain", "linear", {"weights": [1.0, 2.0, -0.5], "normalize": False}, None, ins)
    ins = [c.rand(9)]
    c.add("linear/one_input", "linear", {"weights": [0.25]}, None, ins)
    ins = [c.rand(9), c.rand(9)]
    c.add("linear/sum0/normalize", "linear", {"weights": [1.0, -1.0]}, None, ins, error="cannot normalize")
    c.add("linear/sum0/plain", "linear", {"weights": [1.0, -1.0], "normalize": False}, None, ins)

    # task_arithmetic
    for n in sizes:
        base, ins = c.fine_tunes(n, 3)
        c.add(f"task_arithmetic/n{n}", "task_arithmetic", {"weights": [0.5, 0.3, 0.7]}, base, ins)
        c.add(f"task_arithmetic/n{n}/lambda", "task_arithmetic", {"weights": [0.5, 0.3, 0.7], "lambda": 0.6}, base, ins)
        c.add(f"task_arithmetic/n{n}/normalize", "task_arithmetic", {"weights": [0.5, 0.3, 0.7], "normalize": True, "lambda": 1.5}, base, ins)
    base, ins = c.fine_tunes(16, 2)
    c.add("task_arithmetic/lambda0", "task_arithmetic", {"weights": [1.0, 1.0], "lambda": 0.0}, base, ins)
    c.add("task_arithmetic/sum0/normalize", "task_arithmetic", {"weights": [1.0, -1.0], "normalize": True}, base, ins)

    # ties
    for n in sizes:
        base, ins = c.fine_tunes(n, 3)
        w = {"weights": [1.0, 0.5, 0.75]}
        for d in [0.0, 0.2, 0.5, 1.0]:
            c.add(f"ties/n{n}/density{d}", "ties", dict(w, density=d), base, ins)
        c.add(f"ties/n{n}/default_density", "ties", dict(w), base, ins)
    base, ins = c.fine_tunes(64, 3)
    c.add("ties/rescale_l1", "ties", {"weights": [1.0, 0.5, 0.75], "density": 0.3, "rescale": True}, base, ins)
    c.add("ties/rescale_inverse_density", "ties", {"weights": [1.0, 0.5, 0.75], "density": 0.3, "rescale": True, "rescale_mode": "inverse_density"}, base, ins)
    c.add("ties/no_normalize_lambda", "ties", {"weights": [1.0, 0.5, 0.75], "density": 0.4, "normalize": False, "lambda": 0.8}, base, ins)
    c.add("ties/negative_weight", "ties", {"weights": [1.0, -0.5, 0.75], "density": 0.5}, base, ins)
    c.add("ties/densities", "ties", {"weights": [1.0, 0.5, 0.75], "densities": [0.1, 0.6, 1.0]}, base, ins)
    # Every sign sum is exactly 0: + wins.
    base = [0.0] * 6
    ins = [[1.0, -1.0, 2.0, -2.0, 0.5, 0.0], [-1.0, 1.0, -2.0, 2.0, -0.5, 0.0]]
    c.add("ties/sign_sum_zero", "ties", {"weights": [1.0, 1.0]}, base, ins)
    c.add("ties/sign_sum_zero_weighted", "ties", {"weights": [2.0, 1.0]}, [0.0] * 2, [[1.0, -1.0], [-2.0, 2.0]])
    # Masked weight sum of exactly 0: divisor 1.
    c.add("ties/divisor_zero", "ties", {"weights": [1.0, -1.0]}, [0.0] * 3, [[1.0, -2.0, 0.5], [-1.0, 2.0, -0.5]])
    # Many equal magnitudes: the lowest indexes win at the cut.
    base = f32list(c.rng.integers(-8, 8, size=40) * 0.5)
    steps = c.rng.integers(-3, 4, size=(3, 40)).astype(np.float64) * 0.25
    ins = [f32list(np.asarray(base, dtype=np.float64) + s) for s in steps]
    for d in [0.1, 0.35, 0.5, 0.9]:
        c.add(f"ties/equal_magnitudes/density{d}", "ties", {"weights": [1.0, 0.6, 0.3], "density": d}, base, ins)
    # k = int(0.5 * 1) = 0: nothing kept, base returned.
    base, ins = c.fine_tunes(1, 2)
    c.add("ties/k0", "ties", {"weights": [1.0, 1.0], "density": 0.5}, base, ins)

    # dare
    for method in ["dare_linear", "dare_ties"]:
        for n in sizes:
            base, ins = c.fine_tunes(n, 3)
            w = {"weights": [0.6, 0.4, 0.8]}
            for d in [0.0, 0.5, 1.0]:
                for seed in [0, 0xDEADBEEFCAFEF00D]:
                    c.add(f"{method}/n{n}/density{d}/seed{seed:x}", method, dict(w, density=d, seed=seed), base, ins)
        base, ins = c.fine_tunes(64, 3)
        w = {"weights": [0.6, 0.4, 0.8], "seed": 42}
        c.add(f"{method}/no_rescale", method, dict(w, density=0.3, rescale=False), base, ins)
        c.add(f"{method}/inverse_density", method, dict(w, density=0.3, rescale_mode="inverse_density"), base, ins)
        c.add(f"{method}/normalize_lambda", method, dict(w, density=0.7, normalize=True, **{"lambda": 0.9}), base, ins)
        c.add(f"{method}/densities", method, dict(w, densities=[0.2, 0.0, 1.0]), base, ins)
        c.add(f"{method}/default_density", method, dict(w), base, ins)

    # Longer than one 1024-element block of the Go code, with short decimal
    # values (and so many equal magnitudes).
    base = f32list(c.rng.integers(-64, 64, size=1500) / 32)
    ins = [f32list(np.asarray(base) + c.rng.integers(-8, 9, size=1500) / 64) for _ in range(2)]
    c.add("ties/n1500", "ties", {"weights": [0.75, 0.5], "density": 0.3, "rescale": True}, base, ins)
    c.add("dare_ties/n1500", "dare_ties", {"weights": [0.75, 0.5], "density": 0.4, "seed": 3}, base, ins)
    c.add("dare_linear/n1500", "dare_linear", {"weights": [0.75, 0.5], "density": 0.6, "seed": 4}, base, ins)

    # slerp
    for n in sizes:
        a, b = c.rand(n), c.rand(n)
        for t in [0.0, 0.3, 0.5, 1.0]:
            c.add(f"slerp/n{n}/t{t}", "slerp", {"t": t}, None, [a, b])
    a = c.rand(32)
    neg = [-v for v in a]
    dbl = [2 * v for v in a]
    zero = [0.0] * 32
    for t in [0.0, 0.25, 1.0]:
        c.add(f"slerp/equal/t{t}", "slerp", {"t": t}, None, [a, a])
        c.add(f"slerp/opposite/t{t}", "slerp", {"t": t}, None, [a, neg])
        c.add(f"slerp/colinear/t{t}", "slerp", {"t": t}, None, [a, dbl])
        c.add(f"slerp/zero_a/t{t}", "slerp", {"t": t}, None, [zero, a])
        c.add(f"slerp/zero_b/t{t}", "slerp", {"t": t}, None, [a, zero])
        c.add(f"slerp/zero_both/t{t}", "slerp", {"t": t}, None, [zero, zero])
    a, b = c.rand(32, 1e-10), c.rand(32)
    c.add("slerp/tiny_norm", "slerp", {"t": 0.4}, None, [a, b])

    # model_stock
    for n in sizes:
        for k in [2, 3]:
            base, ins = c.fine_tunes(n, k)
            c.add(f"model_stock/n{n}/k{k}", "model_stock", {}, base, ins)
    base = c.rand(16)
    shared = c.rand(16, 0.1)
    ins = [f32list(np.asarray(base) + np.asarray(shared) + np.asarray(c.rand(16, 0.02))) for _ in range(4)]
    c.add("model_stock/k4_correlated", "model_stock", {}, base, ins)
    c.add("model_stock/no_offsets", "model_stock", {}, base, [base, base])
    # Opposite offsets: 1 + (N-1)cos is 0 (up to rounding); t = 0.
    b = [1.0, -2.0, 0.5, 4.0]
    o = [0.25, 0.5, -0.125, 1.0]
    c.add("model_stock/opposite", "model_stock", {}, b,
          [[x + y for x, y in zip(b, o)], [x - y for x, y in zip(b, o)]])
    return c.cases


def dump_value(key, v):
    """JSON text for one value; base and inputs hold float32 values, written
    in their shortest float32 form (Go parses them straight into float32)."""
    if key in ("base", "inputs") and v is not None:
        if key == "inputs":
            return "[" + ",".join(dump_value("base", x) for x in v) + "]"
        return "[" + ",".join(str(np.float32(x)) for x in v) + "]"
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def dump(cases):
    lines = []
    for case in cases:
        fields = [json.dumps(k) + ":" + dump_value(k, case[k]) for k in sorted(case)]
        lines.append("{" + ",".join(fields) + "}")
    return "[\n" + ",\n".join(lines) + "\n]\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "merge", "testdata", "cases.json")))
    args = ap.parse_args()
    text = dump(build())
    with open(args.out, "w") as f:
        f.write(text)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
