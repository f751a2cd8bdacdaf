"""Exact parameter counts for models whose metadata does not state one, cached in the graph.

For each model with a config and no stated `mkg:parameterCount`, transformers builds the model
on the meta device (`kg.compat.size`); the count goes into the model's size graph,
`{base}graph/size/{model key}`, with a `mkg:Inference` naming the method, and is recomputed only
when the config changes (the graph records the config's digest).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pyoxigraph import Literal, NamedNode, Quad, Triple

from kg.compat.size import count_parameters
from kg.errors import InputError
from kg.iris import beside
from kg.reason.rules import RULE_NAMESPACE
from kg.store.base import ModelStore
from ontology.namespaces import MKG, RDF, RDFS, XSD

__all__ = ["SizingSummary", "size_graph_of", "size_models"]


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
        digest = hashlib.sha256(text.value.encode("utf-8")).hexdigest()
        if current.get(target.value) == digest:
            summary.unchanged += 1
            continue
        try:
            count = count_parameters(json.loads(text.value))
        except (InputError, ValueError) as exc:
            summary.failed.append((model.value, str(exc)))
            continue
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
            Quad(target, MKG.derivedFromDigest, Literal(digest), target),
        ]
        model_type = row["type"]
        if isinstance(model_type, Literal):
            premise = Triple(model, MKG.modelType, model_type)
            quads.append(Quad(why, MKG.premise, premise, target))
        writes[target] = quads
        summary.counted += 1
        if on_progress is not None:
            on_progress(1)
        if len(writes) >= 200:
            store.replace_graphs(writes, kind=MKG.SizeGraph)
            writes = {}
    store.replace_graphs(writes, kind=MKG.SizeGraph)
    return summary
