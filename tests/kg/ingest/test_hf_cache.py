"""A user who already downloaded models with `hf download` points ModelKG at the HuggingFace cache,
or names a model by hub id, and ingests offline.

The cache here is real: `models--org--name/blobs/<sha256>` files, `snapshots/<commit>/<file>`
relative symlinks to them, and `refs/main` holding the commit, built from corpus folders in
`tmp_path`, the layout huggingface_hub writes and scans. Broken entries (a deleted blob, a
partial download) are reported for that repository alone while the rest is ingested.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import huggingface_hub.constants
import pytest

from kg.ingest.sources import discover, resolve_hub_id
from kg.store import open_store
from tests.conftest import corpus_folder
from tests.kg.ingest.conftest import Registry, hub_iri

if TYPE_CHECKING:
    from tests.conftest import CliResult

CACHED = (
    "openai-community/gpt2",
    "sentence-transformers/all-MiniLM-L6-v2",
    "google-t5/t5-small",
    "dslim/bert-base-NER",
    "3L0L0/FLAN-T5-Motivation-Model",
)
"""Five models: a plain config, a sentence-transformers pipeline (1_Pooling/config.json), an
encoder-decoder, a classifier, and an adapter with no config.json."""


def commit_of(hub_id: str, revision: int = 0) -> str:
    """A 40-hex commit hash, fixed per model and revision."""
    return hashlib.sha1(f"{hub_id}@{revision}".encode()).hexdigest()


def repo_folder(cache: Path, hub_id: str) -> Path:
    return cache / ("models--" + hub_id.replace("/", "--"))


def cache_revision(
    cache: Path, hub_id: str, files: dict[str, bytes], commit: str, *, ref: str | None = "main"
) -> Path:
    """Lay out one revision of a repository the way huggingface_hub does: content-addressed
    blobs, a snapshot of relative symlinks, and the ref that points at the commit."""
    repo = repo_folder(cache, hub_id)
    for name, data in sorted(files.items()):
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = repo / "snapshots" / commit / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    if ref is not None:
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / ref).write_text(commit, encoding="utf-8")
    return repo / "snapshots" / commit


def corpus_files(hub_id: str) -> dict[str, bytes]:
    """A corpus folder's files as the Hub serves them (PROVENANCE.json is the corpus's own)."""
    folder = corpus_folder(hub_id)
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "PROVENANCE.json"
    }


@dataclass
class HFCache:
    root: Path

    def snapshot_file(self, hub_id: str, name: str) -> Path:
        return repo_folder(self.root, hub_id) / "snapshots" / commit_of(hub_id) / name


@pytest.fixture
def hf_cache(tmp_path: Path) -> HFCache:
    root = tmp_path / "hf" / "hub"
    for hub_id in CACHED:
        cache_revision(root, hub_id, corpus_files(hub_id), commit_of(hub_id))
    return HFCache(root)


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from a folder of no significance, as a user would."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def hub_cache_env(hf_cache: HFCache, monkeypatch: pytest.MonkeyPatch) -> HFCache:
    """HF_HUB_CACHE pointed at the test cache. huggingface_hub reads the variable once, at
    import, into `huggingface_hub.constants.HF_HUB_CACHE` (which ModelKG consults), so an
    in-process run needs the constant patched too; a fresh process reads the variable."""
    monkeypatch.setenv("HF_HUB_CACHE", str(hf_cache.root))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hf_cache.root))
    return hf_cache


def test_the_cache_is_what_huggingface_hub_scans(hf_cache: HFCache) -> None:
    info = huggingface_hub.scan_cache_dir(hf_cache.root)
    assert info.warnings == []
    assert {repo.repo_id for repo in info.repos} == set(CACHED)
    link = hf_cache.snapshot_file("sentence-transformers/all-MiniLM-L6-v2", "1_Pooling/config.json")
    assert link.is_symlink()
    assert not link.readlink().is_absolute()


def test_ingesting_the_cache_ingests_every_model_by_hub_id_at_its_commit(
    cli: Callable[..., CliResult], hf_cache: HFCache, store_path: Path
) -> None:
    result = cli("ingest", hf_cache.root, "--store", store_path)

    assert result.code == 0, result.err
    assert "ingested 5" in result.out
    registry = Registry(open_store(str(store_path)))
    for hub_id in CACHED:
        records = registry.rows(
            f"""SELECT ?kind ?revision WHERE {{ ?g mkg:describes <{hub_iri(hub_id)}> ;
                mkg:sourceKind ?kind ; mkg:revision ?revision }}"""
        )
        assert records == [{"kind": "hf-cache", "revision": commit_of(hub_id)}], hub_id
        assert registry.values(hub_id, "mkg:revision") == [commit_of(hub_id)]
    assert registry.ints("sentence-transformers/all-MiniLM-L6-v2", "mkg:embeddingDimension") == [
        384
    ]
    assert registry.ints("openai-community/gpt2", "mkg:hiddenSize") == [768]
    assert registry.values("3L0L0/FLAN-T5-Motivation-Model", "mkg:adapterOf") == [
        hub_iri("google/flan-t5-base")
    ]


def test_discovery_reads_the_snapshot_through_its_symlinks(hf_cache: HFCache) -> None:
    found = discover(str(hf_cache.root))

    assert found.problems == []
    by_id = {source.hub_id: source for source in found.sources}
    assert set(by_id) == set(CACHED)
    minilm = by_id["sentence-transformers/all-MiniLM-L6-v2"]
    assert minilm.kind == "hf-cache"
    assert minilm.revision == commit_of("sentence-transformers/all-MiniLM-L6-v2")
    assert {"config.json", "modules.json", "1_Pooling/config.json"} <= minilm.files.keys()


def test_a_hub_id_is_found_in_the_cache_offline(
    cli: Callable[..., CliResult], hub_cache_env: HFCache, store_path: Path, elsewhere: Path
) -> None:
    result = cli("ingest", "openai-community/gpt2", "--store", store_path)

    assert result.code == 0, result.err
    registry = Registry(open_store(str(store_path)))
    assert registry.store.count_models() == 1
    assert registry.values("openai-community/gpt2", "mkg:revision") == [
        commit_of("openai-community/gpt2")
    ]


def test_a_fresh_process_finds_the_cache_through_hf_hub_cache(
    hf_cache: HFCache, store_path: Path, elsewhere: Path
) -> None:
    env = {**os.environ, "HF_HUB_CACHE": str(hf_cache.root), "HF_HUB_OFFLINE": "1"}
    env.pop("MODELKG_STORE", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kg.cli.main",
            "ingest",
            "dslim/bert-base-NER",
            "--store",
            str(store_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "ingested 1" in done.stdout
    registry = Registry(open_store(str(store_path)))
    assert registry.ints("dslim/bert-base-NER", "mkg:numLabels") == [9]


def test_resolving_a_hub_id_in_an_explicit_cache_dir(hf_cache: HFCache) -> None:
    found = resolve_hub_id("google-t5/t5-small", hf_cache.root)

    assert [(s.hub_id, s.kind, s.revision) for s in found.sources] == [
        ("google-t5/t5-small", "hf-cache", commit_of("google-t5/t5-small"))
    ]
    assert found.problems == []


def test_a_hub_id_not_in_the_cache_fails_naming_the_cache(
    cli: Callable[..., CliResult], hub_cache_env: HFCache, store_path: Path, elsewhere: Path
) -> None:
    result = cli("ingest", "nobody/not-downloaded", "--store", store_path)

    assert result.code == 1
    assert "nobody/not-downloaded" in result.err
    assert str(hub_cache_env.root) in result.err
    assert "ingested 0" in result.out


def test_a_broken_symlink_rejects_that_repo_and_the_rest_is_ingested(
    cli: Callable[..., CliResult], hf_cache: HFCache, store_path: Path
) -> None:
    hf_cache.snapshot_file("openai-community/gpt2", "config.json").resolve().unlink()

    result = cli("ingest", hf_cache.root, "--store", store_path)

    assert result.code == 1
    rejected = [line for line in result.err.splitlines() if line.startswith("rejected")]
    assert len(rejected) == 1
    assert "openai-community/gpt2" in rejected[0]
    assert "ingested 4" in result.out
    registry = Registry(open_store(str(store_path)))
    assert registry.store.count_models() == 4
    assert not registry.store.ask(
        f"ASK {{ ?g mkg:describes <{hub_iri('openai-community/gpt2')}> }}"
    )


def _only_incomplete_blob(cache: Path, hub_id: str) -> None:
    blobs = repo_folder(cache, hub_id) / "blobs"
    blobs.mkdir(parents=True)
    (blobs / (hashlib.sha256(b"x").hexdigest() + ".incomplete")).write_bytes(b'{"model_ty')


def _empty_snapshot_while_downloading(cache: Path, hub_id: str) -> None:
    """What `hf download` leaves when interrupted during its first file: the ref and the
    snapshot folder exist, the blob is still `.incomplete`."""
    _only_incomplete_blob(cache, hub_id)
    (repo_folder(cache, hub_id) / "snapshots" / commit_of(hub_id)).mkdir(parents=True)
    (repo_folder(cache, hub_id) / "refs").mkdir()
    (repo_folder(cache, hub_id) / "refs" / "main").write_text(commit_of(hub_id), encoding="utf-8")


@pytest.mark.parametrize("layout", [_only_incomplete_blob, _empty_snapshot_while_downloading])
def test_a_partial_download_is_reported_and_the_rest_is_ingested(
    cli: Callable[..., CliResult],
    hf_cache: HFCache,
    store_path: Path,
    layout: Callable[[Path, str], None],
) -> None:
    layout(hf_cache.root, "someone/half-downloaded")

    found = discover(str(hf_cache.root))
    assert [name for name, _ in found.problems] == ["someone/half-downloaded"]
    assert {s.hub_id for s in found.sources} == set(CACHED)

    result = cli("ingest", hf_cache.root, "--store", store_path)

    assert result.code == 1
    assert any(
        line.startswith("rejected") and "someone/half-downloaded" in line
        for line in result.err.splitlines()
    )
    assert "ingested 5" in result.out


def test_with_two_revisions_cached_the_one_main_points_at_is_ingested(
    cli: Callable[..., CliResult], hf_cache: HFCache, store_path: Path
) -> None:
    gpt2 = "openai-community/gpt2"
    files = corpus_files(gpt2)
    older = files["config.json"].replace(b'"n_layer": 12', b'"n_layer": 6')
    assert older != files["config.json"]
    snapshot = cache_revision(
        hf_cache.root, gpt2, {**files, "config.json": older}, commit_of(gpt2, 1), ref=None
    )
    future = 4_000_000_000  # the other revision is the most recently written: main still wins
    for link in snapshot.iterdir():
        os.utime(link.resolve(), (future, future))

    result = cli("ingest", hf_cache.root, "--store", store_path)

    assert result.code == 0, result.err
    registry = Registry(open_store(str(store_path)))
    assert registry.values(gpt2, "mkg:revision") == [commit_of(gpt2)]
    assert registry.ints(gpt2, "mkg:numHiddenLayers") == [12]
    notes = [line for line in result.err.splitlines() if line.startswith("note") and gpt2 in line]
    assert len(notes) == 1
    assert "2 revisions" in notes[0]
    assert commit_of(gpt2)[:12] in notes[0]
    assert "main" in notes[0]
