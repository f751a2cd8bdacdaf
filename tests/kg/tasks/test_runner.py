"""Background tasks in a process, as a server runs them: a real store on disk, the real
operations over corpus models, a real second process for an owner that died."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest

from kg.store import ModelStore, open_store
from kg.store.graph_kinds import protected_kind
from kg.tasks import (
    OPERATIONS,
    OperationContext,
    Progress,
    Reporter,
    TaskBook,
    TaskRecord,
    TaskRunner,
    TaskStatus,
    operations,
    statuses,
)
from kg.tasks.record import graph_of
from tests.conftest import CORPUS

MODELS = sorted(path for path in CORPUS.iterdir() if path.is_dir())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ModelStore]:
    opened = open_store(str(tmp_path / "kg"))
    yield opened
    opened.close()


@pytest.fixture
def runner(store: ModelStore) -> Iterator[TaskRunner]:
    started = TaskRunner(TaskBook(store), OPERATIONS, OperationContext(store), interval=0.2)
    started.start()
    yield started
    started.stop()


def wait(book: TaskBook, task_id: str, until: str = "ended") -> TaskRecord:
    """Poll the task (as a client does) until it ended, or until it runs and made progress."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        record = book.get(task_id)
        if record.terminal or (until == "progress" and record.progress.done > 0):
            return record
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} still {book.get(task_id).status} after 600 s")


def test_the_vocabulary_is_the_ontology_s_and_every_operation_is_bound() -> None:
    assert set(statuses()) == set(get_args(TaskStatus))
    assert {code for code, s in statuses().items() if s.terminal} == {
        "succeeded",
        "failed",
        "cancelled",
        "interrupted",
    }
    assert set(OPERATIONS) == set(operations()) - {"codegen"}  # bound above kg: codegen


def test_an_ingest_task_registers_the_models_and_is_recorded_in_the_store(
    runner: TaskRunner, store: ModelStore
) -> None:
    folders = [str(path) for path in MODELS[:12]]
    task = runner.submit("ingest", {"paths": folders})
    assert task.status == "queued"  # answered at once: the work runs in the runner's thread

    done = wait(runner.book, task.id)

    assert done.status == "succeeded", done.error
    assert done.result is not None
    assert len(done.result["models"]) + len(done.result["rejected"]) == 12
    assert done.progress == Progress(12, 12, "reading and writing models")
    assert store.count_models() == len(done.result["models"])
    # the store records the task: a protected graph, and what it says matches the live state
    graph = graph_of(runner.book.base, task.id).value
    assert protected_kind(store, graph) == "a graph recording one background task"
    stored = TaskRecord.from_quads(task.id, store.graph_quads(graph_of(runner.book.base, task.id)))
    assert (stored.status, stored.result) == ("succeeded", done.result)


def test_a_cancelled_ingest_stops_after_the_models_it_was_writing(
    runner: TaskRunner, store: ModelStore
) -> None:
    task = runner.submit("ingest", {"paths": [str(path) for path in MODELS]})
    running = wait(runner.book, task.id, until="progress")
    assert running.status == "running"

    runner.book.cancel(task.id)
    ended = wait(runner.book, task.id)

    assert ended.status == "cancelled"
    assert ended.error is not None and ended.error.kind == "cancelled"
    assert ended.result is not None and ended.result["notReached"] > 0
    written = ended.result["models"]
    assert 0 < len(written) < len(MODELS)
    assert store.count_models() == len(written)  # each model written whole, the rest not
    with pytest.raises(Exception, match="already cancelled"):
        runner.book.cancel(task.id)


def test_a_failing_task_says_why_and_the_next_one_runs(runner: TaskRunner) -> None:
    failing = runner.submit("ingest", {"paths": []})
    after = runner.submit("reason", {"full": True})

    failed = wait(runner.book, failing.id)
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.kind == "InputError"
    assert "name at least one folder" in failed.error.message
    assert wait(runner.book, after.id).status == "succeeded"


