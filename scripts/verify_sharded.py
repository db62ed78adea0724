#!/usr/bin/env python3
"""Verifies a sharded export of the real model with the safetensors package.

usage: verify_sharded.py ORIGINAL.safetensors SHARD_FOLDER REEXPORTED.safetensors

1. SHARD_FOLDER/model.safetensors.index.json maps every tensor of ORIGINAL
   to a shard; metadata.total_size is the sum of their byte sizes; every
   shard loads with safetensors.numpy.load_file and each tensor has the
   original's dtype, shape and bytes.
2. REEXPORTED (the folder ingested again and exported as one file) holds the
   same bytes as ORIGINAL.
Exits non-zero on any failure.
"""
import json
import os
import sys

from safetensors.numpy import load_file


def main():
    orig_path, folder, again_path = sys.argv[1:4]
    orig = load_file(orig_path)
    index = json.load(open(os.path.join(folder, "model.safetensors.index.json")))
    shards = sorted(set(index["weight_map"].values()))
    got = {}
    for s in shards:
        got.update(load_file(os.path.join(folder, s)))
    bad = [n for n, x in orig.items() if n not in got or got[n].dtype != x.dtype or got[n].shape != x.shape or got[n].tobytes() != x.tobytes()]
    total = sum(x.nbytes for x in orig.values())
    if set(index["weight_map"]) != set(orig) or index["metadata"]["total_size"] != total:
        bad.append("index does not match the tensors (total_size %s, want %d)" % (index["metadata"].get("total_size"), total))
    again = load_file(again_path)
    bad += ["re-ingested %s differs" % n for n, x in orig.items() if n not in again or again[n].tobytes() != x.tobytes()]
    print("sharded export: %d shards, %d tensors, %s; re-ingested and exported again: %s" % (
        len(shards), len(got), "bit-identical (loaded with safetensors)" if not bad else "DIFFERS",
        "bit-identical" if not bad else "DIFFERS"))
    for b in bad[:10]:
        print("  " + b)
    sys.exit(1 if bad else 0)


main()
