"""ZipNN side of bench/lossless.sh, and the table.

    python bench/lossless.py DIR RUNS

DIR holds what `go run ./bench/lossless -json -dump DIR` wrote: f32.bin and
bf16.bin (the float tensors of the model, as stored and cast to BF16) and
vsdb.jsonl (its figures for vsdb's lossless codec and zstd on the same bytes,
cut into 1 MiB chunks per tensor). This script compresses the same bytes with
the PyPI package zipnn (Huffman method, the dtype given, one thread), checks
the round trip, and prints every figure in one table with vsdb/zipnn ratios.
Timings are best of RUNS on one core, like the Go side.
"""

import json
import os
import sys
import time

variants = {"f32": "float32", "bf16": "bfloat16"}


def best(f, runs, prepare=None):
    t = float("inf")
    out = None
    for _ in range(runs):
        arg = prepare() if prepare else None
        t0 = time.perf_counter()
        out = f(arg)
        t = min(t, time.perf_counter() - t0)
    return t, out


def zipnn_figures(data, dtype, runs):
    from zipnn import ZipNN

    z = ZipNN(method="huffman", input_format="byte", bytearray_dtype=dtype, threads=1)
    # zipnn 0.5.4 reorders the bits of its input in place: give it a fresh
    # copy each time (made outside the timing).
    te, comp = best(lambda buf: bytes(z.compress(buf)), runs, prepare=lambda: bytearray(data))
    td, dec = best(lambda _: z.decompress(comp), runs)
    if bytes(dec) != data:
        raise SystemExit("zipnn: %s round trip differs" % dtype)
    return {
        "codec": "zipnn",
        "raw_bytes": len(data),
        "stored_bytes": len(comp),
        "ratio": len(data) / len(comp),
        "encode_mb_s": len(data) / te / 1e6,
        "decode_mb_s": len(data) / td / 1e6,
    }


def check_cast(d):
    """The Go side's F32 -> BF16 cast against torch's (when torch is there)."""
    try:
        import numpy as np
        import torch
    except ImportError:
        return "not checked (no torch)"
    f32 = np.fromfile(os.path.join(d, "f32.bin"), dtype=np.float32)
    ours = np.fromfile(os.path.join(d, "bf16.bin"), dtype=np.uint16)
    theirs = torch.from_numpy(f32.copy()).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    return "identical to torch .to(bfloat16)" if np.array_equal(ours, theirs) else "DIFFERS from torch .to(bfloat16)"


def main():
    d, runs = sys.argv[1], int(sys.argv[2])
    rows = [json.loads(line) for line in open(os.path.join(d, "vsdb.jsonl"))]
    try:
        import zipnn  # noqa: F401

        have_zipnn = True
    except Exception as e:  # not installable here, or broken
        print("zipnn is not available (%s): comparing against zstd only" % e)
        have_zipnn = False
    if have_zipnn:
        from importlib.metadata import version

        print("zipnn %s: ZipNN(method='huffman', input_format='byte', bytearray_dtype=..., threads=1), "
              "whole buffer per call" % version("zipnn"))
        for v, dtype in variants.items():
            data = open(os.path.join(d, v + ".bin"), "rb").read()
            r = zipnn_figures(data, dtype, runs)
            r["variant"] = v
            rows.append(r)
    print("BF16 bytes: %s" % check_cast(d))
    print()
    zip_ratio = {r["variant"]: r["ratio"] for r in rows if r["codec"] == "zipnn"}
    lossless = {r["variant"]: r for r in rows if r["codec"] == "lossless"}
    print("| variant | codec | raw MB | stored MB | ratio | encode MB/s (1 core) | decode MB/s (1 core) | ratio vs zipnn | ratio vs vsdb lossless |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        name = "vsdb lossless" if r["codec"] == "lossless" else r["codec"]
        vz = "%.4f" % (r["ratio"] / zip_ratio[r["variant"]]) if r["variant"] in zip_ratio else "n/a"
        vl = "%.4f" % (r["ratio"] / lossless[r["variant"]]["ratio"]) if r["variant"] in lossless else "n/a"
        print("| %s | %s | %.2f | %.2f | %.4f | %.0f | %.0f | %s | %s |" % (
            r["variant"], name, r["raw_bytes"] / 1e6, r["stored_bytes"] / 1e6, r["ratio"],
            r["encode_mb_s"], r["decode_mb_s"], vz, vl))
    print()
    for v, goal in (("bf16", 1.51), ("f32", 1.2)):
        if v in lossless:
            r = lossless[v]["ratio"]
            print("goal ratio %s >= %.2f: %.4f %s" % (v, goal, r, "met" if r >= goal else "MISSED"))
    for v in ("f32", "bf16"):
        if v in lossless:
            s = lossless[v]["decode_mb_s"]
            print("goal decode %s >= 2000 MB/s on one core: %.0f MB/s %s" % (v, s, "met" if s >= 2000 else "MISSED"))


if __name__ == "__main__":
    main()
