"""Keep every model's inferred graph current: derive what is stale, or everything (`--full`).

An inferred graph records the digest of the source it was derived from and of the sources of
the models it derives from (its lineage context); when either changes, it is stale. So
re-ingesting one model re-derives that model and the models built on it, nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache

from pyoxigraph import Literal, NamedNode, Quad

from kg.executors import ChunkExecutor
from kg.reason.engine import Derivation, ModelFacts, Reasoner, inferred_graph_of
from kg.reason.rules import load_rules
from kg.store.base import ModelStore
from ontology.namespaces import MKG

__all__ = [
    "ReasonJob",
    "ReasonSummary",
    "Settled",
    "StaleModel",
    "derive_fresh",
    "derive_job",
    "reason",
    "reason_models",
    "stale_models",
]

BATCH = 200
_LINEAGE = ("fineTunedFrom", "adapterOf", "quantizedFrom", "mergedFrom")


@dataclass
class ReasonSummary:
    """What a reasoning run did."""

    derived: int = 0
    unchanged: int = 0
    removed: int = 0
    facts: int = 0
    rules: int = 0
    models: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Source:
    graph: NamedNode
    model: NamedNode
    digest: str


def _sources(store: ModelStore, only: set[str] | None = None) -> dict[str, _Source]:
    """Source records of every model, or of `only` these (bound in one query: index
    look-ups, no scan of the store)."""
    found: dict[str, _Source] = {}
    wanted = ""
    if only is not None:
        if not only:
            return found
        wanted = "VALUES ?m { " + " ".join(f"<{NamedNode(m).value}>" for m in sorted(only)) + " } "
    for row in store.select(
        f"SELECT ?g ?m ?d WHERE {{ {wanted}GRAPH ?g {{ ?g a mkg:SourceRecord ; "
        "mkg:describes ?m ; mkg:sourceDigest ?d } }",
    ):
        graph, model, digest = row["g"], row["m"], row["d"]
        assert isinstance(graph, NamedNode) and isinstance(model, NamedNode)
        assert isinstance(digest, Literal)
        found[model.value] = _Source(graph, model, digest.value)
    return found


def _bases(store: ModelStore, source: _Source) -> list[str]:
    return _lineage_of(source.model, store.subject_quads(source.model, source.graph))


def _lineage_of(model: NamedNode, quads: Iterable[Quad]) -> list[str]:
    """The models `model` derives from, as its graph's lineage statements name them."""
    lineage = {MKG[name] for name in _LINEAGE}
    return sorted(
        {
            quad.object.value
            for quad in quads
            if quad.subject == model
            and quad.predicate in lineage
            and isinstance(quad.object, NamedNode)
        }
    )


def _stamp(source: _Source, bases: Sequence[_Source]) -> str:
    return _stamp_of(source.digest, [base.digest for base in bases])


def _stamp_of(digest: str, base_digests: Iterable[str]) -> str:
    """What an inferred graph was derived from: its model's source and its bases' sources."""
    text = "\n".join([digest, *sorted(base_digests)])
    return hashlib.sha256(text.encode()).hexdigest()


