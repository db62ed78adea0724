"""The HTTP client of ``vsdb serve``."""

from __future__ import annotations

import http.client
import json
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import statements as st
from ._safetensors import read_safetensors
from .errors import VsdbError
from .result import TensorResult

DEFAULT_URL = "http://127.0.0.1:7070"
DEFAULT_TIMEOUT = 600.0  # the server's own statement timeout is 10 minutes
SAFETENSORS_TYPE = "application/vnd.vsdb.safetensors"
# Error bodies are small; a larger one is cut here.
_MAX_ERROR_BODY = 1 << 20

try:
    from importlib.metadata import version as _version

    __version__ = _version("vsdb")
except Exception:  # not installed, e.g. run from the source tree
    __version__ = "0.1.0"

def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], statement: str | None = None) -> pd.DataFrame:
    """A DataFrame of a JSON table ``{"columns": [...], "rows": [[...], ...]}``.

    Values keep their JSON types (a shape stays a list in its cell; null is
    None, or NaN in a numeric column); an empty table keeps its columns.
    """
    cols = [str(c) for c in columns]
    data = [list(r) for r in rows]
    if any(len(r) != len(cols) for r in data):
        raise VsdbError(f"vsdb: a result row does not have {len(cols)} values")
    # Column by column (keyed by position: names may repeat), so that list
    # values stay whole in one cell.
    df = pd.DataFrame({i: [r[i] for r in data] for i in range(len(cols))}, index=range(len(data)))
    if not data:
        df = df.astype(object)
    df.columns = pd.Index(cols)
    if statement is not None:
        df.attrs["statement"] = statement
    return df


