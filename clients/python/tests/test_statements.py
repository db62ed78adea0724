"""Statement building, errors and tables, without a server."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest

import vsdb
from vsdb import statements as st


@pytest.mark.parametrize(
    "name,quoted",
    [
        ("minilm", "minilm"),
        ("all-MiniLM_L6-v2", "all-MiniLM_L6-v2"),
        ("_x", "_x"),
        ("my model", "'my model'"),
        ("it's", "'it''s'"),
        ("3models", "'3models'"),
        ("a.b", "'a.b'"),
        ('say "hi"', "'say \"hi\"'"),
        ("weights", "'weights'"),
        ("INTO", "'INTO'"),
        ("modèle", "'modèle'"),
    ],
)
def test_quote_model(name: str, quoted: str) -> None:
    assert st.quote_model(name) == quoted


@pytest.mark.parametrize(
    "sel,text",
    [
        ("m", "m"),
        ("m:encoder.layer.0", "m:encoder.layer.0"),
        ("seq:0.weight", "seq:0.weight"),
        ("'my model':'a/b c'", "'my model':'a/b c'"),
        ("my model:a/b c", "'my model':'a/b c'"),
        ("my model", "'my model'"),
        (("my model", "encoder.layer.0"), "'my model':encoder.layer.0"),
        (("m", "x.weight:0"), "m:'x.weight:0'"),
        ("from:x", "'from':x"),
    ],
)
def test_selector(sel: st.Selector, text: str) -> None:
    assert st.selector(sel) == text


def test_numbers() -> None:
    assert st.number(0.5) == "0.5"
    assert st.number(1) == "1"
    assert st.number(2.0) == "2"
    assert st.number(1e-3) == "0.001"
    assert st.number(1e-7) == "1e-07"
    assert st.number(np.float64(0.25)) == "0.25"
    assert st.number(np.int64(3)) == "3"
    assert float(st.number(0.1 + 0.2)) == 0.1 + 0.2
    for bad in (math.inf, math.nan):
        with pytest.raises(ValueError):
            st.number(bad)
    for bad in (True, "1", None):
        with pytest.raises(TypeError):
            st.number(bad)  # type: ignore[arg-type]


def test_fuse() -> None:
    assert (
        st.fuse(["minilm:encoder.layer.0", "minilm:encoder.layer.1"], weights=[0.5, 0.5])
        == "FUSE minilm:encoder.layer.0, minilm:encoder.layer.1 WEIGHTS 0.5, 0.5"
    )
    assert (
        st.fuse(["ft1", "ft2"], [0.6, 0.4], method="dare_ties",
                options={"density": 0.5, "int8_mask": True, "seed": 7, "vocab": "common"},
                base="llama", into="merged", where="param LIKE 'self_attn.%'")
        == "FUSE ft1, ft2 WEIGHTS 0.6, 0.4 USING dare_ties(density = 0.5, int8_mask = TRUE, "
        "seed = 7, vocab = 'common') BASE llama WHERE param LIKE 'self_attn.%' INTO merged"
    )
    assert st.fuse(["a", "b"], method="slerp", options={"t": 0.3}) == "FUSE a, b USING slerp(t = 0.3)"
    assert st.fuse(["a", "b"], [[0, 0.5, 1], (1, 0.5, 0)]) == "FUSE a, b WEIGHTS [0, 0.5, 1], [1, 0.5, 0]"
    assert st.fuse(["a", "b"], np.array([0.5, 0.5])) == "FUSE a, b WEIGHTS 0.5, 0.5"
    with pytest.raises(ValueError):
        st.fuse(["a", "b"])
    with pytest.raises(TypeError):
        st.fuse("a, b", [1, 1])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        st.fuse(["a", "b"], method="slerp; DELETE MODEL a")


def test_ingest_export() -> None:
    assert st.ingest("model.safetensors") == "INGEST 'model.safetensors'"
    assert (
        st.ingest("it's/m.safetensors", name="my model", codec="auto", base="b", codec_options={"budget": 0.01})
        == "INGEST 'it''s/m.safetensors' AS 'my model' BASE b CODEC auto(budget = 0.01)"
    )
    assert st.ingest("x", codec="lowrank(rank = 8)") == "INGEST 'x' CODEC lowrank(rank = 8)"
    assert st.export("m", "out dir/m.safetensors") == "EXPORT m TO 'out dir/m.safetensors'"
    with pytest.raises(ValueError):
        st.ingest("x", codec="q8' AS y")


def test_error_caret_and_pickle() -> None:
    e = vsdb.VsdbError("vsdb: 2:3: unexpected token", line=2, column=3, status=400,
                       statement="SHOW MODELS\n\tx y")
    assert e.message == "vsdb: 2:3: unexpected token"
    assert str(e) == "vsdb: 2:3: unexpected token\n\tx y\n\t ^"
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.message, e2.line, e2.column, e2.status, e2.statement) == (e.message, 2, 3, 400, e.statement)
    assert str(vsdb.VsdbError("vsdb: no position", status=500)) == "vsdb: no position"
    assert isinstance(e, Exception)


def test_table() -> None:
    df = vsdb.table(["name", "shape", "n"], [["a", [2, 3], 6], ["b", [], 1]])
    assert list(df.columns) == ["name", "shape", "n"]
    assert df["shape"].tolist() == [[2, 3], []]
    assert df["n"].tolist() == [6, 1]
    empty = vsdb.table(["model", "tensors"], [])
    assert isinstance(empty, pd.DataFrame) and empty.empty and list(empty.columns) == ["model", "tensors"]
    with pytest.raises(vsdb.VsdbError):
        vsdb.table(["a"], [[1, 2]])


def test_tensor_result() -> None:
    a, b = np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(2, dtype=np.int64)
    r = vsdb.TensorResult({"a": a, "b": b}, statement="GET x")
    assert list(r) == ["a", "b"] and len(r) == 2 and "a" in r
    assert r["b"] is b and r[0] is a and r[-1] is b
    assert dict(r) == {"a": a, "b": b}
    assert r.table["shape"].tolist() == [[2, 3], [2]]
    assert "TensorResult" in repr(r) and "<table" in r._repr_html_()
    with pytest.raises(ValueError):
        r.array
    assert vsdb.TensorResult({"a": a}).array is a


def test_connect_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VSDB_URL", raising=False)
    monkeypatch.setenv("VSDB_TOKEN", "s3cret")
    c = vsdb.connect()
    assert c.url == vsdb.DEFAULT_URL and c.token == "s3cret"
    assert "s3cret" not in repr(c)
    monkeypatch.setenv("VSDB_URL", "localhost:9999/")
    assert vsdb.connect(token="t").url == "http://localhost:9999" and vsdb.connect(token="t").token == "t"
    with pytest.raises(ValueError):
        vsdb.connect("ftp://x")


def test_unreachable_server() -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(vsdb.VsdbError) as info:
        vsdb.connect(f"http://127.0.0.1:{port}", timeout=5).models()
    assert info.value.status is None and "cannot reach" in info.value.message
