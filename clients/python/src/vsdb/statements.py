"""Building vsdb statements from Python values, quoted as the language wants.

The lexical rules are docs/QUERY.md's: model names are identifiers
``[A-Za-z_][A-Za-z0-9_-]*`` or single-quoted strings (a quote inside is
doubled: ``'it''s'``); tensor paths after ``:`` are dotted components
``[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*`` or single-quoted strings. Double
quotes are not string delimiters in vsdb. Keywords are not reserved, but
names spelled like one are quoted anyway, which is always allowed.

    >>> fuse(["minilm:encoder.layer.0", "minilm:encoder.layer.1"], weights=[0.5, 0.5])
    'FUSE minilm:encoder.layer.0, minilm:encoder.layer.1 WEIGHTS 0.5, 0.5'
    >>> fuse([("my model", "a/b"), "b"], method="slerp", options={"t": 0.3})
    "FUSE 'my model':'a/b', b USING slerp(t = 0.3)"
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from typing import Union

__all__ = [
    "Selector",
    "Weight",
    "OptionValue",
    "quote_string",
    "quote_model",
    "quote_path",
    "selector",
    "number",
    "fuse",
    "ingest",
    "export",
]

Selector = Union[str, "tuple[str, str]"]
"""A FUSE/GET/DIFF input: ``"model"``, ``"model:path"``, or ``(model, path)``."""
Weight = Union[float, int, "Sequence[float]"]
"""A weight, or a per-layer gradient ``[v0, ..., vk]``."""
OptionValue = Union[bool, float, int, str]

_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
_PATH = r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*"
_STRING = r"'(?:[^']|'')*'"
_IDENT_RE = re.compile(_IDENT + r"\Z")
_PATH_RE = re.compile(_PATH + r"\Z")
_SELECTOR_RE = re.compile(
    rf"\s*(?:{_IDENT}|{_STRING})(?:\s*:\s*(?:{_PATH}|{_STRING}))?\s*\Z"
)
_CODEC_RE = re.compile(rf"\s*{_IDENT}\s*(?:\(.*\))?\s*\Z", re.S)

# Every keyword of the grammar: a name spelled like one is quoted.
KEYWORDS = frozenset(
    """FUSE WEIGHTS USING TRUE FALSE BASE INTO SHOW MODELS LAYERS OF TENSORS FROM
    WHERE OR AND NOT LIKE GET DESCRIBE STATS DIFF DELETE MODEL CHECK EXPLAIN
    ANALYZE INGEST AS CODEC EXPORT TO COMPRESS ATTACH ALL DETACH VACUUM""".split()
)


def quote_string(s: str) -> str:
    """A single-quoted string literal: ``it's`` -> ``'it''s'``."""
    return "'" + s.replace("'", "''") + "'"


def quote_model(name: str) -> str:
    """A model name: bare when it is an identifier (and not a keyword), else quoted."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a model name must be a non-empty string, not {name!r}")
    if _IDENT_RE.match(name) and name.upper() not in KEYWORDS:
        return name
    return quote_string(name)


def quote_path(path: str) -> str:
    """A tensor path after ``:``: bare when it is a dotted path, else quoted."""
    if not isinstance(path, str) or not path:
        raise ValueError(f"a tensor path must be a non-empty string, not {path!r}")
    return path if _PATH_RE.match(path) else quote_string(path)


def selector(sel: Selector) -> str:
    """A selector.

    ``(model, path)`` is always quoted as needed. A string that already is a
    valid selector (``m``, ``m:encoder.layer.0``, ``'my model':'a b'``) is
    used as written; any other string is split at its first ``:`` into model
    and path (``"my model:a b"``), or is a whole model's name.
    """
    if isinstance(sel, tuple):
        if len(sel) != 2:
            raise ValueError(f"a selector tuple is (model, path), not {sel!r}")
        return f"{quote_model(sel[0])}:{quote_path(sel[1])}"
    if not isinstance(sel, str) or not sel.strip():
        raise ValueError(f"a selector must be a non-empty string or (model, path), not {sel!r}")
    if _SELECTOR_RE.match(sel):
        model = sel.split(":", 1)[0].strip()
        if model.upper() not in KEYWORDS:
            return sel.strip()
    if ":" in sel:
        model, path = sel.split(":", 1)
        return f"{quote_model(model)}:{quote_path(path)}"
    return quote_model(sel)


def number(x: float | int) -> str:
    """A number literal: the shortest decimal that reads back as the same float."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"expected a number, not {x!r}")
    if isinstance(x, numbers.Integral):
        return str(int(x))
    f = float(x)
    if not math.isfinite(f):
        raise ValueError(f"numbers must be finite, not {f!r}")
    if f.is_integer() and abs(f) < 1e16:
        return str(int(f))
    return repr(f)