def reason_models(
    store: ModelStore,
    models: Sequence[str],
    *,
    reasoner: Reasoner | None = None,
    settled: Mapping[str, Settled] | None = None,
) -> ReasonSummary:
    """Re-derive just these models and the models built on them (after an ingest of them).

    No scan of the whole store: this is what keeps re-deriving one model fast at any size.
    `settled` names the models whose inferred graphs the ingest derived and wrote with them
    (`derive_fresh`): such a model is derived again only when a base it could not see is in
    the store after all. The summary counts them with the models derived here.
    """
    summary = ReasonSummary(rules=len(reasoner.rules if reasoner else load_rules()))
    settled = settled or {}
    wanted = {m for m in models if m not in settled}
    values = " ".join(f"<{m}>" for m in models)
    lineage = " ".join(f"mkg:{name}" for name in _LINEAGE)
    if values:
        for row in store.select(
            f"SELECT ?d WHERE {{ VALUES ?base {{ {values} }} VALUES ?p {{ {lineage} }} "
            "?d ?p ?base }",
        ):
            # a settled model saw its base if the base was read with it, else it is unseen
            if isinstance(row["d"], NamedNode) and row["d"].value not in settled:
                wanted.add(row["d"].value)
    unseen = {base for done in settled.values() for base in done.unseen_bases}
    present = set(_sources(store, unseen)) if unseen else set()
    wanted |= {m for m, done in settled.items() if present.intersection(done.unseen_bases)}
    for model, done in settled.items():
        if model not in wanted:
            summary.derived += 1
            summary.facts += done.facts
            summary.models.append(model)
    sources = _sources(store, wanted)
    todo = []
    for source in sources.values():
        bases = list(_sources(store, set(_bases(store, source))).values())
        todo.append((source, bases, _stamp(source, bases)))
    if todo:  # an ingest that derived all it wrote builds no reasoner here
        _derive(store, reasoner or Reasoner.default(), todo, summary, None)
    return summary


@dataclass(frozen=True)
class Settled:
    """A model whose inferred graph was derived before it was written (`derive_fresh`)."""

    facts: int
    unseen_bases: tuple[str, ...]
    """the bases it names that the derivation could not see"""


def derive_fresh(
    models: Sequence[ModelFacts], reasoner: Reasoner | None = None
) -> list[tuple[Derivation, Settled]]:
    """The inferred graphs of models just read (an ingest worker's chunk; each `digest` is its
    source's, the stamp is worked out here), derived before they
    are written so that each is written with its model, in the same write. Each comes with
    the bases it names that are not among `models`: derived without them, it must be derived
    again if one of them is in the store (`reason_models`'s `settled`).

    Each inferred graph states its own kind (`mkg:graphKind mkg:InferredGraph`), as a store's
    `replace_graphs` would write it.
    """
    reasoner = reasoner or Reasoner.default()
    by_iri = {m.model_iri.value: m for m in models}
    facts: list[ModelFacts] = []
    outside: list[tuple[str, ...]] = []
    for model in models:
        bases = _lineage_of(model.model_iri, model.quads)
        inside = [by_iri[b] for b in bases if b in by_iri]
        stamp = _stamp_of(model.digest, [base.digest for base in inside])
        facts.append(replace(model, digest=stamp))
        outside.append(tuple(b for b in bases if b not in by_iri))
    derived = []
    for derivation, unseen in zip(reasoner.derive(facts), outside, strict=True):
        graph = derivation.graph
        kind = Quad(graph, MKG.graphKind, MKG.InferredGraph, graph)
        done = Settled(derivation.facts, unseen)
        derived.append((replace(derivation, quads=(*derivation.quads, kind)), done))
    return derived


def _current_stamps(store: ModelStore) -> dict[str, str]:
    """The stamp each inferred graph records, by graph IRI."""
    current: dict[str, str] = {}
    for row in store.select(
        "SELECT ?g ?d WHERE { GRAPH ?g { ?g mkg:derivedFromDigest ?d } "
        'FILTER(CONTAINS(STR(?g), "/graph/inferred/")) }',
    ):
        graph, digest = row["g"], row["d"]
        if isinstance(graph, NamedNode) and isinstance(digest, Literal):
            current[graph.value] = digest.value
    return current


