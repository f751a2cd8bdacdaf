"""Client SPARQL queries run in worker processes that are killed at the timeout.

pyoxigraph cannot interrupt a query: one that computes for long before its first row (a big
aggregate over a cross product) keeps a core busy after its client got a 503. So a client's
query runs in a worker process, over the store's published checkpoint (`kg.store.shared`), and the
worker is killed (SIGKILL) when the query outlives its timeout or its client; the next query
starts a fresh one. This also lets queries use every core instead of sharing one interpreter,
and keeps the engine's own parser away from the server process: a query that still crashed it
would take down one worker, not the server.

The workers are AnyIO's (`anyio.to_process`, already under Starlette): the event loop itself
writes the job to a worker's pipe and reads the answer back, with no thread in between, which
halves the round trip of a thread-driven pool (pebble: ~0.5 ms, three thread hand-offs each
way); the most recently used worker is taken first, so one client's lookups find its engine
caches warm. At most `workers` queries run at once (a `CapacityLimiter`); the rest wait.

Bounds: at most `max_per_client` queries of one client run or wait at once (the next is
`TooBusyError` with `per_client=True`: HTTP 429), and at most `max_waiting` in all (503).

>>> import tempfile, asyncio
>>> from kg.store.shared import SharedStore
>>> store = SharedStore.create(tempfile.mkdtemp() + "/kg", grace_seconds=35)
>>> queries = IsolatedQueries(store, workers=1, timeout=30)
>>> outcome = asyncio.run(queries.run("ASK { ?s a owl:Ontology }",
...     media_type="application/sparql-results+json", client="doc"))
>>> outcome.body
b'{"head":{},"boolean":true}'
>>> queries.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from typing import TYPE_CHECKING

import anyio
import anyio.to_process

from kg.errors import QueryKilledError, TooBusyError
from kg.sparql.worker import Outcome, QueryJob, run_in_worker, warm_up
from ontology.namespaces import PREFIXES

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from kg.store.shared import SharedStore

__all__ = ["Admission", "IsolatedQueries"]


class Admission:
    """The bounds on queries in flight: `max_per_client` per client address (the next is
    `TooBusyError` with `per_client=True`: HTTP 429), `max_waiting` in all (503)."""

    def __init__(self, max_per_client: int, max_waiting: int) -> None:
        self.max_per_client = max_per_client
        self.max_waiting = max_waiting
        self._running: Counter[str] = Counter()

    def admit(self, client: str) -> None:
        """Count one more query of `client`, or refuse it."""
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

    def release(self, client: str) -> None:
        """One query of `client` is done."""
        self._running[client] -= 1
        if self._running[client] <= 0:
            del self._running[client]


class IsolatedQueries:
    """A pool of query workers over the published checkpoints of `store`."""

    def __init__(
        self,
        store: SharedStore,
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
        self._limiter = anyio.CapacityLimiter(max(1, workers))
        self._spares = anyio.CapacityLimiter(max(1, workers))
        self._unbounded = anyio.CapacityLimiter(math.inf)  # `_limiter` is taken first
        self._warming: set[asyncio.Task[None]] = set()
        self._store = store
        self._admission = Admission(max_per_client, max_waiting)

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
        return await self._in_worker(
            lambda snapshot: QueryJob(
                snapshot=snapshot,
                text=text,
                media_type=media_type,
                base_iri=base_iri,
                prefixes=PREFIXES,
                default_graphs=tuple(default_graphs) if default_graphs else None,
                named_graphs=tuple(named_graphs) if named_graphs is not None else None,
                max_bytes=self.max_result_bytes,
            ),
            client,
        )

    async def _in_worker(self, job_on: Callable[[str], QueryJob], client: str) -> Outcome:
        self._admission.admit(client)
        try:
            if self._store.pending:  # writes this process made that workers cannot see yet
                await anyio.to_thread.run_sync(self._store.publish_pending)
            snapshot = self._store.checkpoint_folder()  # the last write published it
            job = job_on(snapshot)
            with anyio.fail_after(self.timeout):
                async with self._limiter:  # a worker is ours from here on
                    try:
                        return await anyio.to_process.run_sync(
                            run_in_worker, job, cancellable=True, limiter=self._unbounded
                        )
                    except BaseException:  # timed out, cancelled or crashed: the worker is gone
                        self._replace_worker(snapshot)
                        raise
        except TimeoutError:
            raise QueryKilledError(
                f"the query did not finish within {self.timeout:g} s and was stopped",
                timed_out=True,
            ) from None
        except anyio.BrokenWorkerProcess:
            raise QueryKilledError(
                "the worker process running the query died before answering (the query "
                "crashed it, or it was killed from outside); nothing else was affected",
                timed_out=False,
            ) from None
        finally:
            self._admission.release(client)

    def _replace_worker(self, snapshot: str) -> None:
        """Start a worker in the background, `snapshot` open, in place of one just killed
        (~0.3 s of imports and opening the store that the next query would wait for). An idle
        worker is taken instead when there is one, so the pool does not grow."""

        async def warm() -> None:
            with contextlib.suppress(Exception):  # failed: the next query starts one, as before
                await anyio.to_process.run_sync(warm_up, snapshot, limiter=self._spares)

        task = asyncio.get_running_loop().create_task(warm())
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)

    def close(self) -> None:
        """Nothing to release: the workers belong to the event loop that started them (AnyIO
        kills them when it shuts down, a query still running with them), and the checkpoints
        to the process that shares the store."""
