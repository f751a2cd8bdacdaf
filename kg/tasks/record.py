"""One background task as a value: what was asked, where it stands, who runs it, how it ended;
and the two forms it is kept in (a JSON file of the live state, a named graph of the store).

Times are seconds since the epoch (UTC) in Python and JSON, `xsd:dateTime` in the graph.

>>> task = TaskRecord.new("ingest", {"paths": ["/srv/models/gpt2"]})
>>> task.status, task.terminal, len(task.id)
('queued', False, 32)
>>> TaskRecord.from_json(task.to_json()) == task
True
>>> back = TaskRecord.from_quads(task.id, task.to_quads("https://w3id.org/modelkg/id/"))
>>> back.operation, back.arguments, back.status
('ingest', {'paths': ['/srv/models/gpt2']}, 'queued')
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from pyoxigraph import Literal, NamedNode, Quad

from kg.processes import started_at
from kg.tasks.vocabulary import TaskStatus, operations, statuses
from ontology.namespaces import MKG, RDF, XSD

__all__ = ["Failure", "Owner", "Progress", "TaskRecord", "graph_of", "task_node"]

RDF_JSON = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON")


@dataclass(frozen=True)
class Owner:
    """The server process that runs (or will run) a task: host, pid, when it started, and a
    token minted once per process. A task whose owner is gone was cut off."""

    host: str
    pid: int
    boot: str
    started: float

    @staticmethod
    @cache
    def this_process() -> Owner:
        """This process as an owner (the same value for the life of the process)."""
        return Owner(socket.gethostname(), os.getpid(), uuid.uuid4().hex, _started(os.getpid()))

    def alive(self) -> bool:
        """The owner still runs. On this host: the same pid, started at the same moment (so a
        reused pid is another process), and in this process the same boot token. On another
        host it cannot be told from here: taken as alive."""
        me = Owner.this_process()
        if self.host != me.host:
            return True
        if self.pid == me.pid:
            return self.boot == me.boot
        started = _started(self.pid)
        return started >= 0 and abs(started - self.started) < 1.0


def _started(pid: int) -> float:
    started = started_at(pid)
    return -1.0 if started is None else started


@dataclass(frozen=True)
class Progress:
    """How far a task got: `done` of `total` units (None while unknown), and what it does now."""

    done: int = 0
    total: int | None = None
    message: str = ""


@dataclass(frozen=True)
class Failure:
    """Why a task did not succeed: a message, the kind (the error's class, or `cancelled` /
    `interrupted`), and how to fix it when known."""

    message: str
    kind: str
    hint: str | None = None


@dataclass(frozen=True)
class TaskRecord:
    """A background task (module docstring)."""

    id: str
    operation: str
    arguments: dict[str, Any]
    status: TaskStatus
    created: float
    owner: Owner
    progress: Progress = Progress()
    started: float | None = None
    finished: float | None = None
    result: dict[str, Any] | None = None
    error: Failure | None = None
    cancel_requested: bool = False
    lane: str = field(default="write")

    @classmethod
    def new(cls, operation: str, arguments: Mapping[str, Any]) -> TaskRecord:
        """A task just accepted by this process: queued, with a fresh id."""
        return cls(
            id=uuid.uuid4().hex,
            operation=operation,
            arguments=dict(arguments),
            status="queued",
            created=time.time(),
            owner=Owner.this_process(),
            lane=operations()[operation].lane,
        )

    @property
    def terminal(self) -> bool:
        """The task has ended (succeeded, failed, cancelled or interrupted)."""
        return statuses()[self.status].terminal

    # -- JSON (the live state) -------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TaskRecord:
        progress = raw.get("progress") or {}
        error = raw.get("error")
        return cls(
            id=str(raw["id"]),
            operation=str(raw["operation"]),
            arguments=dict(raw.get("arguments") or {}),
            status=cast("TaskStatus", raw["status"]),
            created=float(raw["created"]),
            owner=Owner(**raw["owner"]),
            progress=Progress(**progress),
            started=raw.get("started"),
            finished=raw.get("finished"),
            result=raw.get("result"),
            error=Failure(**error) if error else None,
            cancel_requested=bool(raw.get("cancel_requested")),
            lane=str(raw.get("lane") or "write"),
        )

    # -- RDF (the store) ----------------------------------------------------------------------
    def to_quads(self, base: str) -> list[Quad]:
        """The task's named graph (without its `mkg:graphKind`, which the store adds)."""
        node, graph = task_node(base, self.id), graph_of(base, self.id)
        values: list[tuple[NamedNode, NamedNode | Literal | None]] = [
            (RDF.type, MKG.BackgroundTask),
            (MKG.backgroundTaskId, Literal(self.id)),
            (MKG.taskOperation, operations()[self.operation].iri),
            (MKG.taskStatus, statuses()[self.status].iri),
            (MKG.taskArguments, _json(self.arguments)),
            (MKG.createdAt, _moment(self.created)),
            (MKG.startedAt, _moment(self.started)),
            (MKG.finishedAt, _moment(self.finished)),
            (MKG.progressDone, Literal(self.progress.done)),
            (MKG.progressTotal, _integer(self.progress.total)),
            (MKG.progressMessage, Literal(self.progress.message)),
            (MKG.runnerHost, Literal(self.owner.host)),
            (MKG.runnerPid, Literal(self.owner.pid)),
            (MKG.runnerBoot, Literal(self.owner.boot)),
            (MKG.runnerStarted, Literal(self.owner.started)),
            (MKG.taskResult, _json(self.result) if self.result is not None else None),
            (MKG.errorMessage, Literal(self.error.message) if self.error else None),
            (MKG.errorKind, Literal(self.error.kind) if self.error else None),
            (MKG.errorHint, Literal(self.error.hint) if self.error and self.error.hint else None),
            (MKG.cancelRequested, Literal(self.cancel_requested)),
        ]
        return [Quad(node, p, o, graph) for p, o in values if o is not None]

    @classmethod
    def from_quads(cls, task_id: str, quads: Sequence[Quad]) -> TaskRecord:
        """The task a graph written by `to_quads` records."""
        by: dict[NamedNode, object] = {q.predicate: q.object for q in quads}
        codes = {info.iri: code for code, info in operations().items()}
        states = {info.iri: code for code, info in statuses().items()}
        kind = _text(by, MKG.errorKind)
        return cls(
            id=task_id,
            operation=codes.get(cast("NamedNode", by[MKG.taskOperation]), "unknown"),
            arguments=json.loads(_text(by, MKG.taskArguments) or "{}"),
            status=cast("TaskStatus", states[cast("NamedNode", by[MKG.taskStatus])]),
            created=_seconds(by.get(MKG.createdAt)) or 0.0,
            owner=Owner(
                _text(by, MKG.runnerHost) or "",
                int(_text(by, MKG.runnerPid) or 0),
                _text(by, MKG.runnerBoot) or "",
                float(_text(by, MKG.runnerStarted) or 0),
            ),
            progress=Progress(
                int(_text(by, MKG.progressDone) or 0),
                int(total) if (total := _text(by, MKG.progressTotal)) is not None else None,
                _text(by, MKG.progressMessage) or "",
            ),
            started=_seconds(by.get(MKG.startedAt)),
            finished=_seconds(by.get(MKG.finishedAt)),
            result=json.loads(result) if (result := _text(by, MKG.taskResult)) else None,
            error=Failure(_text(by, MKG.errorMessage) or "", kind, _text(by, MKG.errorHint))
            if kind
            else None,
            cancel_requested=_text(by, MKG.cancelRequested) == "true",
            lane=operations()[op].lane
            if (op := codes.get(cast("NamedNode", by[MKG.taskOperation])))
            else "write",
        )


def task_node(base: str, task_id: str) -> NamedNode:
    """The task's IRI, under the store's base."""
    return NamedNode(f"{base}task/{task_id}")


def graph_of(base: str, task_id: str) -> NamedNode:
    """The named graph that records the task."""
    return NamedNode(f"{base}graph/task/{task_id}")


def _json(value: object) -> Literal:
    return Literal(json.dumps(value, separators=(",", ":"), sort_keys=True), datatype=RDF_JSON)


def _integer(value: int | None) -> Literal | None:
    return None if value is None else Literal(value)


def _moment(seconds: float | None) -> Literal | None:
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds")
    return Literal(moment.replace("+00:00", "Z"), datatype=XSD.dateTime)


def _seconds(term: object) -> float | None:
    if not isinstance(term, Literal):
        return None
    return datetime.fromisoformat(term.value.replace("Z", "+00:00")).timestamp()


def _text(by: Mapping[NamedNode, object], predicate: NamedNode) -> str | None:
    term = by.get(predicate)
    return term.value if isinstance(term, Literal | NamedNode) else None
