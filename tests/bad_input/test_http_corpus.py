"""The bad-input corpus, HTTP half: every case is data (`http_cases.yaml`), and every case ends
the same way.

The story: an operator runs `modelkg serve` with writes on, over a registry holding three
models and an MLflow run. Clients send it broken SPARQL (syntax errors, SERVICE and LOAD in
disguise, writes into ModelKG's own graphs), broken GraphQL (depth and alias bombs, wrong
types), broken REST calls and broken MLflow calls. Each gets the stated status and a message
that says what is wrong, where, and how to fix it; and not one byte of what queries see
changes: the store's dump (every quad, in N-Triples terms, through the server's own SPARQL
endpoint, past its response cache) is compared after every case.

A case: `id`, `method`, `path`, optional `params`, `headers`, `token` (send the operator's
token), one body (`body`: text, `json`, `form`, `files`: name -> text, or `generate`: a
function below, for bodies too big to write out), the exact `status`, and `says`: words of the
answer a user would act on. `{run_id}` and `{experiment_id}` stand for the run made at start.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.resolvers.conftest import TOKEN, registry, serve

CASES = Path(__file__).with_name("http_cases.yaml")
DUMP = "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"
"""Every quad of the named graphs: the TSV answer writes each term as N-Triples does."""
DUMP_BYTES = 512 * 1024 * 1024
"""The server's result cap, raised so that the dump fits in one answer (no case is about it)."""


def _huge_query() -> bytes:
    """A query over the 1 MiB query cap, under the 10 MiB body cap."""
    return b"SELECT * WHERE { ?s ?p ?o } # " + b"x" * (1024 * 1024 + 10)


def _over_body_cap() -> bytes:
    """A body over the 10 MiB request cap."""
    return b'{"query": "' + b"x" * (10 * 1024 * 1024 + 10) + b'"}'


def _deep_sparql() -> bytes:
    return b"SELECT * WHERE " + b"{" * 500 + b" ?s ?p ?o " + b"}" * 500


def _deep_json() -> bytes:
    """JSON nested past what a recursive decoder survives."""
    return b'{"query": "speech", "filter": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def _depth_bomb() -> bytes:
    nested = "id"
    for _ in range(30):
        nested = f"derivedModels {{ model {{ {nested} }} }}"
    return json.dumps(
        {"query": f'{{ model(id: "openai-community/gpt2") {{ {nested} }} }}'}
    ).encode()


def _aliases(count: int) -> bytes:
    fields = " ".join(f"a{n}: models(first: 100) {{ totalCount }}" for n in range(count))
    return json.dumps({"query": f"{{ {fields} }}"}).encode()


def _alias_bomb() -> bytes:
    """The same costly field 150 times under aliases: within the parser's token cap."""
    return _aliases(150)


def _token_bomb() -> bytes:
    """500 aliases: past the parser's token cap, refused before it is even read whole."""
    return _aliases(500)


def _oversized_batch() -> bytes:
    metrics = [{"key": "loss", "value": 0.5, "timestamp": 1, "step": n} for n in range(1001)]
    return json.dumps({"run_id": "{run_id}", "metrics": metrics}).encode()


GENERATORS: dict[str, Callable[[], bytes]] = {
    "huge_query": _huge_query,
    "over_body_cap": _over_body_cap,
    "deep_sparql": _deep_sparql,
    "deep_json": _deep_json,
    "depth_bomb": _depth_bomb,
    "alias_bomb": _alias_bomb,
    "token_bomb": _token_bomb,
    "oversized_batch": _oversized_batch,
}


@dataclass(frozen=True)
class Served:
    """The server under attack, and what its store held before the first case."""

    url: str
    names: dict[str, str]
    before: list[str]


