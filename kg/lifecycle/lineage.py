"""Lineage: from any node (a deployment, a version, a run, a model) to what it came from, or to
what came from it, over the properties the ontology marks as lineage steps (`prov:used`,
`prov:wasGeneratedBy`, `prov:wasDerivedFrom` and their sub-properties such as
`mkg:fineTunedFrom`). The same walk joins lifecycle records and hub models: a version fine-tuned
from a hub model links to it with the property model cards use.

A write that would make lineage circular is refused before it lands (`refuse_cycle`).

>>> from kg.store import EmbeddedStore
>>> store = EmbeddedStore.open(None)
>>> store.update('INSERT DATA { GRAPH <urn:g> { <urn:v> prov:wasGeneratedBy <urn:r> . '
...              '<urn:r> prov:used <urn:d> } }')
>>> graph = lineage(store, "urn:v", direction="ancestors", depth=5)
>>> [(e.source, e.name, e.target) for e in graph.edges]
[('urn:v', 'wasGeneratedBy', 'urn:r'), ('urn:r', 'used', 'urn:d')]
>>> refuse_cycle(store, NamedNode("urn:d"), NamedNode("urn:v"))
Traceback (most recent call last):
...
kg.errors.InvalidStateError: linking <urn:d> to <urn:v> would make lineage circular: ...
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyoxigraph import Literal, NamedNode

from kg.errors import InvalidStateError, LifecycleError, NotFoundError
from kg.iris import hub_id_of_iri
from kg.lifecycle.vocabulary import vocabulary
from kg.store.base import ModelStore
from kg.store.sparql_text import sparql_term
from ontology.namespaces import HF_DATASETS

__all__ = [
    "DIRECTIONS",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "lineage",
    "refuse_cycle",
    "resolve_node",
]

DIRECTIONS = ("ancestors", "descendants", "both")
MAX_DEPTH = 20
MAX_NODES = 500

_GENERIC = {
    "http://www.w3.org/ns/prov#wasDerivedFrom",
    "https://w3id.org/modelkg/ontology#derivedFrom",
    "http://www.w3.org/ns/prov#used",
    "http://www.w3.org/ns/prov#wasInformedBy",
}
"""Super-properties an edge is drawn with only when nothing more specific links the pair."""

_KINDS = """
SELECT ?node ?type ?label ?name ?version ?number WHERE {
  VALUES ?node { %s }
  OPTIONAL { ?node a ?type }
  OPTIONAL { ?node mkg:name|mkg:runName|mkg:hubId|mkg:artifactPath|rdfs:label ?label }
  OPTIONAL { ?node mkg:versionOf/mkg:name ?name ; mkg:versionNumber ?version }
  OPTIONAL { ?node mkg:deploymentTarget/mkg:name ?name ; mkg:deploymentNumber ?number }
}
"""

_KIND_OF_TYPE = {
    "https://w3id.org/modelkg/ontology#Model": "model",
    "https://w3id.org/modelkg/ontology#ModelVersion": "version",
    "https://w3id.org/modelkg/ontology#Run": "run",
    "https://schema.org/Dataset": "dataset",
    "https://w3id.org/modelkg/ontology#Artifact": "artifact",
    "https://w3id.org/modelkg/ontology#Checkpoint": "artifact",
    "https://w3id.org/modelkg/ontology#Deployment": "deployment",
    "https://w3id.org/modelkg/ontology#Experiment": "experiment",
    "https://w3id.org/modelkg/ontology#RegisteredModel": "registered-model",
}


@dataclass(frozen=True)
class LineageNode:
    iri: str
    kind: str
    """model, version, run, dataset, artifact, deployment, experiment, or thing."""
    label: str
    depth: int


@dataclass(frozen=True)
class LineageEdge:
    source: str
    """The node that came from `target`."""
    target: str
    relation: str
    """The property's IRI."""

    @property
    def name(self) -> str:
        """The property's local name (`fineTunedFrom`, `used`)."""
        return self.relation.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


@dataclass(frozen=True)
class LineageGraph:
    root: str
    direction: str
    depth: int
    nodes: list[LineageNode] = field(default_factory=list)
    edges: list[LineageEdge] = field(default_factory=list)
    truncated: bool = False
    """True when the walk stopped at MAX_NODES before reaching `depth`."""


def _steps() -> str:
    return " ".join(f"<{p}>" for p in sorted(vocabulary().lineage_steps))


def lineage(
    store: ModelStore, iri: str, *, direction: str = "ancestors", depth: int = 5
) -> LineageGraph:
    """The lineage of `iri`, `depth` steps deep: its ancestors (what it came from), its
    descendants (what came from it), or both."""
    if direction not in DIRECTIONS:
        raise LifecycleError(
            f"unknown direction {direction!r}", field="direction", expected=" or ".join(DIRECTIONS)
        )
    if not 1 <= depth <= MAX_DEPTH:
        raise LifecycleError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}", field="depth")
    try:
        root = NamedNode(iri)
    except ValueError:
        raise LifecycleError(f"not an IRI: {iri!r}", field="id") from None
    if not store.ask(
        f"ASK {{ {{ {sparql_term(root)} ?p ?o }} UNION {{ ?s ?p {sparql_term(root)} }} }}"
    ):
        raise LifecycleError(f"nothing in the store is called {iri}", field="id")
    edges: dict[tuple[str, str], set[str]] = {}
    depths = {iri: 0}
    truncated = False
    for way in ("ancestors", "descendants") if direction == "both" else (direction,):
        frontier = [iri]
        for level in range(1, depth + 1):
            if not frontier:
                break
            found = _step(store, frontier, upward=way == "ancestors")
            frontier = []
            for source, prop, target in found:
                edges.setdefault((source, target), set()).add(prop)
                new = target if way == "ancestors" else source
                if new not in depths:
                    if len(depths) >= MAX_NODES:
                        truncated = True
                        continue
                    depths[new] = level
                    frontier.append(new)
    kept = [
        LineageEdge(source, target, prop)
        for (source, target), props in edges.items()
        if source in depths and target in depths
        for prop in sorted(props - _GENERIC if props - _GENERIC else props)
    ]
    return LineageGraph(iri, direction, depth, _describe(store, depths), kept, truncated)


