"""Ingest: sources in, validated named graphs out, one transaction per batch.

    discover -> digest (skip unchanged) -> read (worker processes) -> validate (a batch at a
    time) -> write (one transaction per batch)

A rejected model changes nothing in the store. Without `strict`, one bad model does not stop
the others; with `strict`, any rejection (including SHACL warnings such as an unknown model
type) means nothing is written at all.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kg.errors import InputError, ShapeViolation
from kg.ingest.reader import ModelGraph, read_source
from kg.ingest.sources import Discovery, ModelSource, discover_all
from kg.iris import IriMinter
from kg.validate import ValidationResult, validate_models

if TYPE_CHECKING:
    from kg.store.embedded import EmbeddedStore

__all__ = ["IngestSummary", "ingest", "read_sources"]

BATCH_SIZE = 500
"""Models validated and written per transaction."""


@dataclass
class IngestSummary:
    """What an ingest did, model by model."""

    ingested: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    triples: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was rejected."""
        return not self.rejected


ProgressCallback = Callable[[int], None]


def _read_one(task: tuple[ModelSource, IriMinter]) -> ModelGraph | tuple[str, str]:
    source, ids = task
    try:
        return read_source(source, ids)
    except InputError as exc:
        return (source.display, str(exc))
    except Exception as exc:  # a bug must not sink the batch; say so plainly
        detail = traceback.format_exc() if os.environ.get("MODELKG_DEBUG") else ""
        return (
            source.display,
            f"unexpected {type(exc).__name__} while reading {source.location}: {exc} "
            f"(a ModelKG bug; set MODELKG_DEBUG=1 for the traceback){detail}",
        )


def read_sources(
    sources: Sequence[ModelSource], ids: IriMinter, *, workers: int = 1
) -> Iterator[ModelGraph | tuple[str, str]]:
    """Read sources in order, in `workers` processes when more than one."""
    tasks = [(source, ids) for source in sources]
    if workers <= 1 or len(tasks) < 16:
        yield from map(_read_one, tasks)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_read_one, tasks, chunksize=16)


def _batches(items: Sequence[ModelSource], size: int) -> Iterable[Sequence[ModelSource]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def ingest(
    arguments: list[str],
    store: EmbeddedStore,
    *,
    strict: bool = False,
    hub_id: str | None = None,
    ids: IriMinter | None = None,
    engine: str = "compiled",
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
    on_total: Callable[[int], None] | None = None,
    discovery: Discovery | None = None,
) -> IngestSummary:
    """Ingest every model behind `arguments` into `store`; see the module docstring."""
    ids = ids or IriMinter.from_environment()
    found = discovery or discover_all(arguments, hub_id=hub_id)
    summary = IngestSummary(notes=list(found.notes))
    for name, error in found.problems:
        summary.rejected.append((name, str(error)))
    sources = _dedupe(found.sources, summary)
    if on_total is not None:
        on_total(len(sources))
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    pending: list[tuple[ModelGraph, bool]] = []
    for batch in _batches(sources, batch_size):
        graphs: list[ModelGraph] = []
        for outcome in read_sources(batch, ids, workers=workers):
            if isinstance(outcome, ModelGraph):
                graphs.append(outcome)
            else:
                summary.rejected.append(outcome)
        existing = store.source_digests([g.graph_iri for g in graphs])
        fresh: list[ModelGraph] = []
        for graph in graphs:
            if existing.get(graph.graph_iri.value) == graph.digest:
                summary.unchanged.append(graph.source.display)
            else:
                fresh.append(graph)
        for graph, results in zip(fresh, validate_models(fresh, engine), strict=True):
            name = graph.source.display
            for warning in graph.warnings:
                summary.warnings.append((name, warning))
            problem = _rejection(graph, results, strict=strict)
            if problem is not None:
                summary.rejected.append((name, str(problem)))
                continue
            for result in results:
                summary.warnings.append((name, result.describe()))
            pending.append((graph, graph.graph_iri.value in existing))
        if not strict:
            _write(store, pending, summary)
            pending = []
        if on_progress is not None:
            on_progress(len(batch))
    if strict:
        if summary.rejected:
            summary.notes.append("--strict: something was rejected, so nothing was written")
        else:
            for start in range(0, len(pending), batch_size):
                _write(store, pending[start : start + batch_size], summary)
    return summary


def _dedupe(sources: list[ModelSource], summary: IngestSummary) -> list[ModelSource]:
    seen: dict[str, ModelSource] = {}
    kept: list[ModelSource] = []
    for source in sources:
        if source.hub_id is None:
            kept.append(source)
            continue
        first = seen.get(source.hub_id)
        if first is not None:
            summary.rejected.append(
                (
                    source.hub_id,
                    f"{source.location}: the same hub id was already given by {first.location}; "
                    "ingest one of them",
                )
            )
            continue
        seen[source.hub_id] = source
        kept.append(source)
    return kept


def _rejection(
    graph: ModelGraph, results: list[ValidationResult], *, strict: bool
) -> ShapeViolation | None:
    blocking = [r for r in results if strict or r.severity == "Violation"]
    if not blocking:
        return None
    lines = "; ".join(r.describe() for r in blocking)
    where = str(graph.source.location)
    return ShapeViolation(
        f"SHACL {'findings' if strict else 'violations'} ({len(blocking)}): {lines}",
        path=where,
        results=tuple(blocking),
    )


def _write(
    store: EmbeddedStore, pending: list[tuple[ModelGraph, bool]], summary: IngestSummary
) -> None:
    if not pending:
        return
    models = [graph for graph, _ in pending]
    store.write_models(models, replace=[graph.graph_iri for graph, replaced in pending if replaced])
    for graph, replaced in pending:
        (summary.updated if replaced else summary.ingested).append(graph.source.display)
        summary.triples += len(graph.quads)