def test_a_queued_task_cancelled_never_starts(store: ModelStore) -> None:
    book = TaskBook(store)  # no runner: the task stays queued
    task = book.create("reason", {"full": True})
    assert book.cancel(task.id).status == "cancelled"
    assert book.start(task.id) is None  # the runner, when it gets to it, skips it


def test_a_stopping_server_interrupts_its_running_and_queued_tasks(store: ModelStore) -> None:
    runner = TaskRunner(TaskBook(store), OPERATIONS, OperationContext(store), interval=0.2)
    runner.start()
    long = runner.submit("ingest", {"paths": [str(path) for path in MODELS]})
    queued = runner.submit("reason", {"full": True})
    wait(runner.book, long.id, until="progress")

    runner.stop()

    for task in (long, queued):
        record = runner.book.get(task.id)
        assert record.status == "interrupted", record
        assert record.error is not None and "start it again" in (record.error.hint or "")


def test_a_task_whose_process_died_reads_as_interrupted_and_a_sweep_records_it(
    tmp_path: Path,
) -> None:
    location = str(tmp_path / "kg")
    open_store(location).close()
    # another process accepts a task and dies before running it (as a killed server does)
    script = (
        "import sys; from kg.store import open_store; from kg.tasks import TaskBook\n"
        f"store = open_store({location!r}); task = TaskBook(store).create('reason', {{}})\n"
        "store.close(); print(task.id)"
    )
    made = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[3],
    )
    task_id = made.stdout.strip().splitlines()[-1]

    with open_store(location) as store:
        book = TaskBook(store)
        record = book.get(task_id)
        assert record.status == "interrupted"
        assert record.error is not None and "stopped before the task ended" in record.error.message
        assert [swept.id for swept in book.sweep()] == [task_id]
        assert book.sweep() == []  # once recorded, not again
        stored = TaskRecord.from_quads(task_id, store.graph_quads(graph_of(book.base, task_id)))
        assert stored.status == "interrupted"


def test_progress_is_written_at_most_once_per_interval(store: ModelStore) -> None:
    writes = []

    class CountingBook(TaskBook):
        def progress(self, task_id: str, progress: Progress) -> TaskRecord:
            writes.append(progress.done)
            return super().progress(task_id, progress)

    book = CountingBook(store)
    task = book.start(book.create("reason", {}).id)
    assert task is not None
    reporter = Reporter(book, task.id, threading.Event(), interval=1.0)
    started = time.monotonic()
    for _ in range(100_000):
        reporter.advance()
    elapsed = time.monotonic() - started

    assert len(writes) <= elapsed / 1.0 + 2  # not one per unit: one per second at most
    reporter.flush()
    assert book.get(task.id).progress.done == 100_000


def test_a_cancel_from_another_process_stops_the_task(
    runner: TaskRunner, store: ModelStore
) -> None:
    """As under `modelkg serve --workers 2`: the cancel request reaches another process, which
    shares only the live state beside the store with the one running the task."""
    task = runner.submit("ingest", {"paths": [str(path) for path in MODELS]})
    wait(runner.book, task.id, until="progress")
    script = (
        "from kg.store.embedded import EmbeddedStore\n"
        "from kg.tasks import LiveState, TaskBook, live_folder\n"
        f"book = TaskBook(EmbeddedStore.open(None), LiveState(live_folder({store.location!r})))\n"
        f"print(book.cancel({task.id!r}).cancel_requested)"
    )
    asked = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, cwd=Path(__file__).parents[3])  # fmt: skip
    assert asked.stdout.strip() == "True"

    assert wait(runner.book, task.id).status == "cancelled"


def test_an_index_rebuild_embeds_every_model_again(runner: TaskRunner, store: ModelStore) -> None:
    ingested = wait(runner.book, runner.submit("ingest", {"paths": [str(MODELS[0])]}).id)
    assert ingested.status == "succeeded", ingested.error

    rebuilt = wait(runner.book, runner.submit("index-rebuild", {}).id)

    assert rebuilt.status == "succeeded", rebuilt.error
    assert rebuilt.result == {"embedded": store.count_models(), "removed": 0, "rebuilt": True}
    assert rebuilt.progress.done == rebuilt.progress.total == store.count_models()
