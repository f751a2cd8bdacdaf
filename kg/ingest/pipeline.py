"""Ingest: sources in, validated named graphs out, atomic batches.

    discover (parent) -> chunks of sources -> worker processes: digest, skip unchanged, read,
    validate the chunk with SHACL, derive each valid model's inferred graph and size graph ->
    parent: write batches (new graphs in one atomic bulk load, replaced graphs in one
    transaction), each model with the graphs derived from it

Reading, validating and deriving run in the workers, in parallel with the parent's writes; a
worker's result is plain data (N-Quads bytes, findings), cheap to send between processes.
Deriving before the write means a model is never in the store without its inferences, and a
remote store gets one request per batch, not a read and a write per model; the few models
whose bases were not in their chunk are derived again after the write (`register`). A rejected
model changes nothing in the store. Without `strict`, one bad model does not stop the others;
with `strict`, any finding (SHACL warnings too, e.g. an unknown model type) rejects its model
and nothing at all is written when anything was rejected.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from pyoxigraph import NamedNode, Quad, RdfFormat, serialize

from kg.errors import InputError, ShapeViolation
from kg.executors import ChunkExecutor, executor_for
from kg.ingest.reader import plan_source, read_source_with_quads
from kg.ingest.sources import Discovery, ModelSource, confine, count_sources, walk
from kg.iris import IriMinter
from kg.reason.engine import ModelFacts, Reasoner
from kg.reason.run import Settled, derive_fresh
from kg.store.journal import note_undo, undo_writes, unfinished
from kg.store.model_graph import ModelGraph
from kg.validate import ValidationResult, validate_models

if TYPE_CHECKING:
    from kg.store.base import ModelStore

__all__ = ["ChunkJob", "ChunkResult", "IngestSummary", "ingest", "process_chunk", "run_chunk"]

BATCH_QUADS = 400_000
"""Quads per store write: small enough that writes interleave with the workers' reading, and
well below the bulk loader's atomic chunk."""
CHUNK_SIZE = 64
"""Sources a worker reads and validates together."""
MIN_SOURCES_FOR_WORKERS = 128
"""Below this, starting worker processes (imports, catalog, compiled shapes, transformers for
sizing) costs more than reading in-process saves: the 182 corpus models take 15.7 s in process
and 12.5 s with two workers, since sizing their configs dominates."""


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
    written: list[str] = field(default_factory=list)
    """IRIs of the models whose graphs were written (ingested or updated)"""
    settled: dict[str, Settled] = field(default_factory=dict)
    """written models whose inferred graphs were derived and written with them (`derive`)"""
    sized: int = 0
    """written models whose parameter count was computed and written with them (`size`)"""
    sizing_failed: list[tuple[str, str]] = field(default_factory=list)
    """(model IRI, why) for configs whose parameters could not be counted"""
    interrupted: int = 0
    """sources left unread because the ingest was asked to stop (`stop`); 0 when it ran out"""

    @property
    def ok(self) -> bool:
        """True when nothing was rejected."""
        return not self.rejected


ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class Outcome:
    """What became of one source in a worker."""

    name: str
    graph: ModelGraph | None = None
    results: tuple[ValidationResult, ...] = ()
    error: str | None = None
    unchanged: bool = False
    settled: Settled | None = None
    sized: bool = False
    sizing_error: str | None = None


ChunkResult = list[Outcome]


