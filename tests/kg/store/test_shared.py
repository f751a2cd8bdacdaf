"""A store shared by several processes: the server's workers, and commands beside the server.

The story: while a server shares the store, another process reads what the server last
published and writes under the same lock file, so writes from many processes never lose one
another; a reader sees a write spanning several transactions whole or not at all; a write that
waits too long for another process's is told who holds it; a writer killed mid-write leaves a
store the next writer opens; a second server on the same store is refused; and checkpoints
nobody can still read are deleted.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from kg.errors import StoreError
from kg.store import open_store
from kg.store.embedded import EmbeddedStore
from kg.store.holder import record_holder, release_holder
from kg.store.shared import SharedStore, shared_folder

COUNT = "SELECT ?n WHERE { GRAPH <urn:counter> { <urn:c> <urn:n> ?n } }"


def _counter(store: SharedStore) -> int:
    rows = list(store.select(COUNT))
    return int(rows[0]["n"].value) if rows else 0


def _run_python(code: str, *, wait: bool = True) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if wait:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    return process


@pytest.fixture
def served(store_path: Path):  # type: ignore[no-untyped-def]
    """The store as a server shares it (its first process), with a short checkpoint grace."""
    store = SharedStore.create(store_path, grace_seconds=0, write_timeout=5)
    record_holder(str(store_path), "http://127.0.0.1:1")
    yield store
    release_holder(str(store_path))
    store.close()


def test_a_write_in_another_process_is_read_here_and_moves_the_generation(
    served: SharedStore, store_path: Path
) -> None:
    before = served.generation
    _run_python(f"""
        from kg.store import open_store
        store = open_store({str(store_path)!r})
        assert type(store).__name__ == "SharedStore", type(store)
        store.update("INSERT DATA {{ GRAPH <urn:g> {{ <urn:a> <urn:b> 1 }} }}")
    """)
    assert served.ask("ASK { <urn:a> <urn:b> 1 }")
    assert served.generation > before


def test_writes_from_several_processes_are_serialized_and_none_is_lost(
    served: SharedStore, store_path: Path
) -> None:
    increment = f"""
        from kg.store import open_store
        store = open_store({str(store_path)!r})
        for _ in range(15):
            with store.writer():  # read, then write, under one lock across processes
                rows = list(store.select({COUNT!r}))
                n = int(rows[0]["n"].value) if rows else 0
                store.update(
                    "DROP SILENT GRAPH <urn:counter> ; "
                    f"INSERT DATA {{{{ GRAPH <urn:counter> {{{{ <urn:c> <urn:n> {{n + 1}} }}}} }}}}"
                )
    """
    workers = [_run_python(increment, wait=False) for _ in range(3)]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    assert _counter(served) == 45


def test_a_reader_that_loses_the_race_to_a_write_reads_the_newer_checkpoint(
    served: SharedStore, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between reading which checkpoint is published and opening it, a reader may find it
    retired and deleted by the next write: it reads the newer one, and never fails."""
    reader = SharedStore.attach(store_path, read_only=True)
    served.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 1 } }")
    opening = EmbeddedStore.open
    raced: list[str] = []

    def open_as_another_write_lands(location: str, **options: bool) -> EmbeddedStore:
        if not raced:  # the reader is about to open the checkpoint the state named...
            raced.append(str(location))
            served.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 2 } }")  # ...retired
        return opening(location, **options)

    monkeypatch.setattr(EmbeddedStore, "open", staticmethod(open_as_another_write_lands))

    assert reader.ask("ASK { <urn:a> <urn:b> 2 }")
    assert raced and not Path(raced[0]).exists()
    reader.close()


