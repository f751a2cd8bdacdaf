"""Keep every model's inferred graph current: derive what is stale, or everything (`--full`).

An inferred graph records the digest of the source it was derived from and of the sources of
the models it derives from (its lineage context); when either changes, it is stale. So
re-ingesting one model re-derives that model and the models built on it, nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pyoxigraph import Literal, NamedNode

from kg.reason.engine import ModelFacts, Reasoner, inferred_graph_of
from kg.store.base import ModelStore
from ontology.namespaces import MKG

__all__ = ["ReasonSummary", "reason"]

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
    lineage = {MKG[name] for name in _LINEAGE}
    return sorted(
        {
            quad.object.value
            for quad in store.subject_quads(source.model, source.graph)
            if quad.predicate in lineage and isinstance(quad.object, NamedNode)
        }
    )


def _stamp(source: _Source, bases: Sequence[_Source]) -> str:
    text = "\n".join([source.digest, *sorted(base.digest for base in bases)])
    return hashlib.sha256(text.encode()).hexdigest()


def reason_models(
    store: ModelStore, models: Sequence[str], *, reasoner: Reasoner | None = None
) -> ReasonSummary:
    """Re-derive just these models and the models built on them (after an ingest of them).

    No scan of the whole store: this is what keeps re-deriving one model fast at any size.
    """
    reasoner = reasoner or Reasoner.default()
    summary = ReasonSummary(rules=len(reasoner.rules))
    wanted = set(models)
    values = " ".join(f"<{m}>" for m in wanted)
    lineage = " ".join(f"mkg:{name}" for name in _LINEAGE)
    if values:
        for row in store.select(
            f"SELECT ?d WHERE {{ VALUES ?base {{ {values} }} VALUES ?p {{ {lineage} }} "
            "?d ?p ?base }",
        ):
            if isinstance(row["d"], NamedNode):
                wanted.add(row["d"].value)
    sources = _sources(store, wanted)
    todo = []
    for source in sources.values():
        bases = list(_sources(store, set(_bases(store, source))).values())
        todo.append((source, bases, _stamp(source, bases)))
    _derive(store, reasoner, todo, summary, None)
    return summary


def reason(
    store: ModelStore,
    *,
    full: bool = False,
    reasoner: Reasoner | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ReasonSummary:
    """Derive the stale inferred graphs (all of them with `full`) and drop orphaned ones."""
    reasoner = reasoner or Reasoner.default()
    summary = ReasonSummary(rules=len(reasoner.rules))
    sources = _sources(store)
    current: dict[str, str] = {}
    for row in store.select(
        "SELECT ?g ?d WHERE { GRAPH ?g { ?g mkg:derivedFromDigest ?d } "
        'FILTER(CONTAINS(STR(?g), "/graph/inferred/")) }',
    ):
        graph, digest = row["g"], row["d"]
        assert isinstance(graph, NamedNode) and isinstance(digest, Literal)
        current[graph.value] = digest.value
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
    _derive(store, reasoner, todo, summary, on_progress)
    return summary


def _derive(
    store: ModelStore,
    reasoner: Reasoner,
    todo: list[tuple[_Source, list[_Source], str]],
    summary: ReasonSummary,
    on_progress: Callable[[int], None] | None,
) -> None:
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        models = [
            ModelFacts(
                s.model,
                s.graph,
                stamp,
                tuple(store.graph_quads(s.graph)),
            )
            for s, _, stamp in batch
        ]
        in_batch = {s.graph for s, _, _ in batch}
        context_graphs = {b.graph for _, bases, _ in batch for b in bases} - in_batch
        context = [q for g in context_graphs for q in store.graph_quads(g)]
        derivations = reasoner.derive(models, context)
        store.replace_graphs({d.graph: list(d.quads) for d in derivations}, kind=MKG.InferredGraph)
        summary.derived += len(derivations)
        summary.facts += sum(d.facts for d in derivations)
        summary.models.extend(s.model.value for s, _, _ in batch)
        if on_progress is not None:
            on_progress(len(batch))
