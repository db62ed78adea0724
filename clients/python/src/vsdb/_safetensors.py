"""Reading a safetensors stream into numpy arrays with as few copies as possible.

The layout is: 8 bytes of little-endian header length N, N bytes of JSON
header (``{"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
"__metadata__": {str: str}}``), then the data, offsets counted from the
data's start. The data is read straight from the stream into one
preallocated ``bytearray`` (``readinto``); every tensor of a dtype numpy
knows is a view into it (``numpy.frombuffer``), so a 100 MB tensor is held
once. BF16 and F8 become views too when ml_dtypes is importable; without it
they are widened to float32 (exact), which needs a new array.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, BinaryIO, Protocol

import numpy as np

from .errors import VsdbError

# The largest JSON header accepted (the safetensors library's own limit).
MAX_HEADER = 100 << 20

# safetensors dtype name -> little-endian numpy dtype, for the dtypes numpy has.
PLAIN_DTYPES: dict[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}

# dtypes numpy lacks: name -> (bytes per element, ml_dtypes attribute).
EXOTIC_DTYPES: dict[str, tuple[int, str]] = {
    "BF16": (2, "bfloat16"),
    "F8_E4M3": (1, "float8_e4m3fn"),
    "F8_E5M2": (1, "float8_e5m2"),
}


class _Readable(Protocol):
    def readinto(self, b: Any, /) -> int | None: ...


def _ml_dtypes() -> Any | None:
    try:
        import ml_dtypes  # type: ignore[import-not-found]
    except ImportError:
        return None
    return ml_dtypes


def _f8_table(exp_bits: int, man_bits: int, fn: bool) -> np.ndarray:
    """float32 value of every byte of an 8-bit float (1 sign bit).

    fn: the "finite" variant (E4M3FN): no infinities, only S.1111.111 is
    NaN. Otherwise IEEE-like (E5M2): an all-ones exponent is Inf or NaN.
    """
    bias = (1 << (exp_bits - 1)) - 1
    top = (1 << exp_bits) - 1
    out = np.empty(256, dtype=np.float32)
    for b in range(256):
        sign = -1.0 if b & 0x80 else 1.0
        e = (b >> man_bits) & top
        m = b & ((1 << man_bits) - 1)
        if fn and e == top and m == (1 << man_bits) - 1:
            v = math.nan
        elif not fn and e == top:
            v = math.inf if m == 0 else math.nan
        elif e == 0:
            v = math.ldexp(m, 1 - bias - man_bits)
        else:
            v = math.ldexp((1 << man_bits) + m, e - bias - man_bits)
        out[b] = math.copysign(v, sign)
    return out


F8_TABLES: dict[str, np.ndarray] = {
    "F8_E4M3": _f8_table(4, 3, fn=True),
    "F8_E5M2": _f8_table(5, 2, fn=False),
}


def numpy_dtype(name: str, use_ml_dtypes: bool | None = None) -> np.dtype:
    """The numpy dtype a tensor of safetensors dtype ``name`` comes back as."""
    if name in PLAIN_DTYPES:
        return np.dtype(PLAIN_DTYPES[name])
    if name in EXOTIC_DTYPES:
        mld = _ml_dtypes() if use_ml_dtypes is not False else None
        if mld is not None:
            dt: np.dtype = np.dtype(getattr(mld, EXOTIC_DTYPES[name][1]))
            return dt
        if use_ml_dtypes:
            raise VsdbError("vsdb: use_ml_dtypes=True but ml_dtypes is not installed")
        return np.dtype(np.float32)
    raise VsdbError(f"vsdb: unsupported tensor dtype {name!r}")


def _element_size(name: str) -> int:
    if name in PLAIN_DTYPES:
        return np.dtype(PLAIN_DTYPES[name]).itemsize
    if name in EXOTIC_DTYPES:
        return EXOTIC_DTYPES[name][0]
    raise VsdbError(f"vsdb: unsupported tensor dtype {name!r}")


def read_exact(stream: _Readable, n: int) -> bytearray:
    buf = bytearray(n)
    readinto_exact(stream, buf)
    return buf


def readinto_exact(stream: _Readable, buf: bytearray | np.ndarray) -> None:
    """Fill buf from stream, or raise VsdbError on a short read."""
    view = memoryview(buf)
    pos = 0
    n = len(buf)
    while pos < n:
        got = stream.readinto(view[pos:])
        if not got:
            raise VsdbError(
                f"vsdb: truncated safetensors response: got {pos} of {n} bytes",
            )
        pos += got


def _decode(
    buf: bytearray | np.ndarray, name: str, info: Any, use_ml_dtypes: bool | None
) -> np.ndarray:
    if not isinstance(info, dict):
        raise VsdbError(f"vsdb: bad safetensors header entry for {name!r}")
    dtype = info.get("dtype")
    shape = info.get("shape")
    offsets = info.get("data_offsets")
    if (
        not isinstance(dtype, str)
        or not isinstance(shape, list)
        or not all(isinstance(d, int) and d >= 0 for d in shape)
        or not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) for o in offsets)
    ):
        raise VsdbError(f"vsdb: bad safetensors header entry for {name!r}: {info!r}")
    begin, end = offsets
    count = math.prod(shape)
    size = _element_size(dtype)
    if not 0 <= begin <= end <= len(buf) or end - begin != count * size:
        raise VsdbError(
            f"vsdb: tensor {name!r}: data_offsets {offsets} do not match "
            f"{dtype} {shape} in {len(buf)} data bytes"
        )
    target = numpy_dtype(dtype, use_ml_dtypes)
    if count == 0:
        return np.empty(shape, dtype=target)
    if dtype in PLAIN_DTYPES or target.itemsize == size:
        # A view into the buffer: numpy's own dtypes, or ml_dtypes'.
        arr = np.frombuffer(buf, dtype=target, count=count, offset=begin)
        if dtype not in PLAIN_DTYPES and sys.byteorder == "big":
            arr = arr.byteswap()
        if not arr.flags.aligned:  # an odd offset: copy once to aligned memory
            arr = arr.copy()
        return arr.reshape(shape)
    # No ml_dtypes: widen to float32, exactly.
    if dtype == "BF16":
        bits = np.frombuffer(buf, dtype="<u2", count=count, offset=begin)
        wide = bits.astype(np.uint32)
        wide <<= 16
        return wide.view(np.float32).reshape(shape)
    raw = np.frombuffer(buf, dtype=np.uint8, count=count, offset=begin)
    return F8_TABLES[dtype][raw].reshape(shape)


def read_safetensors(
    stream: _Readable | BinaryIO,
    *,
    use_ml_dtypes: bool | None = None,
    content_length: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read one safetensors file from ``stream``.

    Returns the tensors, in the order of the metadata's ``vsdb.order`` when
    present (else by data offset), and the ``__metadata__`` strings.
    ``use_ml_dtypes``: None uses ml_dtypes for BF16/F8 when importable,
    False always widens them to float32, True requires ml_dtypes.
    """
    head = read_exact(stream, 8)  # type: ignore[arg-type]
    n = int.from_bytes(head, "little")
    if n > MAX_HEADER:
        raise VsdbError(f"vsdb: safetensors header of {n} bytes is larger than {MAX_HEADER}")
    if content_length is not None and 8 + n > content_length:
        raise VsdbError(
            f"vsdb: safetensors header of {n} bytes does not fit a {content_length}-byte response"
        )
    try:
        header = json.loads(bytes(read_exact(stream, n)))  # type: ignore[arg-type]
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise VsdbError(f"vsdb: bad safetensors header: {e}") from None
    if not isinstance(header, dict):
        raise VsdbError("vsdb: bad safetensors header: not a JSON object")
    meta_raw = header.pop("__metadata__", None) or {}
    metadata = {str(k): str(v) for k, v in meta_raw.items()} if isinstance(meta_raw, dict) else {}
    data_size = 0
    for name, info in header.items():
        try:
            data_size = max(data_size, int(info["data_offsets"][1]))
        except (TypeError, KeyError, IndexError, ValueError):
            raise VsdbError(f"vsdb: bad safetensors header entry for {name!r}") from None
    if content_length is not None and 8 + n + data_size > content_length:
        raise VsdbError(
            f"vsdb: safetensors data of {data_size} bytes does not fit a {content_length}-byte response"
        )
    # Uninitialised memory: a zeroed bytearray would touch every page once
    # more before the socket fills it (a third of a 100 MB fetch).
    buf = np.empty(data_size, dtype=np.uint8)
    readinto_exact(stream, buf)  # type: ignore[arg-type]

    names = list(header)
    order = metadata.get("vsdb.order")
    listed: list[str] = []
    if order:
        try:
            listed = [x for x in json.loads(order) if x in header]
        except (json.JSONDecodeError, TypeError):
            listed = []
    rest = sorted((x for x in names if x not in set(listed)), key=lambda x: header[x]["data_offsets"][0])
    tensors = {name: _decode(buf, name, header[name], use_ml_dtypes) for name in listed + rest}
    return tensors, metadata


def write_safetensors(
    tensors: dict[str, tuple[str, list[int], bytes]],
    metadata: dict[str, str] | None = None,
) -> bytes:
    """Encode tensors given as (safetensors dtype, shape, raw little-endian bytes).

    A small helper for tests and for saving raw bytes of dtypes numpy lacks.
    """
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = metadata
    pos = 0
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [pos, pos + len(data)]}
        pos += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    return len(text).to_bytes(8, "little") + text + b"".join(d for _, _, d in tensors.values())
