"""Bounds every request shares, and the access log: plain ASGI middleware.

- `RequestLimits`: a body over the request-size cap gets 413 (checked on `Content-Length`, and
  counted as it streams for chunked bodies); a SPARQL, GraphQL or REST request still running at
  the query timeout gets 503. Both in the JSON error shape, and the store is untouched: writes
  only start once the body is whole.
- `AccessLog`: one line per request, `method path status latency`, on the `modelkg.access`
  logger (uvicorn's own access log has no latency).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLog", "RequestLimits"]

access_logger = logging.getLogger("modelkg.access")

_TIMED = ("/sparql", "/graphql", "/api/")


class _TooLargeError(Exception):
    pass


def _error_body(code: str, message: str, hint: str, field: str | None = None) -> bytes:
    return json.dumps(
        {"error": {"code": code, "message": message, "field": field, "hint": hint}}
    ).encode()


async def _send_error(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length",
                        str(len(body)).encode())],
        }
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """413 past `max_bytes` of request body, 503 past `timeout` seconds (see module docstring)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    def _too_large(self) -> bytes:
        return _error_body(
            "request_too_large",
            f"the request body is larger than this server's cap of {self.max_bytes:,} bytes",
            "send less per request (split an ingest into several), or ask the operator for a "
            "larger --max-request-bytes",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_error(send, 413, self._too_large())
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLargeError
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        timed = str(scope.get("path", "")).startswith(_TIMED)
        try:
            if timed:
                async with asyncio.timeout(self.timeout):
                    await self.app(scope, counted_receive, tracked_send)
            else:
                await self.app(scope, counted_receive, tracked_send)
        except _TooLargeError:
            if not started:
                await _send_error(send, 413, self._too_large())
        except TimeoutError:
            if not started:
                await _send_error(
                    send,
                    503,
                    _error_body(
                        "query_timeout",
                        f"the request did not finish within {self.timeout:g} s, this server's "
                        "query timeout",
                        "narrow the query (more selective patterns, smaller pages), or ask the "
                        "operator for a longer --query-timeout",
                        field="query",
                    ),
                )


class AccessLog:
    """Log `method path status latency-ms` for each HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            elapsed = (time.perf_counter() - start) * 1000
            client = scope.get("client")
            access_logger.info(
                '%s "%s %s" %s %.1f ms',
                f"{client[0]}:{client[1]}" if client else "-",
                scope.get("method"),
                scope.get("path"),
                status["code"],
                elapsed,
            )
