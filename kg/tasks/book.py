"""The book of background tasks: start, read, list and cancel them; and find those a stopped
server cut off.

Two records of each task, each with its job. the live state beside the store
(`kg.tasks.live`) is the live state, read and written by every process at any moment:
progress and cancel requests go there. The store holds each task as a named graph of the
protected kind `mkg:TaskGraph` (written when the task starts, when it ends, and when it is found
cut off), so tasks are backed up, migrated and queried (SPARQL) with the rest of the registry,
and a task whose live file is lost is still known. A read prefers the live file, then the store.

A task whose owner process is gone (`Owner.alive`) while it was queued or running is
`interrupted`: found so when read, and swept at a server's start-up (`sweep`).

>>> import tempfile
>>> from kg.store import open_store
>>> book = TaskBook(open_store(tempfile.mkdtemp() + "/kg"))
>>> task = book.create("reason", {"full": True})
>>> book.get(task.id).status
'queued'
>>> book.cancel(task.id).status
'cancelled'
>>> book.cancel(task.id)
Traceback (most recent call last):
...
kg.errors.InvalidStateError: field `id`: the task is already cancelled; nothing to cancel \
(start it again with the same operation and arguments)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pyoxigraph import NamedNode

from kg.errors import InvalidStateError, ModelKGError, NotFoundError, UsageError
from kg.iris import IriMinter
from kg.store.base import ModelStore
from kg.tasks.live import LiveState, is_task_id, live_folder
from kg.tasks.record import Failure, Progress, TaskRecord, graph_of
from kg.tasks.vocabulary import TaskStatus, operations
from ontology.namespaces import MKG

__all__ = ["INTERRUPTED_HINT", "TaskBook"]

log = logging.getLogger("modelkg.tasks")

INTERRUPTED_HINT = (
    "start it again with the same operation and arguments: `POST /api/v1/tasks`, "
    "the `startTask` mutation, or `modelkg tasks start OPERATION ...`; an ingest skips the "
    "models it already wrote"
)

_STORED = """
SELECT ?id WHERE { GRAPH ?g { ?g mkg:graphKind mkg:TaskGraph . ?task mkg:backgroundTaskId ?id } }
"""


class TaskBook:
    """The tasks of one store (module docstring)."""

    def __init__(self, store: ModelStore, live: LiveState | None = None) -> None:
        self.store = store
        self.live = live or LiveState(live_folder(store.location))
        self.base = IriMinter.from_environment().base

    # -- starting -----------------------------------------------------------------------------
    def create(self, operation: str, arguments: Mapping[str, Any]) -> TaskRecord:
        """Record a new task of this process, queued; `UsageError` for an unknown operation."""
        known = operations()
        if operation not in known:
            raise UsageError(
                f"no operation `{operation}`",
                field="operation",
                expected="one of " + ", ".join(sorted(known)),
            )
        record = TaskRecord.new(operation, arguments)
        self.live.write(record)
        return record

    # -- reading ------------------------------------------------------------------------------
    def find(self, task_id: str) -> TaskRecord | None:
        """The task, as it stands now; None when there is no such task."""
        if not is_task_id(task_id):
            return None
        record = self.live.read(task_id)
        if record is None:
            record = self._stored(task_id)
        if record is not None and not record.terminal and not record.owner.alive():
            record = self._interrupt(record)
        return record

    def get(self, task_id: str) -> TaskRecord:
        """The task; `NotFoundError` when there is none."""
        record = self.find(task_id)
        if record is None:
            raise NotFoundError(
                f"no task `{task_id}`",
                field="id",
                hint="list the tasks with GET /api/v1/tasks (`modelkg tasks list`)",
            )
        return record

    def tasks(
        self, *, status: TaskStatus | None = None, operation: str | None = None
    ) -> list[TaskRecord]:
        """Every task (of the live state and the store), newest first, optionally only those with
        `status` or of `operation`."""
        found = {record.id: record for record in self.live.all()}
        for task_id in self._stored_ids():
            if task_id not in found and (stored := self._stored(task_id)) is not None:
                found[task_id] = stored
        tasks = []
        for record in found.values():
            if not record.terminal and not record.owner.alive():
                record = self._interrupt(record)
            if status is not None and record.status != status:
                continue
            if operation is not None and record.operation != operation:
                continue
            tasks.append(record)
        return sorted(tasks, key=lambda t: (t.created, t.id), reverse=True)

    # -- cancelling ---------------------------------------------------------------------------
    def cancel(self, task_id: str) -> TaskRecord:
        """Cancel the task: a queued one ends now, a running one is asked to stop (its runner
        stops it at its next progress tick, within about a second); `InvalidStateError` when
        it has already ended."""
        record = self.get(task_id)
        if record.terminal:
            raise _ended(record)

        def cancel(current: TaskRecord) -> TaskRecord:
            if current.terminal:
                raise _ended(current)
            if current.status == "queued":
                return replace(
                    current,
                    status="cancelled",
                    finished=time.time(),
                    error=Failure("cancelled before it started", "cancelled"),
                )
            return replace(current, cancel_requested=True)

        try:
            return self.live.update(task_id, cancel)
        except KeyError:  # known to the store only, and not ended: its owner runs on another host
            raise InvalidStateError(
                f"task `{task_id}` runs on {record.owner.host}, not on this host",
                field="id",
                hint="cancel it through a server on that host",
            ) from None

    # -- the runner's side --------------------------------------------------------------------
    def start(self, task_id: str) -> TaskRecord | None:
        """Mark the task running (in the live state and the store); None when it was cancelled
        (or otherwise ended) while queued."""

        def start(current: TaskRecord) -> TaskRecord:
            if current.status != "queued":
                return current
            return replace(current, status="running", started=time.time())

        record = self.live.update(task_id, start)
        if record.status != "running":
            self.record(record)
            return None
        self.record(record)
        return record

    def progress(self, task_id: str, progress: Progress) -> TaskRecord:
        """Record how far the task got (the live state only); the record says whether
        a cancel was requested meanwhile."""
        return self.live.update(task_id, lambda current: replace(current, progress=progress))

    def finish(
        self,
        task_id: str,
        status: TaskStatus,
        *,
        result: dict[str, Any] | None = None,
        error: Failure | None = None,
        progress: Progress | None = None,
    ) -> TaskRecord:
        """End the task with `status`: in the store first, then in the live state, so a client
        that reads the end (from the live state) finds it in the store too. The live lock is
        not held across the store write: a task of another lane may hold the store's writer
        lock while it reports progress."""
        now = time.time()

        def finish(current: TaskRecord) -> TaskRecord:
            return replace(
                current,
                status=status,
                finished=now,
                result=result,
                error=error,
                progress=progress or current.progress,
            )

        current = self.live.read(task_id)
        if current is None:
            raise KeyError(task_id)
        self.record(finish(current))
        return self.live.update(task_id, finish)

    def record(self, record: TaskRecord) -> None:
        """Write the task's graph into the store, replacing what it said before. A store that
        refuses (a remote one gone away) is logged: the live state still has the task."""
        graph = graph_of(self.base, record.id)
        try:
            self.store.replace_graphs({graph: record.to_quads(self.base)}, kind=MKG.TaskGraph)
        except ModelKGError as exc:
            log.warning("could not record task %s in the store: %s", record.id, exc)

    def sweep(self) -> list[TaskRecord]:
        """Mark every queued or running task whose owner is gone as interrupted, in the live
        state and the store (a server's start-up: what the previous one left running)."""
        swept = []
        for record in self.tasks():
            if record.status == "interrupted" and not _recorded_interrupted(self, record):
                self.record(record)
                swept.append(record)
        return swept

    def forget_ended(self, before: float) -> list[str]:
        """Forget every task that ended before `before` (seconds since the epoch): its graph in
        the store, its live file and its workspace (a codegen package). Tasks still queued or
        running are kept whatever their age. The ids forgotten, oldest first.

        >>> import tempfile
        >>> from kg.store import open_store
        >>> book = TaskBook(open_store(tempfile.mkdtemp() + "/kg"))
        >>> old = book.cancel(book.create("reason", {}).id)
        >>> book.forget_ended(time.time() + 1) == [old.id], book.find(old.id)
        (True, None)
        """
        ended = [
            record
            for record in self.tasks()
            if record.terminal and record.finished is not None and record.finished < before
        ]
        ended.sort(key=lambda record: (record.finished or 0.0, record.id))
        if ended:
            self.store.remove_graphs([graph_of(self.base, record.id) for record in ended])
        for record in ended:
            self.live.remove(record.id)
        return [record.id for record in ended]

    # -- helpers ------------------------------------------------------------------------------
    def _interrupt(self, record: TaskRecord) -> TaskRecord:
        interrupted = replace(
            record,
            status="interrupted",
            finished=time.time(),
            error=Failure(
                f"the server process running this task (pid {record.owner.pid} on "
                f"{record.owner.host}) stopped before the task ended: the server was "
                "stopped or restarted",
                "interrupted",
                INTERRUPTED_HINT,
            ),
        )
        try:  # unless it ended meanwhile
            return self.live.update(record.id, lambda now: now if now.terminal else interrupted)
        except KeyError:  # known to the store only
            return interrupted

    def _stored_ids(self) -> list[str]:
        ids = []
        for row in self.store.select(_STORED):
            value = row["id"]
            if value is not None and is_task_id(value.value):
                ids.append(value.value)
        return ids

    def _stored(self, task_id: str) -> TaskRecord | None:
        quads = self.store.graph_quads(graph_of(self.base, task_id))
        if not any(q.predicate == MKG.taskStatus for q in quads):
            return None
        return TaskRecord.from_quads(task_id, quads)


def _recorded_interrupted(book: TaskBook, record: TaskRecord) -> bool:
    stored = book.store.graph_quads(graph_of(book.base, record.id))
    status = NamedNode(str(MKG) + "TaskInterrupted")
    return any(q.predicate == MKG.taskStatus and q.object == status for q in stored)


def _ended(record: TaskRecord) -> InvalidStateError:
    return InvalidStateError(
        f"the task is already {record.status}; nothing to cancel",
        field="id",
        hint="start it again with the same operation and arguments",
    )
