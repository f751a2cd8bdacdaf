"""Read-only checkpoints of the embedded store, one per write generation, for query workers.

A client's SPARQL runs in a worker process (`kg.sparql.isolation`) so that a query past its
timeout can be killed: pyoxigraph cannot interrupt a query, and a thread cannot be killed. A
worker cannot open the live store (RocksDB allows one writer, and a read-only handle beside a
writer fails when compaction deletes a file it has not opened yet), so it opens a checkpoint:
RocksDB hard-links the store's files into a new folder in about 15 ms. A new checkpoint is made
when a query arrives after a write; the previous one is deleted once no query can still be
reading it (a query lives at most its timeout).

>>> import tempfile
>>> from kg.store.embedded import EmbeddedStore
>>> store = EmbeddedStore.open(tempfile.mkdtemp() + "/kg")
>>> snapshots = Snapshots(store, grace_seconds=0)
>>> first = snapshots.current()
>>> snapshots.current() == first == snapshots.fresh()
True
>>> store.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 1 } }")
>>> snapshots.current() == first
False
>>> snapshots.close()
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kg.store.embedded import EmbeddedStore
    from kg.store.shared import SharedStore

__all__ = ["Checkpoints", "PublishedCheckpoints", "Snapshots"]


class Checkpoints(Protocol):
    """Where query workers find a checkpoint holding every write made so far."""

    def fresh(self) -> str | None:
        """The checkpoint's folder if it needs no work to get, else None (never blocks)."""
        ...

    def current(self) -> str:
        """The checkpoint's folder, made first if needed."""
        ...

    def close(self) -> None:
        """Delete what this object made."""
        ...


class PublishedCheckpoints:
    """A shared store's checkpoints (`kg.store.shared`): each write publishes one, so there
    is nothing to make here, and the process that shares the store deletes them."""

    def __init__(self, store: SharedStore) -> None:
        self._store = store

    def fresh(self) -> str | None:
        return self._store.checkpoint_folder()

    def current(self) -> str:
        return self._store.checkpoint_folder()

    def close(self) -> None:
        pass


class Snapshots:
    """Checkpoints of `store` under `{store}.snapshots/`, made on demand after each write."""

    def __init__(self, store: EmbeddedStore, *, grace_seconds: float) -> None:
        self._store = store
        self._grace = grace_seconds
        self._root = Path(store.location + ".snapshots")
        self._lock = threading.Lock()
        self._current: tuple[int, Path] | None = None
        self._retired: list[tuple[float, Path]] = []
        shutil.rmtree(self._root, ignore_errors=True)  # left by an earlier process

    def fresh(self) -> str | None:
        """The current checkpoint's folder when no write came since it was made, else None: a
        look-up that never blocks, for the event loop (`current` makes one otherwise)."""
        made = self._current
        if made is not None and made[0] == self._store.generation:
            return str(made[1])
        return None

    def current(self) -> str:
        """The folder of a checkpoint holding every write made before this call."""
        with self._lock:
            generation = self._store.generation
            if self._current is not None and self._current[0] == generation:
                return str(self._current[1])
            folder = self._root / f"g{generation:012d}-{uuid.uuid4().hex[:8]}"
            self._root.mkdir(parents=True, exist_ok=True)
            self._store.checkpoint(folder)
            if self._current is not None:
                self._retired.append((time.monotonic(), self._current[1]))
            self._current = (generation, folder)
            self._prune()
            return str(folder)

    def _prune(self) -> None:
        now = time.monotonic()
        keep = []
        for retired_at, folder in self._retired:
            if now - retired_at >= self._grace:
                shutil.rmtree(folder, ignore_errors=True)
            else:
                keep.append((retired_at, folder))
        self._retired = keep

    def close(self) -> None:
        """Delete every checkpoint (the workers that read them are stopped first)."""
        with self._lock:
            shutil.rmtree(self._root, ignore_errors=True)
            self._current = None
            self._retired = []
