"""After a large registration the store is compacted for reads: the same quads in fewer files.

Bulk loads leave a store's quads in many files whose keys overlap, and every lookup searches
each of them (at 10,000 models a lookup query took 22 ms before compacting, 8.9 ms after). The
threshold is lowered here so that the examples count as a large write."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kg.ingest import register as registering
from kg.ingest.register import register
from kg.store import open_store
from kg.store.base import ModelStore
from kg.store.shared import SharedStore
from tests.conftest import CliResult, SparqlServer, snapshot

EXAMPLES = sorted(
    p for p in (Path(__file__).resolve().parents[3] / "examples" / "models").iterdir() if p.is_dir()
)


def _sst_files(folder: Path) -> int:
    return len(list(folder.rglob("*.sst")))


def _embedded(path: Path) -> ModelStore:
    return open_store(str(path))


def _shared(path: Path) -> ModelStore:
    return SharedStore.create(path, grace_seconds=0)


@pytest.mark.parametrize("opened", [_embedded, _shared], ids=["embedded", "served"])
def test_compacting_keeps_every_quad_in_fewer_files(
    tmp_path: Path, opened: Callable[[Path], ModelStore]
) -> None:
    path = tmp_path / "store"
    store = opened(path)
    try:
        for model in EXAMPLES:  # one bulk load each: files whose keys overlap
            assert not register([str(model)], store).optimized  # small writes are left alone
        before, files_before = snapshot(store), _sst_files(path)
        generation = store.generation
        store.optimize()
        assert snapshot(store) == before
        assert store.generation != generation  # readers' caches know the files changed
    finally:
        store.close()
    assert _sst_files(path) < files_before


def test_a_large_registration_ends_compacted_and_says_so_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registering, "OPTIMIZE_AFTER_QUADS", 1)
    told: list[int] = []
    with open_store(str(tmp_path / "store")) as store:
        done = register([str(m) for m in EXAMPLES], store, on_optimize=told.append)
        assert done.optimized and told == [done.ingest.triples] and told[0] > 0
        again = register([str(m) for m in EXAMPLES], store, on_optimize=told.append)
    assert not again.optimized and told == [done.ingest.triples]  # nothing written this time


def test_modelkg_ingest_says_when_it_compacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    monkeypatch.setattr(registering, "OPTIMIZE_AFTER_QUADS", 1)
    done = cli("ingest", EXAMPLES[0].parent, "--store", tmp_path / "store")
    assert done.code == 0, done.err
    assert "compacting the store for reads after" in done.err
    quiet = cli("ingest", EXAMPLES[0].parent, "--store", tmp_path / "other", "--quiet")
    assert quiet.code == 0 and "compacting" not in quiet.err


def test_a_sparql_server_is_not_said_to_be_compacted(
    oxigraph_server: SparqlServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SPARQL has no request to compact a server's files: a large write there ends without
    compacting, and without a line saying it does."""
    monkeypatch.setattr(registering, "OPTIMIZE_AFTER_QUADS", 1)
    oxigraph_server.clear()
    told: list[int] = []
    with open_store(oxigraph_server.location) as store:
        done = register([str(EXAMPLES[0])], store, on_optimize=told.append)
    assert done.ingest.triples > 0
    assert not done.optimized and told == []
