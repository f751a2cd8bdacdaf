"""`modelkg backup` and `modelkg restore`: a snapshot taken while a real server takes writes
holds each write wholly or not at all, restores into a store that opens and validates, and a
restore never leaves a store half replaced."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kg.compat.sizing import size_models
from kg.errors import InputError, StoreError, UsageError
from kg.ingest.pipeline import ingest
from kg.ops.backup import backup
from kg.ops.doctor import diagnose
from kg.ops.manifest import MANIFEST
from kg.ops.restore import restore
from kg.reason.run import reason
from kg.search.embedder import EmbeddingService, available_models
from kg.search.service import SearchService, index_folder
from kg.store import open_store
from kg.store.shared import SharedStore
from tests.conftest import SparqlServer, corpus_folder, dump, snapshot
from tests.resolvers.conftest import TOKEN, registry, serve

LOG = "urn:backup:log"
COUNTER = "urn:backup:counter"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(store path, base URL) of a live writable server over a store with three models."""
    path = registry(tmp_path_factory, "served-backup")
    for url in serve(path, token=TOKEN):
        yield path, url


def _write(client: httpx.Client, url: str, number: int) -> None:
    """One update of three operations: a log entry and the counter moved to `number`."""
    update = (
        f"INSERT DATA {{ GRAPH <{LOG}> {{ <urn:backup:w{number}> <urn:backup:n> {number} }} }} ;"
        f"DELETE WHERE {{ GRAPH <{COUNTER}> {{ <urn:backup:c> <urn:backup:v> ?o }} }} ;"
        f"INSERT DATA {{ GRAPH <{COUNTER}> {{ <urn:backup:c> <urn:backup:v> {number} }} }}"
    )
    answer = client.post(
        f"{url}/sparql",
        content=update,
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
    )
    answer.raise_for_status()


def _writes_in(path: Path) -> tuple[set[int], set[int]]:
    """(log entries, counter values) in the store at `path`."""
    with open_store(str(path), read_only=True) as store:
        log = {
            int(row["n"].value)
            for row in store.select(f"SELECT ?n WHERE {{ GRAPH <{LOG}> {{ ?w ?p ?n }} }}")
        }
        counter = {
            int(row["v"].value)
            for row in store.select(f"SELECT ?v WHERE {{ GRAPH <{COUNTER}> {{ ?c ?p ?v }} }}")
        }
    return log, counter


def _models_only(lines: list[str]) -> list[str]:
    return [line for line in lines if "urn:backup:" not in line]


