"""How a running task reports its progress, and how it learns that it should stop.

An operation gets a `Reporter` and hands its `total` and `advance` to the kg function's
`on_total` / `on_progress` callbacks. Each call counts in memory; at most once per `interval`
(a second) the count is written to the live state (`kg.tasks.live`), and the same write reads
back whether a client asked to cancel (in any process) or the server is stopping. Then the
callback raises `Cancelled`, from inside the operation's loop: the operation stops where it
stands, and the store keeps what its finished writes wrote (reasoning writes per batch). An
operation that can stop by itself at a clean point (an ingest, between chunks) polls
`stop_requested` instead. So a 100,000-model ingest writes its progress about once a second,
not 100,000 times.

>>> import tempfile, threading
>>> from kg.store import open_store
>>> from kg.tasks.book import TaskBook
>>> book = TaskBook(open_store(tempfile.mkdtemp() + "/kg"))
>>> task = book.start(book.create("reason", {}).id)
>>> reporter = Reporter(book, task.id, threading.Event(), interval=0)
>>> reporter.total(3); reporter.advance(2)
>>> book.get(task.id).progress
Progress(done=2, total=3, message='')
>>> _ = book.cancel(task.id)
>>> reporter.advance(1)
Traceback (most recent call last):
...
kg.tasks.progress.Cancelled: cancelled at a client's request
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kg.tasks.record import Progress

if TYPE_CHECKING:
    from kg.tasks.book import TaskBook

__all__ = ["Cancelled", "Reporter"]


class Cancelled(BaseException):
    """The task was asked to stop: by a client (`cancelled`), or by its server stopping
    (`interrupted`).

    A `BaseException`, as `asyncio.CancelledError` and `KeyboardInterrupt` are: the
    operation's own `except Exception` (an ingest collecting one model's failure and going on)
    must not swallow it; `finally` blocks still run, so locks are let go and what was written
    is published."""

    def __init__(
        self,
        message: str,
        outcome: Literal["cancelled", "interrupted"],
        *,
        result: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.outcome: Literal["cancelled", "interrupted"] = outcome
        self.result = result
        """what the operation did before it stopped, when it stopped cleanly (an ingest)"""


class Reporter:
    """Progress of one running task, written at most once per `interval` seconds."""

    def __init__(
        self, book: TaskBook, task_id: str, stopping: threading.Event, *, interval: float = 1.0
    ) -> None:
        self._book = book
        self._task_id = task_id
        self._stopping = stopping
        self._interval = interval
        self._done = 0
        self._total: int | None = None
        self._message = ""
        self._written = 0.0
        self._stop: Cancelled | None = None

    @property
    def task_id(self) -> str:
        return self._task_id

    def workspace(self) -> Path:
        """A folder of the task's own, beside the store (in its live state's folder), for
        what it produces (a generated package); kept after the task ends."""
        folder = self._book.live.folder / f"{self._task_id}.files"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def progress(self) -> Progress:
        return Progress(self._done, self._total, self._message)

    def total(self, count: int) -> None:
        """The operation knows how much there is to do (`on_total`); adds to a known total, so
        an operation of several steps can announce each."""
        self._total = count if self._total is None else self._total + count
        self._tick(force=True)

    def advance(self, count: int = 1) -> None:
        """`count` more units done (`on_progress`); raises `Cancelled` when asked to stop."""
        self._done += count
        self._tick()

    def count(self, count: int = 1) -> None:
        """`count` more units done, for an operation that stops by itself when asked
        (`stop_requested`, an ingest's `stop`): never raises."""
        self._done += count
        self._tick(raising=False)

    def stop_requested(self) -> bool:
        """A client asked to cancel, or the server is stopping (as last read; reads again at
        most once per interval)."""
        self._tick(raising=False)
        return self._stop is not None

    def say(self, message: str) -> None:
        """What the operation does now ("embedding", "re-deriving 12 dependents")."""
        self._message = message
        self._tick(force=True)

    def check(self) -> None:
        """Raise `Cancelled` when the task should stop (also done on every tick)."""
        self._tick()

    def _tick(self, *, force: bool = False, raising: bool = True) -> None:
        if self._stop is None and self._stopping.is_set():
            self._stop = Cancelled("the server stopped while the task ran", "interrupted")
        now = time.monotonic()
        if self._stop is None and (force or now - self._written >= self._interval):
            self._written = now
            record = self._book.progress(self._task_id, self.progress)
            if record.cancel_requested:
                self._stop = Cancelled("cancelled at a client's request", "cancelled")
        if raising and self._stop is not None:
            raise self._stop

    @property
    def stop(self) -> Cancelled | None:
        """Why the task should stop, once known."""
        return self._stop

    def flush(self) -> None:
        """Write the progress as it stands (at the end, whatever the interval)."""
        self._book.progress(self._task_id, self.progress)
