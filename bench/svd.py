"""Randomized SVD in numpy, the same algorithm as codec.RandomizedSVD.

Usage: python bench/svd.py MATRIX.f32 N RANK OVERSAMPLE POWER RUNS

Reads the N×N float32 matrix bench/svd/main.go wrote (-write), runs the
Halko–Martinsson–Tropp randomized SVD in float32 (Gaussian Ω of N×(k+p),
Y = AΩ, QR, q power iterations re-orthonormalised with QR after each
product, B = QᵀA, numpy's SVD of the small B, U = Q·Ub truncated to k), best
of RUNS, and also times np.linalg.svd of the small B alone. Prints one JSON
object, including which BLAS numpy uses.
"""

import json
import sys
import time

import numpy as np


def blas_info():
    info = {"numpy": np.__version__}
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
        info["blas_config"] = blas.get("openblas configuration", "")
    except Exception as e:  # older numpy
        info["blas"] = f"unknown ({e})"
    try:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        info["threadpool"] = [
            {k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for p in pools
        ]
    except ImportError:
        info["threadpool"] = "threadpoolctl not installed"
    return info


def rsvd(a, k, p, q, rng):
    n = a.shape[1]
    l = min(k + p, *a.shape)
    omega = rng.standard_normal((n, l), dtype=np.float32)
    y = a @ omega
    qm, _ = np.linalg.qr(y)
    for _ in range(q):
        z = a.T @ qm
        qz, _ = np.linalg.qr(z)
        y = a @ qz
        qm, _ = np.linalg.qr(y)
    b = qm.T @ a
    ub, s, vt = np.linalg.svd(b, full_matrices=False)
    u = qm @ ub[:, :k]
    return u, s[:k], vt[:k], b


def main():
    path, n, k, p, q, runs = sys.argv[1], *map(int, sys.argv[2:7])
    a = np.fromfile(path, dtype="<f4").reshape(n, n)
    norm_sq = float(np.sum(a.astype(np.float64) ** 2))
    times, svd_times = [], []
    for r in range(runs):
        rng = np.random.default_rng(r)
        t = time.perf_counter()
        u, s, vt, b = rsvd(a, k, p, q, rng)
        times.append(time.perf_counter() - t)
        assert u.dtype == np.float32 and s.dtype == np.float32, (u.dtype, s.dtype)
    for _ in range(runs):
        t = time.perf_counter()
        np.linalg.svd(b, full_matrices=False)
        svd_times.append(time.perf_counter() - t)
    rest = max(0.0, norm_sq - float(np.sum(s.astype(np.float64) ** 2)))
    res = {
        "times_s": times,
        "best_s": min(times),
        "small_svd_best_s": min(svd_times),
        "small_svd_shape": list(b.shape),
        "rel_err": (rest / norm_sq) ** 0.5,
        "s0": float(s[0]),
        "s_k": float(s[-1]),
    }
    res.update(blas_info())
    json.dump(res, sys.stdout)


if __name__ == "__main__":
    main()
