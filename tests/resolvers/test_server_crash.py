"""A server killed with SIGKILL in the middle of a stream of writes loses nothing it confirmed.

The story: `modelkg serve` takes SPARQL updates (each one a graph of many triples) and MLflow
`log-batch` calls (each many metrics of one run) from two clients at once, and is killed with
SIGKILL at a random moment. The store then opens, and:
- every write the server confirmed (2xx) is there, wholly;
- every write it did not confirm is there wholly, or not at all: no update is half applied,
  no batch half logged;
- the store passes the checks a restarted server makes (it serves again, and what it serves is
  what is on disk).
The kill moments are drawn uniformly over a window of writes (seeded: the seed is the test id).
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_modelkg_serve

TOKEN = "crash-test-token"
TRIPLES = 40
"""Triples per SPARQL update: enough that a torn write would show."""
METRICS = 50
"""Metrics per log-batch call."""
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Sent:
    """What the clients sent, and what the server confirmed."""

    updates: list[int] = field(default_factory=list)
    confirmed_updates: list[int] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    confirmed_batches: list[int] = field(default_factory=list)


def _start(store: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    return start_modelkg_serve(store, log, env={"MODELKG_TOKEN": TOKEN})


def _update(number: int) -> str:
    triples = " ".join(f"<urn:s:{number}:{k}> <urn:p> {k} ." for k in range(TRIPLES))
    return f"INSERT DATA {{ GRAPH <urn:crash:{number}> {{ {triples} }} }}"


def _send_updates(base: str, sent: Sent, stop: threading.Event) -> None:
    with httpx.Client(base_url=base, headers=HEADERS, timeout=10) as client:
        for number in range(10_000):
            if stop.is_set():
                return
            sent.updates.append(number)
            try:
                answer = client.post(
                    "/sparql",
                    content=_update(number),
                    headers={"Content-Type": "application/sparql-update"},
                )
            except httpx.TransportError:
                return  # the server is gone
            if answer.is_success:
                sent.confirmed_updates.append(number)


def _send_batches(base: str, run_id: str, sent: Sent, stop: threading.Event) -> None:
    with httpx.Client(base_url=base, headers=HEADERS, timeout=10) as client:
        for number in range(10_000):
            if stop.is_set():
                return
            sent.batches.append(number)
            metrics = [
                {"key": f"m{k}", "value": float(number), "timestamp": 1_700_000_000_000 + number,
                 "step": number}
                for k in range(METRICS)
            ]  # fmt: skip
            try:
                answer = client.post(
                    "/api/2.0/mlflow/runs/log-batch", json={"run_id": run_id, "metrics": metrics}
                )
            except httpx.TransportError:
                return
            if answer.is_success:
                sent.confirmed_batches.append(number)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    store = tmp_path / "store"
    process, base = _start(store, tmp_path / "serve.log")
    try:
        yield process, base, store
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.mark.parametrize("seed", range(6))
def test_a_killed_server_keeps_every_confirmed_write_whole_and_no_torn_one(
    served: tuple[subprocess.Popen[bytes], str, Path], tmp_path: Path, seed: int
) -> None:
    process, base, store = served
    created = httpx.post(
        f"{base}/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}, headers=HEADERS
    )
    assert created.is_success, created.text
    run_id = created.json()["run"]["info"]["run_id"]
    sent, stop = Sent(), threading.Event()
    clients = [
        threading.Thread(target=_send_updates, args=(base, sent, stop)),
        threading.Thread(target=_send_batches, args=(base, run_id, sent, stop)),
    ]
    for client in clients:
        client.start()
    deadline = time.monotonic() + 60
    while not (sent.confirmed_updates and sent.confirmed_batches):
        assert time.monotonic() < deadline, "the server confirmed no write within 60 s"
        time.sleep(0.01)  # both streams are flowing (the first calls warm the server up)
    time.sleep(random.Random(seed).uniform(0.0, 2.0))
    process.send_signal(signal.SIGKILL)
    process.wait()
    stop.set()
    for client in clients:
        client.join(timeout=30)

    again, base = _start(store, tmp_path / "restarted.log")  # the store opens, and serves
    try:
        graphs = _counts(
            base, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s <urn:p> ?o } } GROUP BY ?g"
        )
        for number in sent.updates:
            count = graphs.get(f"urn:crash:{number}", 0)
            assert count in (0, TRIPLES), f"update {number} is torn: {count} of {TRIPLES}"
        for number in sent.confirmed_updates:
            assert graphs.get(f"urn:crash:{number}") == TRIPLES, f"confirmed update {number} lost"
        steps = {key: _steps(base, run_id, key) for key in (f"m{k}" for k in range(METRICS))}
        logged = steps["m0"]
        for key, found in steps.items():
            assert found == logged, f"a batch is torn: {key} has steps {found ^ logged} m0 lacks"
        for number in sent.confirmed_batches:
            assert number in logged, f"confirmed batch {number} lost"
    finally:
        again.kill()
        again.wait()


def _steps(base: str, run_id: str, key: str) -> set[int]:
    history = httpx.get(
        f"{base}/api/2.0/mlflow/metrics/get-history",
        params={"run_id": run_id, "metric_key": key, "max_results": 25000},
        timeout=30,
    )
    assert history.is_success, history.text
    return {int(point["step"]) for point in history.json().get("metrics", [])}


def _counts(base: str, query: str) -> dict[str, int]:
    answer = httpx.get(
        f"{base}/sparql",
        params={"query": query},
        headers={"Accept": "application/sparql-results+json", "Cache-Control": "no-cache"},
        timeout=30,
    )
    assert answer.is_success, answer.text
    rows = answer.json()["results"]["bindings"]
    return {row["g"]["value"]: int(row["n"]["value"]) for row in rows}
