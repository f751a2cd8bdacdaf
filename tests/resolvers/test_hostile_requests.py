"""A hostile or careless client gets a 4xx that names its mistake, never a 500, and the store
stays as it was: lone surrogates, huge vectors, wrong-typed fields, control characters, a
SPARQL update whose later operation fails, a page token the server never gave."""

from __future__ import annotations

import httpx
import pytest

from tests.resolvers.conftest import TOKEN

WRITE = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}


def _error(response: httpx.Response) -> dict[str, str | None]:
    error: dict[str, str | None] = response.json()["error"]
    return error


def _ask(server: str, query: str) -> bool:
    answer = httpx.get(
        f"{server}/sparql",
        params={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    )
    return bool(answer.json()["boolean"])


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/search", b'{"query": "speech \\ud800 recognition"}', "query"),
        ("/api/v1/embeddings", b'{"text": ["fine", "\\udc00"]}', "text[1]"),
        ("/api/v1/search", b'{"query": "x", "filter": {"task": ["\\ud83d"]}}', "filter.task[0]"),
    ],
)
def test_a_lone_surrogate_in_rest_json_is_a_400_naming_the_field(
    writable_server: str, path: str, body: bytes, field: str
) -> None:
    response = httpx.post(f"{writable_server}{path}", content=body, headers=JSON)

    assert response.status_code == 400
    assert _error(response)["field"] == field
    assert "lone UTF-16 surrogate" in str(_error(response)["message"])


def test_a_lone_surrogate_in_a_graphql_variable_is_a_graphql_error_naming_it(
    writable_server: str,
) -> None:
    body = b'{"query": "query($id: ID!) { model(id: $id) { id } }", "variables": {"id": "\\ud800"}}'
    response = httpx.post(f"{writable_server}/graphql", content=body, headers=JSON)

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "bad_text"
    assert error["extensions"]["field"] == "variables.id"


def test_a_valid_surrogate_pair_is_a_character_and_passes(writable_server: str) -> None:
    body = b'{"query": "{ model(id: \\"\\ud83d\\ude00\\") { id } }"}'
    response = httpx.post(f"{writable_server}/graphql", content=body, headers=JSON)

    assert response.status_code == 200
    assert response.json()["data"] == {"model": None}
    for error in response.json().get("errors", []):
        assert error["extensions"]["code"] != "internal_error"


def test_a_lone_surrogate_sent_to_mlflow_is_an_mlflow_error(writable_server: str) -> None:
    response = httpx.post(
        f"{writable_server}/api/2.0/mlflow/experiments/create",
        content=b'{"name": "exp-\\udfff"}',
        headers={**JSON, **WRITE},
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "`name`" in response.json()["message"]


@pytest.mark.parametrize("depth", [5000, 100_000])
def test_json_nested_thousands_deep_is_refused_not_crashed(
    writable_server: str, depth: int
) -> None:
    body = b'{"query": "x", "filter": ' + b"[" * depth + b"]" * depth + b"}"
    response = httpx.post(f"{writable_server}/api/v1/search", content=body, headers=JSON)

    assert response.status_code == 400
    assert _error(response)["code"] == "bad_json"


def test_graphql_json_nested_past_the_decoder_is_a_graphql_error(writable_server: str) -> None:
    """Deep enough to crash a recursive decoder (the response cache reads GraphQL bodies
    before any route does): a 400 in GraphQL's shape, not a 500."""
    body = b'{"query": "{ version }", "variables": {"x": ' + b"[" * 100_000 + b"]" * 100_000
    response = httpx.post(f"{writable_server}/graphql", content=body + b"}}", headers=JSON)

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "bad_json"


def test_a_huge_vector_value_is_refused_by_rest_naming_it(writable_server: str) -> None:
    response = httpx.post(f"{writable_server}/api/v1/search", json={"vector": [0.1, 1e308]})

    assert response.status_code == 400
    assert _error(response)["field"] == "vector[1]"


def test_a_huge_vector_value_is_a_graphql_error_not_nan_scores(writable_server: str) -> None:
    query = "query($v: [Float!]!) { searchModels(vector: $v) { score } }"
    response = httpx.post(
        f"{writable_server}/graphql",
        json={"query": query, "variables": {"v": [1e308] * 384}},
        timeout=120,
    )
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "bad_input"
    assert error["extensions"]["field"] == "vector"
    assert "1e+308" in error["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/embeddings", {"text": "hello", "normalize": 0}, "normalize"),
        ("/api/v1/search", {"query": "asr", "exact": 1}, "exact"),
        ("/api/v1/embeddings", {"text": ""}, "text"),
        ("/api/v1/embeddings", {"text": []}, "text"),
        ("/api/v1/search", {"query": ""}, "query"),
        ("/api/v1/search", {"query": "x", "filter": {"model_type": "be\x01rt"}}, "filter"),
    ],
)
def test_what_the_schema_forbids_is_refused_naming_the_field(
    writable_server: str, path: str, body: dict[str, object], field: str
) -> None:
    response = httpx.post(f"{writable_server}{path}", json=body)

    assert response.status_code == 400
    assert str(_error(response)["field"]).startswith(field)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"model_type": "be\x01rt"}, "model_type[0]"),
        ({"task": ""}, "task[0]"),
    ],
)
def test_a_control_character_or_empty_name_in_a_filter_is_refused(
    writable_server: str, params: dict[str, str], field: str
) -> None:
    response = httpx.get(f"{writable_server}/api/v1/models", params=params)

    assert response.status_code == 400
    assert _error(response)["field"] == field