def process_chunk(
    chunk: Sequence[ModelSource],
    ids: IriMinter,
    known: dict[str, str],
    engine: str,
    *,
    derive: bool = False,
    size: bool = False,
) -> ChunkResult:
    """Digest, read and validate a chunk of sources (runs in a worker process); with `derive`
    and `size`, add each valid model's inferred and size graphs to what is written with it.

    `known` maps graph IRIs to the digests already stored, so unchanged sources are not read.
    """
    outcomes: list[Outcome] = []
    graphs: list[ModelGraph] = []
    built: list[list[Quad]] = []
    seen: dict[str, ModelSource] = {}
    for source in chunk:
        name = source.display
        try:
            plan = plan_source(source, ids)
            if known.get(plan.graph_iri.value) == plan.digest:
                outcomes.append(Outcome(name, unchanged=True))
                continue
            first = seen.setdefault(plan.graph_iri.value, source)
            if first is not source:
                outcomes.append(Outcome(name, error=_same_model(source, str(first.location))))
                continue
            graph, quads = read_source_with_quads(source, ids, plan=plan)
        except InputError as exc:
            outcomes.append(Outcome(name, error=str(exc)))
            continue
        except OSError as exc:
            outcomes.append(Outcome(name, error=f"{source.location}: cannot read: {exc}"))
            continue
        except Exception as exc:  # a bug must not sink the batch; say so plainly
            detail = traceback.format_exc() if os.environ.get("MODELKG_DEBUG") else ""
            outcomes.append(
                Outcome(
                    name,
                    error=f"unexpected {type(exc).__name__} while reading {source.location}: "
                    f"{exc} (a ModelKG bug; set MODELKG_DEBUG=1 for the traceback){detail}",
                )
            )
            continue
        outcomes.append(Outcome(name, graph=graph))
        graphs.append(graph)
        built.append(quads)
    findings = iter(validate_models(graphs, engine, built))
    checked = [
        replace(o, results=tuple(next(findings))) if o.graph is not None else o for o in outcomes
    ]
    if derive or size:
        quads_of = {g.graph_iri.value: q for g, q in zip(graphs, built, strict=True)}
        checked = _with_derived(checked, quads_of, derive=derive, size=size)
    return checked


def _with_derived(
    outcomes: list[Outcome], quads_of: dict[str, list[Quad]], *, derive: bool, size: bool
) -> list[Outcome]:
    """Outcomes whose valid models carry their inferred graph (`derive`) and size graph
    (`size`) in their N-Quads. A model with a SHACL violation gets neither: it will not be
    written, and its chunk's other models must not be derived as if it were."""
    valid = [
        o.graph
        for o in outcomes
        if o.graph is not None and not any(r.severity == "Violation" for r in o.results)
    ]
    extra: dict[str, list[Quad]] = {g.graph_iri.value: [] for g in valid}
    owned: dict[str, list[NamedNode]] = {g.graph_iri.value: [] for g in valid}
    settled: dict[str, Settled] = {}
    failures: dict[str, str] = {}
    sized: set[str] = set()
    if size:
        from kg.compat.sizing import size_graph_of, sizes_of_model  # imports transformers

        for graph in valid:
            key = graph.graph_iri.value
            found, failure = sizes_of_model(graph.graph_iri, graph.model_iri, quads_of[key])
            extra[key].extend(found)
            owned[key].append(size_graph_of(graph.graph_iri))
            if found:
                sized.add(key)
            if failure is not None:
                failures[key] = failure
    if derive and valid:
        fresh = [
            ModelFacts(g.model_iri, g.graph_iri, g.digest, tuple(quads_of[g.graph_iri.value]))
            for g in valid
        ]
        for graph, (derivation, done) in zip(valid, derive_fresh(fresh), strict=True):
            key = graph.graph_iri.value
            extra[key].extend(derivation.quads)
            owned[key].append(derivation.graph)
            settled[key] = done
    result = []
    for outcome in outcomes:
        read = outcome.graph
        if read is None or read.graph_iri.value not in extra:
            result.append(outcome)
            continue
        key = read.graph_iri.value
        added = extra[key]
        widened = replace(
            read,
            nquads=read.nquads + (serialize(added, format=RdfFormat.N_QUADS) or b""),
            count=read.count + len(added),
            derived_graphs=tuple(owned[key]),
        )
        result.append(
            replace(
                outcome,
                graph=widened,
                settled=settled.get(key),
                sized=key in sized,
                sizing_error=failures.get(key),
            )
        )
    return result


@dataclass(frozen=True)
class ChunkJob:
    """One chunk of sources and what a worker needs to process it (plain, picklable data:
    it travels to a worker process or a Ray task)."""

    sources: Sequence[ModelSource]
    ids: IriMinter
    known: dict[str, str]
    engine: str
    derive: bool
    size: bool


