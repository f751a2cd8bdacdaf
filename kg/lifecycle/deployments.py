"""Deployments: put an approved model version on a named target with a strategy (blue-green,
canary with a traffic share, rolling, shadow) and SLA targets; roll back to the version before.

Each deployment is a `prov:Activity` that `prov:used` its version (`mkg:deployedVersion`) and
records the version and deployment it replaced, so lineage walks from a deployment through its
version and run to the data and base models, and `rollback` knows what to restore. A rollback is
a deployment too (of the replaced version, marked as a rollback), so the history is never
rewritten.

>>> from kg.store import EmbeddedStore
>>> from kg.lifecycle.registry import Registry
>>> store = EmbeddedStore.open(None)
>>> registry = Registry(store)
>>> _ = registry.create_registered_model("ranker")
>>> for _ in range(2):
...     v = registry.create_model_version("ranker", "s3://bucket/ranker")
...     _ = registry.decide("ranker", v.version, "approved", by="ana")
>>> deployments = Deployments(store)
>>> deployments.deploy("prod", "ranker", "1", strategy="blue-green", by="ci").version
'1'
>>> second = deployments.deploy("prod", "ranker", "2", strategy="canary", traffic_share=0.1)
>>> second.replaced_version
'1'
>>> restored = deployments.rollback("prod", by="oncall")
>>> restored.version, restored.rollback
('1', True)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from pyoxigraph import Literal, NamedNode, QuerySolution

from kg.errors import InvalidStateError, LifecycleError, NotFoundError
from kg.lifecycle.graph import (
    GraphRecord,
    LifecycleIds,
    Write,
    from_millis,
    now_millis,
    to_millis_literal,
)
from kg.lifecycle.records import Deployment
from kg.lifecycle.registry import Registry
from kg.lifecycle.vocabulary import vocabulary
from kg.store.base import ModelStore
from kg.store.sparql_text import sparql_term
from ontology.files import text_of
from ontology.namespaces import MKG, PROV, XSD

__all__ = ["Deployments"]

_TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")
_SLA = {
    "latency_ms": MKG.slaLatencyMs,
    "availability": MKG.slaAvailability,
    "error_rate": MKG.slaErrorRate,
}
_SHARES = ("availability", "error_rate")
"""SLA targets that are shares: between 0 and 1."""


class Deployments:
    """Deployment targets and their deployments, in one store."""

    def __init__(self, store: ModelStore, ids: LifecycleIds | None = None) -> None:
        self.store = store
        self.ids = ids or LifecycleIds.from_environment()
        self.registry = Registry(store, self.ids)
        self.words = vocabulary()
        self._names: dict[str, str] = {}

    def deploy(
        self,
        target: str,
        name: str,
        version: str | int,
        *,
        strategy: str = "blue-green",
        traffic_share: float | None = None,
        sla: dict[str, float] | None = None,
        by: str = "",
        _rollback_of: Deployment | None = None,
    ) -> Deployment:
        """Deploy an approved version of `name` to `target`; it replaces what runs there."""
        if not _TARGET_NAME.match(target):
            raise LifecycleError(
                f"not a target name: {target!r}",
                field="target",
                expected="letters, digits, '.', '_', '-', '/', up to 128 characters",
            )
        chosen = self.words.strategies.get(strategy.lower())
        if chosen is None:
            raise LifecycleError(
                f"unknown deployment strategy {strategy!r}",
                field="strategy",
                expected="one of " + ", ".join(self.words.strategies),
            )
        if chosen.needs_traffic_share:
            if traffic_share is None or not (0 < traffic_share <= 1):
                raise LifecycleError(
                    f"a {chosen.code} deployment needs a traffic share between 0 and 1, got "
                    f"{traffic_share}",
                    field="traffic_share",
                    expected="a share such as 0.1 (10% of requests)",
                )
        elif traffic_share is not None:
            raise LifecycleError(
                f"a {chosen.code} deployment takes no traffic share (only a canary does)",
                field="traffic_share",
            )
        sla = dict(sla or {})
        for key, value in sla.items():
            if key not in _SLA:
                raise LifecycleError(
                    f"unknown SLA target {key!r}", field="sla", expected="one of " + ", ".join(_SLA)
                )
            if not math.isfinite(value) or value < 0 or (key in _SHARES and value > 1):
                wanted = "a share between 0 and 1" if key in _SHARES else "a positive number"
                raise LifecycleError(
                    f"SLA target {key} must be {wanted}, got {value}",
                    field=f"sla.{key}",
                )
        with self.store.writer():
            _, version_node, record = self.registry._version_node(name, version)
            approval = self.words.approval_of(record.one(version_node, MKG.approvalStatus) or "")
            if not approval.deployable:
                raise InvalidStateError(
                    f"version {version} of {name!r} is {approval.code}: only an approved version "
                    "may be deployed",
                    field="version",
                    hint=f"approve it first: modelkg runs decide {name} {version} approved "
                    "--by NAME",
                )
            target_node = self.ids.target(target)
            graph = self.ids.graph_of(target_node)
            current = self._current(target)
            write = Write(graph)
            if current is None and not self.store.has_graph(graph):
                write.new_graph().typed(target_node, MKG.DeploymentTarget)
                write.add(target_node, MKG.name, Literal(target))
            number = (current.number if current is not None else self._count(target)) + 1
            node = self.ids.deployment(target, number)
            write.typed(node, MKG.Deployment, PROV.Activity)
            write.add_all(
                node,
                [
                    (MKG.deploymentTarget, target_node),
                    (MKG.deploymentNumber, Literal(str(number), datatype=XSD.integer)),
                    (MKG.deployedVersion, version_node),
                    (MKG.strategy, chosen.iri),
                    (
                        MKG.trafficShare,
                        Literal(float(traffic_share)) if traffic_share is not None else None,
                    ),
                    (PROV.startedAtTime, to_millis_literal(now_millis())),
                    (MKG.deployedBy, Literal(by) if by else None),
                    (MKG.isRollback, Literal(True) if _rollback_of is not None else None),
                ],
            )
            for key, value in sla.items():
                write.add(node, _SLA[key], Literal(float(value)))
            if current is not None:
                write.add(node, MKG.replacedDeployment, NamedNode(current.iri))
                write.add(node, MKG.replacedVersion, self._version_iri(current))
                write.remove(target_node, MKG.currentDeployment, NamedNode(current.iri))
            write.add(target_node, MKG.currentDeployment, node)
            write.apply(self.store)
        found = self.current(target)
        assert found is not None
        return found

    def _version_iri(self, deployment: Deployment) -> NamedNode:
        owner = self.registry._existing(deployment.name)
        return LifecycleIds.version(owner, deployment.version)

    def rollback(self, target: str, *, by: str = "") -> Deployment:
        """Deploy again the version the current deployment replaced (with that deployment's
        strategy and SLA), recorded as a rollback."""
        with self.store.writer():
            current = self._current(target)
            if current is None:
                raise NotFoundError(f"nothing is deployed to {target!r}", field="target")
            if current.replaced_version is None:
                raise InvalidStateError(
                    f"{target!r} runs its first deployment ({current.name} v{current.version}): "
                    "there is no previous version to roll back to",
                    field="target",
                    hint="deploy another version instead",
                )
            previous = self._deployment(target, self._replaced_number(target, current))
            return self.deploy(
                target,
                previous.name,
                previous.version,
                strategy=previous.strategy,
                traffic_share=previous.traffic_share,
                sla=previous.sla,
                by=by,
                _rollback_of=current,
            )

    def _replaced_number(self, target: str, current: Deployment) -> int:
        record = self._record(target)
        replaced = record.one(NamedNode(current.iri), MKG.replacedDeployment)
        assert replaced is not None
        return int(replaced.rsplit("/", 1)[-1])

    def _record(self, target: str) -> GraphRecord:
        return GraphRecord(self.store.graph_quads(self.ids.graph_of(self.ids.target(target))))

    def _count(self, target: str) -> int:
        record = self._record(target)
        return sum(
            1 for predicates in record.by_subject.values() if MKG.deploymentNumber in predicates
        )

    def _current(self, target: str) -> Deployment | None:
        record = self._record(target)
        iri = record.one(self.ids.target(target), MKG.currentDeployment)
        return self._deployment_of(record, NamedNode(iri), current=True) if iri else None

    def current(self, target: str) -> Deployment | None:
        """What runs on `target` now (None when nothing was ever deployed there)."""
        return self._current(target)

    def _deployment(self, target: str, number: int) -> Deployment:
        record = self._record(target)
        node = self.ids.deployment(target, number)
        if record.one(node, MKG.deploymentNumber) is None:
            raise NotFoundError(f"no deployment {number} on {target!r}", field="number")
        current = record.one(self.ids.target(target), MKG.currentDeployment) == node.value
        return self._deployment_of(record, node, current=current)

    def get(self, target: str, number: int) -> Deployment:
        """One deployment of a target, by its number (1 is the first)."""
        return self._deployment(target, number)

    def history(self, target: str) -> list[Deployment]:
        """Every deployment of the target, newest first."""
        record = self._record(target)
        current = record.one(self.ids.target(target), MKG.currentDeployment)
        nodes = [s for s, p in record.by_subject.items() if MKG.deploymentNumber in p]
        found = [self._deployment_of(record, n, current=n.value == current) for n in nodes]
        return sorted(found, key=lambda d: -d.number)

    def targets(self) -> list[str]:
        rows = self.store.select(
            "SELECT ?name WHERE { ?t a mkg:DeploymentTarget ; mkg:name ?name }"
        )
        return sorted(row["name"].value for row in rows)

    def _model_name(self, owner: str) -> str:
        """The name of the registered model `owner` (an IRI), looked up once per name: a
        target's history names the same few models again and again."""
        if owner not in self._names:
            rows: Iterable[QuerySolution] = (
                self.store.select(
                    f"SELECT ?name WHERE {{ {sparql_term(NamedNode(owner))} mkg:name ?name }}"
                )
                if owner
                else []
            )
            self._names[owner] = next((text_of(row["name"]) for row in rows), "")
        return self._names[owner]

    def _deployment_of(self, record: GraphRecord, node: NamedNode, *, current: bool) -> Deployment:
        version_iri = record.one(node, MKG.deployedVersion) or ""
        owner, _, number = version_iri.partition("/version/")
        name = self._model_name(owner)
        replaced = record.one(node, MKG.replacedVersion)
        strategy_iri = record.one(node, MKG.strategy)
        strategy = next(
            (s.code for s in self.words.strategies.values() if s.iri.value == strategy_iri), ""
        )
        share = record.one(node, MKG.trafficShare)
        sla = {
            key: float(value)
            for key, prop in _SLA.items()
            if (value := record.one(node, prop)) is not None
        }
        return Deployment(
            target=record.one(record_target(record, node), MKG.name) or "",
            number=int(record.one(node, MKG.deploymentNumber) or 0),
            name=name,
            version=number,
            strategy=strategy,
            started=from_millis(record.term(node, PROV.startedAtTime)),
            by=record.one(node, MKG.deployedBy) or "",
            traffic_share=float(share) if share is not None else None,
            sla=sla,
            replaced_version=replaced.rsplit("/", 1)[-1] if replaced else None,
            rollback=record.one(node, MKG.isRollback) == "true",
            current=current,
            iri=node.value,
        )


def record_target(record: GraphRecord, node: NamedNode) -> NamedNode:
    target = record.one(node, MKG.deploymentTarget)
    assert target is not None
    return NamedNode(target)
