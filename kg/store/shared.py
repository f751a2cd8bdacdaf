"""The embedded store shared by several processes: the server's workers and commands beside it.

RocksDB lets one process open a store for writing, and a read-only handle beside a live writer
fails when compaction deletes a file it has not opened yet. So while `modelkg serve` runs,
nobody keeps the store open for writing. A write takes a lock file that serializes writers
across processes (`filelock`), opens the store (~12 ms on a 1.4 GB store), writes, checkpoints
it (RocksDB hard links, ~2 ms), publishes the checkpoint and the next generation in
`{store}.shared/state.json` (written under a temporary name, then renamed), closes the store
and lets go of the lock. Every read goes to the published checkpoint, opened read-only (~6 ms,
once per generation per process).

What this buys:
- `modelkg serve --workers N` serves from N processes, each reading the same checkpoint;
- `modelkg ingest`, `reason` and `search` work beside a running server (`open_store` attaches
  to the server's state when one is recorded: `kg.store.holder`), their writes serialized with
  the server's;
- a reader sees each write whole or not at all, even a write spanning several transactions
  (an ingest, then its inferences and search texts): it is published once, at the end;
- `generation` is the published one, read from the state file on each use (a `stat`, ~2 us),
  so a cache keyed on it in any process is never older than the last write.

A checkpoint replaced by a newer one is deleted once no query can still be reading it: after
`grace_seconds` (the server's query timeout and a margin), by whichever process publishes next.

>>> import tempfile
>>> location = tempfile.mkdtemp() + "/kg"
>>> served = SharedStore.create(location, grace_seconds=35)
>>> beside = SharedStore.attach(location)          # another process: a worker, the CLI
>>> before = beside.generation
>>> served.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 1 } }")
>>> beside.ask("ASK { <urn:a> <urn:b> 1 }"), beside.generation > before
(True, True)
>>> beside.close(); served.close()
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from kg.atomic import write_atomically
from kg.errors import StoreError
from kg.store.base import (
    BinaryOutput,
    Graph,
    QueryResult,
    Term,
)
from kg.store.embedded import EmbeddedStore
from kg.store.engine import StoreBase
from kg.store.holder import current_holder

if TYPE_CHECKING:
    from pyoxigraph import NamedNode, Quad, RdfFormat, Triple, Variable

    from kg.store.model_graph import ModelGraph

__all__ = ["SharedStore", "refuse_if_served", "shared_folder"]

STATE = "state.json"
WRITE_LOCK = "write.lock"
WRITER = "writer.json"
_GENERATION_SPAN = 1 << 32
"""How far one publication moves `generation`: past any count of writes between two."""
READ_ATTEMPTS = 5
"""Opens of the published checkpoint tried while writes keep retiring the one just read."""


def refuse_if_served(location: str) -> None:
    """A `StoreError` when a running `modelkg serve` already shares the store at `location`:
    a second server on it is refused, with the first one's address."""
    holder = current_holder(location)
    if holder is not None:
        raise StoreError(
            f"`modelkg serve` (pid {holder['pid']}) already serves this store at {holder['url']}",
            path=location,
            hint="use that server, or stop it first; for more processes serving one store "
            "give it --workers N",
        )


def shared_folder(location: str) -> Path:
    """Where the published checkpoints and the state of a shared store live: beside it."""
    return Path(f"{location.rstrip('/')}.shared")


@dataclass
class _State:
    """What `state.json` says: the generation, its checkpoint, and the ones to delete."""

    generation: int
    checkpoint: str
    grace_seconds: float
    retired: list[tuple[str, float]] = field(default_factory=list)
    """(checkpoint, wall-clock time it was replaced), deleted `grace_seconds` later"""


