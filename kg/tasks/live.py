"""The live state of background tasks: one small JSON file per task, in a folder beside the store.

Why not only the store: a long operation (an ingest, a full reasoning run) holds the store's
one writer lock from its start to its end, and a served store publishes what it wrote only at
the end. A progress write or a cancel request through the store would wait for the task it is
about, and a reader would see no progress before the task ended. A file per task, replaced
whole (written under a temporary name, then renamed) under a lock file, is read by every
process on the host at once: `modelkg serve --workers N` shows one task's progress from every
worker and takes a cancel request in any of them. The store keeps the durable record
(`kg.tasks.book`).

>>> import tempfile
>>> from dataclasses import replace
>>> from kg.tasks.record import TaskRecord
>>> live = LiveState(Path(tempfile.mkdtemp()))
>>> task = TaskRecord.new("reason", {"full": True})
>>> live.write(task)
>>> live.update(task.id, lambda t: replace(t, cancel_requested=True)).cancel_requested
True
>>> live.read("../../etc/passwd") is None   # not a task id: no file is looked for
True
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

from kg.atomic import write_atomically
from kg.errors import StoreError
from kg.tasks.record import TaskRecord

__all__ = ["LiveState", "is_task_id", "live_folder"]

_ID = re.compile(r"[0-9a-f]{32}")


def is_task_id(text: str) -> bool:
    """`text` has the form of a task id (32 lower-case hex digits)."""
    return _ID.fullmatch(text) is not None


def live_folder(location: str) -> Path:
    """Where the live task state of the store at `location` lives: `{store}.tasks/` beside a folder
    store; under the temporary folder, named by a digest of the address, for a remote or an
    in-memory store (one per address on this host)."""
    if "://" in location or location == ":memory:":
        digest = hashlib.sha256(
            f"{location}:{os.getpid() if location == ':memory:' else ''}".encode()
        ).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / "modelkg-tasks" / digest
    return Path(f"{location.rstrip('/')}.tasks")


class LiveState:
    """The task files of one store (module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder of the live task state: {exc}",
                path=str(folder),
                hint="the server needs to write beside its store; check the folder's permissions",
            ) from exc
        self._lock = FileLock(folder / "tasks.lock", thread_local=False)
        self._threads = threading.RLock()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the live state: every change reads and writes under it, in every process."""
        with self._threads, self._lock:
            yield

    def _path(self, task_id: str) -> Path | None:
        return self.folder / f"{task_id}.json" if is_task_id(task_id) else None

    def read(self, task_id: str) -> TaskRecord | None:
        """The task, or None when there is no such task here."""
        path = self._path(task_id)
        if path is None:
            return None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"the task file is unreadable: {exc}",
                path=str(path),
                hint="delete the file; the task's record in the store remains",
            ) from exc
        return TaskRecord.from_json(raw)

    def all(self) -> list[TaskRecord]:
        """Every task of the live state (a file being replaced is read in its old or new form)."""
        found = []
        for path in self.folder.glob("*.json"):
            record = self.read(path.stem)
            if record is not None:
                found.append(record)
        return found

    def write(self, record: TaskRecord) -> None:
        """Write the task's file whole (a reader sees the old one or the new one)."""
        path = self._path(record.id)
        assert path is not None, record.id
        with self.locked():
            write_atomically(path, json.dumps(record.to_json()))

    def remove(self, task_id: str) -> None:
        """Delete the task's file and its workspace (`{id}.files`), if there are any."""
        path = self._path(task_id)
        if path is None:
            return
        with self.locked():
            path.unlink(missing_ok=True)
            shutil.rmtree(self.folder / f"{task_id}.files", ignore_errors=True)

    def update(self, task_id: str, change: Callable[[TaskRecord], TaskRecord]) -> TaskRecord:
        """Read the task, change it, write it back, all under the lock; `KeyError` when the
        live state has no such task."""
        with self.locked():
            record = self.read(task_id)
            if record is None:
                raise KeyError(task_id)
            changed = change(record)
            if changed != record:
                self.write(changed)
            return changed
