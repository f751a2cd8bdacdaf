"""Unfinished work, recorded in the store: what a crash cut off, and what repairs it.

An operation that writes in several steps (an ingest writes models in batches, then re-derives
the models built on them, then syncs the vector index; a full reasoning run replaces inferred
graphs batch by batch) first writes a journal entry, one small protected graph naming the
operation and its process, and removes it when it ends. Each write in between is atomic, so a
crash never tears a model; what it can leave is derived data out of step (a dependent's
inferences, the vector index) or, for a `--strict` ingest spanning several batches, part of an
all-or-nothing write. An entry whose process is gone says exactly that, and the ontology says
which repair steps each operation needs (`mkg:repairedBy`): the next writer runs them
(`kg.store.repair`), and `modelkg doctor` reports them.

Liveness is the owner's host, pid and the pid's start time (a pid the system reused is another
process). An entry from another host (a remote store shared by machines) is never taken for
dead here: only `modelkg doctor --fix --force` repairs it.

>>> import tempfile
>>> from kg.store import open_store
>>> store = open_store(tempfile.mkdtemp() + "/kg")
>>> with journal(store, "ingest"):
...     [entry.operation for entry in unfinished(store)]
['ingest']
>>> unfinished(store)
[]
"""

from __future__ import annotations

import hashlib
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from pyoxigraph import Literal, NamedNode, Quad, Variable

from kg.processes import is_alive, own_token
from kg.store.base import ModelStore
from ontology.namespaces import MKG, PROV, RDF, XSD

__all__ = [
    "JOURNAL_PREFIX",
    "Unfinished",
    "forget",
    "journal",
    "note_undo",
    "repair_steps",
    "undo_writes",
    "unfinished",
]

JOURNAL_PREFIX = "https://w3id.org/modelkg/graph/journal/"
"""Journal entries are graphs under this IRI, one per operation in progress."""

OPERATIONS = {
    "ingest": MKG.IngestOperation,
    "reason": MKG.ReasonOperation,
    "migrate": MKG.MigrateOperation,
}


@dataclass(frozen=True)
class Unfinished:
    """One journal entry: an operation that started and has not ended."""

    graph: NamedNode
    operation: str
    started: str
    host: str
    process: str
    written: tuple[NamedNode, ...] = ()
    """graphs an all-or-nothing ingest wrote (removed when it is undone)"""
    undo: tuple[tuple[NamedNode, NamedNode], ...] = ()
    """(graph, its copy from before the ingest) for graphs it replaced"""

    @property
    def alive(self) -> bool:
        """Its process still runs: on this host, the same pid started at the same time. An
        entry from another host is taken for alive (it cannot be checked from here)."""
        return self.host != socket.gethostname() or is_alive(self.process)


@contextmanager
def journal(store: ModelStore, operation: str) -> Iterator[NamedNode]:
    """Record `operation` as unfinished while the block runs (the entry's graph is yielded,
    for `note_undo`), and remove the entry when the block ends. A block that raises leaves
    it, as a process that dies inside does: the work may be half done (`kg.repair.tracked`
    repairs it at once)."""
    graph = NamedNode(JOURNAL_PREFIX + uuid.uuid4().hex)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    store.load(
        [
            Quad(graph, MKG.graphKind, MKG.JournalGraph, graph),
            Quad(graph, RDF.type, MKG.UnfinishedWork, graph),
            Quad(graph, MKG.operation, OPERATIONS[operation], graph),
            Quad(graph, PROV.startedAtTime, Literal(now, datatype=XSD.dateTime), graph),
            Quad(graph, MKG.ownerHost, Literal(socket.gethostname()), graph),
            Quad(graph, MKG.ownerProcess, Literal(own_token()), graph),
        ]
    )
    yield graph
    forget(store, graph)


def forget(store: ModelStore, entry: NamedNode) -> None:
    """Remove a journal entry and the copies it kept (its work ended, or was repaired)."""
    copies = [
        row["u"]
        for row in store.select(
            "SELECT ?g ?u WHERE { GRAPH ?g { ?g mkg:undoGraph ?u } }",
            substitutions={Variable("g"): entry},
        )
    ]
    store.remove_graphs([entry, *(c for c in copies if isinstance(c, NamedNode))])


def note_undo(
    store: ModelStore,
    entry: NamedNode,
    written: Sequence[NamedNode],
    replaced: Sequence[NamedNode],
) -> None:
    """Before an all-or-nothing batch writes `written` (replacing those of them in
    `replaced`), copy each replaced graph aside and say so in the entry, in one update: if
    the process dies later, `kg.store.repair` removes what was written and puts the copies
    back."""
    lines = [
        f"INSERT DATA {{ GRAPH {entry} {{ "
        + " ".join(f"{entry} mkg:writtenGraph {g} ." for g in written)
        + " ".join(f"{entry} mkg:undoGraph {_undo_of(entry, g)} ." for g in replaced)
        + " } }"
    ]
    lines += [f"COPY SILENT {g} TO {_undo_of(entry, g)}" for g in replaced]
    lines += [
        f"INSERT DATA {{ GRAPH {_undo_of(entry, g)} {{ {_undo_of(entry, g)} "
        f"mkg:graphKind mkg:JournalGraph . {_undo_of(entry, g)} mkg:copyOf {g} }} }}"
        for g in replaced
    ]
    store.update(" ;\n".join(lines))


