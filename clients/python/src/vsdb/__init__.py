"""Python client of ``vsdb serve``, the HTTP server of vsdb (an embedded
database for neural-network parameters).

Start a server (``vsdb serve --root ~/models``), then::

    import vsdb

    db = vsdb.connect()                       # $VSDB_URL or http://127.0.0.1:7070, token $VSDB_TOKEN
    db.ingest("all-MiniLM-L6-v2/model.safetensors", name="minilm")   # a path under the server's --root
    db.models()                               # SHOW MODELS, a pandas.DataFrame
    db.query("SHOW TENSORS FROM minilm WHERE layer = 'encoder.layer.0'")   # a DataFrame

    fused = db.fuse(["minilm:encoder.layer.0", "minilm:encoder.layer.1"], weights=[0.5, 0.5])
    fused["encoder.layer.0.attention.self.query.weight"]   # a numpy.ndarray
    fused.table                               # the server's rows for the result, a DataFrame

    w = db.tensor("minilm", "embeddings.word_embeddings.weight")      # one numpy.ndarray

What comes back:

- ``Client.query(statement)`` returns a ``pandas.DataFrame`` for statements
  that return a table (SHOW, DESCRIBE, STATS, DIFF, EXPLAIN, INGEST,
  EXPORT, ``FUSE ... INTO``), and a :class:`TensorResult` for statements
  that return tensors (``GET``, ``FUSE`` without ``INTO``): an ordered,
  read-only mapping from tensor name to ``numpy.ndarray`` with ``.table``,
  ``.array`` (the only tensor) and a notebook HTML view.
- Arrays have the stored dtype and shape (F64, F32, F16, I64, ..., U8,
  BOOL as numpy's). BF16 and F8 (E4M3, E5M2) come back as ml_dtypes'
  ``bfloat16`` / ``float8_*`` when ml_dtypes is installed, else widened to
  float32, exactly.
- Every failure raises :class:`VsdbError` with ``.message``, ``.status``
  (HTTP status, None when the server could not be reached) and ``.line`` /
  ``.column`` for statement errors; ``str()`` adds a caret under the bad
  token.

Statements are plain strings in vsdb's language (docs/QUERY.md);
:mod:`vsdb.statements` builds them from Python values with names quoted as
needed, as ``Client.fuse``, ``ingest`` and ``export`` do.
"""

from __future__ import annotations

from . import statements
from ._safetensors import read_safetensors
from .client import DEFAULT_URL, Client, __version__, connect, table
from .errors import VsdbError
from .result import TensorResult

__all__ = [
    "Client",
    "DEFAULT_URL",
    "TensorResult",
    "VsdbError",
    "__version__",
    "connect",
    "read_safetensors",
    "statements",
    "table",
]
