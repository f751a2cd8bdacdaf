"""Writing a graph the server reads in process (a model's graph, the Graph Store's GET) within
the server's bounds: a size cap and a deadline. (Clients' SPARQL runs in worker processes,
`kg.sparql.isolation`, which have their own cap and are killed at the deadline.)

pyoxigraph streams what it serializes into whatever it writes to, 8 KiB at a time, so a sink
that counts bytes and watches the clock stops a runaway result early: past the cap the client
gets 400 with a hint to page (LIMIT/OFFSET), past the deadline 503. Nothing is half-sent: the
body goes out only once it is complete.

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

from resolvers.errors import timed_out, too_large

__all__ = ["BoundedSink"]


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
