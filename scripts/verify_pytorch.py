#!/usr/bin/env python3
"""Checks a PyTorch checkpoint that went through vsdb against torch itself.

usage: verify_pytorch.py CHECKPOINT EXPORTED.safetensors [TWIN.safetensors]

EXPORTED is what `vsdb export` wrote after `vsdb ingest CHECKPOINT`. Every
tensor torch.load(weights_only=True) finds (a state_dict, or one wrapped
under state_dict/model/module) must be in EXPORTED with the same name, dtype,
shape and bytes, and nothing else. With TWIN (the same model as
safetensors), EXPORTED must also equal TWIN tensor by tensor.
"""
import sys

import torch
from safetensors.torch import load_file


def state_dict(path):
    obj = torch.load(path, weights_only=True, map_location="cpu")
    while isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for k in ("state_dict", "model_state_dict", "model", "module"):
            if isinstance(obj.get(k), dict):
                obj = obj[k]
                break
        else:
            break
    return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(
        a.contiguous().view(-1).view(torch.uint8), b.contiguous().view(-1).view(torch.uint8))


def compare(want, got, what):
    bad = [k for k in want if k not in got or not same(want[k], got[k])]
    extra = sorted(set(got) - set(want))
    if bad or extra:
        print("FAIL %s: %d differ (%s), %d extra (%s)" % (what, len(bad), bad[:3], len(extra), extra[:3]))
        return False
    print("ok   %s: %d tensors, %d bytes identical" % (what, len(want), sum(v.nbytes for v in want.values())))
    return True


def main():
    ckpt, exported = sys.argv[1], sys.argv[2]
    got = load_file(exported)
    ok = compare(state_dict(ckpt), got, "torch.load vs vsdb export")
    if len(sys.argv) > 3:
        ok = compare(load_file(sys.argv[3]), got, "safetensors twin vs vsdb export") and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