def undo_writes(store: ModelStore, entry: Unfinished) -> None:
    """Take back what `entry`'s strict ingest wrote: remove the graphs it wrote, put back
    the copies of those it replaced, and forget both, in one update (one transaction)."""
    node = entry.graph
    parts = [f"DROP SILENT GRAPH {g}" for g in entry.written]
    for graph, copy in entry.undo:
        parts += [
            f"ADD SILENT {copy} TO {graph}",
            f"DELETE DATA {{ GRAPH {graph} {{ {copy} mkg:graphKind mkg:JournalGraph . "
            f"{copy} mkg:copyOf {graph} }} }}",
            f"DROP SILENT GRAPH {copy}",
        ]
    parts.append(f"DELETE WHERE {{ GRAPH {node} {{ {node} mkg:writtenGraph ?w }} }}")
    parts.append(f"DELETE WHERE {{ GRAPH {node} {{ {node} mkg:undoGraph ?u }} }}")
    store.update(" ;\n".join(parts))


def _undo_of(entry: NamedNode, graph: NamedNode) -> NamedNode:
    digest = hashlib.sha256(graph.value.encode()).hexdigest()[:32]
    return NamedNode(f"{entry.value}/undo/{digest}")


def unfinished(store: ModelStore) -> list[Unfinished]:
    """Every journal entry in the store, oldest first."""
    entries: dict[str, dict[str, object]] = {}
    for row in store.select(
        "SELECT ?g ?op ?start ?host ?proc WHERE { GRAPH ?g { ?g a mkg:UnfinishedWork ; "
        "mkg:operation ?op ; prov:startedAtTime ?start ; mkg:ownerHost ?host ; "
        "mkg:ownerProcess ?proc } } ORDER BY ?start"
    ):
        graph = row["g"]
        assert isinstance(graph, NamedNode)
        names = {v.value: k for k, v in OPERATIONS.items()}
        entries[graph.value] = {
            "operation": names.get(_value(row["op"]), _value(row["op"])),
            "started": _value(row["start"]),
            "host": _value(row["host"]),
            "process": _value(row["proc"]),
            "written": [],
            "undo": [],
        }
    if not entries:
        return []
    for row in store.select(
        "SELECT ?g ?w WHERE { GRAPH ?g { ?g a mkg:UnfinishedWork ; mkg:writtenGraph ?w } }"
    ):
        if (found := entries.get(_value(row["g"]))) is not None:
            written = found["written"]
            assert isinstance(written, list)
            written.append(NamedNode(_value(row["w"])))
    for row in store.select(
        "SELECT ?g ?u ?of WHERE { GRAPH ?g { ?g a mkg:UnfinishedWork ; mkg:undoGraph ?u } "
        "OPTIONAL { GRAPH ?u { ?u mkg:copyOf ?of } } }"
    ):
        if (found := entries.get(_value(row["g"]))) is not None and row["of"] is not None:
            undo = found["undo"]
            assert isinstance(undo, list)
            undo.append((NamedNode(_value(row["of"])), NamedNode(_value(row["u"]))))
    return [
        Unfinished(
            NamedNode(graph),
            str(e["operation"]),
            str(e["started"]),
            str(e["host"]),
            str(e["process"]),
            tuple(e["written"]),  # type: ignore[arg-type]
            tuple(e["undo"]),  # type: ignore[arg-type]
        )
        for graph, e in entries.items()
    ]


def repair_steps(store: ModelStore, operation: str) -> list[str]:
    """The repair steps the ontology gives `operation`, in order (local names: ReasonStale,
    SyncIndex, ...).

    >>> import tempfile
    >>> from kg.store import open_store
    >>> repair_steps(open_store(tempfile.mkdtemp() + "/kg"), "ingest")
    ['UndoPartialWrite', 'ReasonStale', 'SyncIndex']
    """
    rows = store.select(
        "SELECT ?op ?step WHERE { ?op mkg:repairedBy ?step . ?step mkg:repairOrder ?n } "
        "ORDER BY ?n",
        substitutions={Variable("op"): OPERATIONS[operation]},
    )
    return [_value(row["step"]).removeprefix(MKG) for row in rows]


def _value(term: object) -> str:
    value = getattr(term, "value", None)
    return str(value) if value is not None else ""
