"""One JSON error shape for every HTTP answer: `{"error": {"code", "message", "field", "hint"}}`.

`kg` errors are translated here, once, at the boundary.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from kg.errors import ModelKGError, QueryError, StoreError, UsageError

__all__ = ["HttpError", "error_response", "from_modelkg_error"]


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
    """The JSON error body every endpoint uses."""
    body = {"error": {"code": code, "message": message, "field": field, "hint": hint}}
    return JSONResponse(body, status_code=status)


def from_modelkg_error(exc: ModelKGError) -> HttpError:
    """A `kg` error as an HTTP error: bad input is 400, a store problem 503."""
    if isinstance(exc, QueryError):
        return HttpError(400, "malformed_query", exc.message, hint=exc.hint)
    if isinstance(exc, StoreError):
        return HttpError(503, "store_unavailable", str(exc), hint=exc.hint)
    code = "bad_option" if isinstance(exc, UsageError) else "bad_input"
    return HttpError(400, code, exc.message, field=exc.field, hint=exc.hint)
