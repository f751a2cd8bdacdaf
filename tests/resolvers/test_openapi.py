"""`/openapi.json` says what the server does: the constraints the handlers enforce, every
status a route can answer, the methods a path takes. A client generated from it (or the fuzzer
in test_fuzz.py) meets no surprise."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


@pytest.fixture(scope="module")
def openapi(server: str) -> dict[str, Any]:
    described: dict[str, Any] = httpx.get(f"{server}/openapi.json").json()
    return described


def _parameter(openapi: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    (found,) = [p for p in openapi["paths"][path]["get"]["parameters"] if p["name"] == name]
    schema: dict[str, Any] = found["schema"]
    return schema


def _component(openapi: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = openapi["components"]["schemas"][name]
    return schema


def test_a_memory_budget_is_described_as_the_handler_reads_it(openapi: dict[str, Any]) -> None:
    memory = _parameter(openapi, "/api/v1/fits", "memory")
    assert memory["minLength"] == 1
    assert "[KkMmGgTt][Ii]?" in memory["pattern"]


def test_texts_and_paths_may_not_be_empty(openapi: dict[str, Any]) -> None:
    text = _component(openapi, "EmbeddingRequest")["properties"]["text"]
    assert {"minLength": 1}.items() <= text["anyOf"][0].items()
    assert text["anyOf"][1]["minItems"] == 1
    ingest = openapi["paths"]["/api/v1/ingest"]["post"]["requestBody"]["content"]
    paths = ingest["application/json"]["schema"]["properties"]["paths"]
    assert paths["minItems"] == 1
    assert paths["items"]["minLength"] == 1


def test_names_in_filters_exclude_control_characters(openapi: dict[str, Any]) -> None:
    model_type = _parameter(openapi, "/api/v1/models", "model_type")
    items = model_type["anyOf"][0]["items"]
    assert items["pattern"] == "^[^\\x00-\\x1f\\x7f]+$"


def test_no_route_documents_a_status_it_never_gives(openapi: dict[str, Any]) -> None:
    """Validation fails with 400 in the error shape, never FastAPI's 422 HTTPValidationError."""
    assert "HTTPValidationError" not in openapi["components"]["schemas"]
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            if operation.get("parameters") or operation.get("requestBody"):
                assert "400" in operation["responses"], (method, path)


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/sparql", "get", {"200", "400", "406", "503"}),
        ("/sparql", "post", {"200", "204", "400", "401", "403", "413", "415", "503"}),
        ("/graphql", "get", {"200", "400"}),
        ("/graphql", "post", {"200", "400", "413", "415"}),
        ("/rdf-graph-store", "put", {"201", "204", "400", "401", "403", "413", "415"}),
        ("/api/v1/experiments", "post", {"201", "400", "401", "403", "409"}),
    ],
)
def test_the_protocol_endpoints_document_their_refusals(
    openapi: dict[str, Any], path: str, method: str, statuses: set[str]
) -> None:
    assert statuses <= set(openapi["paths"][path][method]["responses"])


def test_the_sparql_endpoint_documents_its_result_types(openapi: dict[str, Any]) -> None:
    content = openapi["paths"]["/sparql"]["get"]["responses"]["200"]["content"]
    assert {"application/sparql-results+json", "text/csv", "text/turtle"} <= set(content)


@pytest.mark.parametrize("path", ["/sparql", "/graphql", "/rdf-graph-store"])
def test_options_says_every_method_a_path_takes(server: str, path: str) -> None:
    response = httpx.options(f"{server}{path}")

    assert response.status_code == 204
    assert {"GET", "POST", "OPTIONS"} <= set(response.headers["allow"].split(", "))


def test_a_method_a_path_does_not_take_is_405_listing_those_it_does(server: str) -> None:
    response = httpx.patch(f"{server}/sparql")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, OPTIONS, POST"
    assert response.json()["error"]["hint"] == "this path takes GET, OPTIONS, POST"
