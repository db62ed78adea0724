#!/usr/bin/env python3
"""Ingest and export of a real checkpoint, vsdb against its peers, in one run.

usage: ingest_export.py VSDB_BINARY MODEL.safetensors [RUNS]

Ingest: `vsdb ingest` into a fresh store (codec raw and codec lossless), against `cp` of the
same file, and `cp` followed by fsync (vsdb syncs what it writes). Export: `vsdb export` of the
ingested model, against `safetensors.numpy.save_file` of the same tensors already in memory
(with and without fsync). Each figure is the median of RUNS whole runs (default 5) after one
warm-up; the table prints the MB/s and the ratio of speeds (peer time / vsdb time: above 1
means vsdb is faster).
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from safetensors.numpy import load_file, save_file


def timed(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    vsdb, model = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    size = os.path.getsize(model)
    work = tempfile.mkdtemp(prefix="vsdb-bench-")
    rows = []

    def run(*args):
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)

    def cp():
        dst = os.path.join(work, "copy.safetensors")
        run("cp", model, dst)
        os.remove(dst)

    def cp_sync():
        dst = os.path.join(work, "copy.safetensors")
        run("cp", model, dst)
        fd = os.open(dst, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        os.remove(dst)

    def ingest(codec):
        def f():
            store = os.path.join(work, "store-" + codec)
            shutil.rmtree(store, ignore_errors=True)
            run(vsdb, "--db", store, "ingest", model, "--as", "m", "--codec", codec)
        return f

    t_cp, t_cps = timed(cp, runs), timed(cp_sync, runs)
    rows.append(("cp", t_cp, None))
    rows.append(("cp + fsync", t_cps, None))
    for codec in ("raw", "lossless"):
        t = timed(ingest(codec), runs)
        rows.append(("vsdb ingest --codec " + codec, t, "%.2f× cp, %.2f× cp+fsync" % (t_cp / t, t_cps / t)))

    tensors = load_file(model)
    out = os.path.join(work, "out.safetensors")

    def st_save(sync):
        def f():
            save_file(tensors, out)
            if sync:
                fd = os.open(out, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
            os.remove(out)
        return f

    t_save, t_saves = timed(st_save(False), runs), timed(st_save(True), runs)
    rows.append(("safetensors.numpy.save_file", t_save, None))
    rows.append(("safetensors.numpy.save_file + fsync", t_saves, None))
    for codec in ("raw", "lossless"):
        store = os.path.join(work, "store-" + codec)

        def export():
            run(vsdb, "--db", store, "export", "m", out)
            os.remove(out)
        t = timed(export, runs)
        rows.append(("vsdb export (stored %s)" % codec, t, "%.2f× save_file, %.2f× save_file+fsync" % (t_save / t, t_saves / t)))

    print("file: %s (%.1f MB), median of %d runs" % (model, size / 1e6, runs))
    print("%-40s %10s %10s  %s" % ("command", "seconds", "MB/s", "speed vs peer"))
    for name, t, ratio in rows:
        print("%-40s %10.3f %10.0f  %s" % (name, t, size / t / 1e6, ratio or ""))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
