"""Writing query results within the server's bounds: a size cap and a deadline.

pyoxigraph streams solutions into whatever it writes to, 8 KiB at a time, so a sink that counts
bytes and watches the clock stops a runaway result early: past the cap the client gets 400 with a
hint to page (LIMIT/OFFSET), past the deadline 503. Nothing is half-sent: the body goes out only
once it is complete. (A query that spends its time before the first solution, sorting a huge
join, is answered 503 at the deadline by the request-timeout middleware; pyoxigraph cannot be
interrupted, so it finishes in its worker thread and its result is dropped.)

>>> sink = BoundedSink(max_bytes=10, deadline=float("inf"))
>>> sink.write(b"0123456789")
10
>>> sink.write(b"!")
Traceback (most recent call last):
...
resolvers.errors.HttpError: the result is larger than this server's cap of 10 B
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pyoxigraph import QueryBoolean, QueryResultsFormat, QuerySolutions, QueryTriples, RdfFormat

from resolvers.errors import HttpError

if TYPE_CHECKING:
    from resolvers.settings import ServerSettings

__all__ = ["BoundedSink", "serialize_bounded", "timed_out", "too_large"]


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class BoundedSink:
    """A binary file-like object that refuses to grow past `max_bytes` or run past `deadline`."""

    def __init__(self, max_bytes: int, deadline: float) -> None:
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise too_large(self.max_bytes)
        if time.monotonic() > self.deadline:
            raise timed_out()
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the body is sent once complete."""

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


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


def serialize_bounded(
    result: QuerySolutions | QueryBoolean | QueryTriples,
    format: QueryResultsFormat | RdfFormat,
    settings: ServerSettings,
    started: float,
) -> bytes:
    """The result written in `format`, within the size cap and the query deadline."""
    sink = BoundedSink(settings.max_result_bytes, started + settings.query_timeout)
    try:
        result.serialize(sink, format)  # type: ignore[arg-type]  # what the sink raises propagates
    except HttpError as exc:
        error = exc
    else:
        return sink.getvalue()
    # query results belong to the thread that made them: no traceback may carry one away
    del result
    raise error.with_traceback(None)
