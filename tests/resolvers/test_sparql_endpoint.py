"""SPARQL 1.1 Protocol stories against the live server, with standard clients."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import httpx
import pytest
import rdflib
from SPARQLWrapper import JSON, SPARQLWrapper

HIDDEN = "SELECT ?m ?h WHERE { ?m mkg:hiddenSize ?h } ORDER BY ?m"
GPT2 = "https://huggingface.co/openai-community/gpt2"


def test_health_says_the_store_answers(server: str) -> None:
    body = httpx.get(f"{server}/health").json()
    assert body["status"] == "ok" and body["models"] == 3


def test_sparqlwrapper_reads_results_unmodified(server: str) -> None:
    client = SPARQLWrapper(f"{server}/sparql")
    client.setQuery(
        "PREFIX mkg: <https://w3id.org/modelkg/ontology#> "
        "SELECT ?h WHERE { <https://huggingface.co/openai-community/gpt2> mkg:hiddenSize ?h }"
    )
    client.setReturnFormat(JSON)
    rows = client.query().convert()["results"]["bindings"]  # type: ignore[index,call-overload]
    assert [row["h"]["value"] for row in rows] == ["768"]


@pytest.mark.parametrize("method", ["get", "form", "direct"])
def test_a_query_by_get_by_form_and_as_a_body_gives_the_same_answer(
    server: str, method: str
) -> None:
    accept = {"Accept": "application/sparql-results+json"}
    if method == "get":
        response = httpx.get(f"{server}/sparql", params={"query": HIDDEN}, headers=accept)
    elif method == "form":
        response = httpx.post(f"{server}/sparql", data={"query": HIDDEN}, headers=accept)
    else:
        response = httpx.post(
            f"{server}/sparql",
            content=HIDDEN,
            headers={**accept, "Content-Type": "application/sparql-query"},
        )
    assert response.status_code == 200
    values = {(b["m"]["value"], b["h"]["value"]) for b in response.json()["results"]["bindings"]}
    assert (GPT2, "768") in values


@pytest.mark.parametrize(
    ("accept", "check"),
    [
        ("text/csv", lambda text: next(csv.reader(io.StringIO(text))) == ["m", "h"]),
        ("text/tab-separated-values", lambda text: text.splitlines()[0] == "?m\t?h"),
        ("application/sparql-results+xml", lambda text: ET.fromstring(text).tag.endswith("sparql")),
        ("application/sparql-results+json", lambda text: "bindings" in json.loads(text)["results"]),
    ],
)
def test_results_are_negotiated(server: str, accept: str, check: object) -> None:
    response = httpx.get(f"{server}/sparql", params={"query": HIDDEN}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(accept)
    assert check(response.text)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("accept", "rdflib_format"),
    [("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/rdf+xml", "xml"),
     ("application/ld+json", "json-ld")],
)  # fmt: skip
def test_graphs_are_negotiated_and_parse(server: str, accept: str, rdflib_format: str) -> None:
    query = f"CONSTRUCT {{ <{GPT2}> ?p ?o }} WHERE {{ <{GPT2}> ?p ?o }}"
    response = httpx.get(f"{server}/sparql", params={"query": query}, headers={"Accept": accept})
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.text, format=rdflib_format)
    assert (rdflib.URIRef(GPT2), None, None) in graph


def test_default_graph_uri_narrows_the_dataset(server: str) -> None:
    graph = "https://w3id.org/modelkg/id/graph/hf/openai-community/gpt2"
    response = httpx.get(
        f"{server}/sparql",
        params={"query": "SELECT (COUNT(DISTINCT ?m) AS ?n) WHERE { ?m a mkg:Model }",
                "default-graph-uri": graph},
        headers={"Accept": "application/sparql-results+json"},
    )  # fmt: skip
    assert response.json()["results"]["bindings"][0]["n"]["value"] == "1"


def test_a_malformed_query_is_400_with_line_and_column(server: str) -> None:
    response = httpx.get(f"{server}/sparql", params={"query": "SELECT ?x WHERE { ?x ?y }"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "malformed_query" and "line 1, column" in error["message"]


def test_a_wrong_content_type_is_415(server: str) -> None:
    response = httpx.post(f"{server}/sparql", content="x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "application/sparql-query" in response.json()["error"]["hint"]


def test_an_unsupported_accept_is_406(server: str) -> None:
    response = httpx.get(
        f"{server}/sparql", params={"query": HIDDEN}, headers={"Accept": "image/png"}
    )
    assert response.status_code == 406


def test_service_is_refused_and_the_server_stays_up(server: str) -> None:
    query = "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }"
    response = httpx.get(f"{server}/sparql", params={"query": query})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "service_refused"
    assert httpx.get(f"{server}/health").status_code == 200


def test_updates_are_refused_without_writes_and_change_nothing(server: str) -> None:
    update = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    response = httpx.post(
        f"{server}/sparql", content=update, headers={"Content-Type": "application/sparql-update"}
    )
    assert response.status_code == 403
    ask = httpx.get(
        f"{server}/sparql",
        params={"query": "ASK { <urn:a> <urn:b> <urn:c> }"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert ask.json()["boolean"] is False
