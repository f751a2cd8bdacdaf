"""A maintainer upgrades transformers but forgets `modelkg catalog --write`.

ModelKG keeps working with the catalog it has (model types it lacks are ingested as
unrecognized), and says once per process, on the `modelkg.catalog` logger, which file is stale
and the command that regenerates it. Nothing here names a transformers release: the versions
compared are the installed one and ones no release will ever have.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ontology import catalog_version, files
from ontology.catalog_version import (
    installed_transformers_version,
    recorded_transformers_version,
    stale_catalog_message,
)

REPO = Path(__file__).resolve().parents[2]
OTHER_VERSION = "0.0.0+not-installed"
VERSION_TRIPLE = re.compile(r'mkg:transformersVersion "[^"]*"')


def catalog_claiming(version: str, folder: Path) -> Path:
    """A copy of the committed catalog that says it was generated from `version`."""
    text = files.CATALOG_FILE.read_text(encoding="utf-8")
    assert len(VERSION_TRIPLE.findall(text)) == 1
    copy = folder / "catalog.ttl"
    copy.write_text(
        VERSION_TRIPLE.sub(f'mkg:transformersVersion "{version}"', text), encoding="utf-8"
    )
    return copy


@pytest.fixture
def fresh_reads() -> Iterator[None]:
    """Let the test read the catalog (and warn) afresh; later tests read the real one again."""
    files.catalog_quads.cache_clear()
    catalog_version._warn_once.cache_clear()
    yield
    files.catalog_quads.cache_clear()
    catalog_version._warn_once.cache_clear()


def catalog_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "modelkg.catalog"]


def test_the_committed_catalog_is_for_the_installed_transformers_so_nothing_is_said(
    fresh_reads: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="modelkg.catalog"):
        quads = files.catalog_quads()
    assert recorded_transformers_version(quads) == installed_transformers_version()
    assert catalog_warnings(caplog) == []


def test_a_catalog_from_another_transformers_is_a_warning_naming_the_file_and_the_fix_once(
    fresh_reads: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stale = catalog_claiming(OTHER_VERSION, tmp_path)
    monkeypatch.setattr(files, "CATALOG_FILE", stale)

    with caplog.at_level(logging.WARNING, logger="modelkg.catalog"):
        quads = files.catalog_quads()  # read, not refused
        files.catalog_quads.cache_clear()
        files.catalog_quads()  # read again in the same process: nothing more is said

    assert recorded_transformers_version(quads) == OTHER_VERSION
    assert catalog_warnings(caplog) == [
        f"{stale} was generated from transformers {OTHER_VERSION} but transformers "
        f"{installed_transformers_version()} is installed: model types, key aliases and "
        "architectures added or changed since are unknown to ModelKG; regenerate it with "
        "`modelkg catalog --write` (or install the locked versions: `bash scripts/setup.sh`)"
    ]
    assert [r.levelno for r in caplog.records if r.name == "modelkg.catalog"] == [logging.WARNING]


def test_a_catalog_that_records_no_version_is_reported_too(tmp_path: Path) -> None:
    message = stale_catalog_message(tmp_path / "catalog.ttl", None, "9.9.9")
    assert message is not None
    assert message.startswith(
        f"{tmp_path / 'catalog.ttl'} does not say which transformers it was generated from "
        "but transformers 9.9.9 is installed"
    )
    assert "`modelkg catalog --write`" in message


def test_without_transformers_installed_there_is_nothing_to_compare(tmp_path: Path) -> None:
    assert stale_catalog_message(tmp_path / "catalog.ttl", OTHER_VERSION, None) is None


def test_the_cli_warns_once_on_stderr_and_still_succeeds() -> None:
    """In a real process: validate reads the catalog for the parameter mapping and for SHACL,
    through one parse, and the stale catalog is one line on stderr, exit code 0."""
    script = (
        "import sys\n"
        "from ontology import catalog_version\n"
        f"catalog_version.installed_transformers_version = lambda: {OTHER_VERSION!r}\n"
        "from kg.cli.main import main\n"
        "sys.exit(main(['validate', 'examples/models/gpt2-style-lm']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if "modelkg catalog --write" in line]
    assert len(warned) == 1, done.stderr
    assert warned[0].startswith(
        f"warning: {files.CATALOG_FILE} was generated from transformers "
        f"{installed_transformers_version()} but transformers {OTHER_VERSION} is installed"
    )
