"""Where chunks of work run: in this process, in local worker processes, or on a Ray cluster.

Ingest, full reasoning and index builds cut their work into chunks and hand each chunk to a
plain function (in: a chunk; out: plain data, e.g. validated N-Quads and a report), so any
executor can run it while one writer, here, loads the results into the store. Results come back
in the order of the chunks, and only `window` chunks are in flight at once: a reader that runs
ahead of the writer waits instead of piling up results in memory, so memory stays bounded at
any number of models.

Ray (`--executor ray [--ray-address ADDR]`) runs the same function as Ray tasks: on a local
instance it starts (`num_cpus`), or on a cluster already running (`ray start --head` on one
machine, `ray start --address HEAD:6379` on the others; then `--ray-address HEAD:6379` or
`auto`). Every node needs ModelKG installed and the sources at the same paths (a shared file
system); the results travel back through Ray's object store.

>>> with executor_for("local", workers=1) as run:
...     list(run.map(abs, [-1, 2, -3]))
[1, 2, 3]
"""

from __future__ import annotations

import gc
import os
import signal
import socket
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Literal, Protocol, Self, TypeVar

from kg.errors import UsageError

__all__ = [
    "EXECUTORS",
    "ChunkExecutor",
    "ExecutorName",
    "chosen_executor",
    "executor_for",
    "executor_name",
]

ExecutorName = Literal["local", "ray"]
EXECUTORS: tuple[ExecutorName, ...] = ("local", "ray")

T = TypeVar("T")
R = TypeVar("R")


class ChunkExecutor(Protocol):
    """Runs a plain function over chunks, results in chunk order, a bounded window ahead."""

    workers: int

    def map(self, function: Callable[[T], R], chunks: Iterable[T]) -> Iterator[R]: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class _Closing:
    """The context manager every executor shares: `close` on the way out."""

    def close(self) -> None:
        """Release workers (nothing, by default)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


AHEAD_PER_WORKER = 16
"""Chunks started per worker ahead of the one the caller waits for. The caller writes
results to the store in batches (a bulk load of 400,000 quads, ~3 s, with the GIL released),
and the workers must not run dry meanwhile: with 2 per worker they idled through every write
(an ingest of 10,000 models spent 16 of its 48 s so). The window still bounds memory: 16
chunks of 64 models' N-Quads are ~50 MB per worker."""


class InProcess(_Closing):
    """Each chunk in this process, one after another: no start-up cost, for small jobs."""

    workers = 1

    def map(self, function: Callable[[T], R], chunks: Iterable[T]) -> Iterator[R]:
        for chunk in chunks:
            yield function(chunk)


def _worker_setup() -> None:
    """Workers yield the CPU to the parent (its store writes are the critical path, and the
    workers, ahead of it, fill whatever CPU is left), and leave Ctrl-C to it: the terminal
    sends SIGINT to every process of the group, and the parent decides how to stop. What the
    fork inherited is frozen out of the worker's garbage collector: it would otherwise walk
    the parent's whole heap (an ingest's list of sources) in every full collection, which
    made a chunk 20% slower in a worker than in a process of its own."""
    os.nice(5)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()


class LocalProcesses(_Closing):
    """Chunks in `workers` local processes (started once, reused for every chunk)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_setup)

    def map(self, function: Callable[[T], R], chunks: Iterable[T]) -> Iterator[R]:
        in_flight: deque[Future[R]] = deque()
        for chunk in chunks:
            in_flight.append(self._pool.submit(function, chunk))
            if len(in_flight) >= AHEAD_PER_WORKER * self.workers:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()

    def close(self) -> None:
        """Stop the workers; chunks not started are cancelled (an interrupted ingest)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayTasks(_Closing):
    """Chunks as Ray tasks, on a cluster at `address` or on a local instance of `workers`
    CPUs. `import ray` happens here: the rest of ModelKG runs without Ray installed."""

    def __init__(self, workers: int, address: str | None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise UsageError(
                "--executor ray needs Ray",
                hint="install it: pip install 'modelkg[ray]' (or pip install ray)",
            ) from exc
        self._ray: Any = ray
        if address is not None and address != "auto":
            _probe(address)
        self._started_here = not ray.is_initialized()
        if self._started_here:
            options: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if address is None:
                options["num_cpus"] = workers
            try:
                ray.init(address=address, **options)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UsageError(
                    f"cannot reach the Ray cluster at {address!r}: {exc}",
                    hint="start it (`ray start --head`) or leave --ray-address out for a local "
                    "instance",
                ) from exc
        resources: dict[str, float] = self._ray.cluster_resources()
        self.workers = max(1, int(resources.get("CPU", workers)))

    def map(self, function: Callable[[T], R], chunks: Iterable[T]) -> Iterator[R]:
        remote = self._ray.remote(function)
        in_flight: deque[Any] = deque()
        for chunk in chunks:
            in_flight.append(remote.remote(chunk))
            if len(in_flight) >= AHEAD_PER_WORKER * self.workers:
                yield self._ray.get(in_flight.popleft())
        while in_flight:
            yield self._ray.get(in_flight.popleft())

    def close(self) -> None:
        """Shut down a local instance started here; a cluster is left running."""
        if self._started_here:
            self._ray.shutdown()


def _probe(address: str) -> None:
    """Fail at once when nothing listens at a cluster's `HOST:PORT` (Ray itself retries for
    minutes before it gives up)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=5):
            return
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot reach the Ray cluster at {address!r}: {exc}",
            hint="start it (`ray start --head`), or give its HEAD:6379, or leave --ray-address "
            "out for a local instance",
        ) from exc


def executor_name(text: str) -> ExecutorName:
    """`text` as an executor's name (a command's `--executor`), or a UsageError.

    >>> executor_name("ray")
    'ray'
    """
    for name in EXECUTORS:
        if text == name:
            return name
    raise UsageError(
        f"unknown executor {text!r}", field="--executor", hint=f"use one of {', '.join(EXECUTORS)}"
    )


@contextmanager
def chosen_executor(
    name: ExecutorName, *, workers: int | None = None, address: str | None = None
) -> Iterator[ChunkExecutor | None]:
    """What a command's `--executor` asks for: Ray tasks for `ray`, else None (the work then
    picks local worker processes itself, or this process for a few items); closed after.

    >>> with chosen_executor("local") as run:
    ...     run is None
    True
    """
    if name == "local":
        if address is not None:
            raise UsageError("--ray-address needs --executor ray", hint="add --executor ray")
        yield None
        return
    with executor_for(name, workers=workers, address=address) as run:
        yield run


def executor_for(
    name: ExecutorName, *, workers: int | None = None, address: str | None = None
) -> ChunkExecutor:
    """The executor `name` names: `local` (worker processes, or this process when
    `workers` is 1) or `ray` (at `address`, or a local instance of `workers` CPUs)."""
    count = workers if workers is not None else min(2, os.cpu_count() or 1)
    if name == "ray":
        return RayTasks(count, address)
    if name != "local":
        raise UsageError(f"unknown executor {name!r}", hint=f"use one of {', '.join(EXECUTORS)}")
    if address is not None:
        raise UsageError("--ray-address needs --executor ray", hint="add --executor ray")
    return InProcess() if count <= 1 else LocalProcesses(count)
