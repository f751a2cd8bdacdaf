"""One JSON error shape for every HTTP answer: `{"error": {"code", "message", "field", "hint"}}`.

`kg` errors are translated here, once, at the boundary.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from kg.errors import (
    AlreadyExistsError,
    InvalidStateError,
    ModelKGError,
    NotFoundError,
    QueryError,
    QueryKilledError,
    QueryRefused,
    StoreError,
    TooBusyError,
    UsageError,
)

__all__ = [
    "HttpError",
    "error_response",
    "from_modelkg_error",
    "timed_out",
    "too_large",
    "writable",
]


class HttpError(Exception):
    """An error the app answers with `status` and the JSON error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.hint = hint

    def response(self) -> JSONResponse:
        return error_response(
            self.status, self.code, self.message, field=self.field, hint=self.hint
        )


def error_response(
    status: int, code: str, message: str, *, field: str | None = None, hint: str | None = None
) -> JSONResponse:
    """The JSON error body every endpoint uses. A message quotes what the client sent, which
    may hold what UTF-8 cannot carry (a lone surrogate, from a parser's message): escaped."""
    body = {
        "error": {
            "code": code,
            "message": writable(message),
            "field": None if field is None else writable(field),
            "hint": None if hint is None else writable(hint),
        }
    }
    return JSONResponse(body, status_code=status)


def writable(text: str) -> str:
    """`text` with anything UTF-8 cannot encode (lone surrogates) written as `\\udXXX`.

    >>> writable("bad ->\\udbc0<- here")
    'bad ->\\\\udbc0<- here'
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


_REFUSED_STATUS = {
    "query_too_large": 413,
    "query_too_deep": 400,
    "wrong_operation": 400,
    "bad_graph_uri": 400,
}
"""A refused SPARQL request is 403 (SERVICE, LOAD, a protected graph) unless listed here."""


def from_modelkg_error(exc: ModelKGError) -> HttpError:
    """A `kg` error as an HTTP error: bad input is 400, a refused request 403 (413 too large),
    too many queries 429 (503 for the whole server), a timeout or a store problem 503."""
    if isinstance(exc, QueryRefused):
        status = _REFUSED_STATUS.get(exc.code, 403)
        return HttpError(status, exc.code, exc.message, field=exc.field or "query", hint=exc.hint)
    if isinstance(exc, QueryError):
        return HttpError(400, "malformed_query", exc.message, field="query", hint=exc.hint)
    if isinstance(exc, TooBusyError):
        status = 429 if exc.per_client else 503
        return HttpError(status, "too_many_queries", exc.message, field="query", hint=exc.hint)
    if isinstance(exc, QueryKilledError):
        if exc.timed_out:
            return timed_out()
        return HttpError(400, "query_crashed", exc.message, field="query")
    if isinstance(exc, StoreError):
        return HttpError(503, "store_unavailable", str(exc), hint=exc.hint)
    for kind, status, code in _LIFECYCLE:
        if isinstance(exc, kind):
            return HttpError(status, code, exc.message, field=exc.field, hint=exc.hint)
    code = "bad_option" if isinstance(exc, UsageError) else "bad_input"
    return HttpError(400, code, exc.message, field=exc.field, hint=exc.hint)


_LIFECYCLE: tuple[tuple[type[ModelKGError], int, str], ...] = (
    (NotFoundError, 404, "not_found"),
    (AlreadyExistsError, 409, "already_exists"),
    (InvalidStateError, 409, "invalid_state"),
)
"""Lifecycle refusals that are not bad input: an unknown record, a taken name, a state that
forbids the write (an ended run, a rejected version)."""


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def too_large(cap: int) -> HttpError:
    return HttpError(
        400,
        "result_too_large",
        f"the result is larger than this server's cap of {_size(cap)}",
        field="query",
        hint="ask for less: add LIMIT (and page with OFFSET), or select fewer variables",
    )


def timed_out(seconds: float | None = None) -> HttpError:
    within = f" within {seconds:g} s" if seconds is not None else ""
    return HttpError(
        503,
        "query_timeout",
        f"the query did not finish{within}, this server's query timeout",
        field="query",
        hint="narrow the query (more selective patterns, LIMIT), or ask the operator for a "
        "longer --query-timeout",
    )
