"""Shared fixtures: the real shared corpus, real stores on disk, the real CLI in-process."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "hf"
"""The shared corpus of real HuggingFace metadata (../shared/corpus/hf), never copied here."""


def corpus_folder(hub_id: str) -> Path:
    """The corpus folder of one model (`org__name`)."""
    return CORPUS / hub_id.replace("/", "__")


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing at {CORPUS}; CI checks it out beside the repo")
    return CORPUS


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(store_path: Path):  # type: ignore[no-untyped-def]
    from kg.store import open_store

    opened = open_store(str(store_path))
    yield opened
    if hasattr(opened, "_store"):
        opened.close()


def dump(store_path: Path) -> list[str]:
    """Every quad of a store on disk, sorted: what queries see, byte for byte."""
    from pyoxigraph import Store

    reader = Store.read_only(str(store_path))
    return sorted(str(q) for q in reader.quads_for_pattern(None, None, None, None))


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `modelkg ARGS...` in-process, as a user would from the shell."""
    from resolvers.command import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
