"""A remote store that goes down, or stops answering, in the middle of an ingest.

The story: `modelkg ingest` writes 40 corpus models into an Oxigraph server, batch by batch.
Part way, the server is killed (SIGKILL), or frozen (SIGSTOP: it holds the connections and
answers nothing). The ingest ends within a bounded time (its retries are bounded, its waits
are the store URL's `timeout`) with an error naming the store and what to do, never a hang.
The server is then started again on its data (or thawed): every model there is whole, exactly
as an uninterrupted ingest writes it, or absent; and the next ingest completes the rest.
"""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS, _wait_for, free_port

MODELS = sorted(p for p in CORPUS.iterdir() if (p / "config.json").exists())[:40]
TIMEOUT = 3
"""The store URL's timeout: a query waits 3 s, an update 30 s."""
BOUND = 120
"""The most seconds the ingest may take to give up."""


@contextmanager
def oxigraph(data: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    binary = Path(sys.executable).with_name("oxigraph")
    log = (data.parent / f"server-{time.monotonic_ns()}.log").open("wb")
    process = subprocess.Popen(
        [str(binary), "serve", "--location", str(data), "--bind", f"127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for(process, f"http://127.0.0.1:{port}/query", Path(log.name), "oxigraph serve")
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()


def _ingest(location: str, sources: list[str], answer: Connection) -> None:
    """The child: `modelkg ingest` with small write batches; sends back how it ended."""
    from kg.errors import ModelKGError
    from kg.ingest import pipeline
    from kg.ingest.register import register
    from kg.store import open_store

    pipeline.BATCH_QUADS = 3_000  # a write every few models
    pipeline.CHUNK_SIZE = 4
    try:
        store = open_store(location)
        register(sources, store, workers=1)
        answer.send(("done", ""))
    except ModelKGError as error:
        answer.send(("error", str(error)))


def _graphs(location: str) -> dict[str, frozenset[str]]:
    """Each model graph of the store (its quads, ingest time left out)."""
    from kg.store import open_store

    with open_store(location, read_only=True) as store:
        graphs: dict[str, set[str]] = {}
        for quad in store.quads(vocabulary=False):
            name = getattr(quad.graph_name, "value", "")
            if "/id/graph/" in name and "ingestedAt" not in quad.predicate.value:
                graphs.setdefault(name, set()).add(str(quad))
        return {g: frozenset(q) for g, q in graphs.items()}


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> dict[str, frozenset[str]]:
    """The model graphs an uninterrupted ingest writes."""
    data = tmp_path_factory.mktemp("reference") / "db"
    port = free_port()
    with oxigraph(data, port):
        location = f"sparql+http://127.0.0.1:{port}"
        reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)
        _ingest(location, [str(m) for m in MODELS], writer)
        assert reader.recv()[0] == "done"
        return _graphs(location)


@pytest.mark.parametrize("fault", ["down", "frozen"])
def test_a_failing_remote_store_ends_the_ingest_with_a_clear_error_and_no_torn_model(
    tmp_path: Path, whole: dict[str, frozenset[str]], fault: str
) -> None:
    data, port = tmp_path / "db", free_port()
    location = f"sparql+http://127.0.0.1:{port}?timeout={TIMEOUT}"
    with oxigraph(data, port) as server:
        reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)
        child = multiprocessing.get_context("fork").Process(
            target=_ingest, args=(location, [str(m) for m in MODELS], writer)
        )
        child.start()
        _wait_for_models(port, server)
        server.send_signal(signal.SIGKILL if fault == "down" else signal.SIGSTOP)
        started = time.monotonic()
        child.join(BOUND)
        took = time.monotonic() - started
        if fault == "frozen":
            server.send_signal(signal.SIGCONT)
        assert not child.is_alive(), f"the ingest still runs {BOUND} s after the store failed"
        ended, message = reader.recv()
        server.kill()
        server.wait()

    assert ended == "error", "the ingest did not notice the store failing"
    assert f"127.0.0.1:{port}" in message
    expected = "cannot connect" if fault == "down" else f"no answer within {TIMEOUT * 10}"
    assert expected in message or "no answer within" in message, message
    assert took < BOUND
    with oxigraph(data, port):  # the server again, on its data
        there = _graphs(location)
        for graph, quads in there.items():
            assert quads == whole[graph], f"{graph} is torn"
        assert len(there) < len(whole)
        reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)
        _ingest(location, [str(m) for m in MODELS], writer)  # the next ingest completes it
        assert reader.recv()[0] == "done"
        assert _graphs(location) == whole


def _wait_for_models(port: int, server: subprocess.Popen[bytes]) -> None:
    """Until the first batch of models is in the store."""
    query = "ASK { GRAPH ?g { ?g a <https://w3id.org/modelkg/ontology#SourceRecord> } }"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None
        answer = httpx.get(
            f"http://127.0.0.1:{port}/query",
            params={"query": query},
            headers={"Accept": "application/sparql-results+json"},
        )
        if answer.json().get("boolean"):
            return
        time.sleep(0.05)
    raise AssertionError("no model was written within 120 s")
