"""Register models: ingest them, size them, re-derive what changed, sync the search index.

One function for every way in (the `modelkg ingest` command, the server's ingest mutation and
REST endpoint), so they cannot drift apart: the same steps, in the same order, as one write
under the store's writer lock. A reader never sees a new model without its inferences.

>>> import tempfile
>>> from kg.store import open_store
>>> store = open_store(tempfile.mkdtemp() + "/kg")
>>> done = register(["examples/models/gpt2-style-lm"], store)
>>> len(done.ingest.written), done.reasoning is not None, done.search
(1, True, None)
>>> done.sizing.counted  # the parameter count is in the graph right after the ingest
1
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kg.ingest.pipeline import IngestSummary, ingest
from kg.reason.run import ReasonSummary, reason_models
from kg.repair import tracked

if TYPE_CHECKING:
    from kg.compat.sizing import SizingSummary
    from kg.search.service import SyncSummary
    from kg.store.base import ModelStore

__all__ = ["IndexSync", "Registration", "register", "sync_index_on_disk"]

IndexSync = Callable[[], "SyncSummary | None"]
"""Brings a search index in step with the store; None when there was nothing to sync."""

OPTIMIZE_AFTER_QUADS = 1_000_000
"""A registration that wrote at least this many quads (~2,000 models) compacts the store for
reads after it (`ModelStore.optimize`): at 10,000 models that costs 18 s after a 207 s ingest
and makes a lookup 2.5x faster, where smaller writes leave too few files to matter."""


@dataclass(frozen=True)
class Registration:
    """What registering did: the ingest, the sizing and reasoning after it, the index sync."""

    ingest: IngestSummary
    reasoning: ReasonSummary | None
    search: SyncSummary | None
    sizing: SizingSummary | None = None
    """parameter counts computed for the written models that state none (`kg.compat.sizing`)"""
    optimized: bool = False
    """the store was compacted for reads after the write (`OPTIMIZE_AFTER_QUADS`)"""


def register(
    arguments: list[str],
    store: ModelStore,
    *,
    derive: bool = True,
    size: bool = True,
    sync_index: IndexSync | None = None,
    on_optimize: Callable[[int], object] | None = None,
    **options: Any,
) -> Registration:
    """Ingest `arguments` (`kg.ingest.pipeline.ingest`, which takes `options`), each model
    written with its inferred facts (`derive`) and, when its metadata states none, its exact
    parameter count (`size`: on the meta device, so a size filter sees it at once); then
    re-derive the models built on what was written, and sync the search index (`sync_index`),
    all under one hold of the writer lock, recorded in the store's journal: a crash at any
    point leaves each model wholly old or wholly new, and the next writer (`kg.repair`)
    re-derives what the crash left stale and takes back a strict ingest's partial write.
    A write of `OPTIMIZE_AFTER_QUADS` quads or more ends by compacting a store that
    `compacts` (told to `on_optimize` first, with the count: it takes a while)."""
    with tracked(store, "ingest", sync_index=sync_index) as entry:
        summary = ingest(arguments, store, derive=derive, size=size, undo=entry, **options)
        reasoning = None
        synced = None
        sized = None
        if summary.written:
            if size:
                sized = _sizing(summary)
            if derive:
                reasoning = reason_models(store, summary.written, settled=summary.settled)
            if sync_index is not None:
                synced = sync_index()
    # after the journal's entry is closed: the write is whole, and compacting is upkeep that a
    # crash cannot leave half done (RocksDB swaps the compacted files in at once)
    optimized = store.compacts and summary.triples >= OPTIMIZE_AFTER_QUADS
    if optimized:
        if on_optimize is not None:
            on_optimize(summary.triples)
        store.optimize()
    return Registration(summary, reasoning, synced, sized, optimized)


def _sizing(summary: IngestSummary) -> SizingSummary:
    from kg.compat.sizing import SizingSummary  # transformers is imported only when needed

    return SizingSummary(counted=summary.sized, failed=list(summary.sizing_failed))


def sync_index_on_disk(store: ModelStore) -> IndexSync:
    """The sync a command runs: the store's vector index, if one was built (else the first
    `modelkg search` builds it), re-embedding what changed."""

    def sync() -> SyncSummary | None:
        from kg.search.embedder import EmbeddingService, available_models
        from kg.search.service import SearchService, index_folder

        if not index_folder(store.location).exists():
            return None
        return SearchService(store, EmbeddingService(available_models(store))).sync()

    return sync
