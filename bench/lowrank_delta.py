"""Low-rank fine-tunes of the real all-MiniLM-L6-v2 through the vsdb CLI.

Makes two fine-tunes of the real model, each base + a rank-8 update of 2%
of every encoder/pooler matrix's norm (LoRA-like; biases, LayerNorms and
embeddings unchanged), stores them against the base with CODEC
lowrank(budget = BUDGET), and reports:

1. stored bytes of each fine-tune against its dense size (and against
   storing it whole with lossless and as a lossless XOR delta), with the
   largest error vsdb reports for any tensor and the error recomputed
   here from the exported tensors;
2. FUSE ft1, ft2 WEIGHTS 0.5, 0.5 INTO avg (merged in factored space)
   timed against NumPy doing the same merge of the two dense files
   (load, compute, save), best of RUNS, and the exported result compared
   with NumPy's.

usage: lowrank_delta.py VSDB MODEL.safetensors RUNS BUDGET
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from safetensors.numpy import load_file, save_file


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def fine_tune(base, seed, scale=0.02, rank=8):
    rng = np.random.default_rng(seed)
    out = {}
    for name, w in base.items():
        if w.ndim == 2 and "embeddings" not in name:
            m, n = w.shape
            d = rng.standard_normal((m, rank)).astype(np.float32) @ rng.standard_normal((rank, n)).astype(np.float32)
            d *= scale * np.linalg.norm(w) / np.linalg.norm(d)
            out[name] = (w + d).astype(np.float32)
        else:
            out[name] = w.copy()
    return out


def rel(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    den = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / den) if den else float(np.linalg.norm(a - b))


def model_row(vsdb, db, name):
    rows = json.loads(run(vsdb, "--db", db, "query", "--json", f"SHOW TENSORS WHERE model = '{name}'"))
    return rows


def main():
    vsdb, model, runs, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    tmp = tempfile.mkdtemp()
    base = load_file(model)
    fts = [fine_tune(base, 1), fine_tune(base, 2)]
    paths = []
    for i, ft in enumerate(fts):
        p = os.path.join(tmp, f"ft{i + 1}.safetensors")
        save_file(ft, p)
        paths.append(p)
    db = os.path.join(tmp, "db")
    run(vsdb, "--db", db, "ingest", model, "--as", "base")
    for i, p in enumerate(paths):
        run(vsdb, "--db", db, "ingest", p, "--as", f"ft{i + 1}", "--base", "base", "--codec", "lowrank", "--error-budget", str(budget))
    run(vsdb, "--db", db, "ingest", paths[0], "--as", "whole")
    run(vsdb, "--db", db, "ingest", paths[0], "--as", "xor", "--base", "base")
    run(vsdb, "--db", db, "ingest", paths[1], "--as", "xor2", "--base", "base")
    models = {m["model"]: m for m in json.loads(run(vsdb, "--db", db, "query", "--json", "SHOW MODELS"))}
    dense = os.path.getsize(paths[0])
    print(f"fine-tune: base + rank-8 update (2% of the norm) on 37 matrices; dense file {dense / 1e6:.2f} MB")
    print(f"| stored as | stored MB | dense / stored |")
    print(f"|---|---|---|")
    for name, label in [("whole", "whole, lossless"), ("xor", "delta vs base, lossless (XOR)"), ("ft1", f"delta vs base, lowrank(budget = {budget:g})")]:
        s = models[name]["stored_bytes"]
        print(f"| {label} | {s / 1e6:.3f} | {dense / s:.1f}x |")
    tensors = json.loads(run(vsdb, "--db", db, "query", "--json", "SHOW TENSORS WHERE model = 'ft1'"))
    codecs = {}
    for t in tensors:
        codecs[t["codec"]] = codecs.get(t["codec"], 0) + 1
    worst_reported = max(float(t.get("rel_error") or 0) for t in tensors)
    out = os.path.join(tmp, "ft1.out.safetensors")
    run(vsdb, "--db", db, "export", "ft1", out)
    got = load_file(out)
    worst = max(rel(got[k], fts[0][k]) for k in fts[0])
    print(f"codecs: {codecs}; largest reported error {worst_reported:.3g}, recomputed from the export {worst:.3g}")
    print()

    stmt = "FUSE ft1, ft2 WEIGHTS 0.5, 0.5 INTO avg"
    plan = run(vsdb, "--db", db, "query", "EXPLAIN " + stmt)
    factored = plan.count("path: factored space")
    print(f"EXPLAIN {stmt}: {factored} of {len(base)} tensors merged in factored space; first one:")
    lines = plan.splitlines()
    for i, l in enumerate(lines):
        if "path: factored space" in l:
            print("\n".join(lines[i - 1:i + 2]))
            break
    dense_stmt = "FUSE xor, xor2 WEIGHTS 0.5, 0.5 INTO avgd"
    vs, vd, np_t = [], [], []
    for r in range(runs):
        for name in ("avg", "avgd"):
            subprocess.run([vsdb, "--db", db, "delete", name, "--if-exists"], check=True, capture_output=True)
        t0 = time.perf_counter()
        run(vsdb, "--db", db, "query", stmt)
        vs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        run(vsdb, "--db", db, "query", dense_stmt)
        vd.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        a, b = load_file(paths[0]), load_file(paths[1])
        save_file({k: (0.5 * a[k] + 0.5 * b[k]).astype(a[k].dtype) for k in a}, os.path.join(tmp, "np_avg.safetensors"))
        np_t.append(time.perf_counter() - t0)
    avg_stored = json.loads(run(vsdb, "--db", db, "query", "--json", "SHOW MODELS"))
    avg_stored = {m["model"]: m for m in avg_stored}["avg"]["stored_bytes"]
    out = os.path.join(tmp, "avg.safetensors")
    run(vsdb, "--db", db, "export", "avg", out)
    got, want = load_file(out), load_file(os.path.join(tmp, "np_avg.safetensors"))
    worst = max(rel(got[k], want[k]) for k in want)
    print(f"| merge | best of {runs} (s) |")
    print(f"|---|---|")
    print(f"| vsdb {stmt} (CLI, incl. process start; 37 matrices in factored space) | {min(vs):.3f} |")
    print(f"| vsdb {dense_stmt} (same fine-tunes stored as lossless XOR deltas: all dense) | {min(vd):.3f} |")
    print(f"| numpy load + 0.5a+0.5b + save_file | {min(np_t):.3f} |")
    print(f"ratio vsdb factored / numpy: {min(vs) / min(np_t):.2f}x; factored / dense vsdb: {min(vs) / min(vd):.2f}x; avg stored {avg_stored / 1e6:.3f} MB "
          f"({os.path.getsize(out) / avg_stored:.1f}x smaller than dense); "
          f"worst relative difference from numpy's dense merge of the originals {worst:.2g}")
    run(vsdb, "--db", db, "check")
    print("CHECK: clean")


main()