def run_chunk(job: ChunkJob) -> ChunkResult:
    """`process_chunk` over one job: the unit of ingest work an executor runs.

    >>> from kg.ingest.sources import discover_all
    >>> sources = discover_all(["examples/models/gpt2-style-lm"]).sources
    >>> job = ChunkJob(sources, IriMinter.from_environment(), {}, "compiled", False, False)
    >>> [outcome.graph.count > 0 for outcome in run_chunk(job)]
    [True]
    """
    return process_chunk(
        job.sources, job.ids, job.known, job.engine, derive=job.derive, size=job.size
    )


class _Stream:
    """The sources of an ingest as they are found (`walk`), a chunk at a time: problems and
    notes go into the summary as they come, and a second source for a hub id already given is
    rejected (only the ids are kept, never the sources)."""

    def __init__(
        self, pieces: Iterator[Discovery], summary: IngestSummary, roots: Sequence[str | Path]
    ) -> None:
        self.pieces = pieces
        self.roots = [Path(root) for root in roots]
        self.summary = summary
        self.seen: dict[str, str] = {}
        """hub id -> the location that gave it first"""
        self.skipped = 0
        """sources rejected here (unreadable, or a repeated hub id), not yet counted as
        progress"""

    def sources(self) -> Iterator[ModelSource]:
        for found in self.pieces:
            piece = confine(found, self.roots) if self.roots else found
            self.summary.notes.extend(piece.notes)
            for name, error in piece.problems:
                self.summary.rejected.append((name, str(error)))
                self.skipped += 1
            for source in piece.sources:
                if source.hub_id is None:
                    yield source
                    continue
                first = self.seen.get(source.hub_id)
                if first is not None:
                    self.summary.rejected.append((source.hub_id, _same_model(source, first)))
                    self.skipped += 1
                    continue
                self.seen[source.hub_id] = str(source.location)
                yield source

    def chunks(self) -> Iterator[list[ModelSource]]:
        sources = self.sources()
        while chunk := list(islice(sources, CHUNK_SIZE)):
            yield chunk


def _jobs(
    stream: _Stream,
    ids: IriMinter,
    store: ModelStore,
    engine: str,
    *,
    derive: bool,
    size: bool,
) -> Iterator[ChunkJob]:
    """Chunks of `CHUNK_SIZE` sources, each with the stored digests of its own models (read
    chunk by chunk, so a million sources never make one query or one map)."""
    for chunk in stream.chunks():
        graphs = [ids.graph_iri(ids.model_key(s.hub_id, "")) for s in chunk if s.hub_id]
        known = store.source_digests(graphs) if graphs else {}
        yield ChunkJob(chunk, ids, known, engine, derive, size)


def _run_chunks(
    stream: _Stream,
    ids: IriMinter,
    store: ModelStore,
    engine: str,
    executor: ChunkExecutor | None,
    workers: int,
    *,
    few: bool,
    derive: bool,
    size: bool,
) -> Generator[tuple[int, ChunkResult]]:
    """Process chunks in order, each with its size (a source gives one outcome): on
    `executor`, or in local worker processes unless there are `few` sources (then in this
    process)."""
    jobs = _jobs(stream, ids, store, engine, derive=derive, size=size)
    if derive and not few:
        # built here once and inherited by forked workers: the rules, with what each reads
        # (the SPARQL analyzer's V8 cannot run in a child forked from a process that used it)
        Reasoner.default()
    with (
        nullcontext(executor) if executor is not None
        else executor_for("local", workers=1 if few else workers)
    ) as run:  # fmt: skip
        for result in run.map(run_chunk, jobs):
            yield len(result), result


