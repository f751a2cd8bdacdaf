"""Runs background tasks in a server process: one thread per lane, tasks of a lane one at a
time in the order they were started (the operations that write the store share a lane: the
store has one writer anyway, and a queued task shows as queued rather than waiting on a lock).

A task that raises a ModelKG error fails with its message and hint; one that is cancelled ends
`cancelled` with what it did so far; when the server stops, the running task is stopped at its
next progress tick and it and the queued ones end `interrupted`. A task the process could not
end (killed) is found `interrupted` by whoever reads it next (`kg.tasks.book`).

>>> import tempfile, time
>>> from kg.store import open_store
>>> from kg.tasks.book import TaskBook
>>> from kg.tasks.operations import OPERATIONS, OperationContext
>>> store = open_store(tempfile.mkdtemp() + "/kg")
>>> runner = TaskRunner(TaskBook(store), OPERATIONS, OperationContext(store))
>>> runner.start()
>>> task = runner.submit("reason", {"full": True})
>>> while not runner.book.get(task.id).terminal:
...     time.sleep(0.05)
>>> runner.book.get(task.id).status
'succeeded'
>>> runner.stop()
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from typing import Any

from kg.errors import ModelKGError
from kg.tasks.book import INTERRUPTED_HINT, TaskBook
from kg.tasks.operations import Operation, OperationContext
from kg.tasks.progress import Cancelled, Reporter
from kg.tasks.record import Failure, TaskRecord
from kg.tasks.vocabulary import operations

__all__ = ["TaskRunner"]

log = logging.getLogger("modelkg.tasks")


class TaskRunner:
    """The task threads of one process (module docstring)."""

    def __init__(
        self,
        book: TaskBook,
        bound: Mapping[str, Operation],
        context: OperationContext,
        *,
        interval: float = 1.0,
    ) -> None:
        self.book = book
        self._bound = bound
        self._context = context
        self._interval = interval
        self._stopping = threading.Event()
        lanes = sorted({info.lane for info in operations().values()})
        self._queues: dict[str, queue.Queue[str | None]] = {lane: queue.Queue() for lane in lanes}
        self._threads = [
            threading.Thread(
                target=self._work, args=(lane,), name=f"modelkg-task-{lane}", daemon=True
            )
            for lane in lanes
        ]

    def start(self) -> None:
        """Start the lanes' threads."""
        for thread in self._threads:
            thread.start()

    def submit(self, operation: str, arguments: Mapping[str, Any]) -> TaskRecord:
        """Record a new task, queued in its lane; returned at once."""
        if self._stopping.is_set():
            raise ModelKGError("the server is stopping", hint="start the task once it is back")
        record = self.book.create(operation, arguments)
        self._queues[record.lane].put(record.id)
        return record

    def stop(self, timeout: float = 30.0) -> None:
        """Stop: the running tasks at their next progress tick, the queued ones at once (both
        end `interrupted`); wait up to `timeout` seconds for the threads."""
        self._stopping.set()
        for lane_queue in self._queues.values():
            lane_queue.put(None)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def _work(self, lane: str) -> None:
        lane_queue = self._queues[lane]
        while True:
            task_id = lane_queue.get()
            if task_id is None:
                return
            try:
                if self._stopping.is_set():
                    self._interrupt_queued(task_id)
                else:
                    self._run(task_id)
            except BaseException:  # a runner thread outlives any one task
                log.exception("background task %s could not be run", task_id)

    def _interrupt_queued(self, task_id: str) -> None:
        record = self.book.find(task_id)
        if record is not None and not record.terminal:
            self.book.finish(
                task_id,
                "interrupted",
                error=Failure(
                    "the server stopped before the task started", "interrupted", INTERRUPTED_HINT
                ),
            )
        self._drain()

    def _drain(self) -> None:
        """After the stop: end every task still queued in any lane as interrupted."""
        for lane_queue in self._queues.values():
            while True:
                try:
                    task_id = lane_queue.get_nowait()
                except queue.Empty:
                    break
                if task_id is not None:
                    self._interrupt_queued(task_id)
                else:
                    lane_queue.put(None)  # the other lane's thread still needs its signal
                    break

    def _run(self, task_id: str) -> None:
        record = self.book.start(task_id)
        if record is None:  # cancelled while queued
            return
        reporter = Reporter(self.book, task_id, self._stopping, interval=self._interval)
        operation = self._bound[record.operation]
        try:
            result = operation(self._context, record.arguments, reporter)
        except Cancelled as stop:
            hint = INTERRUPTED_HINT if stop.outcome == "interrupted" else None
            self.book.finish(
                task_id,
                stop.outcome,
                result=stop.result,
                progress=reporter.progress,
                error=Failure(stop.message, stop.outcome, hint),
            )
        except ModelKGError as exc:
            self.book.finish(
                task_id,
                "failed",
                progress=reporter.progress,
                error=Failure(str(exc), type(exc).__name__, exc.hint),
            )
        except Exception as exc:  # a bug: the task says so, the server goes on
            log.exception("background task %s (%s) failed", task_id, record.operation)
            self.book.finish(
                task_id,
                "failed",
                progress=reporter.progress,
                error=Failure(
                    f"unexpected {type(exc).__name__}: {exc} (a ModelKG bug)",
                    "InternalError",
                    "see the server's log",
                ),
            )
        else:
            self.book.finish(task_id, "succeeded", result=result, progress=reporter.progress)