def test_a_reader_sees_a_write_of_several_steps_whole_or_not_at_all(served: SharedStore) -> None:
    seen: list[tuple[bool, bool]] = []
    step_one_done = threading.Event()
    looked = threading.Event()

    def read_between_the_steps() -> None:
        step_one_done.wait(10)
        seen.append((served.ask("ASK { <urn:m> ?p 1 }"), served.ask("ASK { <urn:m> ?p 2 }")))
        looked.set()

    reader = threading.Thread(target=read_between_the_steps)
    reader.start()
    with served.writer():
        served.update("INSERT DATA { GRAPH <urn:model> { <urn:m> <urn:p> 1 } }")
        assert served.ask("ASK { <urn:m> ?p 1 }")  # the writer reads its own writes
        step_one_done.set()
        looked.wait(10)
        served.update("INSERT DATA { GRAPH <urn:derived> { <urn:m> <urn:p> 2 } }")
    reader.join()
    assert seen == [(False, False)]
    assert served.ask("ASK { <urn:m> ?p 1 }") and served.ask("ASK { <urn:m> ?p 2 }")


def test_a_generation_read_during_a_write_is_never_the_one_after_it(
    served: SharedStore,
) -> None:
    idle = served.generation
    with served.writer():
        during = served.generation
        served.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 1 } }")
    after = served.generation
    assert len({idle, during, after}) == 3
    with served.writer():  # nothing written: nothing published
        pass
    assert served.generation == after


def test_a_write_that_waits_too_long_is_told_which_process_writes(
    served: SharedStore, store_path: Path
) -> None:
    holder = _run_python(
        f"""
        import time
        from kg.store import open_store
        store = open_store({str(store_path)!r})
        with store.writer():
            print("holding", flush=True)
            time.sleep(60)
        """,
        wait=False,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        impatient = SharedStore.attach(store_path, write_timeout=0.5)
        with pytest.raises(StoreError, match=rf"writing this store .*pid {holder.pid}") as caught:
            impatient.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 1 } }")
        assert "retry" in (caught.value.hint or "")
        # the writer is killed mid-write: the OS lets go of both locks, the next write works
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        impatient.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 2 } }")
        assert served.ask("ASK { <urn:a> <urn:b> 2 }")
    finally:
        holder.kill()
        holder.communicate()


def test_a_second_server_on_the_same_store_is_refused(
    served: SharedStore, store_path: Path
) -> None:
    record_holder(str(store_path), "http://127.0.0.1:8000")
    with pytest.raises(StoreError, match=r"already serves this store at http://127.0.0.1:8000"):
        SharedStore.create(store_path, grace_seconds=0)
    assert served.count_models() == 0  # the first server's state was left alone


def test_checkpoints_nobody_can_still_read_are_deleted(served: SharedStore) -> None:
    for value in range(3):
        served.update(f"INSERT DATA {{ GRAPH <urn:g> {{ <urn:a> <urn:b> {value} }} }}")
    checkpoints = [p for p in shared_folder(served.location).iterdir() if p.is_dir()]
    assert [str(p) for p in checkpoints] == [served.checkpoint_folder()]


def test_when_the_server_stops_commands_open_the_store_directly_again(
    store_path: Path,
) -> None:
    server = SharedStore.create(store_path, grace_seconds=0)
    record_holder(str(store_path), "http://127.0.0.1:1")
    server.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 1 } }")
    beside = open_store(str(store_path))
    assert isinstance(beside, SharedStore)
    release_holder(str(store_path))
    server.close()
    with pytest.raises(StoreError, match="stopped") as caught:
        beside.count_models()
    assert "run the command again" in (caught.value.hint or "")
    with open_store(str(store_path)) as direct:
        assert not isinstance(direct, SharedStore)
        assert direct.ask("ASK { <urn:a> <urn:b> 1 }")


def test_a_server_that_died_leaves_nothing_that_stops_the_next(store_path: Path) -> None:
    dead = _run_python(
        f"""
        import os
        from kg.store.holder import record_holder
        from kg.store.shared import SharedStore
        store = SharedStore.create({str(store_path)!r}, grace_seconds=0)
        record_holder({str(store_path)!r}, "http://127.0.0.1:1")
        store.update("INSERT DATA {{ GRAPH <urn:g> {{ <urn:a> <urn:b> 1 }} }}")
        os.kill(os.getpid(), 9)
    """,
        wait=False,
    )
    dead.communicate(timeout=120)
    assert dead.returncode == -signal.SIGKILL
    with open_store(str(store_path)) as direct:  # its record names a process that is gone
        assert not isinstance(direct, SharedStore)
        assert direct.ask("ASK { <urn:a> <urn:b> 1 }")
    again = SharedStore.create(store_path, grace_seconds=0)
    assert again.ask("ASK { <urn:a> <urn:b> 1 }")
    again.close()
    assert not shared_folder(str(store_path)).exists()
    assert any(store_path.iterdir())  # the store itself is untouched


