"""The background tasks' vocabulary, read from `ontology/background_tasks.ttl`: the statuses a task
passes through (and which of them end it), and the operations a client may start (and the lane
each runs in). The Python names the closed sets as `Literal`s for the type checker; the Turtle
says what each member means, and a test keeps the two equal.

>>> statuses()["cancelled"].terminal, statuses()["running"].terminal
(True, False)
>>> operations()["ingest"].lane
'write'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal as TypingLiteral

from pyoxigraph import Literal, NamedNode, Store

from ontology.files import BACKGROUND_TASKS_FILE, ONTOLOGY_GRAPH, read_turtle
from ontology.namespaces import MKG, RDF, RDFS

__all__ = [
    "OperationInfo",
    "StatusInfo",
    "TaskStatus",
    "operations",
    "status_iri",
    "statuses",
]

TaskStatus = TypingLiteral["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
"""A task's status: the `mkg:code` of a `mkg:BackgroundTaskStatus` individual."""


@dataclass(frozen=True)
class StatusInfo:
    """One status: its individual, its code, and whether a task in it has ended."""

    iri: NamedNode
    code: str
    terminal: bool
    description: str


@dataclass(frozen=True)
class OperationInfo:
    """One operation a client may start: its individual, its code, its lane (tasks of one lane
    run one at a time) and what it does."""

    iri: NamedNode
    code: str
    lane: str
    description: str


@cache
def _individuals(kind: NamedNode, extra: NamedNode) -> list[tuple[NamedNode, str, str, str]]:
    """(individual, code, its `extra` value, its comment or label) of every `kind`."""
    graph = Store()
    graph.extend(read_turtle(BACKGROUND_TASKS_FILE, ONTOLOGY_GRAPH))

    def text(subject: NamedNode, predicate: NamedNode) -> str | None:
        for quad in graph.quads_for_pattern(subject, predicate, None):
            if isinstance(quad.object, Literal):
                return quad.object.value
        return None

    found = []
    for quad in graph.quads_for_pattern(None, RDF.type, kind):
        it = quad.subject
        assert isinstance(it, NamedNode)
        code, value = text(it, MKG.code), text(it, extra)
        assert code is not None and value is not None, f"{it} lacks mkg:code or {extra}"
        about = text(it, RDFS.comment) or text(it, RDFS.label) or code
        found.append((it, code, value, about))
    return sorted(found, key=lambda row: row[1])


def statuses() -> dict[str, StatusInfo]:
    """Every status, by code."""
    return {
        code: StatusInfo(it, code, value == "true", about)
        for it, code, value, about in _individuals(MKG.BackgroundTaskStatus, MKG.terminal)
    }


def operations() -> dict[str, OperationInfo]:
    """Every operation a client may start, by code."""
    return {
        code: OperationInfo(it, code, value, about)
        for it, code, value, about in _individuals(MKG.BackgroundOperation, MKG.lane)
    }


def status_iri(code: str) -> NamedNode:
    """The individual of the status `code`."""
    return statuses()[code].iri
