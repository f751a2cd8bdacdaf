"""`modelkg serve --workers 2`: two processes serve one embedded store while a writer ingests.

The story an operator relies on: with more than one process serving, a reader never sees a
model half-written (its graph without what reasoning derived from it), and an answer replayed
from a response cache is never older than the last write, whichever process answers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import corpus_folder
from tests.resolvers.conftest import TOKEN, _free_port, registry

WRITTEN = (
    "AventIQ-AI/bert-named-entity-recognition",
    "AventIQ-AI/roberta-spam-detection",
    "AventIQ-AI/gpt2-next-word-prediction",
    "AventIQ-AI/t5-paraphrase-generation",
    "Ayhm325cs/PneumoDetect",
    "AGILE-CK/archivit_AI",
)
HALF_WRITTEN = """
SELECT (COUNT(?g) AS ?n) WHERE {
  ?g a mkg:SourceRecord .
  BIND (IRI(REPLACE(STR(?g), "/graph/", "/graph/inferred/")) AS ?inferred)
  FILTER NOT EXISTS { GRAPH ?inferred { ?inferred mkg:graphKind mkg:InferredGraph } }
}
"""
TOTAL = '{"query": "{ models(first: 1) { totalCount } }"}'


def _half_written(base: str) -> int:
    answer = httpx.post(
        f"{base}/sparql",
        data={"query": HALF_WRITTEN},
        headers={"Accept": "application/sparql-results+json"},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def _total(base: str) -> int:
    """The model count, through GraphQL: an answer the response cache replays."""
    answer = httpx.post(
        f"{base}/graphql",
        content=TOTAL,
        headers={"Content-Type": "application/json"},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["data"]["models"]["totalCount"])


@pytest.fixture
def two_workers(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Iterator[str]:
    store = registry(tmp_path_factory, "two-workers")
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "resolvers.command", "serve", "--store", store,
         "--port", str(port), "--workers", "2", "--query-workers", "1",
         "--ingest-root", str(corpus_folder(WRITTEN[0]).parents[1])],
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "MODELKG_TOKEN": TOKEN},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "the server did not start within 180 s"
                time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert code in (0, -signal.SIGTERM), text
    assert text.count("Application shutdown complete") == 2, text  # both workers stopped
    assert not Path(f"{store}.shared").exists()  # the checkpoints went with the server
    # the workers are fresh processes: each sets up the access log itself
    assert text.count('"POST /api/v1/ingest" 200') == len(WRITTEN), text


def test_readers_never_see_a_half_written_model_nor_an_answer_older_than_the_last_write(
    two_workers: str,
) -> None:
    base = two_workers
    acknowledged = _total(base)
    stop = threading.Event()
    problems: list[str] = []
    reads = [0]

    def read_while_writing() -> None:
        while not stop.is_set():
            floor = acknowledged  # writes answered before this read started
            half = _half_written(base)
            total = _total(base)
            reads[0] += 1
            if half:
                problems.append(f"{half} model(s) seen without their inferred graph")
            if total < floor:
                problems.append(f"saw {total} models after a write had made {floor}")

    readers = [threading.Thread(target=read_while_writing) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for hub_id in WRITTEN:
            written = httpx.post(
                f"{base}/api/v1/ingest",
                json={"paths": [str(corpus_folder(hub_id))]},
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=300,
            )
            assert written.status_code == 200, written.text
            acknowledged += 1
            # new connections each time: the kernel hands them to either process, and neither
            # replays a count from before the write
            assert [_total(base) for _ in range(6)] == [acknowledged] * 6
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=180)
    assert problems == []
    assert reads[0] > len(WRITTEN)  # the readers did read while the writes went on
