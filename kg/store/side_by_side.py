"""Independent reads for one answer, sent side by side where that makes the answer sooner.

Over a SPARQL server each read is a round trip that mostly waits: on the network, and on the
server's engine, which runs requests on threads of its own. One model's REST page makes eight
such reads after finding the model; sent one after another their waits add up, sent side by
side they overlap. In process (the embedded store), a read is the engine's CPU and Python's
under the GIL, and handing it to another thread costs more than it could save: there the reads
run in turn on the caller's thread, exactly as if called directly. Which one applies is the
store's `concurrent_reads`. A read returns plain values (records, lists): pyoxigraph's query
results belong to the thread that made them.

>>> from kg.store import open_store
>>> import tempfile
>>> with side_by_side(open_store(tempfile.mkdtemp())) as read:
...     count = read(len, "four")
>>> count.result()
4
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from kg.store.base import ModelStore

__all__ = ["READERS", "side_by_side"]

READERS = 8
"""Threads that send reads to a SPARQL server side by side, for every answer in the process:
enough for one model's page at once, few enough that a busy server is not swamped."""

P = ParamSpec("P")
T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _readers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="modelkg-read")
        return _pool


class Reads:
    """Starts reads: `read(function, *args)` is a `Future` of `function(*args)`."""

    def __init__(self, concurrent: bool) -> None:
        self._concurrent = concurrent
        self.started: list[Future[Any]] = []

    def __call__(self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        if not self._concurrent:
            done: Future[T] = Future()
            done.set_result(function(*args, **kwargs))  # its error is raised here, at once
            return done
        # each read in a copy of the caller's context: a per-request tally (QUERY_TALLY) counts
        # its queries wherever they run
        context = contextvars.copy_context()

        def run() -> T:
            return context.run(function, *args, **kwargs)

        future = _readers().submit(run)
        self.started.append(future)
        return future


@contextmanager
def side_by_side(store: ModelStore) -> Iterator[Reads]:
    """Reads of `store` started in the block; none outlives it (an error in the block cancels
    those not started and waits for the rest, so no read runs on after its answer failed)."""
    reads = Reads(store.concurrent_reads)
    try:
        yield reads
    except BaseException:
        for future in reads.started:
            future.cancel()
        raise
    finally:
        wait(reads.started)