def ingest(
    arguments: list[str],
    store: ModelStore,
    *,
    strict: bool = False,
    hub_id: str | None = None,
    ids: IriMinter | None = None,
    engine: str = "compiled",
    workers: int | None = None,
    executor: ChunkExecutor | None = None,
    on_progress: ProgressCallback | None = None,
    on_total: Callable[[int], None] | None = None,
    discovery: Discovery | None = None,
    derive: bool = False,
    size: bool = False,
    stop: Callable[[], bool] | None = None,
    undo: NamedNode | None = None,
    roots: Sequence[str | Path] = (),
) -> IngestSummary:
    """Ingest every model behind `arguments` into `store`; see the module docstring. With
    `derive` and `size`, each model is written with its inferred facts and its computed
    parameter count (`kg.ingest.register` adds the models built on them).

    Sources are found as the workers need them (`walk`), so memory does not grow with their
    number; `on_total` gets their count from a first walk that reads nothing. A `discovery`
    found beforehand is taken instead of `arguments`. With `roots` (a server's
    `--ingest-root`), a source with a file that links outside them is rejected, naming the
    file (`confine`): a served folder cannot lend out the server's other files. Chunks run on
    `executor` (by default local worker processes, when there are enough sources). `stop` is
    asked between chunks: when it says so, what was read is written and the rest is left for
    the next run (`summary.interrupted`; unchanged sources are skipped then, so running the
    same command again resumes). With `strict`, batches are written as they come, each
    recorded in the journal entry `undo` (`kg.store.journal.note_undo`), and taken back when
    anything is rejected, so a strict ingest is all or nothing at any size, a crash included
    (the next writer takes back what a dead strict ingest wrote).
    """
    ids = ids or IriMinter.from_environment()
    summary = IngestSummary()
    if discovery is not None:
        total = len(discovery.sources)
        stream = _Stream(iter([discovery]), summary, roots)
    else:
        pieces = walk(arguments, hub_id=hub_id)
        total = count_sources(arguments)
        stream = _Stream(pieces, summary, roots)
    if on_total is not None:
        on_total(total)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    few = workers <= 1 or total < MIN_SOURCES_FOR_WORKERS
    pending: list[Outcome] = []
    pending_quads = 0
    taken: dict[str, str] = {}
    """graph IRI -> the location of the source that gave it, for sources without a hub id
    (two identical configs); sources with one were told apart in the stream"""
    undone = undo if strict else None
    chunks = _run_chunks(
        stream, ids, store, engine, executor, workers, few=few, derive=derive, size=size
    )
    done = 0
    try:
        for count, outcomes in chunks:
            accepted = []
            for outcome in _settle(outcomes, summary, strict=strict):
                graph = outcome.graph
                assert graph is not None
                if graph.source.hub_id is None:
                    first = taken.get(graph.graph_iri.value)
                    if first is not None:
                        summary.rejected.append(
                            (graph.source.display, _same_model(graph.source, first))
                        )
                        continue
                    taken[graph.graph_iri.value] = str(graph.source.location)
                accepted.append(outcome)
            existing = store.source_digests([o.graph.graph_iri for o in accepted if o.graph])
            for outcome in accepted:
                graph = outcome.graph
                assert graph is not None
                if existing.get(graph.graph_iri.value) == graph.digest:
                    summary.unchanged.append(graph.source.display)  # a local model, read again
                    continue
                if strict and summary.rejected:
                    continue  # nothing will be written: read on, to report everything
                batched = not strict or undone is not None
                if pending_quads + graph.count > BATCH_QUADS and pending and batched:
                    _write(store, pending, summary, undone)
                    pending, pending_quads = [], 0
                pending.append(outcome)
                pending_quads += graph.count
            done += count + stream.skipped
            if on_progress is not None:
                on_progress(count + stream.skipped)
            stream.skipped = 0
            if stop is not None and stop():
                summary.interrupted = max(total - done, 0)  # as counted before: nothing read
                break
    finally:
        chunks.close()  # an interrupted ingest stops the workers' unstarted chunks
    if strict and summary.rejected:
        taken_back = len(summary.written)
        if undone is not None and taken_back:
            take_back(store, undone)
            _forget_writes(summary)
        summary.notes.append(
            "--strict: something was rejected, so nothing was written"
            + (f" ({taken_back} model(s) written before it were taken back)" if taken_back else "")
        )
        return summary
    if strict and summary.interrupted:
        if undone is not None and summary.written:
            take_back(store, undone)
            _forget_writes(summary)
        summary.notes.append("--strict: interrupted, so nothing was written")
        return summary
    batch: list[Outcome] = []
    quads = 0
    for outcome in pending:
        assert outcome.graph is not None
        if quads + outcome.graph.count > BATCH_QUADS and batch:
            _write(store, batch, summary, undone)
            batch, quads = [], 0
        batch.append(outcome)
        quads += outcome.graph.count
    _write(store, batch, summary, undone)
    return summary


