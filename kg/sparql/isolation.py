"""Client SPARQL queries run in worker processes that are killed at the timeout.

pyoxigraph cannot interrupt a query: one that computes for long before its first row (a big
aggregate over a cross product) keeps a core busy after its client got a 503. So a client's
query runs in a worker process (pebble's `ProcessPool`, which terminates a worker past the
task's timeout and starts a fresh one), over a checkpoint of the store (`kg.store.snapshots`).
This also lets queries use every core instead of sharing one interpreter, and keeps the
engine's own parser away from the server process: a query that still crashed it would take
down one worker, not the server.

Bounds: at most `max_per_client` queries of one client run or wait at once (the next is
`TooBusyError` with `per_client=True`: HTTP 429), and at most `max_waiting` in all (503).

>>> import tempfile, asyncio
>>> from kg.store.embedded import EmbeddedStore
>>> store = EmbeddedStore.open(tempfile.mkdtemp() + "/kg")
>>> queries = IsolatedQueries(store, workers=1, timeout=30)
>>> outcome = asyncio.run(queries.run("ASK { ?s a owl:Ontology }",
...     media_type="application/sparql-results+json", client="doc"))
>>> outcome.body
b'{"head":{},"boolean":true}'
>>> queries.close()
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections import Counter
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING

from pebble import ProcessExpired, ProcessPool

from kg.errors import QueryKilledError, TooBusyError
from kg.sparql.worker import Outcome, QueryJob, prepare_worker, run_query
from kg.store.snapshots import Snapshots
from ontology.namespaces import PREFIXES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kg.store.embedded import EmbeddedStore

__all__ = ["IsolatedQueries"]


class IsolatedQueries:
    """A pool of query workers over checkpoints of `store`."""

    def __init__(
        self,
        store: EmbeddedStore,
        *,
        workers: int,
        timeout: float,
        max_per_client: int = 4,
        max_waiting: int = 256,
        max_result_bytes: int = 50 * 1024 * 1024,
    ) -> None:
        self.timeout = timeout
        self.max_per_client = max_per_client
        self.max_waiting = max_waiting
        self.max_result_bytes = max_result_bytes
        self._workers = max(1, workers)
        self._snapshots = Snapshots(store, grace_seconds=timeout + 5)
        self._pool: ProcessPool | None = None
        self._pool_lock = threading.Lock()
        self._running: Counter[str] = Counter()

    def _get_pool(self) -> ProcessPool:
        with self._pool_lock:
            if self._pool is None:
                # spawn, not fork: the server has threads (RocksDB, V8, uvicorn) a fork would copy
                self._pool = ProcessPool(
                    max_workers=self._workers,
                    initializer=prepare_worker,
                    context=multiprocessing.get_context("spawn"),
                )
            return self._pool

    def _admit(self, client: str) -> None:
        if self._running[client] >= self.max_per_client:
            raise TooBusyError(
                f"this client already has {self._running[client]} queries running; "
                f"the server runs at most {self.max_per_client} per client",
                per_client=True,
            )
        if sum(self._running.values()) >= self.max_waiting:
            raise TooBusyError(
                f"the server has {self.max_waiting} queries waiting", per_client=False
            )
        self._running[client] += 1

    def _release(self, client: str) -> None:
        self._running[client] -= 1
        if self._running[client] <= 0:
            del self._running[client]

    async def run(
        self,
        text: str,
        *,
        media_type: str,
        client: str,
        base_iri: str | None = None,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
    ) -> Outcome:
        """Run an already guarded query in a worker; `QueryKilledError` past the timeout."""
        self._admit(client)
        try:
            # after a write, a new checkpoint (~15 ms, off the event loop); else the last one
            snapshot = self._snapshots.fresh()
            if snapshot is None:
                snapshot = await asyncio.to_thread(self._snapshots.current)
            job = QueryJob(
                snapshot=snapshot,
                text=text,
                media_type=media_type,
                base_iri=base_iri,
                prefixes=PREFIXES,
                default_graphs=tuple(default_graphs) if default_graphs else None,
                named_graphs=tuple(named_graphs) if named_graphs is not None else None,
                max_bytes=self.max_result_bytes,
            )
            future = self._get_pool().schedule(run_query, (job,), timeout=self.timeout)
            try:
                return await asyncio.wrap_future(future)
            except FutureTimeout:
                raise QueryKilledError(
                    f"the query did not finish within {self.timeout:g} s and was stopped",
                    timed_out=True,
                ) from None
            except ProcessExpired as exc:
                raise QueryKilledError(
                    f"the query stopped its worker process ({exc}); nothing else was affected",
                    timed_out=False,
                ) from None
            except asyncio.CancelledError:
                future.cancel()  # type: ignore[no-untyped-call]  # the client went away: pebble stops the worker running it
                raise
        finally:
            self._release(client)

    def close(self) -> None:
        """Stop the workers (killing queries still running) and delete the checkpoints."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.stop()  # type: ignore[no-untyped-call]
                self._pool.join(timeout=10)
                self._pool = None
        self._snapshots.close()
