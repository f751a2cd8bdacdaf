"""Run the rules to a fixpoint over models, keeping why each fact holds.

A model's inferred facts live in a graph of their own, `{base}graph/inferred/{model key}`,
beside its source graph: re-deriving one model replaces just that graph, and `reason --full`
rebuilds them all to the same result. Rules see the model's graph, the graphs of the models it
derives from (lineage) and the ontology with its OWL RL closure; they may conclude facts only
about the model's own nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, QueryTriples, Store, Triple

from kg.iris import beside, node_prefix_of
from kg.reason.rules import Rule, load_rules
from kg.reason.tbox import tbox_closure
from ontology.files import ontology_quads
from ontology.namespaces import MKG, RDF

__all__ = ["Derivation", "ModelFacts", "Reasoner", "inferred_graph_of"]

_SCRATCH_INFERRED = NamedNode("urn:modelkg:scratch:inferred")
MAX_ROUNDS = 16
SCRATCH_CHURN_LIMIT = 200_000
"""Quads passed through the scratch store before it is rebuilt (about 0.1 s)."""


def inferred_graph_of(source_graph: NamedNode) -> NamedNode:
    """The inferred graph beside a model's source graph.

    >>> inferred_graph_of(NamedNode("https://w3id.org/modelkg/id/graph/hf/org/name")).value
    'https://w3id.org/modelkg/id/graph/inferred/hf/org/name'
    """
    return beside(source_graph, "inferred")


@dataclass(frozen=True)
class ModelFacts:
    """What the reasoner reads about one model: its source graph and what it derives from."""

    model_iri: NamedNode
    source_graph: NamedNode
    digest: str
    quads: tuple[Quad, ...]


@dataclass(frozen=True)
class Derivation:
    """One model's inferred graph: facts, and a `mkg:Inference` node per reason."""

    model_iri: NamedNode
    graph: NamedNode
    quads: tuple[Quad, ...]
    facts: int


