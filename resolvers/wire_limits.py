"""Limits on how a request arrives, enforced in the HTTP protocol below the app: slow-loris
clients and oversized request heads are cut off before they cost a task.

What uvicorn (0.54, with httptools) offers and what it leaves out:
- `timeout_keep_alive` closes a connection idle *between* requests, but it is reset by every
  byte received, and no timer at all runs on a fresh connection before its first request:
  a client that connects and sends nothing, or trickles its headers one byte a second, holds
  its socket for ever. ASGI middleware cannot help: the app runs only once the headers are in.
- `h11_max_incomplete_event_size` bounds the request head with the h11 parser only;
  httptools, the parser uvicorn picks when it is installed, has no bound: a 10 MB URL or
  header block is read into memory whole.
- `limit_concurrency` answers 503 past a number of connections or tasks: kept, as
  `--max-connections`.

So `GuardedHttpToolsProtocol` (uvicorn's httptools protocol, extended) adds: a deadline for
the request head (`header_timeout`, from the connection's first byte, or from its opening),
a deadline for the body once the head is in (`body_timeout`), and caps on the URL (414) and
on the head's bytes (431). A client past a deadline gets 408 and the connection is closed; the
app sees the client leave. Answers are ModelKG's JSON error shape, `Connection: close`.

>>> limits = WireLimits(header_timeout=10, body_timeout=60, max_url_bytes=8192,
...                     max_header_bytes=65536)
>>> sorted(uvicorn_options(limits, keep_alive_timeout=5, max_connections=100))
['http', 'limit_concurrency', 'timeout_keep_alive']
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from resolvers.surface_errors import error_body

__all__ = ["GuardedHttpToolsProtocol", "WireLimits", "uvicorn_options"]


@dataclass(frozen=True)
class WireLimits:
    """Seconds and bytes a request may take to arrive."""

    header_timeout: float
    body_timeout: float
    max_url_bytes: int
    max_header_bytes: int


class _RefusedError(Exception):
    def __init__(self, status: int, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint


_REASONS = {408: b"Request Timeout", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines and size caps on the request's arrival."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: WireLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._refused = False

    # -- deadlines ----------------------------------------------------------------------------
    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired, seconds, what)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, seconds: float, what: str) -> None:
        self._deadline = None
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # an answer is under way: it cannot be replaced
            return
        self._refuse(
            _RefusedError(
                408,
                "request_timeout",
                f"the request's {what} did not arrive within {seconds:g} s",
                "send the whole request at once; a client that trickles it is cut off",
            )
        )

    def _refuse(self, refusal: _RefusedError) -> None:
        """Answer `refusal` and close the connection (the app, if running, sees a disconnect)."""
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self._disarm()
        path = str((self.scope or {}).get("path", "")) if self.scope else ""
        body = error_body(path, refusal.status, refusal.code, refusal.message, hint=refusal.hint)
        reason = _REASONS.get(refusal.status, b"Bad Request")
        head = [
            b"HTTP/1.1 %d %s\r\n" % (refusal.status, reason),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join([*head, body]))
        self.transport.close()

    # -- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """uvicorn's, with a refusal raised by a callback below answered as itself."""
        if self._refused:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _RefusedError):
                self._refuse(exc.__context__)
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
        except httptools.HttpParserError:
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    # -- parser callbacks ---------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        if self._deadline is None:  # a kept-alive connection's next request has begun
            self._arm(self.limits.header_timeout, "headers")

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._head_bytes += len(url)
        if len(self.url) > self.limits.max_url_bytes:
            raise _RefusedError(
                414,
                "url_too_long",
                f"the URL is longer than this server's cap of {self.limits.max_url_bytes:,} bytes",
                "send long input in a POST body (SPARQL: an application/sparql-query body)",
            )

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self.limits.max_header_bytes:
            raise _RefusedError(
                431,
                "headers_too_large",
                f"the request's URL and headers are larger than this server's cap of "
                f"{self.limits.max_header_bytes:,} bytes",
                "send fewer or shorter headers (cookies, tokens)",
            )

    def on_headers_complete(self) -> None:
        self._arm(self.limits.body_timeout, "body")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


def uvicorn_options(
    limits: WireLimits, *, keep_alive_timeout: int, max_connections: int | None
) -> dict[str, Any]:
    """The `uvicorn.Config` / `uvicorn.run` options that apply `limits` and the connection
    bounds uvicorn has itself (picklable: `serve --workers N` hands them to its processes)."""
    return {
        "http": functools.partial(GuardedHttpToolsProtocol, limits=limits),
        "timeout_keep_alive": keep_alive_timeout,
        "limit_concurrency": max_connections,
    }
