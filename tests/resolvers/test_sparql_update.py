"""SPARQL UPDATE over HTTP: a token to write, and graphs ModelKG derives out of reach."""

from __future__ import annotations

import httpx
import pytest

from tests.resolvers.conftest import TOKEN

MINE = "INSERT DATA { GRAPH <urn:mine> { <urn:a> <urn:b> <urn:c> } }"


def _post(server: str, update: str, token: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/sparql-update"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{server}/sparql", content=update, headers=headers)


def _ask(server: str, query: str) -> bool:
    response = httpx.get(
        f"{server}/sparql",
        params={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    )
    return bool(response.json()["boolean"])


def test_an_update_with_the_token_is_written(writable_server: str) -> None:
    assert _post(writable_server, MINE, TOKEN).status_code == 204
    assert _ask(writable_server, "ASK { GRAPH <urn:mine> { <urn:a> <urn:b> <urn:c> } }")


def test_a_form_update_with_the_token_is_written(writable_server: str) -> None:
    response = httpx.post(
        f"{writable_server}/sparql",
        data={"update": "INSERT DATA { GRAPH <urn:form> { <urn:x> <urn:y> <urn:z> } }"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 204
    assert _ask(writable_server, "ASK { GRAPH <urn:form> { <urn:x> <urn:y> <urn:z> } }")


@pytest.mark.parametrize(
    ("token", "status", "code"), [(None, 401, "token_required"), ("wrong", 403, "bad_token")]
)
def test_an_update_without_the_right_token_changes_nothing(
    writable_server: str, token: str | None, status: int, code: str
) -> None:
    update = "INSERT DATA { GRAPH <urn:intruder> { <urn:a> <urn:b> <urn:c> } }"
    response = _post(writable_server, update, token)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not _ask(writable_server, "ASK { GRAPH <urn:intruder> { ?s ?p ?o } }")


@pytest.mark.parametrize(
    ("update", "code"),
    [
        ("DROP GRAPH <https://w3id.org/modelkg/graph/ontology>", "protected_graph"),
        ("CLEAR GRAPH <https://w3id.org/modelkg/id/graph/inferred/hf/openai-community/gpt2>",
         "protected_graph"),
        ("PREFIX g: <https://w3id.org/modelkg/graph/> DROP GRAPH g:shapes", "protected_graph"),
        ("DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } }", "protected_graph"),
        ("DROP ALL", "protected_graph"),
        ("LOAD <http://127.0.0.1:1/data.ttl>", "fetch_refused"),
        ("INSERT { GRAPH <urn:x> { ?s ?p ?o } } WHERE { SERVICE <http://127.0.0.1:1/sparql> "
         "{ ?s ?p ?o } }", "service_refused"),
    ],
)  # fmt: skip
def test_updates_that_reach_derived_graphs_or_fetch_urls_are_refused(
    writable_server: str, update: str, code: str
) -> None:
    response = _post(writable_server, update, TOKEN)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == code
    assert _ask(
        writable_server, "ASK { GRAPH <https://w3id.org/modelkg/graph/ontology> { ?s ?p ?o } }"
    )


def test_a_malformed_update_is_400_and_changes_nothing(writable_server: str) -> None:
    response = _post(writable_server, "INSERT DATA { GRAPH <urn:bad> { <urn:a> <urn:b> }", TOKEN)
    assert response.status_code == 400
    assert "line 1" in response.json()["error"]["message"]