class Reasoner:
    """The rules, plus an in-memory scratch store that holds the ontology once."""

    def __init__(
        self, rules: Sequence[Rule] | None = None, *, every_rule_every_round: bool = False
    ) -> None:
        self.rules = tuple(rules if rules is not None else load_rules())
        self.every_rule_every_round = every_rule_every_round
        """run every rule in every round (the plain fixpoint), not just those whose answer
        the last round's facts could change: the same facts and reasons, more queries"""
        self._scratch = self._fresh_scratch()
        self._churn = 0

    @staticmethod
    def _fresh_scratch() -> Store:
        scratch = Store()
        scratch.extend(ontology_quads())
        scratch.extend(tbox_closure())
        return scratch

    @classmethod
    @cache
    def default(cls) -> Reasoner:
        """One reasoner per process."""
        return cls()

    def derive(
        self, models: Sequence[ModelFacts], context: Sequence[Quad] = ()
    ) -> list[Derivation]:
        """Inferred graphs for `models`; `context` holds the graphs of their base models."""
        owner = _Owners()
        for index, model in enumerate(models):
            owner.prefixes[node_prefix_of(model.source_graph)] = index
            for quad in model.quads:
                if isinstance(quad.subject, NamedNode):
                    owner.exact.setdefault(quad.subject.value, index)
        if self._churn > SCRATCH_CHURN_LIMIT:
            # the in-memory store keeps what was removed from it; start clean now and then
            self._scratch, self._churn = self._fresh_scratch(), 0
        scratch = self._scratch
        self._churn += sum(len(model.quads) for model in models) + len(context)
        loaded = {model.source_graph for model in models} | {q.graph_name for q in context}
        scratch.extend(q for model in models for q in model.quads)
        scratch.extend(context)
        facts: list[dict[Triple, None]] = [{} for _ in models]
        reasons: list[dict[str, list[Quad]]] = [{} for _ in models]
        try:
            for stratum in sorted({rule.stratum for rule in self.rules}):
                rules = [rule for rule in self.rules if rule.stratum == stratum]
                due = rules
                for _ in range(MAX_ROUNDS):
                    fresh = self._round(due, owner, facts, reasons, models)
                    if not fresh:
                        break
                    scratch.extend(
                        Quad(t.subject, t.predicate, t.object, _SCRATCH_INFERRED) for t in fresh
                    )
                    due = rules if self.every_rule_every_round else _touched(rules, fresh)
                    if not due:
                        break
        finally:
            for graph in loaded:
                scratch.remove_graph(graph)
            scratch.remove_graph(_SCRATCH_INFERRED)
        derivations = []
        for index, model in enumerate(models):
            graph = inferred_graph_of(model.source_graph)
            quads = [Quad(t.subject, t.predicate, t.object, graph) for t in facts[index]]
            for why in reasons[index].values():
                quads.extend(Quad(q.subject, q.predicate, q.object, graph) for q in why)
            quads.append(Quad(graph, MKG.describes, model.model_iri, graph))
            quads.append(Quad(graph, MKG.derivedFromDigest, Literal(model.digest), graph))
            derivations.append(Derivation(model.model_iri, graph, tuple(quads), len(facts[index])))
        return derivations

    def _round(
        self,
        rules: Sequence[Rule],
        owner: _Owners,
        facts: list[dict[Triple, None]],
        reasons: list[dict[str, list[Quad]]],
        models: Sequence[ModelFacts],
    ) -> list[Triple]:
        fresh: list[Triple] = []
        for rule in rules:
            result = self._scratch.query(rule.sparql, use_default_graph_as_union=True)
            assert isinstance(result, QueryTriples)
            whys: dict[BlankNode, dict[str, list[Triple]]] = {}
            for triple in result:
                subject = triple.subject
                if isinstance(subject, BlankNode):
                    role = "concludes" if triple.predicate == MKG.concludes else "premise"
                    obj = triple.object
                    if isinstance(obj, Triple):
                        whys.setdefault(subject, {"concludes": [], "premise": []})[role].append(obj)
                    continue
                index = owner.get(subject.value) if isinstance(subject, NamedNode) else None
                if index is None or triple in facts[index]:
                    continue
                if _asserted(self._scratch, triple, models[index].source_graph):
                    continue
                facts[index][triple] = None
                fresh.append(triple)
            for why in whys.values():
                for fact in why["concludes"]:
                    index = (
                        owner.get(fact.subject.value)
                        if isinstance(fact.subject, NamedNode)
                        else None
                    )
                    if index is None or fact not in facts[index]:
                        continue
                    key = _reason_key(rule, fact, why["premise"])
                    if key in reasons[index]:
                        continue
                    node = NamedNode(
                        f"{inferred_graph_of(models[index].source_graph).value}/why/{key}"
                    )
                    quads = [
                        Quad(node, RDF.type, MKG.Inference),
                        Quad(node, MKG.rule, rule.iri),
                        Quad(node, MKG.concludes, fact),
                    ]
                    quads.extend(Quad(node, MKG.premise, premise) for premise in why["premise"])
                    reasons[index][key] = quads
        return fresh


class _Owners:
    """Which model a subject belongs to: a subject of its graph, or a node minted under it."""

    def __init__(self) -> None:
        self.exact: dict[str, int] = {}
        self.prefixes: dict[str, int] = {}

    def get(self, iri: str) -> int | None:
        found = self.exact.get(iri)
        if found is not None:
            return found
        cut = iri.rfind("/")
        while cut > 0:
            found = self.prefixes.get(iri[: cut + 1])
            if found is not None:
                return found
            cut = iri.rfind("/", 0, cut)
        return None


def _asserted(store: Store, triple: Triple, graph: NamedNode) -> bool:
    """Whether the model's own graph already states the triple (then it is not inferred)."""
    return Quad(triple.subject, triple.predicate, triple.object, graph) in store


def _touched(rules: Sequence[Rule], fresh: Sequence[Triple]) -> list[Rule]:
    """The rules whose WHERE could match one of the `fresh` facts (`Rule.reads`): only their
    answers can differ from the last round's; the others would conclude what they did."""
    kinds = {
        (t.predicate.value, t.object.value if isinstance(t.object, NamedNode) else None)
        for t in fresh
    }
    return [rule for rule in rules if any(rule.reads.matches(p, o) for p, o in kinds)]


def _reason_key(rule: Rule, fact: Triple, premises: list[Triple]) -> str:
    text = "\n".join([rule.name, str(fact), *sorted(str(p) for p in premises)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
