"""Ingest on an executor: local worker processes or a Ray cluster give the same graph.

The story of `modelkg ingest --executor ray`: a local Ray instance of two CPUs (as
`ray.init(num_cpus=2)` starts) reads and validates the chunks while this process writes, and
the store holds exactly what a local ingest writes, byte for byte (ingest timestamps aside).
A full reasoning run and an index build on the same executor give the same graph and vectors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kg.errors import UsageError
from kg.executors import ChunkExecutor, executor_for
from kg.ingest import pipeline
from kg.ingest.register import register
from kg.reason.run import reason
from kg.search import embedder
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


@pytest.fixture(scope="module")
def ray_tasks() -> Iterator[ChunkExecutor]:
    """A local Ray instance of two CPUs, as `ray.init(num_cpus=2)` starts it."""
    with executor_for("ray", workers=2) as run:
        yield run


def _ingest(
    store_path: Path, sources: Path, run: ChunkExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 8)  # several chunks in flight at once
    with open_store(str(store_path)) as store:
        done = register([str(sources)], store, executor=run)
    assert len(done.ingest.ingested) + len(done.ingest.rejected) == len(MODELS)


def test_ray_tasks_give_exactly_the_graph_a_local_ingest_gives(
    tmp_path: Path, sources: Path, monkeypatch: pytest.MonkeyPatch, ray_tasks: ChunkExecutor
) -> None:
    with executor_for("local", workers=2) as local:
        _ingest(tmp_path / "local", sources, local, monkeypatch)
    _ingest(tmp_path / "ray", sources, ray_tasks, monkeypatch)

    assert _export(tmp_path / "ray") == _export(tmp_path / "local")

    with open_store(str(tmp_path / "ray")) as store:
        again = reason(store, full=True, executor=ray_tasks)
    assert again.derived == len(_models(tmp_path / "ray"))
    assert _export(tmp_path / "ray") == _export(tmp_path / "local")


def test_an_index_built_by_ray_tasks_holds_the_vectors_a_local_build_holds(
    tmp_path: Path, sources: Path, monkeypatch: pytest.MonkeyPatch, ray_tasks: ChunkExecutor
) -> None:
    from kg.search.embedder import EmbeddingService, available_models
    from kg.search.service import SearchService

    monkeypatch.setattr(embedder, "EMBED_CHUNK", 16)
    with executor_for("local", workers=1) as local:
        _ingest(tmp_path / "store", sources, local, monkeypatch)
    vectors = {}
    with open_store(str(tmp_path / "store")) as store:
        for name, run in (("here", None), ("ray", ray_tasks)):
            service = SearchService(store, EmbeddingService(available_models(store)))
            built = service.rebuild(run)
            assert built.embedded == len(_models(tmp_path / "store"))
            index = service.index()
            vectors[name] = {
                iri: index.vectors[label].copy() for iri, label in index.labels.items()
            }

    assert vectors["ray"].keys() == vectors["here"].keys()
    for iri, vector in vectors["here"].items():
        assert np.allclose(vectors["ray"][iri], vector, atol=1e-5), iri


def _models(store_path: Path) -> list[str]:
    with open_store(str(store_path), read_only=True) as store:
        return [str(row["m"]) for row in store.select("SELECT ?m WHERE { ?m a mkg:Model }")]


def test_a_ray_address_without_ray_as_executor_is_refused() -> None:
    with pytest.raises(UsageError, match="--ray-address needs --executor ray"):
        executor_for("local", address="head:6379")


def test_an_unreachable_ray_cluster_is_named() -> None:
    with pytest.raises(
        UsageError, match=re.escape("cannot reach the Ray cluster at '127.0.0.1:1'")
    ):
        executor_for("ray", address="127.0.0.1:1")
