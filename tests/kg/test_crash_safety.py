"""A process killed with SIGKILL at any moment of an ingest loses nothing.

The story: a store holds version 1 of a dozen models; an ingest of version 2 (most configs
changed, a base model among them whose fine-tune is unchanged, and new models) is killed at a
random moment, again and again. After each kill the store opens (read-only commands too),
every model is wholly version 1 or wholly version 2 (or absent, if new), and the next writer
repairs what the crash left stale (`kg.repair`): then no inferred graph is stale and no journal
entry is left. A `--strict` ingest spanning several write batches is all or nothing: after the
repair, every model is version 1, or every model is version 2. A kill while a store is being
created leaves no store or a whole one; a killed full reasoning run leaves every inferred graph
whole; a killed index build leaves an index the next search rebuilds or syncs.

The kill moments are drawn uniformly over an unkilled run's duration (seeded: the seed is in
the test id); the benchmark (`bench/scale.py`) runs more iterations.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyoxigraph import NamedNode, Store

from kg.errors import StoreError
from tests.conftest import corpus_folder

BASE = "microsoft/resnet-50"
FINE_TUNE = "salmanahmad5962-sketch/Fruit-Vision-Ai"
CHANGED = [
    BASE,
    "google-bert/bert-base-uncased",
    "openai-community/gpt2",
    "10844110/t5-summarization-demo",
    "2002Mayankrana/pegasusx-AMI-text-summarizer",
    "2nanbae/2025_ASR_certificate",
    "3L0L0/FLAN-T5-Motivation-Model",
]
UNCHANGED = [FINE_TUNE]
ADDED = ["distilbert/distilbert-base-uncased", "sentence-transformers/all-MiniLM-L6-v2"]
INGESTED_AT = "https://w3id.org/modelkg/ontology#ingestedAt"


@dataclass(frozen=True)
class Versions:
    """The store holding version 1, the two versions' sources, and each model's graphs in
    each version (quads without their ingest timestamps)."""

    base_store: Path
    new_sources: Path
    old: dict[str, frozenset[str]]
    new: dict[str, frozenset[str]]
    seconds: float
    """how long an unkilled ingest of version 2 takes"""


def _graphs(path: Path, wanted: Callable[[str], bool]) -> dict[str, frozenset[str]]:
    """The store's graphs whose IRI is `wanted`, each as its set of quads (ingest timestamps
    left out: they differ from run to run)."""
    store = Store.read_only(str(path))
    graphs: dict[str, set[str]] = {}
    for quad in store.quads_for_pattern(None, None, None, None):
        graph = quad.graph_name
        kept = isinstance(graph, NamedNode) and quad.predicate.value != INGESTED_AT
        if kept and wanted(graph.value):
            graphs.setdefault(graph.value, set()).add(str(quad))
    return {g: frozenset(q) for g, q in graphs.items()}


def _model_states(path: Path) -> dict[str, frozenset[str]]:
    """Each model graph and size graph of the store, by IRI."""
    return _graphs(path, lambda g: "/id/graph/" in g and "/graph/inferred/" not in g)


def _inferred(path: Path) -> dict[str, frozenset[str]]:
    """Each inferred graph of the store, by IRI."""
    return _graphs(path, lambda g: "/graph/inferred/" in g)


def _version_two(folder: Path) -> Path:
    """Version 2's sources: each changed model's folder with one more key in its config."""
    for revision, hub_id in enumerate(CHANGED, start=2):
        target = folder / hub_id.replace("/", "__")
        shutil.copytree(corpus_folder(hub_id), target)
        config = target / "config.json"
        if not config.exists():
            config = target / "adapter_config.json"
        data = json.loads(config.read_text(encoding="utf-8"))
        data["crash_test_revision"] = revision
        config.write_text(json.dumps(data, indent=1), encoding="utf-8")
    for hub_id in UNCHANGED + ADDED:
        (folder / hub_id.replace("/", "__")).symlink_to(corpus_folder(hub_id))
    return folder


def _ingest(store_path: str, sources: str, strict: bool, batch_quads: int | None) -> None:
    """The child's work: what `modelkg ingest [--strict]` does."""
    from kg.ingest import pipeline
    from kg.ingest.register import register
    from kg.store import open_store

    if batch_quads is not None:
        pipeline.BATCH_QUADS = batch_quads  # several write batches, as a big ingest has
    store = open_store(store_path)
    register([sources], store, strict=strict, workers=1)
    store.close()


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Versions:
    root = tmp_path_factory.mktemp("crash")
    old_sources = root / "v1"
    old_sources.mkdir()
    for hub_id in CHANGED + UNCHANGED:
        (old_sources / hub_id.replace("/", "__")).symlink_to(corpus_folder(hub_id))
    new_sources = _version_two(root / "v2")
    base_store = root / "base"
    _ingest(str(base_store), str(old_sources), False, None)
    finished = root / "finished"
    shutil.copytree(base_store, finished)
    started = time.monotonic()
    _ingest(str(finished), str(new_sources), False, None)
    seconds = time.monotonic() - started
    old, new = _model_states(base_store), _model_states(finished)
    assert len(new) > len(old) and set(old) < set(new)
    assert any(old[g] != new[g] for g in old)
    return Versions(base_store, new_sources, old, new, seconds)


def _killed_ingest(
    store: Path, sources: Path, seconds: float, rng: random.Random, **options: object
) -> None:
    """Start the ingest in a forked child and SIGKILL it at a random moment."""
    arguments = (str(store), str(sources), options.get("strict", False), options.get("batch"))
    _killed(_ingest, arguments, rng.uniform(0.0, seconds * 1.1))


