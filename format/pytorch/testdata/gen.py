"""Writes PyTorch checkpoints for the tests of package format/pytorch.

usage: gen.py OUT_DIR [small]

Writes OUT_DIR/expected.json: {file: {"tensors": {name: {"dtype", "shape",
"hex"}}, "meta": {...}}, the bytes torch holds for each tensor (contiguous,
little-endian), and the checkpoints it describes. With "small", only the
two files kept in testdata (views.pt and views_legacy.pt) are written.
"""
import collections
import io
import json
import os
import sys
import zipfile

import torch

out = sys.argv[1]
small = len(sys.argv) > 2 and sys.argv[2] == "small"
os.makedirs(out, exist_ok=True)

NAMES = {
    torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL", torch.uint16: "U16", torch.uint32: "U32",
    torch.uint64: "U64", torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2",
}
expected = {}


def raw(t):
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def flat(obj, prefix, acc):
    if isinstance(obj, torch.Tensor):
        acc[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            flat(v, (prefix + "." if prefix else "") + str(k), acc)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            flat(v, (prefix + "." if prefix else "") + str(i), acc)
    return acc


def save(name, obj, tensors=None, legacy=False, **meta):
    """Saves obj and records the tensors a reader must find (default: all,
    flattened with '.')."""
    path = os.path.join(out, name)
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    if tensors is None:
        tensors = flat(obj, "", {})
    expected[name] = {
        "tensors": {k: {"dtype": NAMES[t.dtype], "shape": list(t.shape), "hex": raw(t).hex()} for k, t in tensors.items()},
        "meta": meta,
    }
    # torch itself must load it back with the same values
    back = torch.load(path, weights_only=True)
    got = flat(back, "", {})
    for k, t in flat(obj, "", {}).items():
        assert raw(got[k]) == raw(t), (name, k)
    return path


g = torch.Generator().manual_seed(7)
s = torch.arange(12, dtype=torch.float32)
shared = torch.randn(16, generator=g)
views = collections.OrderedDict()
views["t"] = s.view(3, 4).t()                # non-contiguous transpose
views["slice"] = s[8:10]                     # offset into the same storage
views["row"] = s.view(3, 4)[1]               # contiguous with offset
views["col"] = s.view(3, 4)[:, 2]            # strided column
views["expand"] = torch.tensor([1.5, -2.0]).view(2, 1).expand(2, 3)  # stride 0
views["scalar_expand"] = torch.tensor(2.5).expand(3, 4)
views["a"] = shared[:8].view(2, 4)
views["b"] = shared[4:12]                    # overlaps a
views["c"] = shared.view(4, 4).permute(1, 0)[1:3, ::2]
views["bf16"] = torch.randn(3, 5, generator=g).to(torch.bfloat16)
views["f16"] = torch.randn(7, generator=g).half()
views["f64"] = torch.randn(2, 3, generator=g).double()
views["i64"] = torch.tensor([-(2**62), -1, 0, 2**62], dtype=torch.int64)
views["i32"] = torch.tensor([[-5, 7], [2**31 - 1, -(2**31)]], dtype=torch.int32)
views["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
views["i8"] = torch.tensor([-128, 127, 0], dtype=torch.int8)
views["u8"] = torch.tensor([0, 255, 17], dtype=torch.uint8)
views["mask"] = torch.tensor([True, False, True, True])
views["scalar"] = torch.tensor(3.25)
views["empty"] = torch.zeros(0, 4)
views["param"] = torch.nn.Parameter(torch.ones(2, 2) * 0.5)
views["bf16_t"] = torch.randn(4, 3, generator=g).to(torch.bfloat16).t()
views["i64_step"] = torch.arange(10, dtype=torch.int64)[1::3]
save("views.pt", views)
save("views_legacy.pt", views, legacy=True)
if not small:
    # Dtypes saved through UntypedStorage + _rebuild_tensor_v3.
    save("v3.pt", {"u16": torch.tensor([1, 65535], dtype=torch.uint16),
                   "u32": torch.tensor([1, 2**32 - 1], dtype=torch.uint32),
                   "u64": torch.tensor([1, 2**63], dtype=torch.uint64),
                   "e4m3": torch.tensor([0.5, -448.0, 1.0]).to(torch.float8_e4m3fn),
                   "e5m2": torch.tensor([0.5, -57344.0]).to(torch.float8_e5m2).t()})
    # Wrappers: the reader unwraps state_dict / model / module and skips the rest.
    inner = {"w": torch.randn(2, 3, generator=g), "b": torch.zeros(3)}
    save("wrap_state_dict.pt", {"state_dict": inner, "epoch": 3, "lr": 0.1}, tensors=inner)
    save("wrap_model.pt", {"model": inner, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}}, tensors=inner)
    save("wrap_module.pt", {"module": {"state_dict": inner}}, tensors=inner)
    nested = {"encoder": {"layer": [{"w": torch.ones(2)}, {"w": torch.zeros(2)}]}, "decoder": {"w": torch.full((2,), 7.0)}}
    save("nested.pt", nested, tensors={"encoder.layer.0.w": nested["encoder"]["layer"][0]["w"],
                                       "encoder.layer.1.w": nested["encoder"]["layer"][1]["w"],
                                       "decoder.w": nested["decoder"]["w"]})
    save("nested_legacy.pt", nested, legacy=True, tensors=flat(nested, "", {}))
    # A real module's state_dict (OrderedDict with _metadata, BUILD opcode),
    # tied weights, BatchNorm's int64 counter.
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 4))
    sd = m.state_dict()
    save("module_state_dict.pt", sd)
    save("module_state_dict_legacy.pt", sd, legacy=True)
    tied = collections.OrderedDict(emb=torch.randn(5, 2, generator=g))
    tied["head"] = tied["emb"]
    save("tied.pt", tied)
    # A single tensor: named after the file.
    lone = torch.randn(3, 2, generator=g).t()
    save("lone.pt", lone, tensors={"lone": lone})
    save("lone_legacy.pt", lone, legacy=True, tensors={"lone_legacy": lone})
    # The archive folder name varies: rewrite records under another prefix,
    # and a deflated copy.
    src = os.path.join(out, "views.pt")
    with zipfile.ZipFile(src) as z:
        recs = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    top = recs[0][0].split("/")[0]
    for name, prefix, comp in [("prefix.pt", "some model v2", zipfile.ZIP_STORED), ("deflated.pt", top, zipfile.ZIP_DEFLATED)]:
        with zipfile.ZipFile(os.path.join(out, name), "w", compression=comp) as z:
            for fn, data in recs:
                z.writestr(prefix + fn[len(top):], data)
        expected[name] = expected["views.pt"]
    # Big-endian storages: byteorder says "big" and every storage is swapped;
    # torch.load swaps them back.
    # The element size of each storage, from the pickle (loaded with a
    # find_class that resolves nothing real).
    sizes = {}
    with zipfile.ZipFile(src) as z:
        import pickle

        class U(pickle.Unpickler):
            def find_class(self, mod, name):
                if mod == "torch" and name.endswith("Storage"):
                    return name
                if mod == "collections":
                    return collections.OrderedDict
                if mod == "torch._utils":
                    return lambda *a: None
                return super().find_class(mod, name)

            def persistent_load(self, pid):
                sizes[pid[2]] = {"FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2,
                                 "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2}.get(pid[1], 1)
                return None

        U(io.BytesIO(z.read(top + "/data.pkl"))).load()
    with zipfile.ZipFile(os.path.join(out, "bigendian.pt"), "w") as z:
        for fn, data in recs:
            rel = fn[len(top) + 1:]
            if rel == "byteorder":
                data = b"big"
            elif rel.startswith("data/"):
                es = sizes[rel[5:]]
                data = b"".join(data[i:i + es][::-1] for i in range(0, len(data), es))
            z.writestr(fn, data)
    big = torch.load(os.path.join(out, "bigendian.pt"), weights_only=True)
    for k, t in views.items():
        assert raw(big[k]) == raw(t), k
    expected["bigendian.pt"] = expected["views.pt"]

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
print("wrote", len(expected), "checkpoints to", out)
