"""The one exception type of the vsdb client."""

from __future__ import annotations

from typing import Any


class VsdbError(Exception):
    """An error from the server, or from talking to it.

    Attributes:
        message: the server's one-line message, e.g.
            ``"vsdb: 1:6: unexpected token ..."``.
        line, column: 1-based position of the error in the statement
            (0 when the error has no position).
        status: the HTTP status (400 bad statement, 401 missing or wrong
            token, 403 a path outside the server's root, 404 not found,
            413 too large, 503 shutting down, 504 timeout, 500), or ``None``
            when no answer came (connection refused, broken response).
        statement: the statement that failed, when there was one.

    ``str(err)`` is the message and, for positioned errors, the statement's
    line with a caret under the offending token::

        vsdb: 1:6: unexpected token "MODLES" (expected ...)
        SHOW MODLES
             ^
    """

    def __init__(
        self,
        message: str,
        *,
        line: int = 0,
        column: int = 0,
        status: int | None = None,
        statement: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.status = status
        self.statement = statement

    def caret(self) -> str:
        """The statement's offending line with a caret under the column, or ""."""
        if self.line <= 0 or self.column <= 0 or not self.statement:
            return ""
        lines = self.statement.split("\n")
        if self.line > len(lines):
            return ""
        src = lines[self.line - 1].rstrip("\r")
        if self.column > len(src) + 1:
            return ""
        # Columns count characters; tabs are copied so the caret lines up.
        pad = "".join("\t" if c == "\t" else " " for c in src[: self.column - 1])
        return f"{src}\n{pad}^"

    def __str__(self) -> str:
        caret = self.caret()
        return f"{self.message}\n{caret}" if caret else self.message

    def __repr__(self) -> str:
        return (
            f"VsdbError({self.message!r}, line={self.line}, column={self.column}, "
            f"status={self.status})"
        )

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # keep the attributes through pickling
        return (
            _rebuild,
            (self.message, self.line, self.column, self.status, self.statement),
        )


def _rebuild(
    message: str, line: int, column: int, status: int | None, statement: str | None
) -> VsdbError:
    return VsdbError(message, line=line, column=column, status=status, statement=statement)
