"""Large ingests run in worker processes: the graph they write (inferences included) is the one
a serial ingest writes, unchanged sources are skipped, and `--strict` still writes nothing when
one model is bad.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kg.ingest.pipeline import CHUNK_SIZE, MIN_SOURCES_FOR_WORKERS, IngestSummary, ingest
from kg.store import open_store
from tests.conftest import CORPUS, dump

_INGESTED_AT = re.compile(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\^\^')


@pytest.fixture(scope="module")
def many_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough config folders to bring in the workers: the corpus configs under new hub ids."""
    root = tmp_path_factory.mktemp("many")
    configs = sorted(CORPUS.glob("*/config.json"))
    for index in range(MIN_SOURCES_FOR_WORKERS + 8):
        folder = root / f"m{index:04d}"
        folder.mkdir()
        (folder / "config.json").write_bytes(configs[index % len(configs)].read_bytes())
        (folder / "PROVENANCE.json").write_text(json.dumps({"hub_id": f"synthetic/m{index:04d}"}))
    return root


def _ingest(source: Path, store_path: Path, *, workers: int) -> tuple[list[str], IngestSummary]:
    store = open_store(str(store_path))
    summary = ingest([str(source)], store, workers=workers, derive=True)
    store.close()
    timeless = [_INGESTED_AT.sub('"T"^^', quad) for quad in dump(store_path)]
    return timeless, summary


def test_workers_write_exactly_what_a_serial_ingest_writes(
    many_models: Path, tmp_path: Path
) -> None:
    parallel, parallel_summary = _ingest(many_models, tmp_path / "parallel", workers=2)
    serial, serial_summary = _ingest(many_models, tmp_path / "serial", workers=1)

    assert parallel == serial
    assert (
        len(parallel_summary.ingested)
        == len(serial_summary.ingested)
        == len(parallel_summary.ingested)
    )
    assert len(serial_summary.ingested) == MIN_SOURCES_FOR_WORKERS + 8


def test_a_second_parallel_ingest_skips_every_unchanged_model(
    many_models: Path, tmp_path: Path
) -> None:
    first, _ = _ingest(many_models, tmp_path / "store", workers=2)
    again, summary = _ingest(many_models, tmp_path / "store", workers=2)

    assert again == first
    assert len(summary.unchanged) == MIN_SOURCES_FOR_WORKERS + 8
    assert summary.ingested == summary.updated == []


def test_strict_parallel_ingest_with_one_bad_model_writes_nothing(
    many_models: Path, tmp_path: Path
) -> None:
    bad = many_models / "m0007" / "config.json"
    original = bad.read_bytes()
    bad.write_text('{"model_type": "bert", "hidden_size": -1}')
    try:
        store = open_store(str(tmp_path / "store"))
        summary = ingest([str(many_models)], store, workers=2, strict=True)
        store.close()
    finally:
        bad.write_bytes(original)

    reasons = dict(summary.rejected)  # under --strict, unknown model types are rejected too
    assert "hidden size must be a whole number" in reasons["synthetic/m0007"]
    assert summary.ingested == []
    assert not any("synthetic/" in quad for quad in dump(tmp_path / "store"))


def test_an_ingest_reads_its_sources_as_it_goes_and_counts_what_a_stop_left(
    many_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder of many models is found a model at a time as the workers need them, not all
    before the first is read: stopped after its first chunk, the ingest has looked at little
    more than that chunk's folders, and says how many sources it left (from the count a
    first walk made by listing folders, reading none). Running it again goes on from there."""
    from kg.ingest import sources

    looked_at: list[Path] = []
    real = sources.model_folder_source

    def counted(folder: Path, *, hub_id: str | None = None) -> sources.ModelSource:
        looked_at.append(folder)
        return real(folder, hub_id=hub_id)

    monkeypatch.setattr(sources, "model_folder_source", counted)
    totals: list[int] = []
    store = open_store(str(tmp_path / "kg"))
    first = ingest([str(many_models)], store, workers=1, on_total=totals.append, stop=lambda: True)
    total = MIN_SOURCES_FOR_WORKERS + 8
    assert totals == [total]
    assert len(first.ingested) == CHUNK_SIZE
    assert len(looked_at) == CHUNK_SIZE
    assert first.interrupted == total - CHUNK_SIZE

    second = ingest([str(many_models)], store)
    store.close()
    assert len(second.unchanged) == CHUNK_SIZE
    assert len(second.ingested) == total - CHUNK_SIZE
    assert second.interrupted == 0
