"""Errors answered below the routes (by ASGI middleware or the HTTP protocol itself), each in the
shape the client of that path reads: GraphQL's `{"errors": [...]}` on `/graphql`, MLflow's
`{"error_code", "message"}` under `/api/2.0/mlflow`, ModelKG's `{"error": {...}}` elsewhere.

A refusal that comes before any route runs (a body over the cap, a lone surrogate in the JSON)
must still be readable by the client that sent it: an MLflow client reads `error_code`, a
GraphQL client reads `errors[0].message`.

>>> import json
>>> json.loads(error_body("/api/v1/search", 413, "request_too_large", "too big", hint="less"))
{'error': {'code': 'request_too_large', 'message': 'too big', 'field': None, 'hint': 'less'}}
>>> json.loads(error_body("/api/2.0/mlflow/runs/log-batch", 400, "bad_input", "bad", hint="x"))
{'error_code': 'INVALID_PARAMETER_VALUE', 'message': 'bad (x)'}
>>> json.loads(error_body("/graphql", 400, "bad_input", "bad"))["errors"][0]["extensions"]["code"]
'bad_input'
"""

from __future__ import annotations

import json

from starlette.types import Send

__all__ = ["error_body", "send_error"]

_MLFLOW_CODES = {400: "INVALID_PARAMETER_VALUE", 408: "BAD_REQUEST", 413: "INVALID_PARAMETER_VALUE"}
"""MLflow's error code for a status refused before its routes run (its client reads the code)."""


def error_body(
    path: str,
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    hint: str | None = None,
) -> bytes:
    """The JSON body of an error on `path`, in that surface's shape."""
    body: object
    if path == "/graphql" or path.startswith("/graphql/"):
        extensions = {"code": code, "field": field, "hint": hint}
        body = {"data": None, "errors": [{"message": message, "extensions": extensions}]}
    elif path.startswith("/api/2.0/mlflow"):
        error_code = _MLFLOW_CODES.get(status, "BAD_REQUEST")
        body = {"error_code": error_code, "message": message + (f" ({hint})" if hint else "")}
    else:
        body = {"error": {"code": code, "message": message, "field": field, "hint": hint}}
    return json.dumps(body).encode()


async def send_error(send: Send, path: str, status: int, code: str, message: str, *,
                     field: str | None = None, hint: str | None = None) -> None:  # fmt: skip
    """Answer `status` with `error_body` through an ASGI `send`."""
    body = error_body(path, status, code, message, field=field, hint=hint)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
