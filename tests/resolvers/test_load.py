"""A hundred clients at once, reading and writing: no errors, and memory that levels off.

The story: `modelkg serve` over a registry of real models, and in a second process
(bench/loadgen.py's asyncio generator) 100 concurrent clients for a bounded time, cycling
through what users do: the health check, a model, a GraphQL page, a SPARQL SELECT, a
compatibility lookup, a search, and writes with the token (a SPARQL update, an MLflow metric).
Every answer is a 2xx (a GraphQL answer without `errors`), and the server's resident memory,
sampled through the run, levels off: the last third of the run peaks no higher than the
middle third does, give or take what one burst of requests takes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import start_modelkg_serve
from tests.resolvers.conftest import registry

TOKEN = "load-test-token"
CLIENTS = 100
SECONDS = 24.0
SLACK_MB = 64
"""How much higher the last third may peak than the middle third (allocator noise, one burst)."""
LOADGEN = Path(__file__).resolve().parents[2] / "bench" / "loadgen.py"


def _plan(base: str, run_id: str) -> dict[str, object]:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    json_body = {"Content-Type": "application/json"}
    page = json.dumps({"query": "{ models(first: 20) { edges { node { id tasks { id } } } } }"})
    requests = [
        {"method": "GET", "path": "/health", "headers": {}, "body": None},
        {"method": "GET", "path": "/api/v1/models/openai-community/gpt2", "headers": {},
         "body": None},
        {"method": "POST", "path": "/graphql", "headers": json_body, "body": page},
        {"method": "GET", "path": "/sparql?query=SELECT%20%3Fm%20WHERE%20%7B%20%3Fm%20a%20"
         "mkg%3AModel%20%7D%20LIMIT%2010", "headers": {"Accept": "application/sparql-results+json",
         "Cache-Control": "no-cache"}, "body": None},
        {"method": "GET", "path": "/api/v1/models/openai-community/gpt2/replacements",
         "headers": {}, "body": None},
        {"method": "POST", "path": "/sparql", "body": "INSERT DATA { GRAPH <urn:load> { "
         "<urn:load:s> <urn:load:p> 1 } }", "headers": {**auth,
         "Content-Type": "application/sparql-update"}},
        {"method": "POST", "path": "/api/2.0/mlflow/runs/log-metric", "headers": {**auth,
         **json_body}, "body": json.dumps({"run_id": run_id, "key": "loss", "value": 0.5,
         "timestamp": 1_700_000_000_000, "step": 1})},
    ]  # fmt: skip
    return {"base": base, "graphql": False, "requests": requests}


def test_a_hundred_clients_reading_and_writing_get_no_errors_and_memory_levels_off(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    store = registry(tmp_path_factory, "load")
    server, base = start_modelkg_serve(
        store, tmp_path / "serve.log", "--max-queries-per-client", "1000",
        env={"MODELKG_TOKEN": TOKEN},
    )  # fmt: skip
    try:
        run = httpx.post(
            f"{base}/api/2.0/mlflow/runs/create",
            json={"experiment_id": "0"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert run.is_success, run.text
        plan = tmp_path / "plan.json"
        plan.write_text(json.dumps(_plan(base, run.json()["run"]["info"]["run_id"])))
        samples: list[float] = []
        watched = psutil.Process(server.pid)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.25):
                samples.append(watched.memory_info().rss / 2**20)

        sampler = threading.Thread(target=sample)
        sampler.start()
        load = subprocess.run(
            [sys.executable, str(LOADGEN), str(plan), "--clients", str(CLIENTS),
             "--duration", str(SECONDS), "--timeout", "30"],
            capture_output=True, text=True, timeout=SECONDS + 120,
        )  # fmt: skip
        done.set()
        sampler.join()
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert load.returncode == 0, load.stderr
    result = json.loads(load.stdout.splitlines()[-1])
    assert result["requests"] > CLIENTS * 5, result
    assert result["errors"] == 0, result["failures"]
    third = len(samples) // 3
    middle, last = samples[third : 2 * third], samples[2 * third :]
    assert max(last) <= max(middle) + SLACK_MB, (
        f"the server's memory kept growing: {max(middle):.0f} MB, then {max(last):.0f} MB"
    )