def _dump(url: str) -> list[str]:
    """Every quad of the store as text: the named graphs' through SPARQL (a query's default
    graph is their union), the default graph's through the Graph Store Protocol."""
    fresh = {"Cache-Control": "no-cache"}
    named = httpx.post(
        f"{url}/sparql",
        data={"query": DUMP},
        headers={"Accept": "text/tab-separated-values", **fresh},
        timeout=120,
    )
    assert named.status_code == 200, named.text[:500]
    default = httpx.get(
        f"{url}/rdf-graph-store?default",
        headers={"Accept": "application/n-triples", **fresh},
        timeout=120,
    )
    default.raise_for_status()
    return sorted(named.text.splitlines()[1:]) + sorted(default.text.splitlines())


def _seed_run(url: str) -> dict[str, str]:
    """An experiment with a run that logged a metric, through MLflow's API."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    api = f"{url}/api/2.0/mlflow"
    experiment = httpx.post(
        f"{api}/experiments/create", json={"name": "baseline"}, headers=auth
    ).json()["experiment_id"]
    run = httpx.post(
        f"{api}/runs/create", json={"experiment_id": experiment, "start_time": 1}, headers=auth
    ).json()["run"]["info"]["run_id"]
    logged = httpx.post(
        f"{api}/runs/log-batch",
        json={"run_id": run, "metrics": [{"key": "loss", "value": 0.5, "timestamp": 1}]},
        headers=auth,
    )
    logged.raise_for_status()
    return {"run_id": run, "experiment_id": experiment}


def _warm(url: str) -> None:
    """Build what the server derives on first use (the search index, the compatibility index),
    so the cases see a store that only a write could change."""
    httpx.post(f"{url}/api/v1/search", json={"query": "speech recognition"}, timeout=300)
    httpx.get(f"{url}/api/v1/fits", params={"memory": "16GB"}, timeout=120)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    store = registry(tmp_path_factory, "attacked")
    for url in serve(store, token=TOKEN, max_result_bytes=DUMP_BYTES):
        names = _seed_run(url)
        _warm(url)
        yield Served(url, names, _dump(url))


def _cases() -> list[Any]:
    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["id"]) for case in cases]


def _filled(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, known in names.items():
            value = value.replace(f"{{{name}}}", known)
        return value
    if isinstance(value, dict):
        return {key: _filled(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, names) for item in value]
    return value


def _send(client: httpx.Client, case: dict[str, Any], names: dict[str, str]) -> httpx.Response:
    headers = dict(_filled(case.get("headers", {}), names))
    if case.get("token"):
        headers["Authorization"] = f"Bearer {TOKEN}"
    body: dict[str, Any] = {}
    if "body" in case:
        text = _filled(case["body"], names)
        body["content"] = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    elif "json" in case:
        body["json"] = _filled(case["json"], names)
    elif "files" in case:  # multipart: each a `files` part named by its path, with `form`
        body["files"] = [("files", (name, text.encode())) for name, text in case["files"].items()]
        body["data"] = _filled(case.get("form", {}), names)
    elif "form" in case:
        body["data"] = _filled(case["form"], names)
    elif "generate" in case:
        made = GENERATORS[case["generate"]]()
        body["content"] = made.replace(b"{run_id}", names["run_id"].encode())
    return client.request(
        case["method"],
        _filled(case["path"], names),
        params=_filled(case.get("params"), names),
        headers=headers,
        timeout=120,
        **body,
    )


@pytest.mark.parametrize("case", _cases())
def test_a_bad_request_is_refused_precisely_and_changes_nothing(
    served: Served, case: dict[str, Any]
) -> None:
    with httpx.Client(base_url=served.url) as client:
        response = _send(client, case, served.names)

    assert response.status_code == case["status"], response.text[:2000]
    answer = " ".join(response.text.split())
    for words in case["says"]:
        assert _filled(words, served.names) in answer, answer[:2000]
    assert "Traceback" not in answer and "internal_error" not in answer
    assert _dump(served.url) == served.before


def test_the_corpus_is_large_and_every_case_is_well_formed() -> None:
    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    assert len(cases) >= 45
    assert len({case["id"] for case in cases}) == len(cases)
    surfaces = {case["path"].split("?")[0].split("/")[1:3][0] for case in cases}
    assert {"sparql", "graphql", "api", "rdf-graph-store"} <= surfaces
    for case in cases:
        assert case["says"], f"{case['id']}: say what the user reads"