def _forget_writes(summary: IngestSummary) -> None:
    """The summary of a strict ingest whose writes were taken back: nothing written."""
    summary.ingested.clear()
    summary.updated.clear()
    summary.written.clear()
    summary.settled.clear()
    summary.sizing_failed.clear()
    summary.sized = 0
    summary.triples = 0


def _settle(outcomes: ChunkResult, summary: IngestSummary, *, strict: bool) -> list[Outcome]:
    """Record each outcome in the summary; return those whose graphs are to be written."""
    accepted: list[Outcome] = []
    for outcome in outcomes:
        if outcome.unchanged:
            summary.unchanged.append(outcome.name)
            continue
        if outcome.error is not None or outcome.graph is None:
            summary.rejected.append((outcome.name, outcome.error or "not read"))
            continue
        graph = outcome.graph
        for warning in graph.warnings:
            summary.warnings.append((outcome.name, warning))
        problem = _rejection(graph, list(outcome.results), strict=strict)
        if problem is not None:
            summary.rejected.append((outcome.name, str(problem)))
            continue
        for result in outcome.results:
            summary.warnings.append((outcome.name, result.describe()))
        accepted.append(outcome)
    return accepted


def _same_model(source: ModelSource, first: str) -> str:
    if source.hub_id:
        return (
            f"{source.location}: the same hub id was already given by {first}; ingest one of them"
        )
    return (
        f"{source.location}: same model as {first} (a model without a hub id is "
        "named by the digest of its config, and both configs are identical); give each a "
        "hub id (--hub-id, or a PROVENANCE.json with a hub_id) or ingest one of them"
    )


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
    store: ModelStore, outcomes: list[Outcome], summary: IngestSummary, undo: NamedNode | None
) -> None:
    """Write new graphs (one atomic bulk load) and replaced ones (one transaction), each model
    with the graphs derived from it; with `undo` (a strict ingest's journal entry), first
    record what the write will change, so it can be taken back."""
    graphs = [o.graph for o in outcomes if o.graph is not None]
    if not graphs:
        return
    existing = store.source_digests([graph.graph_iri for graph in graphs])
    fresh = [g for g in graphs if g.graph_iri.value not in existing]
    changed = [g for g in graphs if g.graph_iri.value in existing]
    if undo is not None:
        replaced = [name for g in changed for name in g.graphs if store.has_graph(name)]
        note_undo(store, undo, [name for g in graphs for name in g.graphs], replaced)
    if fresh:
        store.write_models(fresh, replace=[])
        summary.ingested.extend(g.source.display for g in fresh)
    if changed:
        store.write_models(changed, replace=[name for g in changed for name in g.graphs])
        summary.updated.extend(g.source.display for g in changed)
    summary.triples += sum(g.count for g in graphs)
    summary.written.extend(g.model_iri.value for g in graphs)
    for outcome in outcomes:
        graph = outcome.graph
        assert graph is not None
        if outcome.settled is not None:
            summary.settled[graph.model_iri.value] = outcome.settled
        if outcome.sizing_error is not None:
            summary.sizing_failed.append((graph.model_iri.value, outcome.sizing_error))
        summary.sized += outcome.sized


def take_back(store: ModelStore, entry: NamedNode) -> None:
    """Undo what a strict ingest recorded in its journal entry `entry` (`note_undo`)."""
    for found in unfinished(store):
        if found.graph == entry:
            undo_writes(store, found)
