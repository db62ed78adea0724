"""The safetensors reader, without a server."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import safetensors.numpy

import vsdb
from vsdb._safetensors import F8_TABLES, read_safetensors, write_safetensors

PLAIN = {
    "f64": np.float64, "f32": np.float32, "f16": np.float16, "i64": np.int64, "i32": np.int32,
    "i16": np.int16, "i8": np.int8, "u8": np.uint8, "u16": np.uint16, "u32": np.uint32,
    "u64": np.uint64, "bool": np.bool_,
}


def _sample(dtype: type, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if dtype is np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


class ChunkedStream(io.RawIOBase):
    """A stream that hands out at most 7 bytes per readinto, like a slow socket."""

    def __init__(self, data: bytes) -> None:
        self._b = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        n = min(len(b), 7)
        chunk = self._b.read(n)
        b[: len(chunk)] = chunk
        return len(chunk)


def test_plain_dtypes_round_trip_as_views_of_one_buffer() -> None:
    rng = np.random.default_rng(1)
    arrays = {name: _sample(dt, (3, 5), rng) for name, dt in PLAIN.items()}
    arrays["scalar"] = np.array(2.5, dtype=np.float32)
    arrays["empty"] = np.zeros((0, 4), dtype=np.float32)
    data = safetensors.numpy.save(arrays)
    tensors, meta = read_safetensors(ChunkedStream(data), content_length=len(data))
    assert meta == {}
    assert set(tensors) == set(arrays)
    bases = set()
    for name, want in arrays.items():
        got = tensors[name]
        assert got.dtype == want.dtype, name
        assert got.shape == want.shape, name
        assert got.tobytes() == want.tobytes(), name
        if got.size:
            assert got.flags.writeable and got.flags.aligned
            base = got
            while base.base is not None and isinstance(base.base, np.ndarray):
                base = base.base
            owner = base.base.obj if isinstance(base.base, memoryview) else base.base
            bases.add(id(owner))
    assert len(bases) == 1  # every array is a view into the one response buffer


def test_order_from_metadata_and_table() -> None:
    blob = write_safetensors(
        {"b": ("F32", [1], np.float32([1]).tobytes()), "a": ("F32", [1], np.float32([2]).tobytes())},
        {"vsdb.order": json.dumps(["b", "a"]), "vsdb.columns": json.dumps(["name"]),
         "vsdb.rows": json.dumps([["b"], ["a"]])},
    )
    tensors, meta = read_safetensors(io.BytesIO(blob))
    assert list(tensors) == ["b", "a"]
    assert json.loads(meta["vsdb.columns"]) == ["name"]
    blob = write_safetensors(
        {"b": ("F32", [1], np.float32([1]).tobytes()), "a": ("F32", [1], np.float32([2]).tobytes())},
    )
    assert list(read_safetensors(io.BytesIO(blob))[0]) == ["b", "a"]  # by offset


def test_bf16_widens_exactly_without_ml_dtypes() -> None:
    bits = np.arange(0, 1 << 16, dtype=np.uint16)  # every bf16 value, NaNs included
    blob = write_safetensors({"x": ("BF16", [256, 256], bits.astype("<u2").tobytes())})
    tensors, _ = read_safetensors(io.BytesIO(blob), use_ml_dtypes=False)
    x = tensors["x"]
    assert x.dtype == np.float32 and x.shape == (256, 256)
    assert np.array_equal(x.reshape(-1).view(np.uint32), bits.astype(np.uint32) << 16)
    assert x.reshape(-1)[0x3F80] == 1.0 and x.reshape(-1)[0xC000] == -2.0


def test_f8_tables() -> None:
    e4, e5 = F8_TABLES["F8_E4M3"], F8_TABLES["F8_E5M2"]
    assert e4[0x7E] == 448 and e4[0xFE] == -448
    assert math.isnan(e4[0x7F]) and math.isnan(e4[0xFF])
    assert e4[0x01] == 2.0**-9 and e4[0x38] == 1.0 and e4[0x08] == 2.0**-6
    assert not np.isinf(e4).any()
    assert e5[0x7B] == 57344 and e5[0x7C] == np.inf and e5[0xFC] == -np.inf
    assert math.isnan(e5[0x7D]) and e5[0x01] == 2.0**-16 and e5[0x3C] == 1.0
    assert np.signbit(e4[0x80]) and e4[0x80] == 0
    blob = write_safetensors({"a": ("F8_E4M3", [2], bytes([0x38, 0xB8])), "b": ("F8_E5M2", [1], bytes([0x7B]))})
    tensors, _ = read_safetensors(io.BytesIO(blob), use_ml_dtypes=False)
    assert tensors["a"].dtype == np.float32 and tensors["a"].tolist() == [1.0, -1.0]
    assert tensors["b"].tolist() == [57344.0]


def test_exotic_dtypes_with_ml_dtypes() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    every = np.arange(256, dtype=np.uint8)
    for name, mld in (("F8_E4M3", ml_dtypes.float8_e4m3fn), ("F8_E5M2", ml_dtypes.float8_e5m2)):
        want = every.view(mld).astype(np.float32)
        np.testing.assert_array_equal(F8_TABLES[name], want)
        blob = write_safetensors({"x": (name, [256], every.tobytes())})
        x = read_safetensors(io.BytesIO(blob))[0]["x"]
        assert x.dtype == mld and x.view(np.uint8).tobytes() == every.tobytes()
    bits = np.arange(0, 1 << 16, dtype=np.uint16)
    blob = write_safetensors({"x": ("BF16", [1 << 16], bits.tobytes())})
    x = read_safetensors(io.BytesIO(blob))[0]["x"]
    assert x.dtype == ml_dtypes.bfloat16 and x.view(np.uint16).tobytes() == bits.tobytes()


def test_use_ml_dtypes_true_without_it() -> None:
    try:
        import ml_dtypes  # noqa: F401
    except ImportError:
        blob = write_safetensors({"x": ("BF16", [1], b"\x80\x3f")})
        with pytest.raises(vsdb.VsdbError, match="ml_dtypes"):
            read_safetensors(io.BytesIO(blob), use_ml_dtypes=True)
    else:
        pytest.skip("ml_dtypes is installed")


def test_unaligned_offsets_are_copied_aligned() -> None:
    blob = write_safetensors({"b": ("U8", [1], b"\x01"), "x": ("F64", [2], np.float64([1.5, -2]).tobytes())})
    x = read_safetensors(io.BytesIO(blob))[0]["x"]
    assert x.flags.aligned and x.tolist() == [1.5, -2.0]


@pytest.mark.parametrize(
    "blob,msg",
    [
        (b"\x10\x00", "truncated"),
        ((100).to_bytes(8, "little") + b"{}", "truncated"),
        ((2).to_bytes(8, "little") + b"[]", "not a JSON object"),
        ((1 << 40).to_bytes(8, "little"), "larger than"),
        (write_safetensors({"x": ("F32", [4], b"\0" * 16)})[:-1], "truncated"),
    ],
)
def test_broken_streams(blob: bytes, msg: str) -> None:
    with pytest.raises(vsdb.VsdbError, match=msg):
        read_safetensors(io.BytesIO(blob))


def test_bad_entries() -> None:
    bad = write_safetensors({"x": ("F32", [3], b"\0" * 16)})  # 16 bytes for 3 floats
    with pytest.raises(vsdb.VsdbError, match="do not match"):
        read_safetensors(io.BytesIO(bad))
    bad = write_safetensors({"x": ("C64", [1], b"\0" * 8)})
    with pytest.raises(vsdb.VsdbError, match="unsupported tensor dtype"):
        read_safetensors(io.BytesIO(bad))
    blob = write_safetensors({"x": ("F32", [4], b"\0" * 16)})
    with pytest.raises(vsdb.VsdbError, match="does not fit"):
        read_safetensors(io.BytesIO(blob), content_length=len(blob) - 4)
