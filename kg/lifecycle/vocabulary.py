"""The lifecycle's closed vocabularies, read from `ontology/lifecycle.ttl`: run statuses, approval
statuses and their transitions, deployment strategies, artifact kinds, checksum algorithms and
the properties lineage walks. Python never restates them: a new strategy or status is a few
lines of Turtle.

>>> words = vocabulary()
>>> words.run_status("finished").mlflow_name, words.run_status("FINISHED").terminal
('FINISHED', True)
>>> sorted(words.approvals["approved"].may_become)
['deprecated', 'rejected']
>>> words.strategies["canary"].needs_traffic_share
True
>>> "http://www.w3.org/ns/prov#used" in words.lineage_steps
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pyoxigraph import NamedNode, QuerySolutions, RdfFormat, Store

from kg.errors import LifecycleError
from ontology.files import CORE_FILE, LIFECYCLE_FILE, text_of

__all__ = ["Approval", "Code", "RunStatus", "Strategy", "Vocabulary", "vocabulary"]


@dataclass(frozen=True)
class Code:
    """An individual of a closed vocabulary: its IRI and the short name users type."""

    iri: NamedNode
    code: str


@dataclass(frozen=True)
class RunStatus(Code):
    """A run status; `terminal` statuses take no more logging."""

    mlflow_name: str
    terminal: bool


@dataclass(frozen=True)
class Approval(Code):
    """An approval status: whether a version in it may be promoted (alias, stage) or deployed,
    and which statuses it may move to."""

    promotable: bool
    deployable: bool
    may_become: frozenset[str]


@dataclass(frozen=True)
class Strategy(Code):
    """A deployment strategy; a canary needs a traffic share."""

    needs_traffic_share: bool


@dataclass(frozen=True)
class Vocabulary:
    """Every closed vocabulary of the lifecycle, keyed by code."""

    statuses: dict[str, RunStatus]
    approvals: dict[str, Approval]
    strategies: dict[str, Strategy]
    artifact_kinds: dict[str, Code]
    checksums: dict[str, Code]
    lineage_steps: frozenset[str]
    """Every property lineage walks (the marked ones and their sub-properties), as IRIs."""

    def run_status(self, name: str) -> RunStatus:
        """The status a user or MLflow names (`finished`, `FINISHED`, `SCHEDULED`, `pending`)."""
        for status in self.statuses.values():
            if name.lower() in (status.code, status.mlflow_name.lower()):
                return status
        raise LifecycleError(
            f"unknown run status {name!r}",
            field="status",
            expected="one of " + ", ".join(s.code for s in self.statuses.values()),
        )

    def status_of(self, iri: str) -> RunStatus:
        """The status whose IRI is `iri`."""
        return next(s for s in self.statuses.values() if s.iri.value == iri)

    def approval_of(self, iri: str) -> Approval:
        """The approval status whose IRI is `iri`."""
        return next(a for a in self.approvals.values() if a.iri.value == iri)

    def one_of(self, table: dict[str, Code], name: str, field: str) -> Code:
        """`table[name]`, else an error listing the codes there are."""
        found = table.get(name.lower())
        if found is None:
            raise LifecycleError(
                f"unknown {field.replace('_', ' ')} {name!r}",
                field=field,
                expected="one of " + ", ".join(table),
            )
        return found


def _rows(store: Store, sparql: str) -> QuerySolutions:
    result = store.query(
        "PREFIX mkg: <https://w3id.org/modelkg/ontology#> "
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> " + sparql
    )
    assert isinstance(result, QuerySolutions)
    return result


def _flag(term: object) -> bool:
    return text_of(term) == "true"


@cache
def vocabulary() -> Vocabulary:
    """The lifecycle vocabularies, read once per process from the ontology's Turtle."""
    store = Store()
    for path in (CORE_FILE, LIFECYCLE_FILE):
        store.load(path=str(path), format=RdfFormat.TURTLE)
    statuses = {
        text_of(row["code"]): RunStatus(
            row["s"], text_of(row["code"]), text_of(row["mlflow"]), _flag(row["terminal"])
        )
        for row in _rows(
            store,
            "SELECT ?s ?code ?mlflow ?terminal WHERE { ?s a mkg:RunStatus ; mkg:code ?code ; "
            "mkg:mlflowName ?mlflow ; mkg:terminal ?terminal }",
        )
    }
    becomes: dict[str, set[str]] = {}
    for row in _rows(
        store, "SELECT ?code ?next WHERE { ?s mkg:code ?code ; mkg:mayBecome/mkg:code ?next }"
    ):
        becomes.setdefault(text_of(row["code"]), set()).add(text_of(row["next"]))
    approvals = {
        text_of(row["code"]): Approval(
            row["s"],
            text_of(row["code"]),
            _flag(row["promotable"]),
            _flag(row["deployable"]),
            frozenset(becomes.get(text_of(row["code"]), ())),
        )
        for row in _rows(
            store,
            "SELECT ?s ?code ?promotable ?deployable WHERE { ?s a mkg:ApprovalStatus ; "
            "mkg:code ?code ; mkg:promotable ?promotable ; mkg:deployable ?deployable }",
        )
    }
    strategies = {
        text_of(row["code"]): Strategy(row["s"], text_of(row["code"]), _flag(row["share"]))
        for row in _rows(
            store,
            "SELECT ?s ?code ?share WHERE { ?s a mkg:DeploymentStrategy ; mkg:code ?code ; "
            "mkg:needsTrafficShare ?share }",
        )
    }

    def codes(cls: str) -> dict[str, Code]:
        return {
            text_of(row["code"]): Code(row["s"], text_of(row["code"]))
            for row in _rows(store, f"SELECT ?s ?code WHERE {{ ?s a mkg:{cls} ; mkg:code ?code }}")
        }

    steps = frozenset(
        text_of(row["p"])
        for row in _rows(
            store,
            "SELECT DISTINCT ?p WHERE { ?step mkg:lineageStep true . "
            "?p rdfs:subPropertyOf* ?step }",
        )
    )
    return Vocabulary(
        statuses, approvals, strategies, codes("ArtifactKind"), codes("ChecksumAlgorithm"), steps
    )
