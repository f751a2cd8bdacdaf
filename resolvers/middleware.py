"""Bounds every request shares, and the access log: plain ASGI middleware.

- `RequestLimits`: a body over the request-size cap gets 413 (checked on `Content-Length`, and
  counted as it streams for chunked bodies, even when the route's body parser would have called
  the cut-off body malformed); a SPARQL, GraphQL or REST request still running at the query
  timeout gets 503, or 408 when it was still waiting for its body (the client was slow, not
  the query). All in the error shape of the path's surface (`resolvers.surface_errors`), and the
  store is untouched: writes only start once the body is whole.
- `AccessLog`: one line per request, `method path status latency`, on the `modelkg.access`
  logger (uvicorn's own access log has no latency).
- `read_body`: a whole request body read ahead by a middleware, and a `receive` that hands it
  to the app again (the JSON guard and the response cache both look at it first).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolvers.surface_errors import send_error

__all__ = ["AccessLog", "RequestLimits"]

access_logger = logging.getLogger("modelkg.access")

_TIMED = ("/sparql", "/graphql", "/api/")


class _TooLargeError(Exception):
    pass


class RequestLimits:
    """413 past `max_bytes` of request body, 503 past `timeout` seconds (see module docstring)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def _too_large(self, send: Send, path: str) -> None:
        await send_error(
            send,
            path,
            413,
            "request_too_large",
            f"the request body is larger than this server's cap of {self.max_bytes:,} bytes",
            hint="send less per request (split an ingest into several), or ask the operator for "
            "a larger --max-request-bytes",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send, path)
            return
        received = 0
        started = over = False
        body_done = scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE")

        async def counted_receive() -> Message:
            nonlocal received, over, body_done
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > self.max_bytes:
                    over = True
                    raise _TooLargeError
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if over:  # the app caught the overflow as a bad body (400): the answer is 413
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            if path.startswith(_TIMED):
                async with asyncio.timeout(self.timeout):
                    await self.app(scope, counted_receive, tracked_send)
            else:
                await self.app(scope, counted_receive, tracked_send)
        except _TooLargeError:
            pass
        except TimeoutError:
            if not started:
                await self._timed_out(send, path, body_done)
            return
        if over and not started:
            await self._too_large(send, path)

    async def _timed_out(self, send: Send, path: str, body_done: bool) -> None:
        if not body_done:  # the client, not the query, was slow
            await send_error(
                send,
                path,
                408,
                "request_timeout",
                f"the request body did not arrive within {self.timeout:g} s",
                hint="send the whole body at once; a client that trickles it is cut off",
            )
            return
        await send_error(
            send,
            path,
            503,
            "query_timeout",
            f"the request did not finish within {self.timeout:g} s, this server's query timeout",
            field="query",
            hint="narrow the query (more selective patterns, smaller pages), or ask the "
            "operator for a longer --query-timeout",
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


async def read_body(receive: Receive) -> tuple[bytes, Receive] | None:
    """The whole request body, and a `receive` that hands it to the app again; None when the
    client left before sending all of it (nothing to answer)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