@pytest.mark.parametrize(
    ("params", "field"),
    [({"memory": ""}, "memory"), ({"memory": "16GB", "dtype": "bf61"}, "dtype")],
)
def test_a_memory_budget_or_dtype_the_schema_forbids_is_refused(
    writable_server: str, params: dict[str, str], field: str
) -> None:
    response = httpx.get(f"{writable_server}/api/v1/fits", params=params)

    assert response.status_code == 400
    assert _error(response)["field"] == field


def test_an_update_whose_later_operation_fails_is_400_and_writes_nothing(
    writable_server: str,
) -> None:
    update = (
        "INSERT DATA { GRAPH <urn:atomic> { <urn:a> <urn:b> <urn:c> } } ;\n"
        "CREATE GRAPH <urn:created> ;\n"
        "CREATE GRAPH <urn:created>"
    )
    response = httpx.post(
        f"{writable_server}/sparql",
        content=update,
        headers={**WRITE, "Content-Type": "application/sparql-update"},
    )

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "update_failed"
    assert "operation 3 of 3 (CREATE GRAPH <urn:created>)" in str(error["message"])
    assert "SILENT" in str(error["hint"])
    assert not _ask(writable_server, "ASK { GRAPH <urn:atomic> { ?s ?p ?o } }")


def test_dropping_a_missing_graph_names_the_drop(writable_server: str) -> None:
    response = httpx.post(
        f"{writable_server}/sparql",
        data={"update": "CREATE SILENT GRAPH <urn:kept> ; DROP GRAPH <urn:never-made>"},
        headers=WRITE,
    )
    assert response.status_code == 400
    assert "operation 2 of 2 (DROP GRAPH <urn:never-made>)" in str(_error(response)["message"])


def test_a_page_token_the_server_never_gave_is_a_400(writable_server: str) -> None:
    created = httpx.post(
        f"{writable_server}/api/v1/experiments", json={"name": "tokens"}, headers=WRITE
    )
    experiment = created.json()["experimentId"]
    response = httpx.get(
        f"{writable_server}/api/v1/experiments/{experiment}/runs", params={"after": "¢p"}
    )
    assert response.status_code == 400
    assert _error(response)["field"] == "after"

    mlflow = httpx.post(
        f"{writable_server}/api/2.0/mlflow/runs/search",
        json={"experiment_ids": [experiment], "page_token": "¢p"},
        headers=WRITE,
    )
    assert mlflow.status_code == 400
    assert mlflow.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_uploading_files_that_are_not_a_model_is_an_error_not_a_report(
    writable_server: str,
) -> None:
    response = httpx.post(
        f"{writable_server}/api/v1/ingest",
        files={"files": ("notes.txt", b"just some notes", "text/plain")},
        data={"hub_id": "hostile/notes"},
        headers=WRITE,
    )
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "rejected_model"
    assert error["field"] == "files"
    assert str(error["message"]).startswith("the uploaded files: no model found")
    assert "/tmp" not in str(error["message"])


@pytest.mark.parametrize(
    ("content_type", "status", "code"),
    [("text/plain", 415, "unsupported_media_type"), ("application/json", 400, "bad_json")],
)
def test_graphql_refuses_a_whole_request_in_its_error_shape(
    writable_server: str, content_type: str, status: int, code: str
) -> None:
    response = httpx.post(
        f"{writable_server}/graphql", content=b"{not json", headers={"Content-Type": content_type}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == code