def _step(
    store: ModelStore, frontier: Sequence[str], *, upward: bool
) -> list[tuple[str, str, str]]:
    values = " ".join(sparql_term(NamedNode(n)) for n in frontier)
    pattern = "?at ?p ?next" if upward else "?next ?p ?at"
    rows = store.select(
        f"SELECT DISTINCT ?at ?p ?next WHERE {{ VALUES ?at {{ {values} }} "
        f"VALUES ?p {{ {_steps()} }} {pattern} FILTER(isIRI(?next) && ?next != ?at) }}"
    )
    found = []
    for row in rows:
        at, prop, nxt = (row[name].value for name in ("at", "p", "next"))
        found.append((at, prop, nxt) if upward else (nxt, prop, at))
    return found


def _describe(store: ModelStore, depths: dict[str, int]) -> list[LineageNode]:
    kinds: dict[str, str] = {}
    labels: dict[str, str] = {}
    for row in store.select(_KINDS % " ".join(sparql_term(NamedNode(n)) for n in depths)):
        node = row["node"].value
        kind = _KIND_OF_TYPE.get(row["type"].value) if row["type"] is not None else None
        if kind and (node not in kinds or kinds[node] == "artifact"):
            kinds[node] = kind
        name, version, number = row["name"], row["version"], row["number"]
        if isinstance(name, Literal) and version is not None:
            labels[node] = f"{name.value} v{version.value}"
        elif isinstance(name, Literal) and number is not None:
            labels[node] = f"{name.value} #{number.value}"
        elif row["label"] is not None and node not in labels:
            labels[node] = row["label"].value
    return [
        LineageNode(node, kinds.get(node) or _hub_kind(node), labels.get(node, _tail(node)), depth)
        for node, depth in sorted(depths.items(), key=lambda item: (item[1], item[0]))
    ]


def _hub_kind(iri: str) -> str:
    """What a node the store knows only by its IRI is: a hub model or dataset named by a card
    (a base model not ingested), else a thing."""
    if iri.startswith(HF_DATASETS.iri("")):
        return "dataset"
    return "model" if hub_id_of_iri(iri) else "thing"


def _tail(iri: str) -> str:
    return (hub_id_of_iri(iri) or iri.removeprefix(HF_DATASETS.iri(""))).rsplit("#", 1)[-1]


def refuse_cycle(store: ModelStore, subject: NamedNode, came_from: NamedNode) -> None:
    """Refuse a link saying `subject` came from `came_from` when `came_from` already comes
    from `subject` (or is it)."""
    path = "|".join(f"<{p}>" for p in sorted(vocabulary().lineage_steps))
    if subject == came_from or store.ask(
        f"ASK {{ {sparql_term(came_from)} ({path})+ {sparql_term(subject)} }}"
    ):
        raise InvalidStateError(
            f"linking {subject} to {came_from} would make lineage circular: {came_from} already "
            f"comes from {subject}",
            hint="a thing cannot come from itself",
        )


_RUN_ID = re.compile(r"^(?:runs:/)?([0-9a-f]{32})/?$")
_VERSION = re.compile(r"^models:/(?P<name>[^@]+?)(?:/(?P<version>\d+)|@(?P<alias>[\w-]+))$")
_DEPLOYMENT = re.compile(r"^deployments:/(?P<target>[^/]+(?:/[^/]+)*?)(?:/(?P<number>\d+))?$")


def resolve_node(store: ModelStore, text: str) -> str:
    """The IRI a user means: an IRI, a hub id (`org/name`), a run id (`runs:/ID` or the bare
    32 hex digits), a model version (`models:/NAME/VERSION` or `models:/NAME@ALIAS`, MLflow's
    URIs), a deployment (`deployments:/TARGET`, its current one, or `deployments:/TARGET/N`).

    >>> from kg.store import EmbeddedStore
    >>> resolve_node(EmbeddedStore.open(None), "openai-community/gpt2")
    'https://huggingface.co/openai-community/gpt2'
    """
    from kg.lifecycle.deployments import Deployments
    from kg.lifecycle.graph import LifecycleIds, model_node
    from kg.lifecycle.registry import Registry

    text = text.strip()
    ids = LifecycleIds.from_environment()
    if run := _RUN_ID.match(text):
        return ids.run(run.group(1)).value
    if version := _VERSION.match(text):
        registry = Registry(store, ids)
        name = version.group("name")
        if version.group("alias"):
            return registry.get_version_by_alias(name, version.group("alias")).iri
        return registry.get_model_version(name, version.group("version")).iri
    if deployment := _DEPLOYMENT.match(text):
        deployments = Deployments(store, ids)
        target = deployment.group("target")
        if deployment.group("number"):
            return deployments.get(target, int(deployment.group("number"))).iri
        current = deployments.current(target)
        if current is None:
            raise NotFoundError(f"nothing is deployed to {target!r}", field="id")
        return current.iri
    return model_node(text, "id").value
