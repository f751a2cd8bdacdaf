"""Old tasks do not pile up: a server forgets the tasks that ended longer ago than
`--task-retention-days` when it starts (record, progress file, workspace), and keeps the rest."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from kg.store import open_store
from kg.tasks.book import TaskBook
from kg.tasks.record import graph_of
from tests.resolvers.conftest import TOKEN, blank_store, serve

DAY = 86_400.0


def ended_days_ago(book: TaskBook, days: float) -> str:
    """A cancelled reasoning task whose end is `days` ago, with a workspace file."""
    task = book.cancel(book.create("reason", {}).id)
    aged = replace(task, created=time.time() - days * DAY, finished=time.time() - days * DAY)
    book.live.write(aged)
    book.record(aged)
    workspace = book.live.folder / f"{task.id}.files" / "package"
    workspace.mkdir(parents=True)
    (workspace / "pyproject.toml").write_text("[project]\n")
    return task.id


def test_a_restarted_server_forgets_tasks_past_their_retention_and_keeps_the_rest(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    location = blank_store(tmp_path_factory, "retention")
    store = open_store(location)
    book = TaskBook(store)
    old, recent = ended_days_ago(book, 45), ended_days_ago(book, 2)
    running = book.start(book.create("reason", {}).id)  # this process runs it: alive
    assert running is not None
    store.close()

    for base in serve(location, token=TOKEN, task_retention_days=30):
        with httpx.Client(base_url=base, timeout=30) as client:
            assert client.get(f"/api/v1/tasks/{old}").status_code == 404
            assert client.get(f"/api/v1/tasks/{recent}").json()["status"] == "cancelled"
            assert client.get(f"/api/v1/tasks/{running.id}").status_code == 200
            listed = {t["id"] for t in client.get("/api/v1/tasks").json()["tasks"]}
            assert old not in listed and {recent, running.id} <= listed

    store = open_store(location, read_only=True)
    try:
        book = TaskBook(store)
        assert store.graph_quads(graph_of(book.base, old)) == []
        assert store.graph_quads(graph_of(book.base, recent))
    finally:
        store.close()
    folder = Path(f"{location}.tasks")
    assert not (folder / f"{old}.json").exists() and not (folder / f"{old}.files").exists()
    assert (folder / f"{recent}.files" / "package" / "pyproject.toml").exists()


def test_zero_days_keeps_every_task(tmp_path_factory: pytest.TempPathFactory) -> None:
    location = blank_store(tmp_path_factory, "keep-all")
    store = open_store(location)
    old = ended_days_ago(TaskBook(store), 4000)
    store.close()
    for base in serve(location, token=TOKEN, task_retention_days=0):
        with httpx.Client(base_url=base, timeout=30) as client:
            assert client.get(f"/api/v1/tasks/{old}").json()["status"] == "cancelled"
