"""An operator's bounds hold: timeout, result cap, request cap, CORS, and the access log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from tests.resolvers.conftest import registry, serve

ALLOWED_ORIGIN = "https://dash.example.org"
ENDLESS = "SELECT * WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }"
"""Streams solutions for hours: only a deadline stops it."""


@pytest.fixture(scope="module")
def tight_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with small bounds, so tests can reach them."""
    yield from serve(
        registry(tmp_path_factory, "tight"),
        token=None,
        query_timeout=1.0,
        max_result_bytes=2**40,  # so only the deadline stops ENDLESS
        max_request_bytes=4096,
        cors_origins=(ALLOWED_ORIGIN,),
    )


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose results may not pass 64 KiB."""
    yield from serve(registry(tmp_path_factory, "capped"), token=None, max_result_bytes=64 * 1024)


def _error(response: httpx.Response) -> dict[str, str | None]:
    error: dict[str, str | None] = response.json()["error"]
    return error


def test_a_query_past_the_timeout_gets_503_and_the_server_stays_up(tight_server: str) -> None:
    response = httpx.get(f"{tight_server}/sparql", params={"query": ENDLESS}, timeout=30)
    assert response.status_code == 503
    assert _error(response)["code"] == "query_timeout"
    assert "--query-timeout" in (_error(response)["hint"] or "")
    health = httpx.get(f"{tight_server}/health", timeout=5)
    assert health.json()["status"] == "ok"


def test_graphql_sparql_past_the_timeout_is_a_timeout_error(tight_server: str) -> None:
    response = httpx.post(
        f"{tight_server}/graphql",
        json={"query": "query($q: String!) { sparql(query: $q) }", "variables": {"q": ENDLESS}},
        timeout=30,
    )
    assert response.status_code == 503
    body = response.json()
    code = body["errors"][0]["extensions"]["code"] if "errors" in body else body["error"]["code"]
    assert code == "query_timeout"


def test_a_result_over_the_cap_is_refused_with_a_hint_to_page(capped_server: str) -> None:
    response = httpx.get(
        f"{capped_server}/sparql",
        params={"query": "SELECT * WHERE { ?s ?p ?o }"},
        headers={"Accept": "text/csv"},
        timeout=30,
    )
    assert response.status_code == 400
    assert _error(response)["code"] == "result_too_large"
    assert "LIMIT" in (_error(response)["hint"] or "")
    small = httpx.get(
        f"{capped_server}/sparql",
        params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 10"},
        headers={"Accept": "text/csv"},
    )
    assert small.status_code == 200
    assert len(small.text.splitlines()) == 11


def _padded_query() -> str:
    return "SELECT * WHERE { ?s ?p ?o } LIMIT 1 #" + "x" * 5000


def test_a_body_over_the_cap_gets_413(tight_server: str) -> None:
    response = httpx.post(
        f"{tight_server}/sparql",
        content=_padded_query(),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert response.status_code == 413
    assert _error(response)["code"] == "request_too_large"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/graphql", "application/json"),
        ("/sparql", "application/sparql-query"),
        ("/sparql", "application/x-www-form-urlencoded"),
        ("/api/v1/search", "application/json"),
        ("/api/2.0/mlflow/runs/log-batch", "application/json"),
    ],
)
def test_a_chunked_body_over_the_cap_gets_413_too(
    tight_server: str, path: str, content_type: str
) -> None:
    """Cut off mid-body, the route's parser would call the body malformed (400): the client
    must learn it was too large, whatever route it was sent to."""

    def chunks() -> Iterator[bytes]:
        text = ('{"query": "' + _padded_query()).encode()
        for start in range(0, len(text), 1000):
            yield text[start : start + 1000]

    response = httpx.post(
        f"{tight_server}{path}",
        content=chunks(),  # no Content-Length: the server counts as it reads
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 413, response.text
    assert "larger than this server's cap" in response.text


def test_cors_admits_only_the_configured_origin(tight_server: str) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    allowed = httpx.options(
        f"{tight_server}/graphql", headers={"Origin": ALLOWED_ORIGIN, **preflight}
    )
    assert allowed.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN
    other = httpx.options(
        f"{tight_server}/graphql", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in other.headers


def test_no_origin_is_allowed_by_default(server: str) -> None:
    response = httpx.get(f"{server}/health", headers={"Origin": ALLOWED_ORIGIN})
    assert "access-control-allow-origin" not in response.headers


def test_each_request_is_logged_with_status_and_latency(
    tight_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="modelkg.access"):
        httpx.get(f"{tight_server}/health")
    lines = [r.getMessage() for r in caplog.records if r.name == "modelkg.access"]
    assert any('"GET /health" 200' in line and line.endswith(" ms") for line in lines)
