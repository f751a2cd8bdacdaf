"""Repair what a crash cut off: run each unfinished operation's repair steps.

The journal (`kg.store.journal`) says which operations started and never ended, and the
ontology which steps repair each (`mkg:repairedBy`): take back a strict ingest's partial
write, re-derive stale inferred graphs (or all of them, after a full run or a migration), bring
the vector index in step. Every step is idempotent, so a repair that is itself cut off is run
again next time. Writers call `repair` before their own work (`tracked`), and `modelkg doctor
--fix` calls it too.

>>> import tempfile
>>> from kg.store import open_store
>>> from kg.store.journal import JOURNAL_PREFIX, unfinished
>>> store = open_store(tempfile.mkdtemp() + "/kg")
>>> store.update(  # what a process killed during an ingest leaves
...     f"INSERT DATA {{ GRAPH <{JOURNAL_PREFIX}x> {{ <{JOURNAL_PREFIX}x> a mkg:UnfinishedWork ;"
...     " mkg:graphKind mkg:JournalGraph ; mkg:operation mkg:IngestOperation ;"
...     ' prov:startedAtTime "2026-01-01T00:00:00Z"^^xsd:dateTime ;'
...     ' mkg:ownerHost "gone" ; mkg:ownerProcess "1@1" } }')
>>> [(done.operation, done.steps) for done in repair(store, force=True)]
[('ingest', ('UndoPartialWrite', 'ReasonStale', 'SyncIndex'))]
>>> unfinished(store)
[]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyoxigraph import NamedNode

from kg.reason.run import reason
from kg.store.base import ModelStore
from kg.store.journal import Unfinished, forget, journal, repair_steps, undo_writes, unfinished

__all__ = ["Repaired", "repair", "tracked"]

IndexSync = Callable[[], object]


@dataclass(frozen=True)
class Repaired:
    """One unfinished operation and the steps run for it."""

    operation: str
    started: str
    steps: tuple[str, ...]
    left: str | None = None
    """why the entry stays (a step that cannot run by itself), with the command that fixes it"""


def repair(
    store: ModelStore, *, sync_index: IndexSync | None = None, force: bool = False
) -> list[Repaired]:
    """Repair every unfinished operation whose process is gone (every one with `force`),
    under the writer lock. `sync_index` brings the vector index in step (by default the one
    on disk beside the store, when there is one)."""
    done: list[Repaired] = []
    with store.writer():
        for entry in unfinished(store):
            if entry.alive and not force:
                continue
            done.append(_repair_one(store, entry, sync_index))
    return done


def _repair_one(store: ModelStore, entry: Unfinished, sync_index: IndexSync | None) -> Repaired:
    steps = repair_steps(store, entry.operation)
    for step in steps:
        if step == "RepeatMigration":
            return Repaired(
                entry.operation,
                entry.started,
                tuple(steps),
                left="a migration into this store was cut off: it holds part of its source; "
                "copy it again with `modelkg migrate SOURCE TARGET --replace`",
            )
        _STEPS[step](store, entry, sync_index)
    forget(store, entry.graph)
    return Repaired(entry.operation, entry.started, tuple(steps))


def _undo(store: ModelStore, entry: Unfinished, _: IndexSync | None) -> None:
    if entry.written or entry.undo:
        undo_writes(store, entry)


def _reason_stale(store: ModelStore, _: Unfinished, __: IndexSync | None) -> None:
    reason(store)


def _reason_all(store: ModelStore, _: Unfinished, __: IndexSync | None) -> None:
    reason(store, full=True)


def _sync(store: ModelStore, _: Unfinished, sync_index: IndexSync | None) -> None:
    if sync_index is None:
        from kg.ingest.register import sync_index_on_disk  # the ingest imports this module

        sync_index = sync_index_on_disk(store)
    sync_index()


_STEPS: dict[str, Callable[[ModelStore, Unfinished, IndexSync | None], None]] = {
    "UndoPartialWrite": _undo,
    "ReasonStale": _reason_stale,
    "ReasonAll": _reason_all,
    "SyncIndex": _sync,
}
"""The Python behind each `mkg:RepairStep` of the ontology (which operation needs which is
data there)."""


@contextmanager
def tracked(
    store: ModelStore, operation: str, *, sync_index: IndexSync | None = None
) -> Iterator[NamedNode]:
    """Run the block as `operation` in the journal, under the writer lock, after repairing
    what dead processes left. Should the block fail (a store gone away, an interrupt), its
    own entry is repaired at once, as a crash's would be; a process that dies inside leaves
    it to the next writer. Yields the entry (a strict ingest records its batches in it)."""
    with store.writer():
        repair(store, sync_index=sync_index)
        with journal(store, operation) as entry:
            try:
                yield entry
            except BaseException:
                _repair_own(store, entry, sync_index)
                raise


def _repair_own(store: ModelStore, entry: NamedNode, sync_index: IndexSync | None) -> None:
    """Repair this process's own entry after an error; if that fails too (the store is
    gone), the entry stays for the next writer."""
    try:
        for found in unfinished(store):
            if found.graph == entry:
                _repair_one(store, found, sync_index)
    except Exception:  # the first error is the one to report
        return