def _weight(w: Weight) -> str:
    if isinstance(w, (str, bytes)):
        raise TypeError(f"a weight is a number or a list of numbers, not {w!r}")
    if isinstance(w, Sequence) or (hasattr(w, "__iter__") and hasattr(w, "__len__")):
        return "[" + ", ".join(number(v) for v in w) + "]"
    return number(w)


def _option(key: str, value: OptionValue) -> str:
    if not isinstance(key, str) or not _IDENT_RE.match(key):
        raise ValueError(f"an option key must be an identifier, not {key!r}")
    if isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, str):
        text = quote_string(value)
    else:
        text = number(value)
    return f"{key} = {text}"


def _options(options: Mapping[str, OptionValue] | None) -> str:
    if not options:
        return ""
    return "(" + ", ".join(_option(k, v) for k, v in options.items()) + ")"


def _method(method: str) -> str:
    if not isinstance(method, str) or not _IDENT_RE.match(method):
        raise ValueError(f"a method must be an identifier, not {method!r}")
    return method


def fuse(
    inputs: Sequence[Selector],
    weights: Sequence[Weight] | None = None,
    method: str | None = None,
    options: Mapping[str, OptionValue] | None = None,
    base: str | None = None,
    into: str | None = None,
    *,
    where: str | None = None,
) -> str:
    """The statement ``FUSE inputs [WEIGHTS ...] [USING method(options)] [BASE b] [WHERE expr] [INTO m]``.

    ``where`` is a WHERE expression in the language, used as written
    (``"param LIKE 'attention.%'"``). The server checks the rest (counts,
    methods, options) and reports errors with their position.
    """
    if isinstance(inputs, (str, tuple)):
        raise TypeError("inputs is a list of selectors, e.g. ['m:encoder.layer.0', 'm:encoder.layer.1']")
    parts = ["FUSE " + ", ".join(selector(s) for s in inputs)]
    if weights is not None:
        if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
            weights = list(weights)
        parts.append("WEIGHTS " + ", ".join(_weight(w) for w in weights))
    if method is not None:
        parts.append(f"USING {_method(method)}{_options(options)}")
    elif options:
        raise ValueError("options need a method")
    if weights is None and method is None:
        raise ValueError("FUSE needs weights, a method, or both")
    if base is not None:
        parts.append(f"BASE {quote_model(base)}")
    if where is not None:
        parts.append(f"WHERE {where}")
    if into is not None:
        parts.append(f"INTO {quote_model(into)}")
    return " ".join(parts)


def ingest(
    path: str | os.PathLike[str],
    name: str | None = None,
    codec: str | None = None,
    base: str | None = None,
    *,
    codec_options: Mapping[str, OptionValue] | None = None,
) -> str:
    """The statement ``INGEST 'path' [AS name] [BASE base] [CODEC codec[(options)]]``.

    ``codec`` is a name (``"q8"``, ``"auto"``, ``"lowrank"``) with options in
    ``codec_options`` (``{"budget": 0.01}``), or written out whole
    (``"auto(budget = 0.01)"``).
    """
    parts = ["INGEST " + quote_string(os.fspath(path))]
    if name is not None:
        parts.append(f"AS {quote_model(name)}")
    if base is not None:
        parts.append(f"BASE {quote_model(base)}")
    if codec is not None:
        if _IDENT_RE.match(codec):
            parts.append(f"CODEC {codec}{_options(codec_options)}")
        elif _CODEC_RE.match(codec) and not codec_options:
            parts.append(f"CODEC {codec.strip()}")
        else:
            raise ValueError(f"bad codec {codec!r}")
    elif codec_options:
        raise ValueError("codec_options need a codec")
    return " ".join(parts)


def export(model: str, path: str | os.PathLike[str]) -> str:
    """The statement ``EXPORT model TO 'path'``."""
    return f"EXPORT {quote_model(model)} TO {quote_string(os.fspath(path))}"
