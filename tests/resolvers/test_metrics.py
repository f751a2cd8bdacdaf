"""`/metrics`: a Prometheus scrape of the real server counts exactly the requests sent, by
route template and status, with latencies, response-cache hits and misses, and the store's
size."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import start_modelkg_serve
from tests.resolvers.conftest import TOKEN, registry, serve

GPT2 = "openai-community/gpt2"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live read-only server of its own: no other test's requests in its counts."""
    yield from serve(registry(tmp_path_factory, "metered"), token=None)


def scrape(url: str) -> Samples:
    answer = httpx.get(f"{url}/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def requests(samples: Samples, route: str, status: str, method: str = "GET") -> float:
    labels = (("method", method), ("route", route), ("status", status))
    return samples.get(("modelkg_http_requests_total", labels), 0.0)


def test_requests_are_counted_by_route_template_and_status(metered: str) -> None:
    before = scrape(metered)
    with httpx.Client() as client:
        for _ in range(3):
            assert client.get(f"{metered}/health").status_code == 200
        assert client.get(f"{metered}/api/v1/models/{GPT2}").status_code == 200
        assert client.get(f"{metered}/api/v1/models/nobody/nothing").status_code == 404
        for n in range(2):  # raw paths no route knows: one label, however many there are
            assert client.get(f"{metered}/no/such/page/{n}").status_code == 404
    after = scrape(metered)
    assert requests(after, "/health", "200") - requests(before, "/health", "200") == 3
    model_route = "/api/v1/models/{model_id:path}"
    assert requests(after, model_route, "200") - requests(before, model_route, "200") == 1
    assert requests(after, model_route, "404") - requests(before, model_route, "404") == 1
    assert requests(after, "unmatched", "404") - requests(before, "unmatched", "404") == 2
    assert not any(GPT2 in str(labels) or "/no/such" in str(labels) for _, labels in after)
    count = (
        "modelkg_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/health")),
    )
    assert after[count] - before.get(count, 0.0) == 3


def test_response_cache_hits_and_misses_are_counted(metered: str) -> None:
    query = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?m a mkg:Model } # metrics test"}
    before = scrape(metered)
    with httpx.Client() as client:
        first = client.get(f"{metered}/sparql", params=query)
        second = client.get(f"{metered}/sparql", params=query)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    after = scrape(metered)
    for result in ("hit", "miss"):
        key = ("modelkg_response_cache_total", (("result", result),))
        assert after[key] - before.get(key, 0.0) == 1
    assert requests(after, "/sparql", "200") - requests(before, "/sparql", "200") == 2


def test_the_store_size_is_exposed(metered: str) -> None:
    samples = scrape(metered)
    assert samples[("modelkg_store_models", ())] == 3
    assert samples[("modelkg_store_quads", ())] > 100
    assert samples[("modelkg_store_bytes", ())] > 10_000


def test_metrics_need_no_token_and_stay_out_of_the_api_schema(metered: str) -> None:
    assert httpx.get(f"{metered}/metrics").status_code == 200
    paths = httpx.get(f"{metered}/openapi.json").json()["paths"]
    assert "/metrics" not in paths


def test_two_worker_processes_are_summed_whichever_answers_the_scrape(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    store = registry(tmp_path_factory, "metered-workers")
    process, base = start_modelkg_serve(
        store, tmp_path / "serve.log", "--workers", "2", "--query-workers", "1",
        unset=("PROMETHEUS_MULTIPROC_DIR",),
    )  # fmt: skip
    try:
        before = requests(scrape(base), "/health", "200")
        for _ in range(20):  # a new connection each: the kernel spreads them over the workers
            assert httpx.get(f"{base}/health").status_code == 200
        for _ in range(4):
            assert requests(scrape(base), "/health", "200") - before == 20
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def metered_writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve(registry(tmp_path_factory, "metered-writable"), token=TOKEN)


def tasks(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["status"]: value
        for (name, labels), value in samples.items()
        if name == "modelkg_tasks"
    }


def test_background_tasks_are_counted_by_status(metered_writable: str) -> None:
    before = tasks(scrape(metered_writable))
    assert {"queued", "running", "succeeded", "failed"} <= set(before)  # the ontology's
    started = httpx.post(
        f"{metered_writable}/api/v1/tasks",
        json={"operation": "reason", "arguments": {}},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert started.status_code == 202, started.text
    where = f"{metered_writable}{started.headers['location']}"
    deadline = time.monotonic() + 120
    while httpx.get(where).json()["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, "the task did not end within 120 s"
        time.sleep(0.2)
    after = tasks(scrape(metered_writable))
    assert after["succeeded"] - before["succeeded"] == 1
    assert sum(after.values()) - sum(before.values()) == 1
