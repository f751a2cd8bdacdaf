"""Ingest on an executor: local worker processes or a Ray cluster give the same graph.

The story of `modelkg ingest --executor ray`: a local Ray instance of two CPUs (as
`ray.init(num_cpus=2)` starts) reads and validates the chunks while this process writes, and
the store holds exactly what a local ingest writes, byte for byte (ingest timestamps aside).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg.errors import UsageError
from kg.executors import executor_for
from kg.ingest import pipeline
from kg.ingest.register import register
from kg.store import open_store
from tests.conftest import CORPUS

MODELS = sorted(p for p in CORPUS.iterdir() if p.is_dir())[:40]


def _export(store_path: Path) -> bytes:
    from kg.export import export

    with open_store(str(store_path)) as store:
        return export(store, "nquads", timestamps=False)


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    folder = tmp_path / "sources"
    folder.mkdir()
    for model in MODELS:
        (folder / model.name).symlink_to(model)
    return folder


def _ingest(store_path: Path, sources: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 8)  # several chunks in flight at once
    with open_store(str(store_path)) as store, executor_for(name, workers=2) as run:  # type: ignore[arg-type]
        done = register([str(sources)], store, executor=run)
    assert len(done.ingest.ingested) + len(done.ingest.rejected) == len(MODELS)


def test_ray_tasks_give_exactly_the_graph_a_local_ingest_gives(
    tmp_path: Path, sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(tmp_path / "local", sources, "local", monkeypatch)
    _ingest(tmp_path / "ray", sources, "ray", monkeypatch)

    assert _export(tmp_path / "ray") == _export(tmp_path / "local")


def test_a_ray_address_without_ray_as_executor_is_refused() -> None:
    with pytest.raises(UsageError, match="--ray-address needs --executor ray"):
        executor_for("local", address="head:6379")


def test_an_unreachable_ray_cluster_is_named() -> None:
    with pytest.raises(
        UsageError, match=re.escape("cannot reach the Ray cluster at '127.0.0.1:1'")
    ):
        executor_for("ray", address="127.0.0.1:1")