def test_a_backup_taken_while_the_server_writes_holds_whole_writes(
    served: tuple[str, str], tmp_path: Path
) -> None:
    path, url = served
    with open_store(path, read_only=True) as store:
        models_before = _models_only(snapshot(store))
    started = threading.Event()
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        with httpx.Client(timeout=60) as client:
            number = 0
            while not stop.is_set():
                _write(client, url, number)
                written.append(number)
                number += 1
                if number == 3:
                    started.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert started.wait(60)
        backups = [backup(path, tmp_path / f"backup-{n}") for n in range(2)]
    finally:
        stop.set()
        thread.join(60)
    for n, made in enumerate(backups):
        restored = tmp_path / f"restored-{n}"
        assert restore(tmp_path / f"backup-{n}", str(restored)) == made
        log, counter = _writes_in(restored)
        # a state the server had: writes 0..k-1 wholly in, every later one wholly out
        assert log == set(range(len(log))), log
        assert counter == {len(log) - 1}
        assert 3 <= len(log) <= len(written)
        assert _models_only(dump(restored)) == models_before
        assert made.models == 3
    report = diagnose(str(restored))  # opens, validates, derived data in step
    assert report.healthy, report.findings


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of two models, reasoned and sized, with its vector index."""
    path = tmp_path_factory.mktemp("indexed") / "store"
    with open_store(str(path)) as store:
        ingest(
            [str(corpus_folder(m)) for m in ("openai-community/gpt2", "openai/whisper-base")], store
        )
        reason(store)
        size_models(store)
        SearchService(store, EmbeddingService(available_models(store))).sync()
    return path


@pytest.fixture(scope="module")
def saved(indexed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("saved") / "backup"
    backup(str(indexed), destination)
    return destination


def test_the_vector_index_travels_with_the_store(
    indexed: Path, saved: Path, tmp_path: Path
) -> None:
    manifest = json.loads((saved / MANIFEST).read_text())
    assert manifest["kind"] == "checkpoint" and manifest["models"] == 2
    assert any(name.startswith("search/") for name in manifest["files"])
    restored = tmp_path / "restored"
    restore(saved, str(restored))
    assert dump(restored) == dump(indexed)
    assert (index_folder(str(restored)) / "meta.json").read_bytes() == (
        index_folder(str(indexed)) / "meta.json"
    ).read_bytes()
    assert diagnose(str(restored)).healthy


def test_a_store_that_holds_data_is_replaced_only_with_force(
    indexed: Path, saved: Path, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    with open_store(str(target)) as store:
        store.update("INSERT DATA { GRAPH <urn:mine> { <urn:a> <urn:b> <urn:c> } }")
    before = dump(target)
    with pytest.raises(UsageError, match="already holds 1 quads"):
        restore(saved, str(target))
    assert dump(target) == before
    restore(saved, str(target), force=True)
    assert dump(target) == dump(indexed)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_damaged_backup_is_refused_and_the_target_kept(saved: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(saved, damaged)
    victim = next(p for p in sorted((damaged / "store").iterdir()) if p.suffix == ".sst")
    victim.write_bytes(victim.read_bytes()[:-10])
    target = tmp_path / "target"
    with open_store(str(target)) as store:
        store.update("INSERT DATA { GRAPH <urn:mine> { <urn:a> <urn:b> <urn:c> } }")
    before = dump(target)
    with pytest.raises(InputError, match="does not match its sha256"):
        restore(damaged, str(target), force=True)
    assert dump(target) == before


def test_a_backup_from_a_newer_modelkg_is_refused(saved: Path, tmp_path: Path) -> None:
    newer = tmp_path / "newer"
    shutil.copytree(saved, newer)
    manifest = json.loads((newer / MANIFEST).read_text())
    (newer / MANIFEST).write_text(json.dumps({**manifest, "format": manifest["format"] + 1}))
    with pytest.raises(InputError, match="restore it with a ModelKG at least as new"):
        restore(newer, str(tmp_path / "target"))
    assert not (tmp_path / "target").exists()


def test_a_backup_never_overwrites(saved: Path, indexed: Path) -> None:
    with pytest.raises(UsageError, match="already exists"):
        backup(str(indexed), saved)


def test_a_remote_store_is_backed_up_as_nquads_and_restored(
    oxigraph_server: SparqlServer, tmp_path: Path
) -> None:
    oxigraph_server.clear()
    with open_store(oxigraph_server.location) as remote:
        ingest([str(corpus_folder("openai-community/gpt2"))], remote)
        remote.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> [ <urn:c> 1 ] } }")
        expected = [line for line in snapshot(remote) if "/graph/ontology" not in line]
    made = backup(oxigraph_server.location, tmp_path / "backup")
    assert made.kind == "nquads" and made.models == 1
    assert (tmp_path / "backup" / "data.nq").is_file()
    restored = tmp_path / "restored"
    restore(tmp_path / "backup", str(restored))
    with open_store(str(restored), read_only=True) as store:
        again = [line for line in snapshot(store) if "/graph/ontology" not in line]
    assert len(again) == len(expected)
    assert [q for q in again if "_:" not in q] == [q for q in expected if "_:" not in q]
    # and back into the (now emptied) server
    oxigraph_server.clear()
    restore(tmp_path / "backup", oxigraph_server.location)
    with open_store(oxigraph_server.location, read_only=True) as remote:
        assert remote.count_models() == 1


def test_a_restore_into_a_store_another_process_writes_is_refused(
    saved: Path, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    with open_store(str(target)) as held:  # an ingest, say, holds it for writing
        with pytest.raises(StoreError, match="holds the restore target for writing"):
            restore(saved, str(target), force=True)
        assert held.count_models() == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_served_store_is_not_restored_under_its_server(
    served: tuple[str, str], saved: Path
) -> None:
    path, _ = served
    with pytest.raises(StoreError, match="stop the server, restore, then start it again"):
        restore(saved, path, force=True)


def test_a_backup_does_not_wait_for_a_writer_that_never_pauses(
    served: tuple[str, str], tmp_path: Path
) -> None:
    """A writer holds the server's lock the whole time: the backup copies the checkpoint the
    server published last, with every write published before it."""
    path, url = served
    with httpx.Client(timeout=60) as client:
        _write(client, url, 10_000)
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with SharedStore.attach(path) as other, other.writer():
            holding.set()
            release.wait(60)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(30)
        backup(path, tmp_path / "backup")
    finally:
        release.set()
        thread.join(60)
    restore(tmp_path / "backup", str(tmp_path / "restored"))
    log, counter = _writes_in(tmp_path / "restored")
    assert 10_000 in log and counter == {10_000}
