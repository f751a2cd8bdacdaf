"""`modelkg backup DEST`: a consistent snapshot of a store, taken while it is served.

The embedded store is copied as a RocksDB checkpoint (`EmbeddedStore.checkpoint`: hard links
on the same file system, so it takes milliseconds and little disk), taken under the store's
writer lock, so the snapshot falls between two writes: every write is wholly in it or wholly
out. Beside a running `modelkg serve` the lock is the server's lock file (`kg.store.shared`):
holding it means the server has published its last write (a lingering one included) and
starts no other, so the published checkpoint is the store as it is; that checkpoint is copied
while the lock is held (for milliseconds). Writers that follow one another without a pause
can keep the lock file busy (filelock is not fair), so after `LOCK_WAIT` seconds the backup
copies the checkpoint the server published last, without the lock: also a state between two
writes, that readers saw. A `Store.read_only` handle on the live store is never used: beside a
live writer it may fail when compaction deletes a file it has not opened yet.

The vector index beside the store (`{store}.search/`) is copied under the same lock, as its
saves are made under it: restored, it matches the snapshot (and anything out of step is found
by its digests and synced, as ever). The server's own files beside the store
(`{store}.shared/`, `{store}.server.json`) belong to a running process and are not copied.

A remote store (`sparql+http://`) is written out as N-Quads, streamed from one `GET` of the
whole dataset (Oxigraph answers it from one snapshot; a server read graph by graph, such as
Virtuoso, is only as consistent as its writers are quiet).

The backup is built in a folder beside `DEST` and renamed to `DEST` once its manifest is
written: `DEST` holds a whole backup or nothing.

>>> import tempfile
>>> from pathlib import Path
>>> from kg.store import open_store
>>> where = tempfile.mkdtemp()
>>> with open_store(where + "/kg") as store:
...     store.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> <urn:c> } }")
>>> made = backup(where + "/kg", Path(where) / "snapshot")
>>> made.kind, made.quads, sorted(p.name for p in (Path(where) / "snapshot").iterdir())
('checkpoint', 1, ['manifest.json', 'store'])
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from pyoxigraph import NamedNode, Quad, RdfFormat, serialize

from kg.errors import StoreError, UsageError
from kg.ops.manifest import Manifest
from kg.search.index import IndexCorruptError, VectorIndex
from kg.search.service import index_folder
from kg.store import open_store, store_location
from kg.store.base import ModelStore
from kg.store.embedded import EmbeddedStore
from kg.store.holder import current_holder
from kg.store.migrate import count_data_quads
from kg.store.shared import SharedStore
from ontology.namespaces import MKG

__all__ = ["DATA_FILE", "INDEX_FOLDER", "LOCK_WAIT", "STORE_FOLDER", "backup", "open_bounded"]

LOCK_WAIT = 5.0
"""Seconds a backup beside a server waits for the writer lock before it copies the last
published checkpoint instead (`_served_checkpoint`)."""
STORE_FOLDER = "store"
DATA_FILE = "data.nq"
INDEX_FOLDER = "search"


def backup(location: str | None, destination: Path) -> Manifest:
    """Back up the store at `location` into the new folder `destination` (module docstring);
    returns the manifest written there."""
    where = store_location(location)
    _check_destination(destination)
    if "://" not in where and not Path(where).is_dir():
        raise StoreError(
            "no store here",
            path=where,
            hint="give --store the folder of the store to back up",
        )
    staging = destination.with_name(f".{destination.name}.partial-{uuid.uuid4().hex[:8]}")
    staging.mkdir(parents=True)
    try:
        with open_bounded(where) as store:
            take = _export if "://" in where else _checkpoint
            manifest = take(store, staging)
        manifest.write(staging)
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def open_bounded(where: str, *, read_only: bool = False) -> ModelStore:
    """The store at `where`; beside a running server, attached with a bounded wait for its
    lock (`LOCK_WAIT`), so a command that only looks at the store never waits for writers
    that do not pause.

    >>> import tempfile
    >>> open_bounded(tempfile.mkdtemp() + "/kg").count_models()
    0
    """
    if "://" not in where and current_holder(where) is not None and SharedStore.is_shared(where):
        return SharedStore.attach(where, read_only=read_only, write_timeout=LOCK_WAIT)
    return open_store(where, read_only=read_only)


def _check_destination(destination: Path) -> None:
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise UsageError(
            "the backup's destination already exists",
            path=str(destination),
            hint="name a new folder: a backup never overwrites anything",
        )
    if not destination.parent.is_dir():
        raise UsageError(
            "the folder to write the backup into does not exist",
            path=str(destination.parent),
            hint="create it first, or name another destination",
        )
    if destination.exists():
        destination.rmdir()  # empty: the finished backup is renamed onto its name


def _checkpoint(store: ModelStore, staging: Path) -> Manifest:
    index = index_folder(store.location)
    if isinstance(store, SharedStore):
        _served_checkpoint(store, staging, index)
    else:
        assert isinstance(store, EmbeddedStore)
        with store.writer():
            store.checkpoint(staging / STORE_FOLDER)
            _copy_index(index, staging)
    with EmbeddedStore.open(staging / STORE_FOLDER, read_only=True) as copy:
        quads, models = count_data_quads(copy), copy.count_models()
    return Manifest.describe(
        staging, kind="checkpoint", source=store.location, quads=quads, models=models
    )


def _served_checkpoint(store: SharedStore, staging: Path, index: Path) -> None:
    """Beside a server: under its lock when it comes within `LOCK_WAIT` seconds (every write
    acknowledged before the backup started is in it); else from the checkpoint the server
    published last, without the lock (a write the server acknowledged but holds back for
    `--write-linger` seconds may be missing: readers do not see it yet either). Writers that
    follow one another without a pause can keep the lock file busy for as long as they write,
    and a backup must not wait for them to stop."""
    try:
        with store.writer():
            _copy_published(store, staging)
            _copy_index(index, staging)
            return
    except StoreError as exc:
        if "has been writing this store" not in exc.message:
            raise
    _copy_published(store, staging)
    _copy_index(index, staging, checked=True)


def _copy_published(store: SharedStore, staging: Path, attempts: int = 3) -> None:
    """Checkpoint the published checkpoint (a store nobody writes); retried when the server
    retires it meanwhile (a backup slower than the server's grace period)."""
    for attempt in range(attempts):
        try:
            with EmbeddedStore.open(store.checkpoint_folder(), read_only=True) as published:
                published.checkpoint(staging / STORE_FOLDER)
            return
        except StoreError:
            shutil.rmtree(staging / STORE_FOLDER, ignore_errors=True)
            if attempt == attempts - 1:
                raise


def _copy_index(index: Path, staging: Path, *, checked: bool = False) -> None:
    """Copy the vector index, if there is one. Without the writer lock (`checked`) a save may
    run meanwhile: the copy is kept only if it loads (its checksums match), else left out,
    as the index is derived and the first search rebuilds it."""
    if not (index / "meta.json").is_file():
        return
    shutil.copytree(index, staging / INDEX_FOLDER)
    if checked:
        try:
            VectorIndex.load(staging / INDEX_FOLDER)
        except IndexCorruptError:
            shutil.rmtree(staging / INDEX_FOLDER)


def _export(store: ModelStore, staging: Path) -> Manifest:
    counted = _Counter()
    with store.writer(), (staging / DATA_FILE).open("wb") as output:
        serialize(counted.each(store.quads(vocabulary=False)), output, RdfFormat.N_QUADS)
        _copy_index(index_folder(store.location), staging)
    return Manifest.describe(
        staging,
        kind="nquads",
        source=store.location,
        quads=counted.quads,
        models=len(counted.models),
    )


class _Counter:
    """Counts the quads streamed past it as `count_data_quads` and `count_models` would."""

    def __init__(self) -> None:
        self.quads = 0
        self.models: set[str] = set()

    def each(self, quads: Iterable[Quad]) -> Iterator[Quad]:
        for quad in quads:
            graph = quad.graph_name
            if isinstance(graph, NamedNode):
                self.quads += 1
                if quad.subject == graph and quad.predicate == MKG.describes:
                    self.models.add(str(quad.object))
            yield quad
