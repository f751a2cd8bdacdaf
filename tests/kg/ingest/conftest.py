"""Fixtures for the ingest stories: the whole corpus ingested once, and fresh stores to ingest into.

`corpus_registry` is the shared corpus (../shared/corpus/hf) ingested into one real store on disk,
once per session (~5 s); tests only read it. `extra_registry` is the same for `hf-extra` (models of
other libraries and card-only folders), reasoned too, so tests can ask what each model does.
`registry` is an empty store of the test's own, for stories that ingest files the test writes in
`tmp_path`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pyoxigraph import QuerySolutions

from kg.ingest.pipeline import IngestSummary, ingest
from kg.store import EmbeddedStore, open_store
from tests.conftest import CORPUS

HUB = "https://huggingface.co/"
EXTRA_CORPUS = CORPUS.parent / "hf-extra"
"""The second part of the shared corpus: other libraries, more tasks, card-only folders."""


def hub_iri(hub_id: str) -> str:
    """The IRI a hub model has everywhere: its address on the Hub."""
    return HUB + hub_id


def hub_id_of(folder: Path) -> str:
    """The hub id a corpus folder stands for, from its PROVENANCE.json."""
    return str(json.loads((folder / "PROVENANCE.json").read_text(encoding="utf-8"))["hub_id"])


def read_json(path: Path) -> dict[str, Any]:
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), path
    return loaded


def index_rows() -> list[dict[str, str]]:
    """The rows of the corpus INDEX.tsv (hub_id, model_type, architectures, ..., base_model)."""
    lines = (CORPUS / "INDEX.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:] if line]


@dataclass
class Registry:
    """A real store on disk, plus what the last ingest into it reported."""

    store: EmbeddedStore
    summaries: list[IngestSummary] = field(default_factory=list)

    def __repr__(self) -> str:  # failure reports name the store, not every warning
        return f"Registry({self.store.location})"

    def ingest(
        self, *paths: Path | str, strict: bool = False, hub_id: str | None = None
    ) -> IngestSummary:
        summary = ingest([str(p) for p in paths], self.store, strict=strict, hub_id=hub_id)
        self.summaries.append(summary)
        return summary

    def rows(self, sparql: str) -> list[dict[str, str]]:
        """A SELECT's rows as {variable: value} (unbound variables left out)."""
        solutions = self.store.query(sparql)
        assert isinstance(solutions, QuerySolutions)
        names = [v.value for v in solutions.variables]
        return [
            {name: term.value for name in names if (term := row[name]) is not None}
            for row in solutions
        ]

    def values(self, subject: str, predicate: str) -> list[str]:
        """Every object of `<subject> predicate ?o`, sorted; `subject` is an IRI or a hub id."""
        iri = subject if subject.startswith(("http://", "https://")) else hub_iri(subject)
        return sorted(r["o"] for r in self.rows(f"SELECT ?o WHERE {{ <{iri}> {predicate} ?o }}"))

    def ints(self, subject: str, predicate: str) -> list[int]:
        return [int(v) for v in self.values(subject, predicate)]

    def is_a(self, hub_id: str, cls: str) -> bool:
        return self.store.ask(f"ASK {{ <{hub_iri(hub_id)}> a {cls} }}")

    def settings(self, hub_id: str, concept: str) -> list[dict[str, str]]:
        """The mkg:ParameterSetting nodes of one concept (`mkg:hiddenSize`) on a model."""
        return self.rows(
            f"""SELECT ?value ?key ?file ?framework ?effective WHERE {{
                <{hub_iri(hub_id)}> mkg:hasSetting ?s .
                ?s mkg:concept {concept} ; mkg:value ?value ; mkg:sourceKey ?key ;
                   mkg:sourceFile ?file ; mkg:framework ?framework ; mkg:effective ?effective }}"""
        )

    def warnings(self, name: str) -> list[str]:
        """What the ingests said about one model (by hub id or path as summaries name it)."""
        return [w for s in self.summaries for who, w in s.warnings if who == name]

    def rejected(self) -> dict[str, str]:
        return {who: why for s in self.summaries for who, why in s.rejected}


@pytest.fixture(scope="session")
def fresh_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store as `modelkg` first creates it (ontology and shapes loaded, no models), made once:
    loading the vocabulary takes ~0.7 s, copying the closed store ~0.03 s."""
    path = tmp_path_factory.mktemp("template") / "store"
    open_store(str(path)).close()
    return path


@pytest.fixture
def store_path(tmp_path: Path, fresh_store_template: Path) -> Path:
    """Where this test's store lives: a copy of a freshly created, still empty store."""
    path = tmp_path / "store"
    shutil.copytree(fresh_store_template, path)
    return path


@pytest.fixture(scope="session")
def corpus_registry(
    tmp_path_factory: pytest.TempPathFactory, fresh_store_template: Path
) -> Iterator[Registry]:
    """The whole shared corpus, ingested once into a store on disk (read-only for tests)."""
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing at {CORPUS}; CI checks it out beside the repo")
    path = tmp_path_factory.mktemp("corpus") / "store"
    shutil.copytree(fresh_store_template, path)
    opened = open_store(str(path))
    assert isinstance(opened, EmbeddedStore)
    registry = Registry(opened)
    registry.ingest(CORPUS)  # what it rejected is a test of its own (test_config_json.py)
    yield registry
    registry.store.close()


@pytest.fixture
def registry(store: EmbeddedStore) -> Registry:
    """An empty store of this test's own."""
    return Registry(store)


@pytest.fixture(scope="session")
def extra_registry(
    tmp_path_factory: pytest.TempPathFactory, fresh_store_template: Path
) -> Iterator[Registry]:
    """`hf-extra`, ingested and reasoned once into a store on disk (read-only for tests)."""
    from kg.reason.run import reason_models

    if not EXTRA_CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing at {EXTRA_CORPUS}")
    path = tmp_path_factory.mktemp("extra") / "store"
    shutil.copytree(fresh_store_template, path)
    opened = open_store(str(path))
    assert isinstance(opened, EmbeddedStore)
    registry = Registry(opened)
    summary = registry.ingest(EXTRA_CORPUS)
    reason_models(registry.store, summary.written)
    yield registry
    registry.store.close()
