"""`modelkg backup`, `restore` and `doctor` from the shell: exit codes, one line per finding,
JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from kg.reason.run import reason
from kg.store import open_store
from tests.conftest import CliResult, corpus_folder, dump

Cli = Callable[..., CliResult]


@pytest.fixture
def reasoned(tmp_path: Path, cli: Cli) -> Path:
    path = tmp_path / "store"
    assert cli("ingest", corpus_folder("openai-community/gpt2"), "--store", path).code == 0
    with open_store(str(path)) as store:
        reason(store)
    return path


def test_backup_then_restore_from_the_shell(reasoned: Path, tmp_path: Path, cli: Cli) -> None:
    made = cli("backup", tmp_path / "backup", "--store", reasoned)
    assert made.code == 0, made.err
    assert "backed up 1 model(s)" in made.out
    again = cli("backup", tmp_path / "backup", "--store", reasoned)
    assert again.code == 2 and "already exists" in again.err
    refused = cli("restore", tmp_path / "backup", "--store", reasoned)
    assert refused.code == 2 and "--force" in refused.err
    restored = cli("restore", tmp_path / "backup", "--store", tmp_path / "copy")
    assert restored.code == 0, restored.err
    assert dump(tmp_path / "copy") == dump(reasoned)


def test_doctor_exits_1_with_a_line_per_finding_and_0_once_fixed(reasoned: Path, cli: Cli) -> None:
    with open_store(str(reasoned)) as store:
        store.update(
            "DROP GRAPH <https://w3id.org/modelkg/id/graph/inferred/hf/openai-community/gpt2>"
        )
    found = cli("doctor", "--store", reasoned)
    assert found.code == 1
    assert "have no inferred graph" in found.out
    assert f"fix: modelkg reason --store {reasoned}" in found.out
    fixed = cli("doctor", "--fix", "--json", "--store", reasoned)
    assert fixed.code == 0, fixed.out
    report = json.loads(fixed.out)
    assert report["healthy"] and report["findings"] == []
    assert any("inferred graphs of 1 model" in line for line in report["fixed"])
    assert cli("doctor", "--store", reasoned).out.startswith("healthy")
