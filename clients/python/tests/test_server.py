"""The client against a real `vsdb serve` (see conftest.py)."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import safetensors.numpy

import vsdb

from .conftest import Server

RNG = np.random.default_rng(7)


def _f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


# The small checkpoint: two "layers" with the same parameters, and every
# numpy dtype the format has.
SMALL = {
    "encoder.layer.0.dense.weight": _f32(8, 6),
    "encoder.layer.0.dense.bias": _f32(6),
    "encoder.layer.0.norm.weight": RNG.standard_normal(6).astype(np.float16),
    "encoder.layer.1.dense.weight": _f32(8, 6),
    "encoder.layer.1.dense.bias": _f32(6),
    "encoder.layer.1.norm.weight": RNG.standard_normal(6).astype(np.float16),
    "embeddings.position_ids": np.arange(12, dtype=np.int64).reshape(1, 12),
    "extra.f64": RNG.standard_normal((2, 2)),
    "extra.i32": RNG.integers(-1000, 1000, size=5, dtype=np.int32),
    "extra.i8": RNG.integers(-128, 127, size=5, dtype=np.int8),
    "extra.u8": RNG.integers(0, 255, size=5, dtype=np.uint8),
    "extra.mask": np.array([True, False, True]),
}

# bfloat16 bit patterns: 1, -2, 0.5, 3.140625, the smallest subnormal, -0,
# the largest finite value, and some random ones.
BF16_BITS = np.concatenate(
    [np.array([0x3F80, 0xC000, 0x3F00, 0x4049, 0x0001, 0x8000, 0x7F7F], dtype=np.uint16),
     RNG.integers(0, 0x7F00, size=9, dtype=np.uint16)]
).reshape(4, 4)
F8_BITS = np.array([0x38, 0xB8, 0x7E, 0x01, 0x00, 0x40], dtype=np.uint8)  # 1, -1, 448, 2^-9, 0, 2


def write_raw_safetensors(path: Path, tensors: dict[str, tuple[str, list[int], bytes]]) -> None:
    """A safetensors file from raw little-endian bytes (for dtypes numpy lacks)."""
    header, pos = {}, 0
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [pos, pos + len(data)]}
        pos += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(t[2] for t in tensors.values()))


def bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


@pytest.fixture(scope="module")
def loaded(server: Server) -> Server:
    safetensors.numpy.save_file(SMALL, str(server.root / "small.safetensors"), metadata={"format": "np"})
    write_raw_safetensors(server.root / "exotic.safetensors", {
        "w.bf16": ("BF16", [4, 4], BF16_BITS.astype("<u2").tobytes()),
        "w.f8": ("F8_E4M3", [6], F8_BITS.tobytes()),
    })
    db = server.client()
    out = db.ingest("small.safetensors", name="small")
    assert isinstance(out, pd.DataFrame)
    db.ingest(server.root / "exotic.safetensors", name="exotic")  # an absolute path inside the root
    db.ingest("small.safetensors", name="into")  # a keyword as a name: quoted
    return server


def test_health(db: vsdb.Client) -> None:
    assert db.health()["status"] == "ok"


def test_show_models_empty(server_factory) -> None:
    db = server_factory().client()
    df = db.query("SHOW MODELS")
    assert isinstance(df, pd.DataFrame)
    assert df.empty and "model" in df.columns
    assert list(db.models().columns) == list(df.columns)


def test_models_after_ingest(loaded: Server) -> None:
    df = loaded.client().models()
    assert {"small", "exotic", "into"} <= set(df["model"])
    row = df[df["model"] == "small"].iloc[0]
    if "tensors" in df.columns:
        assert row["tensors"] == len(SMALL)


def test_tensor_bit_identical(loaded: Server) -> None:
    db = loaded.client()
    original = safetensors.numpy.load_file(str(loaded.root / "small.safetensors"))
    for name, want in original.items():
        got = db.tensor("small", name)
        assert got.dtype == want.dtype, name
        assert got.shape == want.shape, name
        assert got.tobytes() == want.tobytes(), name


def test_get_returns_tensor_result(loaded: Server) -> None:
    db = loaded.client()
    r = db.query("GET small:encoder.layer.0.dense.weight")
    assert isinstance(r, vsdb.TensorResult)
    assert r.names == ["encoder.layer.0.dense.weight"]
    assert r.array.tobytes() == SMALL["encoder.layer.0.dense.weight"].tobytes()
    assert isinstance(r.table, pd.DataFrame) and len(r.table) == 1
    assert "encoder.layer.0.dense.weight" in r._repr_html_()
    assert db.get(("into", "extra.mask")).array.tolist() == [True, False, True]


def test_show_tensors_table(loaded: Server) -> None:
    df = loaded.client().query("SHOW TENSORS FROM small WHERE layer = 'encoder.layer.0'")
    assert isinstance(df, pd.DataFrame)
    assert sorted(df["name"]) == sorted(n for n in SMALL if n.startswith("encoder.layer.0."))
    shapes = dict(zip(df["name"], df["shape"]))
    assert shapes["encoder.layer.0.dense.weight"] == [8, 6]
    quoted = loaded.client().tensors("into", where="layer = 'encoder.layer.0'")
    assert sorted(quoted["name"]) == sorted(df["name"])


def test_bf16_comes_back_as_exact_float32(loaded: Server) -> None:
    db = loaded.client(use_ml_dtypes=False)
    x = db.tensor("exotic", "w.bf16")
    assert x.dtype == np.float32 and x.shape == (4, 4)
    assert x.view(np.uint32).tobytes() == bf16_to_f32(BF16_BITS).view(np.uint32).tobytes()
    assert x[0, :4].tolist() == [1.0, -2.0, 0.5, 3.140625]
    # By default: ml_dtypes.bfloat16 when installed, else float32; same values.
    y = loaded.client().tensor("exotic", "w.bf16")
    assert y.shape == (4, 4) and np.array_equal(y.astype(np.float32), x)


def test_f8_comes_back_as_exact_float32(loaded: Server) -> None:
    x = loaded.client(use_ml_dtypes=False).tensor("exotic", "w.f8")
    assert x.dtype == np.float32 and x.tolist() == [1.0, -1.0, 448.0, 2.0**-9, 0.0, 2.0]


def test_fuse_two_tensors_equals_numpy(loaded: Server) -> None:
    db = loaded.client()
    a, b = SMALL["encoder.layer.0.dense.weight"], SMALL["encoder.layer.1.dense.weight"]
    r = db.fuse([("small", "encoder.layer.0.dense.weight"), "small:encoder.layer.1.dense.weight"], [0.5, 0.5])
    assert isinstance(r, vsdb.TensorResult)
    assert r.names == ["encoder.layer.0.dense.weight"]  # the first input's name
    got = r.array
    assert got.dtype == np.float32 and got.shape == a.shape
    # Halving is exact and the sum is rounded once: bit-identical.
    np.testing.assert_array_equal(got, np.float32(0.5) * a + np.float32(0.5) * b)
    r = db.fuse(["small:encoder.layer.0.dense.weight", "small:encoder.layer.1.dense.weight"], [0.3, 0.7])
    np.testing.assert_allclose(r.array, 0.3 * a.astype(np.float64) + 0.7 * b, rtol=1e-6, atol=1e-7)


def test_fuse_layers_and_into(loaded: Server) -> None:
    db = loaded.client()
    r = db.fuse(["small:encoder.layer.0", "small:encoder.layer.1"], weights=[0.5, 0.5])
    assert sorted(r) == sorted(n for n in SMALL if n.startswith("encoder.layer.0."))
    norm = r["encoder.layer.0.norm.weight"]
    assert norm.dtype == np.float16  # the inputs' dtype
    want = (0.5 * SMALL["encoder.layer.0.norm.weight"].astype(np.float32)
            + 0.5 * SMALL["encoder.layer.1.norm.weight"].astype(np.float32)).astype(np.float16)
    np.testing.assert_array_equal(norm, want)
    out = db.fuse(["small:encoder.layer.0", "small:encoder.layer.1"], [0.5, 0.5], into="fused")
    assert isinstance(out, pd.DataFrame)
    stored = db.tensor("fused", "encoder.layer.0.dense.weight")
    np.testing.assert_array_equal(stored, r["encoder.layer.0.dense.weight"])


def test_statement_errors_carry_line_and_column(db: vsdb.Client) -> None:
    with pytest.raises(vsdb.VsdbError) as info:
        db.query("SHOW MODLES")
    e = info.value
    assert e.status == 400 and (e.line, e.column) == (1, 6)
    assert e.message.startswith("vsdb: 1:6:")
    assert str(e).endswith("SHOW MODLES\n     ^")

    stmt = "FUSE small:encoder.layer.0,\n  small:encoder.layer.1 WEIGHT 0.5, 0.5"
    with pytest.raises(vsdb.VsdbError) as info:
        db.query(stmt)
    e = info.value
    assert e.status == 400 and (e.line, e.column) == (2, 25)
    assert "WEIGHT" in e.message and e.statement == stmt
    assert str(e).splitlines()[-1] == " " * 24 + "^"


def test_engine_errors(loaded: Server) -> None:
    db = loaded.client()
    with pytest.raises(vsdb.VsdbError) as info:
        db.query("DESCRIBE nosuch")
    assert info.value.status in (400, 404) and "nosuch" in info.value.message
    with pytest.raises(vsdb.VsdbError) as info:
        db.tensor("small", "no.such.tensor")
    assert info.value.status == 404
    with pytest.raises(vsdb.VsdbError) as info:
        db.tensor("nosuch", "x")
    assert info.value.status == 404
    with pytest.raises(vsdb.VsdbError) as info:
        db.ingest("small.safetensors", name="small")  # exists already
    assert info.value.status in (400, 409)
    with pytest.raises(vsdb.VsdbError) as info:
        db.fuse(["small:encoder.layer.0.dense.weight", "small:encoder.layer.0.dense.bias"], [1, 1])
    assert info.value.status == 400  # shape mismatch
    with pytest.raises(vsdb.VsdbError) as info:
        db.ingest("small.safetensors", name="my model")  # model names are identifiers
    assert info.value.status == 400 and "my model" in info.value.message


def test_paths_outside_root_are_refused(loaded: Server, tmp_path: Path) -> None:
    db = loaded.client()
    outside = loaded.root.parent / "outside.safetensors"
    safetensors.numpy.save_file({"x": _f32(2)}, str(outside))
    for path in (str(outside), "../outside.safetensors", "/etc/hostname"):
        with pytest.raises(vsdb.VsdbError) as info:
            db.ingest(path, name="evil")
        assert info.value.status == 403, path
    with pytest.raises(vsdb.VsdbError) as info:
        db.export("small", "../exported.safetensors")
    assert info.value.status == 403
    assert not (loaded.root.parent / "exported.safetensors").exists()
    assert "evil" not in set(db.models()["model"])


def test_export_inside_root(loaded: Server) -> None:
    db = loaded.client()
    db.export("small", "exported.safetensors")
    back = safetensors.numpy.load_file(str(loaded.root / "exported.safetensors"))
    assert set(back) == set(SMALL)
    for name, want in SMALL.items():
        assert back[name].tobytes() == want.tobytes(), name


@pytest.mark.parametrize("env_token", [False, True])
def test_token(server_factory, monkeypatch: pytest.MonkeyPatch, env_token: bool) -> None:
    monkeypatch.delenv("VSDB_TOKEN", raising=False)
    s = server_factory(token="s3cret-token", env_token=env_token)
    for client in (vsdb.connect(s.url), vsdb.connect(s.url, token="wrong")):
        for call in (client.models, client.health, lambda: client.tensor("m", "x")):
            with pytest.raises(vsdb.VsdbError) as info:
                call()
            assert info.value.status == 401
    assert vsdb.connect(s.url, token="s3cret-token").models().empty
    monkeypatch.setenv("VSDB_TOKEN", "s3cret-token")
    assert vsdb.connect(s.url).health()["status"] == "ok"


def test_metrics(loaded: Server) -> None:
    text = loaded.client().metrics()
    assert "# TYPE" in text
    sample = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*(\{.*\})? [-+0-9.eEInfa]+( [0-9]+)?$")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert sample.match(line), line


def test_large_tensor_streams_into_one_buffer(loaded: Server) -> None:
    big = _f32(1024, 4096)  # 16 MiB
    safetensors.numpy.save_file({"big.weight": big}, str(loaded.root / "big.safetensors"))
    db = loaded.client()
    db.ingest("big.safetensors", name="big")
    got = db.tensor("big", "big.weight")
    assert not got.flags.owndata and got.flags.writeable  # a view of the response buffer
    assert got.tobytes() == big.tobytes()
    db.delete("big")
    assert "big" not in set(db.models()["model"])


def test_concurrent_requests(loaded: Server) -> None:
    db = loaded.client()
    names = list(SMALL) * 4
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda n: db.tensor("small", n), names))
    for name, arr in zip(names, got):
        assert arr.tobytes() == SMALL[name].tobytes()


def test_timeout_and_result_limit(server_factory) -> None:
    slow = server_factory(extra=["--timeout", "1ms"])
    safetensors.numpy.save_file({"big.weight": _f32(1024, 1024)}, str(slow.root / "big.safetensors"))
    with pytest.raises(vsdb.VsdbError) as info:
        slow.client().ingest("big.safetensors", name="big")
    assert info.value.status == 504

    small = server_factory(extra=["--max-result", "1000"])
    safetensors.numpy.save_file({"w.weight": _f32(64, 64)}, str(small.root / "w.safetensors"))
    db = small.client()
    db.ingest("w.safetensors", name="w")
    for call in (lambda: db.query("GET w:w.weight"), lambda: db.tensor("w", "w.weight")):
        with pytest.raises(vsdb.VsdbError) as info:
            call()
        assert info.value.status == 413


def test_ingest_error_position_is_in_the_sent_statement(loaded: Server) -> None:
    stmt = "INGEST   'small.safetensors'   AS small"
    with pytest.raises(vsdb.VsdbError) as info:
        loaded.client().query(stmt)  # small exists already: an error at the name
    assert (info.value.line, info.value.column) == (1, stmt.index("small", 20) + 1)
