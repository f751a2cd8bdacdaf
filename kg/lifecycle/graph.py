"""Where lifecycle records live in the store, and how they are written.

Each experiment, run, registered model (with its versions, aliases and approval decisions) and
deployment target (with its deployments) is one named graph of the lifecycle kind, so a record is
read with one index look-up and never mixes with model metadata. A write is one SPARQL update:
`DELETE DATA` of the triples it replaces, then `INSERT DATA` of the new ones, so it lands whole
or not at all. Every term is a pyoxigraph term written as N-Triples: no user text is pasted into
SPARQL.

>>> ids = LifecycleIds("https://w3id.org/modelkg/id/")
>>> ids.run("0123456789abcdef0123456789abcdef").value
'https://w3id.org/modelkg/id/run/0123456789abcdef0123456789abcdef'
>>> ids.graph_of(ids.registered_model("sentiment v2")).value
'https://w3id.org/modelkg/id/graph/lifecycle/registered-model/sentiment%20v2'
>>> from_millis(to_millis_literal(1700000000123))
1700000000123
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from pyoxigraph import Literal, NamedNode, Quad

from kg.errors import LifecycleError
from kg.iris import IriMinter
from kg.store.base import ModelStore
from kg.store.sparql_text import in_graph, ntriples
from ontology.files import text_of
from ontology.namespaces import MKG, RDF, XSD

__all__ = [
    "GraphRecord",
    "LifecycleIds",
    "Write",
    "from_millis",
    "model_node",
    "now_millis",
    "tag",
    "to_millis_literal",
    "untag",
]


def now_millis() -> int:
    """Now, in milliseconds since the epoch (MLflow's unit)."""
    return time.time_ns() // 1_000_000


def to_millis_literal(millis: int) -> Literal:
    """An xsd:dateTime literal, to the millisecond, in UTC."""
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    return Literal(
        moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"), datatype=XSD.dateTime
    )


def from_millis(term: object) -> int:
    """Milliseconds since the epoch of an xsd:dateTime literal."""
    assert isinstance(term, Literal)
    return round(datetime.fromisoformat(term.value.replace("Z", "+00:00")).timestamp() * 1000)


def _segment(text: str) -> str:
    return quote(text, safe="-._~")


@dataclass(frozen=True)
class LifecycleIds:
    """The IRIs of lifecycle things, all under the store's base."""

    base: str

    @classmethod
    def from_environment(cls) -> LifecycleIds:
        return cls(IriMinter.from_environment().base)

    def experiment(self, experiment_id: str) -> NamedNode:
        return NamedNode(f"{self.base}experiment/{_segment(experiment_id)}")

    def run(self, run_id: str) -> NamedNode:
        return NamedNode(f"{self.base}run/{_segment(run_id)}")

    def registered_model(self, key: str) -> NamedNode:
        """A registered model, by an opaque key minted once: its name can change."""
        return NamedNode(f"{self.base}registered-model/{_segment(key)}")

    @staticmethod
    def version(registered_model: NamedNode, version: int | str) -> NamedNode:
        return NamedNode(f"{registered_model.value}/version/{version}")

    def target(self, name: str) -> NamedNode:
        return NamedNode(f"{self.base}deployment-target/{_segment(name)}")

    def deployment(self, target: str, number: int) -> NamedNode:
        return NamedNode(f"{self.target(target).value}/deployment/{number}")

    def dataset(self, name: str, digest: str) -> NamedNode:
        return NamedNode(f"{self.base}dataset/{_segment(name)}/{_segment(digest)}")

    @staticmethod
    def part(owner: NamedNode, kind: str, key: str) -> NamedNode:
        """A node that belongs to one record: `{owner}/{kind}/{key}` (a param, a tag, a
        metric series, an alias, an artifact)."""
        return NamedNode(f"{owner.value}/{kind}/{_segment(key)}")

    def metric_index(self, experiment_id: str, key: str, which: str) -> NamedNode:
        """The property a run of the experiment has, while active, for one summary (`last`,
        `min`, `max`) of one metric: a leaderboard or a filter on that metric is one
        triple pattern over the experiment's runs, not a join per run."""
        return NamedNode(f"{self.base}experiment/{experiment_id}/metric/{_segment(key)}/{which}")

    def start_index(self, experiment_id: str) -> NamedNode:
        """The property an active run of the experiment has for its start time: MLflow's
        default order (newest first) is the top of one triple pattern."""
        return NamedNode(f"{self.base}experiment/{experiment_id}/started")

    def param_index(self, experiment_id: str, key: str) -> NamedNode:
        """The property a run of the experiment has, while active, for one param's value."""
        return NamedNode(f"{self.base}experiment/{experiment_id}/param/{_segment(key)}")

    def points_graph_of(self, run: NamedNode) -> NamedNode:
        """The graph of a run's metric points, beside the run's own: reading a run never
        reads its points, however many were logged."""
        return NamedNode(self.graph_of(run).value + "/points")

    def graph_of(self, record: NamedNode) -> NamedNode:
        """The named graph that holds `record` (an experiment, run, registered model or
        deployment target)."""
        return NamedNode(f"{self.base}graph/lifecycle/{record.value.removeprefix(self.base)}")


class Write:
    """The triples one lifecycle operation removes and adds, applied as one update.

    >>> from kg.store import EmbeddedStore
    >>> store = EmbeddedStore.open(None)
    >>> g, s = NamedNode("urn:g"), NamedNode("urn:s")
    >>> w = Write(g).new_graph()
    >>> w.add(s, MKG.name, Literal("a")).apply(store)
    >>> Write(g).remove(s, MKG.name, Literal("a")).add(s, MKG.name, Literal("b")).apply(store)
    >>> [q.object.value for q in store.graph_quads(g) if q.predicate == MKG.name]
    ['b']
    """

    def __init__(self, graph: NamedNode) -> None:
        self.graph = graph
        self.added: list[Quad] = []
        self.removed: list[Quad] = []

    def new_graph(self) -> Write:
        """Say what the graph is, inside it: client updates may not write it."""
        return self.add(self.graph, MKG.graphKind, MKG.LifecycleGraph)

    def add(self, subject: NamedNode, predicate: NamedNode, obj: NamedNode | Literal) -> Write:
        self.added.append(Quad(subject, predicate, obj, self.graph))
        return self

    def add_all(
        self, subject: NamedNode, pairs: Iterable[tuple[NamedNode, NamedNode | Literal | None]]
    ) -> Write:
        """Add each (predicate, object) whose object is not None."""
        for predicate, obj in pairs:
            if obj is not None:
                self.add(subject, predicate, obj)
        return self

    def typed(self, subject: NamedNode, *classes: NamedNode) -> Write:
        for cls in classes:
            self.add(subject, RDF.type, cls)
        return self

    def remove(self, subject: NamedNode, predicate: NamedNode, obj: NamedNode | Literal) -> Write:
        self.removed.append(Quad(subject, predicate, obj, self.graph))
        return self

    def remove_quads(self, quads: Iterable[Quad]) -> Write:
        self.removed.extend(quads)
        return self

    def extend(self, other: Write) -> Write:
        """Fold another write (of any graph) into this one."""
        self.added.extend(other.added)
        self.removed.extend(other.removed)
        return self

    def text(self) -> str:
        """The SPARQL update: the removals, then the additions."""
        parts = []
        if self.removed:
            parts.append("DELETE DATA {\n" + _by_graph(self.removed) + "}")
        if self.added:
            parts.append("INSERT DATA {\n" + _by_graph(self.added) + "}")
        return " ;\n".join(parts)

    def apply(self, store: ModelStore) -> None:
        """Write it, as one transaction (nothing when there is nothing to write)."""
        text = self.text()
        if text:
            store.update(text)


def _by_graph(quads: Sequence[Quad]) -> str:
    graphs: dict[NamedNode, list[Quad]] = {}
    for quad in quads:
        assert isinstance(quad.graph_name, NamedNode)
        graphs.setdefault(quad.graph_name, []).append(quad)
    return "".join(in_graph(graph, ntriples(group)) + "\n" for graph, group in graphs.items())


def model_node(model: str, field: str) -> NamedNode:
    """An ingested model named by its IRI or its hub id (`org/name`).

    >>> model_node("openai-community/gpt2", "model").value
    'https://huggingface.co/openai-community/gpt2'
    """
    if "://" in model:
        try:
            return NamedNode(model)
        except ValueError:
            raise LifecycleError(f"not an IRI: {model!r}", field=field) from None
    if not re.fullmatch(r"[\w.-]+(?:/[\w.-]+)?", model):
        raise LifecycleError(
            f"not a hub id or an IRI: {model!r}", field=field, expected="org/name or an IRI"
        )
    return IriMinter().model_iri(model)


@dataclass
class GraphRecord:
    """The triples of one lifecycle graph, by subject then predicate (a run's metric points
    left out): what every lifecycle record is read from, with one index look-up."""

    quads: list[Quad]
    by_subject: dict[NamedNode, dict[NamedNode, list[object]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for quad in self.quads:
            if quad.predicate == MKG.points:
                continue
            subject = quad.subject
            assert isinstance(subject, NamedNode)
            self.by_subject.setdefault(subject, {}).setdefault(quad.predicate, []).append(
                quad.object
            )

    def one(self, subject: NamedNode, predicate: NamedNode) -> str | None:
        values = self.by_subject.get(subject, {}).get(predicate)
        return text_of(values[0]) if values else None

    def term(self, subject: NamedNode, predicate: NamedNode) -> object | None:
        values = self.by_subject.get(subject, {}).get(predicate)
        return values[0] if values else None

    def all(self, subject: NamedNode, predicate: NamedNode) -> list[object]:
        return self.by_subject.get(subject, {}).get(predicate, [])

    def pairs(self, subject: NamedNode, link: NamedNode) -> dict[str, str]:
        """key -> value of the key/value nodes `subject` links to (params, tags)."""
        found = {}
        for node in self.all(subject, link):
            assert isinstance(node, NamedNode)
            key, value = self.one(node, MKG.key), self.one(node, MKG.value)
            if key is not None and value is not None:
                found[key] = value
        return found

    def about(self, subject: NamedNode) -> list[Quad]:
        return [q for q in self.quads if q.subject == subject]


def tag(write: Write, owner: NamedNode, key: str, value: str, *, before: str | None = None) -> None:
    """Set `owner`'s tag `key` (an experiment's, a run's, a registered model's, a version's),
    replacing the value `before` it had."""
    node = LifecycleIds.part(owner, "tag", key)
    if before is not None:
        write.remove(node, MKG.value, Literal(before))
    else:
        write.add(owner, MKG.hasTag, node).typed(node, MKG.Tag).add(node, MKG.key, Literal(key))
    write.add(node, MKG.value, Literal(value))


def untag(write: Write, owner: NamedNode, key: str, value: str) -> None:
    """Remove `owner`'s tag `key`, whose value is `value`."""
    node = LifecycleIds.part(owner, "tag", key)
    write.remove(owner, MKG.hasTag, node).remove(node, MKG.value, Literal(value))
    write.remove(node, MKG.key, Literal(key)).remove(node, RDF.type, MKG.Tag)