def _killed(target: Callable[..., None], arguments: tuple[object, ...], moment: float) -> None:
    """Run `target` in a forked child; SIGKILL it `moment` seconds in, if it still runs."""
    child = multiprocessing.get_context("fork").Process(target=target, args=arguments)
    child.start()
    child.join(moment)
    if child.is_alive():
        os.kill(child.pid or 0, signal.SIGKILL)
    child.join()


def _repair_and_check(path: Path) -> None:
    """Open the store as the next writer does, run its repairs, and check nothing is left
    stale: no journal entry, no inferred graph out of step with its model."""
    from kg.reason.run import reason
    from kg.repair import repair
    from kg.store import open_store
    from kg.store.journal import unfinished

    store = open_store(str(path))
    try:
        repair(store)
        assert unfinished(store) == []
        again = reason(store)
        assert again.derived == 0 and again.removed == 0, "inferred graphs left stale"
    finally:
        store.close()


def _seeds(count: int, salt: int) -> list[int]:
    """Seeds of the kill moments: 50 kills in all over the three stories below."""
    return [salt * 1000 + n for n in range(count)]


@pytest.mark.parametrize("seed", _seeds(34, 1))
def test_a_killed_ingest_leaves_each_model_wholly_old_or_wholly_new(
    versions: Versions, tmp_path: Path, seed: int
) -> None:
    store = tmp_path / "store"
    shutil.copytree(versions.base_store, store)
    batch = 600 if seed % 2 else None  # one write, or several (as a big ingest makes)
    _killed_ingest(store, versions.new_sources, versions.seconds, random.Random(seed), batch=batch)

    reader = Store.read_only(str(store))  # read-only commands open it
    del reader
    states = _model_states(store)
    for graph, state in states.items():
        assert state in (versions.old.get(graph), versions.new.get(graph)), graph
    assert set(versions.old) <= set(states), "a model of version 1 disappeared"
    _repair_and_check(store)
    assert _model_states(store) == states, "the repair changed a model"


@pytest.mark.parametrize("seed", _seeds(10, 2))
def test_a_killed_strict_ingest_over_several_batches_is_all_or_nothing(
    versions: Versions, tmp_path: Path, seed: int
) -> None:
    store = tmp_path / "store"
    shutil.copytree(versions.base_store, store)
    _killed_ingest(
        store, versions.new_sources, versions.seconds, random.Random(seed), strict=True, batch=600
    )

    _repair_and_check(store)
    states = _model_states(store)
    assert states in (versions.old, versions.new)


@pytest.mark.parametrize("seed", _seeds(6, 3))
def test_a_kill_while_creating_a_store_leaves_none_or_a_whole_one(
    versions: Versions, tmp_path: Path, seed: int
) -> None:
    store = tmp_path / "fresh"
    rng = random.Random(seed)
    _killed_ingest(store, versions.new_sources, versions.seconds / 4, rng)

    from kg.store.embedded import EmbeddedStore

    try:
        opened = EmbeddedStore.open(store, read_only=True)
    except StoreError as error:
        assert "no store here yet" in str(error)
        return
    opened.close()
    _repair_and_check(store)
    for graph, state in _model_states(store).items():
        assert state == versions.new[graph], graph


def _reason_fully(store_path: str) -> None:
    """The child: `modelkg reason --full` (journaled as the command does)."""
    from kg.reason.run import reason
    from kg.repair import tracked
    from kg.store import open_store

    store = open_store(store_path)
    with tracked(store, "reason"):
        reason(store, full=True)
    store.close()


def _killed_index_build(store: Path, moment: float) -> None:
    """`modelkg search --rebuild-index` in its own process (torch does not survive a fork of
    a process that already ran it), SIGKILLed `moment` seconds in if it still runs."""
    build = subprocess.Popen(
        [sys.executable, "-m", "resolvers.command", "search", "--rebuild-index",
         "--store", str(store)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    try:
        build.wait(timeout=moment)
    except subprocess.TimeoutExpired:
        build.kill()
    build.wait()


@pytest.mark.parametrize("seed", _seeds(4, 4))
def test_a_killed_full_reasoning_run_leaves_every_inferred_graph_whole(
    versions: Versions, tmp_path: Path, seed: int
) -> None:
    store = tmp_path / "store"
    shutil.copytree(versions.base_store, store)
    before = _inferred(store)
    started = time.monotonic()
    _reason_fully(str(store))  # how long a run takes (it gives the same graphs)
    seconds = time.monotonic() - started
    _killed(_reason_fully, (str(store),), random.Random(seed).uniform(0.0, seconds * 1.2))

    assert _inferred(store) == before  # each graph replaced whole (the same rules, the same facts)
    _repair_and_check(store)


@pytest.mark.parametrize("seed", _seeds(3, 5))
def test_a_killed_index_build_leaves_an_index_that_is_rebuilt_or_whole(
    versions: Versions, tmp_path: Path, seed: int
) -> None:
    from kg.search.embedder import EmbeddingService, available_models
    from kg.search.service import SearchService
    from kg.store import open_store

    store = tmp_path / "store"
    shutil.copytree(versions.base_store, store)
    _killed_index_build(store, random.Random(seed).uniform(0.0, 12.0))

    with open_store(str(store)) as opened:
        service = SearchService(opened, EmbeddingService(available_models(opened)))
        service.sync()  # what the next search does: a torn index is rebuilt, a stale one synced
        models = {str(r["m"].value) for r in opened.select("SELECT ?m WHERE { ?m a mkg:Model }")}
        assert set(service.index().labels) == models
        assert not service.stale()
