"""Results of statements that return tensors."""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

# At most this many tensors are listed in a result's repr.
_REPR_ROWS = 40


def _size(n: int) -> str:
    x = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if x < 1024 or unit == "GiB":
            return f"{int(x)} {unit}" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1024
    return f"{n} B"


class TensorResult(Mapping[str, np.ndarray]):
    """The tensors a statement returned (``GET m:name``, ``FUSE ...`` without ``INTO``).

    A read-only, ordered mapping from tensor name to ``numpy.ndarray``, in the
    server's result order::

        r = db.query("FUSE m:encoder.layer.0, m:encoder.layer.1 WEIGHTS 0.5, 0.5")
        r["encoder.layer.0.attention.self.query.weight"]   # by name
        r[0]                                               # by position
        for name, array in r.items(): ...
        dict(r)                                            # a plain dict
        r.table                                            # the server's rows, a DataFrame
        r.array                                            # the only tensor, when there is one

    The arrays are writable views into one buffer the response was read
    into (BF16/F8 without ml_dtypes are separate float32 arrays).
    """

    def __init__(
        self,
        tensors: dict[str, np.ndarray],
        table: pd.DataFrame | None = None,
        metadata: Mapping[str, str] | None = None,
        statement: str | None = None,
    ) -> None:
        self.tensors: dict[str, np.ndarray] = tensors
        self.metadata: dict[str, str] = dict(metadata or {})
        self.statement = statement
        self._table = table

    # Mapping
    def __getitem__(self, key: str | int) -> np.ndarray:
        if isinstance(key, str):
            return self.tensors[key]
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return list(self.tensors.values())[int(key)]
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.tensors)

    def __len__(self) -> int:
        return len(self.tensors)

    def __contains__(self, key: object) -> bool:
        return key in self.tensors

    @property
    def names(self) -> list[str]:
        """The tensor names, in result order."""
        return list(self.tensors)

    @property
    def array(self) -> np.ndarray:
        """The only tensor; an error when the result holds more or none."""
        if len(self.tensors) != 1:
            raise ValueError(f"the result holds {len(self.tensors)} tensors; pick one by name")
        return next(iter(self.tensors.values()))

    @property
    def nbytes(self) -> int:
        """Bytes of all the arrays."""
        return sum(a.nbytes for a in self.tensors.values())

    @property
    def table(self) -> pd.DataFrame:
        """The server's table of the result (one row per tensor), or a summary."""
        if self._table is not None:
            return self._table
        return self.summary()

    def summary(self) -> pd.DataFrame:
        """Name, numpy dtype, shape and bytes of every returned array."""
        return pd.DataFrame(
            [[n, str(a.dtype), list(a.shape), a.nbytes] for n, a in self.tensors.items()],
            columns=["name", "dtype", "shape", "nbytes"],
        )

    def _title(self) -> str:
        n = len(self.tensors)
        return f"{n} tensor{'s' if n != 1 else ''}, {_size(self.nbytes)}"

    def __repr__(self) -> str:
        lines = [f"TensorResult({self._title()})"]
        for i, (name, a) in enumerate(self.tensors.items()):
            if i == _REPR_ROWS:
                lines.append(f"  ... {len(self.tensors) - _REPR_ROWS} more")
                break
            lines.append(f"  {name}: {a.dtype} {tuple(a.shape)}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        table = self.table
        more = ""
        if len(table) > _REPR_ROWS:
            more = f"<p>… {len(table) - _REPR_ROWS} more rows</p>"
            table = table.head(_REPR_ROWS)
        return (
            f"<div><p><b>TensorResult</b>: {html.escape(self._title())}</p>"
            f"{table.to_html(index=False)}{more}</div>"
        )