def reason(
    store: ModelStore,
    *,
    full: bool = False,
    reasoner: Reasoner | None = None,
    on_progress: Callable[[int], None] | None = None,
    executor: ChunkExecutor | None = None,
) -> ReasonSummary:
    """Derive the stale inferred graphs (all of them with `full`) and drop orphaned ones;
    batches are derived on `executor` when one is given (`kg.executors`)."""
    reasoner = reasoner or Reasoner.default()
    summary = ReasonSummary(rules=len(reasoner.rules))
    sources = _sources(store)
    current = _current_stamps(store)
    wanted = {inferred_graph_of(s.graph).value for s in sources.values()}
    orphans = [NamedNode(g) for g in current if g not in wanted]
    if orphans:
        store.remove_graphs(orphans)
        summary.removed = len(orphans)
    todo: list[tuple[_Source, list[_Source], str]] = []
    for source in sources.values():
        bases = [sources[b] for b in _bases(store, source) if b in sources]
        stamp = _stamp(source, bases)
        if not full and current.get(inferred_graph_of(source.graph).value) == stamp:
            summary.unchanged += 1
            continue
        todo.append((source, bases, stamp))
    _derive(store, reasoner, todo, summary, on_progress, executor)
    return summary


@dataclass(frozen=True)
class StaleModel:
    """A model whose inferred graph is missing, or was derived from sources since changed."""

    model: str
    graph: str
    """the inferred graph it should have"""
    missing: bool


def stale_models(store: ModelStore) -> list[StaleModel]:
    """The models `reason(store)` would derive again, found as it finds them (the stamp each
    inferred graph records against its model's and bases' source digests), without deriving
    anything: what `modelkg doctor` reports.

    >>> import tempfile
    >>> from kg.store import open_store
    >>> stale_models(open_store(tempfile.mkdtemp() + "/kg"))
    []
    """
    sources = _sources(store)
    current = _current_stamps(store)
    found: list[StaleModel] = []
    for source in sources.values():
        graph = inferred_graph_of(source.graph).value
        bases = [sources[b] for b in _bases(store, source) if b in sources]
        recorded = current.get(graph)
        if recorded != _stamp(source, bases):
            found.append(StaleModel(source.model.value, graph, missing=recorded is None))
    return found


def _derive(
    store: ModelStore,
    reasoner: Reasoner,
    todo: list[tuple[_Source, list[_Source], str]],
    summary: ReasonSummary,
    on_progress: Callable[[int], None] | None,
    executor: ChunkExecutor | None = None,
) -> None:
    """Derive `todo` batch by batch: read here, derived here or on `executor` (a batch is a
    plain job: its models' quads and their bases'), written here, each batch's inferred
    graphs replaced in one write."""
    batches = [todo[start : start + BATCH] for start in range(0, len(todo), BATCH)]
    jobs = (_job(store, batch) for batch in batches)
    derived = (
        executor.map(derive_job, jobs)
        if executor is not None
        else (reasoner.derive(job.models, job.context) for job in jobs)
    )
    for batch, derivations in zip(batches, derived, strict=True):
        store.replace_graphs({d.graph: list(d.quads) for d in derivations}, kind=MKG.InferredGraph)
        summary.derived += len(derivations)
        summary.facts += sum(d.facts for d in derivations)
        summary.models.extend(s.model.value for s, _, _ in batch)
        if on_progress is not None:
            on_progress(len(batch))


@dataclass(frozen=True)
class ReasonJob:
    """One batch of models to derive, with the graphs of their bases outside the batch
    (plain, picklable data: it travels to a worker process or a Ray task)."""

    models: tuple[ModelFacts, ...]
    context: tuple[Quad, ...]


def derive_job(job: ReasonJob) -> list[Derivation]:
    """The inferred graphs of one batch, by this process's reasoner (the unit of work an
    executor runs for `modelkg reason --full --executor ...`)."""
    return _process_reasoner().derive(job.models, job.context)


@cache
def _process_reasoner() -> Reasoner:
    return Reasoner.default()


def _job(store: ModelStore, batch: list[tuple[_Source, list[_Source], str]]) -> ReasonJob:
    models = tuple(
        ModelFacts(s.model, s.graph, stamp, tuple(store.graph_quads(s.graph)))
        for s, _, stamp in batch
    )
    in_batch = {s.graph for s, _, _ in batch}
    context_graphs = {b.graph for _, bases, _ in batch for b in bases} - in_batch
    return ReasonJob(models, tuple(q for g in context_graphs for q in store.graph_quads(g)))