class SharedStore(StoreBase):
    """An embedded store read from published checkpoints and written under a lock file."""

    compacts = True

    def __init__(
        self,
        location: str,
        *,
        read_only: bool,
        owner: bool,
        write_timeout: float | None,
        linger: float = 0.0,
    ) -> None:
        self.location = location
        self.read_only = read_only
        self.owner = owner
        """this process shares the store (`create`) and deletes the checkpoints at the end"""
        self._write_timeout = write_timeout
        self._root = shared_folder(location)
        self._state_path = str(self._root / STATE)
        # not thread-local: a lingering write is published (and the lock let go) by a timer thread
        self._file_lock = FileLock(self._root / WRITE_LOCK, thread_local=False)
        self._thread_lock = threading.RLock()
        self._refresh = threading.RLock()
        self._seen: tuple[int, int] | None = None
        self._state = _State(0, "", 0.0)
        self._reader: EmbeddedStore | None = None
        self._reader_checkpoint = ""
        self._live: EmbeddedStore | None = None
        """the store opened for writing, during a writer block (its thread reads it too)"""
        self._live_thread: int | None = None
        self._depth = 0
        self._wrote = False
        self._linger = linger
        """seconds a write stays unpublished, the store held open for the next one (0: none)"""
        self._pending = 0
        """writes made since the last publication (while lingering)"""
        self._live_lock = threading.Condition()
        self._live_readers = 0
        """calls reading the live store from outside the writer (while lingering)"""
        self._closing = False
        self._timer: threading.Timer | None = None
        self._current()

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        location: str | Path,
        *,
        grace_seconds: float,
        write_timeout: float | None = None,
        linger: float = 0.0,
    ) -> SharedStore:
        """Share the store at `location` (created if needed) from now on: the first process
        of a server. Fails while another process holds the store for writing.

        With `linger` > 0 (a server of one process), a write is published at most `linger`
        seconds after it landed, together with the writes that came meanwhile, and the store
        stays open for them: small writes in a row (a training loop logging metrics) cost a
        transaction each, not an open, a checkpoint and a close. This process reads its own
        writes at once; other processes see them when they are published, and a client's
        SPARQL query publishes them before it runs (`publish_pending`)."""
        where = str(location)
        refuse_if_served(where)
        root = shared_folder(where)
        with EmbeddedStore.open(where) as live:  # the lock error names a server holding it
            shutil.rmtree(root, ignore_errors=True)  # left by a server that died
            root.mkdir(parents=True)
            name = _new_checkpoint(live, root, 1)
        _write_state(root, _State(1, name, grace_seconds))
        return cls(where, read_only=False, owner=True, write_timeout=write_timeout, linger=linger)

    @classmethod
    def attach(
        cls, location: str | Path, *, read_only: bool = False, write_timeout: float | None = None
    ) -> SharedStore:
        """The store a server shares (`create`), from another process: a worker, a command."""
        where = str(location)
        if not (shared_folder(where) / STATE).exists():
            raise StoreError(
                "this store is not shared by a running server",
                path=where,
                hint="start `modelkg serve`, or open the store directly",
            )
        attached = cls(where, read_only=read_only, owner=False, write_timeout=write_timeout)
        attached._barrier()
        return attached

    def _barrier(self) -> None:
        """Wait for the writer of the moment to publish: the server's lingering writes are
        published when it lets go of the lock file, so a command that attaches reads every
        write made before it started (a training script's metrics, then `modelkg runs`)."""
        try:
            self._file_lock.acquire(
                timeout=-1 if self._write_timeout is None else self._write_timeout
            )
        except Timeout:
            return  # a long write runs: read what was published before it, as ever
        self._file_lock.release()
        self._seen = None  # read the state afresh

    @staticmethod
    def is_shared(location: str | Path) -> bool:
        """A server shares the store at `location` (its state is there)."""
        return (shared_folder(str(location)) / STATE).exists()

    # -- the published state ------------------------------------------------------------------
    def _published(self) -> _State:
        """What the state file says now: a `stat` of it when nothing moved, else read again."""
        try:
            status = os.stat(self._state_path)  # noqa: PTH116 - a str path: ~1 us, not ~10
        except OSError as exc:
            raise StoreError(
                "the server sharing this store stopped (its state is gone)",
                path=self.location,
                hint="run the command again: it opens the store directly now",
            ) from exc
        seen = (status.st_ino, status.st_mtime_ns)
        if seen != self._seen:
            with self._refresh:
                if seen != self._seen:
                    self._state = _read_state(self._root)
                    self._seen = seen
        return self._state

    def _current(self) -> EmbeddedStore:
        """The reader over the published checkpoint, reopened when a write published a new
        one (the old reader stays alive while a query still iterates its results)."""
        for attempt in range(READ_ATTEMPTS):
            checkpoint = self._published().checkpoint
            reader = self._reader
            if reader is not None and checkpoint == self._reader_checkpoint:
                return reader
            try:
                with self._refresh:
                    if self._reader is None or checkpoint != self._reader_checkpoint:
                        self._reader = EmbeddedStore.open(self._root / checkpoint, read_only=True)
                        self._reader_checkpoint = checkpoint
                    return self._reader
            except StoreError:
                # retired and deleted between reading the state and opening it (a reader
                # slower than the grace): when a newer one is published, read that one
                self._seen = None
                if attempt + 1 == READ_ATTEMPTS or self._published().checkpoint == checkpoint:
                    raise
        raise AssertionError("unreachable")  # the last attempt returns or raises

    @property
    def generation(self) -> int:
        """The published generation (scaled), plus twice this process's writes not yet
        published (while they linger), plus one while it writes: it moves before and after
        each write, as `ModelStore.generation` says, and with every publication."""
        local = 2 * self._pending + (1 if self._depth else 0)
        return _GENERATION_SPAN * self._published().generation + local

    def checkpoint_folder(self) -> str:
        """The published checkpoint's folder: what query worker processes open (no reader
        is opened here, so the event loop may ask; `publish_pending` first, off the loop,
        for them to see this process's latest writes)."""
        return str(self._root / self._published().checkpoint)

    @property
    def pending(self) -> bool:
        """This process has writes that other processes do not see yet (lingering)."""
        return self._pending > 0

    @contextmanager
    def _reading(self) -> Iterator[EmbeddedStore]:
        """The store a read goes to: the live one for the writer's own thread, and for every
        thread while writes linger unpublished (so this process reads its writes); else the
        published checkpoint. A lingering live store is closed only once no read is on it."""
        live = self._live
        if live is not None and self._live_thread == threading.get_ident():
            yield live  # the writer reads its own writes
            return
        with self._live_lock:
            live = self._live
            borrowed = live is not None and self._pending > 0 and not self._closing
            if borrowed:
                self._live_readers += 1
        if not borrowed:
            yield self._current()
            return
        assert live is not None
        try:
            yield live
        finally:
            with self._live_lock:
                self._live_readers -= 1
                self._live_lock.notify_all()

    def _read(self) -> EmbeddedStore:
        live = self._live
        if live is not None and self._live_thread == threading.get_ident():
            return live  # the writer reads its own writes
        return self._current()

    # -- writing ------------------------------------------------------------------------------
    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the store for writing: this process's lock, then the lock file shared with
        every process, then the store itself, opened for writing. What is written inside is
        published once, at the end; re-entrant."""
        with self._thread_lock:
            if self._depth == 0 and self._live is None:
                self._begin()
            self._depth += 1
            self._live_thread = threading.get_ident()
            try:
                yield
            finally:
                try:
                    if self._depth == 1:
                        if self._linger > 0 and self._wrote:
                            self._pending += 1
                            self._live_thread = None
                            self._later()
                        else:
                            self._finish()
                finally:
                    # only once published: a read starting before then sees an odd
                    # generation, so nothing it answers from the old checkpoint is kept
                    # as current by a cache keyed on the generation
                    self._depth -= 1

    def _begin(self) -> None:
        if self.read_only:
            raise StoreError("the store is open read-only", path=self.location)
        try:
            self._file_lock.acquire(
                timeout=-1 if self._write_timeout is None else self._write_timeout
            )
        except Timeout:
            raise StoreError(
                f"another process has been writing this store for over "
                f"{self._write_timeout:g} s ({_who_writes(self._root)})",
                path=self.location,
                hint="retry when its write is done",
            ) from None
        try:
            (self._root / WRITER).write_text(
                json.dumps({"pid": os.getpid(), "since": time.time()}), encoding="utf-8"
            )
            self._live = _open_for_writing(self.location)
            self._live_thread = threading.get_ident()
            self._wrote = False
        except BaseException:
            self._file_lock.release()
            raise

    def _later(self) -> None:
        """Publish the lingering writes `linger` seconds after the first of them."""
        if self._timer is None:
            self._timer = threading.Timer(self._linger, self.publish_pending)
            self._timer.daemon = True
            self._timer.start()

    def publish_pending(self) -> None:
        """Publish the writes that linger (if any) and let go of the store, now."""
        with self._thread_lock:
            timer, self._timer = self._timer, None
            if timer is not None and timer is not threading.current_thread():
                timer.cancel()
            if self._depth == 0 and self._live is not None:
                self._finish()

    def _finish(self) -> None:
        live = self._live
        assert live is not None
        try:
            if self._wrote:
                self._publish(live)  # readers of the live store read on meanwhile
        finally:
            with self._live_lock:
                self._closing = True
                while self._live_readers:
                    self._live_lock.wait()
                self._live, self._live_thread = None, None
                self._pending = 0
                self._closing = False
            live.close()
            self._wrote = False
            (self._root / WRITER).unlink(missing_ok=True)
            self._file_lock.release()

    def _publish(self, live: EmbeddedStore) -> None:
        """Checkpoint what was written and make it the one every reader reads."""
        state = _read_state(self._root)
        generation = state.generation + 1
        name = _new_checkpoint(live, self._root, generation)
        now = time.time()
        retired = [*state.retired, (state.checkpoint, now)]
        keep = []
        for checkpoint, since in retired:
            if now - since >= state.grace_seconds:
                shutil.rmtree(self._root / checkpoint, ignore_errors=True)
            else:
                keep.append((checkpoint, since))
        _write_state(self._root, _State(generation, name, state.grace_seconds, keep))

    @contextmanager
    def _writing(self) -> Iterator[EmbeddedStore]:
        with self.writer():
            assert self._live is not None
            try:
                yield self._live
            finally:
                self._wrote = True  # a failed write wrote nothing, but publishing is harmless

    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        with self._writing() as live:
            live.update(sparql, base_iri=base_iri)

    def write_models(self, models: Sequence[ModelGraph], *, replace: Sequence[NamedNode]) -> None:
        with self._writing() as live:
            live.write_models(models, replace=replace)

    def replace_graphs(
        self, graphs: Mapping[NamedNode, Sequence[Quad]], *, kind: NamedNode
    ) -> None:
        with self._writing() as live:
            live.replace_graphs(graphs, kind=kind)

    def remove_graphs(self, graphs: Sequence[NamedNode]) -> None:
        with self._writing() as live:
            live.remove_graphs(graphs)

    def load(self, quads: Sequence[Quad]) -> None:
        with self._writing() as live:
            live.load(quads)

    def put_graph(self, graph: Graph, triples: Sequence[Triple]) -> None:
        with self._writing() as live:
            live.put_graph(graph, triples)

    def post_graph(self, graph: Graph, triples: Sequence[Triple]) -> None:
        with self._writing() as live:
            live.post_graph(graph, triples)

    def drop_graph(self, graph: Graph) -> None:
        with self._writing() as live:
            live.drop_graph(graph)

    def optimize(self) -> None:
        """Compact the live store; readers get the compacted files with the next checkpoint."""
        with self._writing() as live:
            live.optimize()

    # -- reading ------------------------------------------------------------------------------
    def query(
        self,
        sparql: str,
        *,
        substitutions: Mapping[Variable, Term] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        with self._reading() as store:
            return store.query(sparql, substitutions=substitutions, base_iri=base_iri)

    def graph_quads(self, graph: Graph) -> list[Quad]:
        with self._reading() as store:
            return store.graph_quads(graph)

    def subject_quads(self, subject: NamedNode, graph: NamedNode) -> list[Quad]:
        with self._reading() as store:
            return store.subject_quads(subject, graph)

    def serialize_graph(self, graph: Graph, output: BinaryOutput, format: RdfFormat) -> None:
        with self._reading() as store:
            store.serialize_graph(graph, output, format)

    def has_graph(self, graph: Graph) -> bool:
        with self._reading() as store:
            return store.has_graph(graph)

    def quads(self, *, vocabulary: bool = True) -> Iterable[Quad]:
        with self._reading() as store:
            return store.quads(vocabulary=vocabulary)

    def source_digests(self, graphs: Sequence[NamedNode]) -> dict[str, str]:
        with self._reading() as store:
            return store.source_digests(graphs)

    def count_models(self) -> int:
        with self._reading() as store:
            return store.count_models()

    # -- closing ------------------------------------------------------------------------------
    def close(self) -> None:
        """Publish what lingers, let go of the checkpoint; the process that shared the store
        (`create`) also deletes the checkpoints, after which commands open the store directly
        again."""
        self.publish_pending()
        self._reader = None
        if self.owner:
            shutil.rmtree(self._root, ignore_errors=True)


def _new_checkpoint(live: EmbeddedStore, root: Path, generation: int) -> str:
    name = f"g{generation:012d}-{uuid.uuid4().hex[:8]}"
    live.checkpoint(root / name)
    return name


def _read_state(root: Path) -> _State:
    try:
        raw = json.loads((root / STATE).read_text(encoding="utf-8"))
        return _State(
            int(raw["generation"]),
            str(raw["checkpoint"]),
            float(raw["grace_seconds"]),
            [(str(name), float(since)) for name, since in raw.get("retired", [])],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(
            f"the shared store's state is unreadable: {exc}",
            path=str(root / STATE),
            hint="restart `modelkg serve` (it writes the state afresh)",
        ) from exc


def _write_state(root: Path, state: _State) -> None:
    write_atomically(root / STATE, json.dumps(asdict(state)))


def _holds_lock_here(root: Path) -> bool:
    """The writer of the moment is this process."""
    try:
        writer = json.loads((root / WRITER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(writer, dict) and writer.get("pid") == os.getpid()


def _who_writes(root: Path) -> str:
    try:
        writer = json.loads((root / WRITER).read_text(encoding="utf-8"))
        return f"pid {writer['pid']}, for {time.time() - float(writer['since']):.0f} s"
    except (OSError, ValueError, KeyError, TypeError):
        return "its pid is not recorded"


def _open_for_writing(location: str, attempts: int = 20) -> EmbeddedStore:
    """Open the store for writing. The lock file says no other writer runs, but the previous
    writer's handle can outlive its close for a moment (a result still iterated elsewhere in
    that process keeps RocksDB open), so a refused open is retried briefly."""
    for attempt in range(attempts):
        try:
            return EmbeddedStore.open(location)
        except StoreError:
            if attempt == attempts - 1:
                raise
            gc.collect()
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")
