"""Fetching a 100 MB tensor through the Python client against numpy.load.

Writes one float32 tensor of 100 MB (random normal, as weights are: the
lossless codec keeps it ~1.2x smaller) to a local .npy and to a safetensors
file, starts `vsdb serve` on a loopback port with the folder as its root,
ingests the safetensors file (default codec, lossless), and times, best of
RUNS, in alternation:
  - numpy.load of the .npy (page cache warm: the best case for the peer),
  - vsdb.Client.tensor() (server: decode the stored chunks and stream them
    over HTTP; client: read into one buffer, view it as an array).
Prints both and the ratio, and checks the fetched array is bit-identical.

usage: client_fetch.py VSDB_BINARY [RUNS] [MB]
"""
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
from safetensors.numpy import save_file

import vsdb


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    mb = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    tmp = tempfile.mkdtemp()
    n = mb * (1 << 20) // 4
    arr = np.random.default_rng(0).standard_normal(n, dtype=np.float32).reshape(-1, 1024) * 0.05
    np.save(os.path.join(tmp, "big.npy"), arr)
    save_file({"big.weight": arr}, os.path.join(tmp, "big.safetensors"))
    srv = subprocess.Popen([binary, "--db", os.path.join(tmp, "db"), "serve", "--addr", "127.0.0.1:0", "--root", tmp],
                           stderr=subprocess.PIPE, text=True)
    try:
        line = srv.stderr.readline()
        url = re.search(r"serving on (http://\S+)", line).group(1)
        db = vsdb.connect(url)
        db.ingest("big.safetensors", name="big")
        stored = db.models()["stored_bytes"][0]
        npy, client = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            a = np.load(os.path.join(tmp, "big.npy"))
            npy.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            b = db.tensor("big", "big.weight")
            client.append(time.perf_counter() - t0)
        assert a.tobytes() == arr.tobytes()
        assert b.dtype == arr.dtype and b.shape == arr.shape and b.tobytes() == arr.tobytes(), "fetched tensor differs"
        print(f"tensor: float32 {arr.shape}, {arr.nbytes / 1e6:.1f} MB raw, stored {stored / 1e6:.1f} MB (lossless)")
        print(f"| read | best of {runs} (s) | median (s) | GB/s |")
        print("|---|---|---|---|")
        for label, ts in [("numpy.load of a local .npy", npy), ("vsdb client: db.tensor() over HTTP", client)]:
            ts = sorted(ts)
            print(f"| {label} | {ts[0]:.3f} | {ts[len(ts) // 2]:.3f} | {arr.nbytes / ts[0] / 1e9:.2f} |")
        print(f"ratio client / numpy.load: {min(client) / min(npy):.2f}x (goal <= 2x); bit-identical: yes")
    finally:
        srv.terminate()
        srv.wait()


main()
