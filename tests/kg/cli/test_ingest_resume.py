"""Stop a long ingest and go on later: the story of Ctrl-C (or SIGTERM) on `modelkg ingest`.

The user starts an ingest of the whole corpus, stops it once worker processes are busy, sees
exit code 130 and how many sources were not read, then runs the same command again: what was
written is skipped as unchanged, and the store ends exactly as one uninterrupted ingest leaves
it. A strict ingest rejected in a later batch takes back the batches it already wrote.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import CORPUS, dump

COMMAND = [sys.executable, "-m", "resolvers.command", "ingest", str(CORPUS), "--workers", "2"]


def _ingest(store: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [*COMMAND, "--store", str(store)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )  # fmt: skip


def _without_timestamps(store: Path) -> list[str]:
    """The store's models, as `modelkg export --no-timestamps` writes them."""
    from kg.export import export
    from kg.store import open_store

    with open_store(str(store), read_only=True) as opened:
        return sorted(export(opened, "nquads", timestamps=False).decode().splitlines())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    store = tmp_path_factory.mktemp("reference") / "store"
    done = _ingest(store)
    done.communicate(timeout=600)
    return _without_timestamps(store)


def test_sigterm_stops_after_a_chunk_and_the_same_command_resumes(
    tmp_path: Path, uninterrupted: list[str]
) -> None:
    store = tmp_path / "store"
    running = _ingest(store)
    parent = psutil.Process(running.pid)
    deadline = time.monotonic() + 120
    while not parent.children() and running.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker processes start with the first chunk
    running.send_signal(signal.SIGTERM)
    _, err = running.communicate(timeout=600)

    assert running.returncode == 130, err
    left = re.search(r"interrupted: (\d+) source\(s\) not read yet; run the same command", err)
    assert left is not None, err
    assert 0 < int(left.group(1)) < len(list(CORPUS.iterdir()))

    again = _ingest(store)
    out, err = again.communicate(timeout=600)
    assert again.returncode in (0, 1), err  # 1: the corpus has models it rejects
    unchanged = re.search(r"unchanged (\d+)", out)
    assert unchanged is not None and int(unchanged.group(1)) > 0, out
    assert _without_timestamps(store) == uninterrupted


def test_a_strict_ingest_rejected_in_a_later_batch_takes_back_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg.ingest import pipeline
    from kg.ingest.register import register
    from kg.store import open_store

    sources = tmp_path / "sources"
    sources.mkdir()
    good = sorted(p for p in CORPUS.iterdir() if (p / "config.json").exists())[:12]
    for model in good:
        (sources / model.name).symlink_to(model)
    bad = sources / "zz-broken"
    bad.mkdir()
    (bad / "config.json").write_text('{"model_type": "bert", "hidden_size": "wide"}')
    store_path = tmp_path / "store"
    with open_store(str(store_path)) as store:
        register([str(good[0])], store)  # one model there before, replaced and put back
    before = dump(store_path)
    monkeypatch.setattr(pipeline, "BATCH_QUADS", 500)  # a write every model or two
    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 2)  # read two at a time: the bad one comes last

    with open_store(str(store_path)) as store:
        done = register([str(sources)], store, strict=True, workers=1)

    assert done.ingest.rejected and not done.ingest.written
    assert any("taken back" in note for note in done.ingest.notes), done.ingest.notes
    assert dump(store_path) == before