@pytest.fixture
def lingering(store_path: Path):  # type: ignore[no-untyped-def]
    """A server of one process: its writes linger up to a second before they are published."""
    store = SharedStore.create(store_path, grace_seconds=0, write_timeout=10, linger=1.0)
    record_holder(str(store_path), "http://127.0.0.1:1")
    yield store
    release_holder(str(store_path))
    store.close()


def test_lingering_writes_are_read_here_at_once_and_elsewhere_once_published(
    lingering: SharedStore, store_path: Path
) -> None:
    before = lingering.generation
    lingering.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 1 } }")
    seen: list[bool] = []
    reader = threading.Thread(
        target=lambda: seen.append(lingering.ask("ASK { <urn:a> <urn:b> 1 }"))
    )
    reader.start()
    reader.join()
    assert seen == [True]  # another thread of this process (an HTTP request) reads it at once
    assert lingering.pending and lingering.generation > before
    # a reader attached before the write, in another thread of control: not published yet
    beside = SharedStore(str(store_path), read_only=True, owner=False, write_timeout=5)
    assert not beside.ask("ASK { <urn:a> <urn:b> 1 }")
    lingering.publish_pending()
    assert beside.ask("ASK { <urn:a> <urn:b> 1 }") and not lingering.pending
    beside.close()


def test_lingering_writes_are_published_within_the_linger(
    lingering: SharedStore, store_path: Path
) -> None:
    for n in range(20):
        lingering.update(f"INSERT DATA {{ GRAPH <urn:g> {{ <urn:a> <urn:n> {n} }} }}")
    _run_python(f"""
        import time
        from kg.store.shared import SharedStore
        beside = SharedStore.attach({str(store_path)!r})
        deadline = time.monotonic() + 5
        while not beside.ask("ASK {{ <urn:a> <urn:n> 19 }}"):
            assert time.monotonic() < deadline, "not published within 5 s"
            time.sleep(0.05)
    """)
    assert not lingering.pending


def test_another_process_writes_after_the_lingering_writes_and_loses_none(
    lingering: SharedStore, store_path: Path
) -> None:
    for _ in range(5):
        with lingering.writer():
            rows = list(lingering.select(COUNT))
            n = int(rows[0]["n"].value) if rows else 0
            lingering.update(
                "DROP SILENT GRAPH <urn:counter> ; "
                f"INSERT DATA {{ GRAPH <urn:counter> {{ <urn:c> <urn:n> {n + 1} }} }}"
            )
    _run_python(f"""
        from kg.store import open_store
        store = open_store({str(store_path)!r})
        with store.writer():  # waits for the lingering writes to be published
            n = int(list(store.select({COUNT!r}))[0]["n"].value) + 1
            store.update(
                "DROP SILENT GRAPH <urn:counter> ; "
                f"INSERT DATA {{{{ GRAPH <urn:counter> {{{{ <urn:c> <urn:n> {{n}} }}}} }}}}"
            )
    """)
    assert _counter(lingering) == 6


def test_a_command_that_attaches_reads_every_lingering_write_before_it(
    lingering: SharedStore, store_path: Path
) -> None:
    lingering.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 3 } }")
    _run_python(f"""
        from kg.store import open_store
        assert open_store({str(store_path)!r}).ask("ASK {{ <urn:a> <urn:b> 3 }}")
    """)


def test_closing_publishes_what_lingers(store_path: Path) -> None:
    store = SharedStore.create(store_path, grace_seconds=0, linger=60)
    store.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 2 } }")
    store.close()
    assert open_store(str(store_path)).ask("ASK { <urn:a> <urn:b> 2 }")
