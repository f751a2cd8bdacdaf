"""`modelkg restore SRC`: put a backup back, whole or not at all.

The backup's manifest is read and every file checked against its sha256 first; a backup from
a newer ModelKG is refused (`kg.ops.manifest`). The backup is then made into a store in a
folder beside the target (a copy of the checkpoint, or the N-Quads bulk-loaded), opened (which
brings its ontology and shapes up to this ModelKG's) and counted: its data quads and models
must be what the manifest says. Only then does it take the target's place, by renaming, so an
interrupted restore leaves the old store or the restored one, never a mix. The vector index
travels the same way; a target whose backup holds none loses its old index (it described
another store) and is indexed afresh by the next search.

A target that holds data is refused unless `force`. A store that a running server serves is
refused: stop the server, restore, start it again. A remote target (`sparql+http://`) is
filled from the staged store by `kg.store.migrate` (batches, counted at the end): a SPARQL
server offers no transaction across requests, so a restore cut off there leaves part of the
data; run it again with `force`.

>>> import tempfile
>>> from pathlib import Path
>>> from kg.ops.backup import backup
>>> from kg.store import open_store
>>> where = tempfile.mkdtemp()
>>> with open_store(where + "/kg") as store:
...     store.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> <urn:c> } }")
>>> _ = backup(where + "/kg", Path(where) / "snapshot")
>>> restore(Path(where) / "snapshot", where + "/copy").quads
1
>>> with open_store(where + "/copy", read_only=True) as copy:
...     copy.ask("ASK { <urn:a> <urn:b> <urn:c> }")
True
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

from pyoxigraph import RdfFormat, Store

from kg.errors import InputError, StoreError, UsageError
from kg.ops.backup import DATA_FILE, INDEX_FOLDER, STORE_FOLDER
from kg.ops.manifest import Manifest
from kg.search.service import index_folder
from kg.store import open_store, store_location
from kg.store.embedded import EmbeddedStore
from kg.store.holder import current_holder
from kg.store.migrate import count_data_quads, migrate

__all__ = ["restore"]


def restore(source: Path, location: str | None, *, force: bool = False) -> Manifest:
    """Restore the backup in `source` into the store at `location` (module docstring);
    returns the backup's manifest."""
    where = store_location(location)
    manifest = Manifest.read(source).verify(source)
    if "://" in where:
        _restore_remote(source, manifest, where, force=force)
    else:
        _restore_embedded(source, manifest, Path(where), force=force)
    return manifest


def _restore_embedded(source: Path, manifest: Manifest, target: Path, *, force: bool) -> None:
    _check_target(target, force=force)
    staging = _beside(target, "restore")
    index = index_folder(str(target))
    staged_index = _beside(index, "restore")
    try:
        _stage(source, manifest, staging)
        if (source / INDEX_FOLDER).is_dir():
            shutil.copytree(source / INDEX_FOLDER, staged_index)
        _swap(staging, target)
        if staged_index.exists():
            _swap(staged_index, index)
        elif index.exists():
            _swap(None, index)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(staged_index, ignore_errors=True)


def _restore_remote(source: Path, manifest: Manifest, where: str, *, force: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="modelkg-restore-") as scratch:
        staging = Path(scratch) / "store"
        _stage(source, manifest, staging)
        with (
            EmbeddedStore.open(staging, read_only=True) as staged,
            open_store(where) as target,
        ):
            migrate(staged, target, replace=force)
    if (source / INDEX_FOLDER).is_dir():
        index = index_folder(where)
        staged_index = _beside(index, "restore")
        shutil.copytree(source / INDEX_FOLDER, staged_index)
        _swap(staged_index, index)


def _check_target(target: Path, *, force: bool) -> None:
    """Refuse a served target, one held by another process, or (without `force`) one that
    holds data."""
    holder = current_holder(str(target))
    if holder is not None:
        raise StoreError(
            f"`modelkg serve` (pid {holder['pid']}) serves this store at {holder['url']}",
            path=str(target),
            hint="stop the server, restore, then start it again",
        )
    if not target.exists():
        return
    if not target.is_dir():
        raise UsageError("the restore target is a file, not a store folder", path=str(target))
    if not any(target.iterdir()):
        return
    try:
        with EmbeddedStore.open(target, read_only=True) as present:
            holds = count_data_quads(present)
    except StoreError as exc:
        if not force:
            raise UsageError(
                f"the restore target is not an empty store ({exc.message})",
                path=str(target),
                hint="name a new folder, or pass --force to replace what is there",
            ) from exc
        holds = 0
    if holds and not force:
        raise UsageError(
            f"the restore target already holds {holds:,} quads of data",
            path=str(target),
            hint="name a new folder, or pass --force to replace this store",
        )
    try:  # nobody else holds it for writing (RocksDB's lock): its folder is about to move
        Store(str(target)).flush()
    except (OSError, RuntimeError) as exc:
        raise StoreError(
            f"another process holds the restore target for writing: {exc}",
            path=str(target),
            hint="stop it (an ingest, a reasoning run), then restore",
        ) from exc


def _stage(source: Path, manifest: Manifest, staging: Path) -> None:
    """Make the backup into a store in `staging` and check it holds what the manifest says."""
    if manifest.kind == "checkpoint":
        shutil.copytree(source / STORE_FOLDER, staging)
    else:
        loader = Store(str(staging))
        try:
            loader.bulk_load(path=str(source / DATA_FILE), format=RdfFormat.N_QUADS)
        except (OSError, SyntaxError, ValueError) as exc:
            raise InputError(
                f"the backup's N-Quads do not load: {exc}",
                path=str(source / DATA_FILE),
                hint="the backup is damaged; use another one",
            ) from exc
        finally:
            loader.flush()
            del loader
    with EmbeddedStore.open(staging) as staged:  # brings its vocabulary up to date
        quads, models = count_data_quads(staged), staged.count_models()
    if (quads, models) != (manifest.quads, manifest.models):
        raise InputError(
            f"the restored store holds {quads:,} quads and {models:,} models where the "
            f"backup's manifest says {manifest.quads:,} and {manifest.models:,}",
            path=str(source),
            hint="the backup is damaged; use another one",
        )


def _beside(path: Path, what: str) -> Path:
    """A new name in `path`'s folder (same file system: renames are atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{what}-{uuid.uuid4().hex[:8]}")


def _swap(new: Path | None, target: Path) -> None:
    """Put `new` in `target`'s place (or just remove `target` when `new` is None): the old
    one is renamed aside first and deleted last."""
    old = _beside(target, "replaced") if target.exists() else None
    if old is not None:
        target.rename(old)
    if new is not None:
        new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