class Client:
    """A connection to one ``vsdb serve``.

    Every call is one HTTP request; a Client holds no socket between calls
    and may be shared by threads.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        *,
        use_ml_dtypes: bool | None = None,
    ) -> None:
        url = url or os.environ.get("VSDB_URL") or DEFAULT_URL
        if "://" not in url:
            url = "http://" + url
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL, not {url!r}")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self.token = token if token is not None else os.environ.get("VSDB_TOKEN") or None
        self.timeout = timeout
        self.use_ml_dtypes = use_ml_dtypes

    def __repr__(self) -> str:
        return f"vsdb.Client({self.url!r}{', token=***' if self.token else ''})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release (no connection is kept); here for ``with``."""

    # -- transport -------------------------------------------------------

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return cls(self._host, self._port, timeout=self.timeout)

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        statement: str | None = None,
    ) -> Any:
        """One request; returns parsed JSON, a TensorResult, or text."""
        headers = {"User-Agent": f"vsdb-python/{__version__}", "Accept": f"application/json, {SAFETENSORS_TYPE}"}
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        conn = self._connect()
        try:
            try:
                conn.request(method, self._prefix + path, body=data, headers=headers)
                resp = conn.getresponse()
            except TimeoutError as e:
                raise VsdbError(f"vsdb: no answer from {self.url} within {self.timeout}s", statement=statement) from e
            except (OSError, http.client.HTTPException) as e:
                raise VsdbError(f"vsdb: cannot reach {self.url}: {e}", statement=statement) from e
            try:
                return self._read(resp, statement)
            except (OSError, http.client.HTTPException) as e:
                if isinstance(e, TimeoutError):
                    msg = f"vsdb: no answer from {self.url} within {self.timeout}s"
                else:
                    msg = f"vsdb: the response from {self.url} broke off: {e}"
                raise VsdbError(msg, status=resp.status, statement=statement) from e
        finally:
            conn.close()

    def _read(self, resp: http.client.HTTPResponse, statement: str | None) -> Any:
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if resp.status >= 400:
            raw = resp.read(_MAX_ERROR_BODY)
            message, line, column = "", 0, 0
            try:
                err = json.loads(raw)
                message = str(err.get("error") or "")
                line = int(err.get("line") or 0)
                column = int(err.get("column") or 0)
            except (ValueError, AttributeError, TypeError):
                message = raw.decode("utf-8", "replace").strip()
            if not message:
                message = f"HTTP {resp.status} {resp.reason}"
            if not message.startswith("vsdb:"):
                message = "vsdb: " + message
            raise VsdbError(message, line=line, column=column, status=resp.status, statement=statement)
        if ctype == SAFETENSORS_TYPE or ctype == "application/octet-stream":
            length = resp.getheader("Content-Length")
            tensors, metadata = read_safetensors(
                resp,
                use_ml_dtypes=self.use_ml_dtypes,
                content_length=int(length) if length and length.isdigit() else None,
            )
            tab = None
            if "vsdb.columns" in metadata and "vsdb.rows" in metadata:
                try:
                    tab = table(json.loads(metadata["vsdb.columns"]), json.loads(metadata["vsdb.rows"]), statement)
                except (ValueError, TypeError) as e:
                    raise VsdbError(f"vsdb: bad vsdb.columns/vsdb.rows metadata: {e}", statement=statement) from None
            return TensorResult(tensors, tab, metadata, statement)
        raw = resp.read()
        if ctype == "application/json":
            try:
                return json.loads(raw)
            except ValueError as e:
                raise VsdbError(f"vsdb: bad JSON from the server: {e}", status=resp.status, statement=statement) from None
        return raw.decode("utf-8", "replace")

    # -- statements ------------------------------------------------------

    def query(self, statement: str) -> pd.DataFrame | TensorResult:
        """Run one statement.

        Returns a ``pandas.DataFrame`` for statements that return a table
        (SHOW, DESCRIBE, STATS, DIFF, EXPLAIN, INGEST, ...), and a
        :class:`TensorResult` (an ordered mapping name -> numpy array) for
        statements that return tensors (``GET m:name``, ``FUSE`` without
        ``INTO``). Raises :class:`VsdbError` on any error.
        """
        if not isinstance(statement, str):
            raise TypeError(f"a statement is a string, not {type(statement).__name__}")
        out = self._request("POST", "/v1/query", {"statement": statement}, statement=statement)
        if isinstance(out, TensorResult):
            return out
        if isinstance(out, dict) and "columns" in out:
            return table(out["columns"], out.get("rows") or [], statement)
        raise VsdbError(f"vsdb: unexpected answer to a query: {str(out)[:200]!r}", statement=statement)

    def tensor(self, model: str, name: str) -> np.ndarray:
        """One stored tensor as a numpy array (``GET /v1/tensor``)."""
        q = urllib.parse.urlencode({"model": model, "name": name})
        out = self._request("GET", f"/v1/tensor?{q}")
        if not isinstance(out, TensorResult):
            raise VsdbError(f"vsdb: expected a tensor from /v1/tensor, got {str(out)[:200]!r}")
        if len(out) == 1:
            return out.array
        if name in out:
            return out[name]
        raise VsdbError(f"vsdb: /v1/tensor returned {len(out)} tensors, not {name!r}")

    def get(self, selector: st.Selector) -> TensorResult:
        """``GET selector``: the tensors it names."""
        out = self.query("GET " + st.selector(selector))
        if not isinstance(out, TensorResult):
            raise VsdbError("vsdb: GET returned no tensors")
        return out

    def fuse(
        self,
        inputs: Sequence[st.Selector],
        weights: Sequence[st.Weight] | None = None,
        method: str | None = None,
        options: Mapping[str, st.OptionValue] | None = None,
        base: str | None = None,
        into: str | None = None,
        *,
        where: str | None = None,
    ) -> pd.DataFrame | TensorResult:
        """Merge tensors, layers or models; see :func:`vsdb.statements.fuse`.

        Without ``into`` the result tensors come back (a TensorResult, named
        after the first input's tensors); with ``into`` they are stored as a
        new model and the server's table comes back.

            db.fuse(["minilm:encoder.layer.0", "minilm:encoder.layer.1"], weights=[0.5, 0.5])
            db.fuse(["ft1", "ft2"], [0.5, 0.5], method="ties", options={"density": 0.3},
                    base="base", into="merged")
        """
        return self.query(st.fuse(inputs, weights, method, options, base, into, where=where))

    def models(self) -> pd.DataFrame:
        """``SHOW MODELS``."""
        return self._table("SHOW MODELS")

    def layers(self, model: str | None = None) -> pd.DataFrame:
        """``SHOW LAYERS [OF model]``."""
        return self._table("SHOW LAYERS" + (f" OF {st.quote_model(model)}" if model else ""))

    def tensors(self, model: str | None = None, where: str | None = None) -> pd.DataFrame:
        """``SHOW TENSORS [FROM model] [WHERE expr]`` (``where`` as written in the language)."""
        s = "SHOW TENSORS"
        if model:
            s += f" FROM {st.quote_model(model)}"
        if where:
            s += f" WHERE {where}"
        return self._table(s)

    def describe(self, model: str) -> pd.DataFrame:
        """``DESCRIBE model``."""
        return self._table(f"DESCRIBE {st.quote_model(model)}")

    def ingest(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        codec: str | None = None,
        base: str | None = None,
        *,
        codec_options: Mapping[str, st.OptionValue] | None = None,
    ) -> pd.DataFrame:
        """``INGEST 'path' [AS name] [BASE base] [CODEC codec]``.

        The path is the server's: a relative one is resolved under the
        server's ``--root``; one outside it is refused (status 403).
        """
        return self._table(st.ingest(path, name, codec, base, codec_options=codec_options))

    def export(self, model: str, path: str | os.PathLike[str]) -> pd.DataFrame:
        """``EXPORT model TO 'path'``, a path on the server (under its ``--root``)."""
        return self._table(st.export(model, path))

    def delete(self, model: str) -> pd.DataFrame:
        """``DELETE MODEL model``."""
        return self._table(f"DELETE MODEL {st.quote_model(model)}")

    def _table(self, statement: str) -> pd.DataFrame:
        out = self.query(statement)
        if isinstance(out, TensorResult):
            return out.table
        return out

    # -- service ---------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /v1/health``: ``{"status": "ok"}`` when the server is up."""
        out = self._request("GET", "/v1/health")
        if not isinstance(out, dict):
            raise VsdbError(f"vsdb: unexpected health answer {str(out)[:200]!r}")
        return out

    def metrics(self) -> str:
        """``GET /metrics``: the server's Prometheus text."""
        out = self._request("GET", "/metrics")
        return out if isinstance(out, str) else json.dumps(out)


def connect(
    url: str | None = None,
    token: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    *,
    use_ml_dtypes: bool | None = None,
) -> Client:
    """A :class:`Client` of the server at ``url``.

    ``url`` defaults to ``$VSDB_URL``, else ``http://127.0.0.1:7070``;
    ``token`` to ``$VSDB_TOKEN``. ``timeout`` (seconds) bounds each socket
    wait. ``use_ml_dtypes``: None (BF16/F8 come back as ml_dtypes' types when
    it is installed, else as exact float32), False (always float32), True
    (require ml_dtypes). No request is made here; call ``health()`` to check.
    """
    return Client(url, token, timeout, use_ml_dtypes=use_ml_dtypes)
