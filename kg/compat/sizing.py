"""Exact parameter counts for models whose metadata does not state one, cached in the graph.

For each model with a config and no stated `mkg:parameterCount`, transformers builds the model
on the meta device (`kg.compat.size`); the count goes into the model's size graph,
`{base}graph/size/{model key}`, with a `mkg:Inference` naming the method, and is recomputed only
when the config changes (the graph records the config's digest).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pyoxigraph import Literal, NamedNode, Quad, Triple

from kg.compat.size import count_parameters_json
from kg.errors import InputError
from kg.iris import beside
from kg.reason.rules import RULE_NAMESPACE
from kg.store.base import ModelStore
from ontology.namespaces import MKG, RDF, RDFS, XSD

__all__ = [
    "SizingSummary",
    "config_digest",
    "size_graph_of",
    "size_graph_quads",
    "size_models",
    "sizes_of_model",
]


def size_graph_of(source_graph: NamedNode) -> NamedNode:
    """The graph that holds a model's computed size, beside its source graph.

    >>> size_graph_of(NamedNode("https://w3id.org/modelkg/id/graph/hf/org/name")).value
    'https://w3id.org/modelkg/id/graph/size/hf/org/name'
    """
    return beside(source_graph, "size")


@dataclass
class SizingSummary:
    """What a sizing run did."""

    counted: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def size_models(
    store: ModelStore,
    models: Iterable[str] | None = None,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> SizingSummary:
    """Count the parameters of every model that needs it (or of just `models`, the IRIs an
    ingest wrote); skip those already counted from the same config."""
    summary = SizingSummary()
    only = ""
    if models is not None:
        wanted = sorted(set(models))
        if not wanted:
            return summary
        only = "VALUES ?m { " + " ".join(f"<{NamedNode(m).value}>" for m in wanted) + " } "
    current: dict[str, str] = {}
    result = store.select(
        "SELECT ?g ?d WHERE { GRAPH ?g { ?g mkg:derivedFromDigest ?d } "
        'FILTER(CONTAINS(STR(?g), "/graph/size/")) }'
    )
    for row in result:
        graph, digest = row["g"], row["d"]
        if isinstance(graph, NamedNode) and isinstance(digest, Literal):
            current[graph.value] = digest.value
    result = store.select(
        f"SELECT ?g ?m ?json ?type WHERE {{ {only}"
        "GRAPH ?g { ?g mkg:describes ?m ; mkg:configJSON ?json "
        "OPTIONAL { ?m mkg:modelType ?type } FILTER NOT EXISTS { ?m mkg:parameterCount ?n } } }"
    )
    writes: dict[NamedNode, list[Quad]] = {}
    for row in result:
        graph, model, text = row["g"], row["m"], row["json"]
        assert isinstance(graph, NamedNode) and isinstance(model, NamedNode)
        assert isinstance(text, Literal)
        target = size_graph_of(graph)
        if current.get(target.value) == config_digest(text.value):
            summary.unchanged += 1
            continue
        model_type = row["type"]
        try:
            writes[target] = size_graph_quads(
                graph, model, text.value, model_type if isinstance(model_type, Literal) else None
            )
        except (InputError, ValueError) as exc:
            summary.failed.append((model.value, str(exc)))
            continue
        summary.counted += 1
        if on_progress is not None:
            on_progress(1)
        if len(writes) >= 200:
            store.replace_graphs(writes, kind=MKG.SizeGraph)
            writes = {}
    store.replace_graphs(writes, kind=MKG.SizeGraph)
    return summary


def config_digest(config_json: str) -> str:
    """The digest a size graph records of the config it was counted from."""
    return hashlib.sha256(config_json.encode("utf-8")).hexdigest()


def size_graph_quads(
    source_graph: NamedNode, model: NamedNode, config_json: str, model_type: Literal | None
) -> list[Quad]:
    """A model's size graph: its parameter count from `config_json` (the canonical config its
    graph keeps), with a `mkg:Inference` naming the method. Without `mkg:graphKind`: the
    store's write states it (`replace_graphs`), or the ingest's (`sizes_of_model`).

    Raises `InputError` or `ValueError` when the config cannot be counted.
    """
    target = size_graph_of(source_graph)
    count = count_parameters_json(config_json)
    fact = Triple(model, MKG.parameterCount, Literal(str(count.value), datatype=XSD.integer))
    why = NamedNode(f"{target.value}/why/{count.method}")
    rule = "meta-device-count" if count.method == "meta-device" else "parameter-formula"
    quads = [
        Quad(fact.subject, fact.predicate, fact.object, target),
        Quad(why, RDF.type, MKG.Inference, target),
        Quad(why, MKG.rule, NamedNode(RULE_NAMESPACE + rule), target),
        Quad(why, MKG.concludes, fact, target),
        Quad(why, MKG.sizingMethod, Literal(count.method), target),
        Quad(why, RDFS.comment, Literal(count.detail), target),
        Quad(target, MKG.describes, model, target),
        Quad(target, MKG.derivedFromDigest, Literal(config_digest(config_json)), target),
    ]
    if model_type is not None:
        premise = Triple(model, MKG.modelType, model_type)
        quads.append(Quad(why, MKG.premise, premise, target))
    return quads


def sizes_of_model(
    source_graph: NamedNode, model: NamedNode, quads: Iterable[Quad]
) -> tuple[list[Quad], str | None]:
    """A freshly read model's size graph, counted from the quads in hand (an ingest worker's,
    so the count is written with the model, in the same write): empty when its metadata
    states a count or keeps no config; the message when the config cannot be counted.

    The size graph states its own kind (`mkg:graphKind mkg:SizeGraph`).
    """
    config_json: str | None = None
    model_type: Literal | None = None
    for quad in quads:
        if quad.subject == model and quad.predicate == MKG.parameterCount:
            return [], None
        if quad.subject == source_graph and quad.predicate == MKG.configJSON:
            assert isinstance(quad.object, Literal)
            config_json = quad.object.value
        elif quad.subject == model and quad.predicate == MKG.modelType:
            assert isinstance(quad.object, Literal)
            model_type = quad.object
    if config_json is None:
        return [], None
    try:
        found = size_graph_quads(source_graph, model, config_json, model_type)
    except (InputError, ValueError) as exc:
        return [], str(exc)
    target = size_graph_of(source_graph)
    return [*found, Quad(target, MKG.graphKind, MKG.SizeGraph, target)], None
