"""Does centring help low rank? (issue 4's "PCA variant where it helps")

For every 2-D float matrix W (m×n, viewed as rows of n features) of a
checkpoint, and optionally of the delta between two checkpoints, compares
at each rank k the relative Frobenius error of

  plain:    W ≈ U_k S_k V_kᵀ                      (k·(m+n) stored values)
  centred:  W ≈ 1·μᵀ + U_k S_k V_kᵀ of (W − 1·μᵀ)  (k·(m+n) + n values)

where μ is the mean row (PCA of the rows) — and, for the other orientation,
the mean column. Exact SVD (numpy), so the figures are what any truncated
SVD could reach. Prints a markdown table: per family and rank, the median
and best ratio centred/plain error (< 1: centring helps) and how many
matrices centring improves by more than 5%.

    python bench/pca_study.py model.safetensors [other.safetensors] [RANKS]
"""

import sys
from collections import defaultdict

import numpy as np
from safetensors.numpy import load_file


def rel_err(w, approx):
    return float(np.linalg.norm(w - approx) / np.linalg.norm(w))


def errors(w, ranks):
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    out = {}
    mu_r = w.mean(axis=0, keepdims=True)
    mu_c = w.mean(axis=1, keepdims=True)
    ur, sr, vtr = np.linalg.svd(w - mu_r, full_matrices=False)
    uc, sc, vtc = np.linalg.svd(w - mu_c, full_matrices=False)
    for k in ranks:
        if k >= min(w.shape):
            continue
        plain = rel_err(w, (u[:, :k] * s[:k]) @ vt[:k])
        rows = rel_err(w, mu_r + (ur[:, :k] * sr[:k]) @ vtr[:k])
        cols = rel_err(w, mu_c + (uc[:, :k] * sc[:k]) @ vtc[:k])
        out[k] = (plain, min(rows, cols))
    return out


def family(name):
    parts = name.split(".")
    return ".".join(p for p in parts if not p.isdigit())


def main():
    model = load_file(sys.argv[1])
    other = load_file(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].endswith(".safetensors") else None
    ranks = [int(r) for r in (sys.argv[-1] if sys.argv[-1][0].isdigit() else "8,16,32,64").split(",")]
    inputs = []
    for name, w in model.items():
        if w.ndim == 2 and w.dtype.kind == "f":
            inputs.append(("raw", name, w.astype(np.float64)))
            if other is not None and name in other and other[name].shape == w.shape:
                inputs.append(("delta", name, w.astype(np.float64) - other[name].astype(np.float64)))
    stats = defaultdict(list)
    for kind, name, w in inputs:
        for k, (plain, centred) in errors(w, ranks).items():
            stats[(kind, family(name), k)].append(centred / plain)
    print("| input | matrices | rank | median centred/plain error | best | improved > 5% |")
    print("|---|---|---:|---:|---:|---:|")
    for (kind, fam, k), r in sorted(stats.items()):
        r = np.array(r)
        print(f"| {kind} | {fam} ({len(r)}) | {k} | {np.median(r):.4f} | {r.min():.4f} | {(r < 0.95).sum()} |")


if __name__ == "__main__":
    main()
