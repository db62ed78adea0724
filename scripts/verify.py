#!/usr/bin/env python3
"""Verifies the demo's outputs against the original checkpoint with numpy.

usage: verify.py ORIGINAL.safetensors EXPORTED.safetensors FUSED.safetensors LAYER_A LAYER_B WA WB

1. EXPORTED has, for every tensor of ORIGINAL, the same name, dtype, shape and bytes
   (read independently with the safetensors package and with numpy).
2. FUSED holds, for every parameter of LAYER_A, WA*a + WB*b computed by numpy, within 1e-6
   relative (max |got - want| / max(1, max |want|)) per tensor.
Prints one line per check and exits non-zero on any failure.
"""
import json
import struct
import sys

import numpy as np
from safetensors.numpy import load_file


def header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        h = json.loads(f.read(n))
    h.pop("__metadata__", None)
    return h


def check_export(orig, exported):
    a, b = load_file(orig), load_file(exported)
    ha, hb = header(orig), header(exported)
    bad = []
    if list(a) != list(b) and sorted(a) != sorted(b):
        bad.append("tensor names differ: %s" % sorted(set(a) ^ set(b))[:5])
    for name, x in a.items():
        y = b.get(name)
        if y is None:
            bad.append("%s missing" % name)
        elif ha[name]["dtype"] != hb[name]["dtype"] or x.shape != y.shape or x.tobytes() != y.tobytes():
            bad.append("%s differs (%s %s vs %s %s)" % (name, ha[name]["dtype"], x.shape, hb[name]["dtype"], y.shape))
    print("export: %d tensors, names/dtypes/shapes/bytes %s" % (len(a), "identical" if not bad else "DIFFER"))
    for line in bad[:10]:
        print("  " + line)
    return not bad


def check_fuse(orig, fused, layer_a, layer_b, wa, wb):
    a = load_file(orig)
    got = load_file(fused)
    prefix = layer_a + "."
    params = [k[len(prefix):] for k in a if k.startswith(prefix)]
    worst, bad = 0.0, []
    for p in params:
        x, y = a[prefix + p], a[layer_b + "." + p]
        want = wa * x.astype(np.float64) + wb * y.astype(np.float64)
        g = got.get(prefix + p)
        if g is None or g.shape != want.shape:
            bad.append("%s missing or misshapen" % p)
            continue
        err = float(np.max(np.abs(g.astype(np.float64) - want)) / max(1.0, float(np.max(np.abs(want)))))
        worst = max(worst, err)
        if err > 1e-6:
            bad.append("%s relative error %.3g" % (p, err))
    print("fuse: %d tensors of %s and %s, worst relative error %.3g vs numpy %s"
          % (len(params), layer_a, layer_b, worst, "(ok, <= 1e-6)" if not bad and params else "FAILED"))
    for line in bad[:10]:
        print("  " + line)
    return bool(params) and not bad


def main():
    orig, exported, fused, la, lb, wa, wb = sys.argv[1:8]
    ok = check_export(orig, exported)
    ok = check_fuse(orig, fused, la, lb, float(wa), float(wb)) and ok
    print("verify: %s" % ("passed" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
