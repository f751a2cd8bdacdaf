"""The W3C SPARQL 1.1 Protocol test cases, each one test named after it, against a live /sparql.

The cases come from the official manifest (w3c/rdf-tests, `sparql/sparql11/protocol/
manifest.ttl`): each test sends the request its case states (method, path parameters as written
there, content type, body; no `Accept` header where the case sends none) and checks what the case
expects (`mf:expectedStatus`, `mf:expectedFormat`, `mf:expectedBoolean`). Adapted to this server,
without changing what a case checks:

- The manifest's `/sparql/` is this server's `/sparql`.
- Data (`ut:graphData`: the kasei.us graphs, each `<dataN.rdf> a foaf:Document`, as the data
  files say) is PUT with the Graph Store Protocol before the case, as the W3C runner does;
  updates carry the operator's bearer token, as the runner's requests do.
- `CLEAR ALL` / `DROP ALL` would wipe ModelKG's own graphs, so this server refuses them (403
  `protected_graph`, asserted in its own test): the cases clear their own graphs by name instead
  (`CLEAR DEFAULT` and `DROP SILENT GRAPH <...>` for each graph they use).
- The `bad_update_*` cases refuse an update for the way it is sent, not for what it does: their
  `CLEAR NAMED` (which this server refuses anyway) becomes a clear of the case's own graph, and a
  refusal must be a bad request (4xx, but not 401/403), so a policy refusal cannot pass for it.

Every case passes; none is marked as expected to fail.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import quote

import httpx
import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, SPARQLWrapper

from tests.resolvers.conftest import TOKEN

KASEI = "http://kasei.us/2009/09/sparql/data/"
FOAF_DOCUMENT = "http://xmlns.com/foaf/0.1/Document"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"

BOOLEAN_TYPES = (  # the two the cases name, and the generic types of the same documents
    "application/sparql-results+xml",
    "application/sparql-results+json",
    "application/xml",
    "application/json",
)
TABULAR_TYPES = (*BOOLEAN_TYPES, "text/csv", "text/tab-separated-values")
RDF_TYPES = {
    "application/rdf+xml": "xml",
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
}

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DIRECT_QUERY = {"Content-Type": "application/sparql-query"}
DIRECT_UPDATE = {"Content-Type": "application/sparql-update"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


# --- the server, its data, and what a case expects ----------------------------------------------


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """A client that sends only the headers a case states (httpx adds `Accept: */*` by default;
    the cases send no Accept header)."""
    with httpx.Client(timeout=30) as client:
        del client.headers["Accept"]
        yield client


@pytest.fixture
def sparql(blank_writable_server: str) -> str:
    return f"{blank_writable_server}/sparql"


def _put_graph(server: str, graph: str, ntriples: str) -> None:
    url = f"{server}/rdf-graph-store?graph={quote(graph, safe='')}"
    response = httpx.put(
        url, content=ntriples, headers={"Content-Type": "application/n-triples", **AUTH}
    )
    assert response.status_code in (201, 204), response.text


def _kasei(server: str, *numbers: int) -> None:
    """`ut:graphData`: the graph `dataN.rdf` holding `<dataN.rdf> a foaf:Document`."""
    for n in numbers:
        document = f"{KASEI}data{n}.rdf"
        _put_graph(server, document, f"<{document}> <{RDF_TYPE}> <{FOAF_DOCUMENT}> .\n")


def _media(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", "")).split(";")[0].strip().lower()


def _succeeds(response: httpx.Response) -> None:
    """`mf:expectedStatus ht:StatusCode2xx, ht:StatusCode3xx`."""
    assert 200 <= response.status_code < 400, f"{response.status_code}: {response.text}"


def _refused(response: httpx.Response) -> None:
    """`mf:expectedStatus ht:StatusCode4xx`."""
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text}"


def _refused_as_malformed(response: httpx.Response) -> None:
    """4xx for the way the request was sent: not 401/403 (token or policy), which would pass
    for the wrong reason."""
    _refused(response)
    assert response.status_code not in (401, 403), response.text


def _boolean(response: httpx.Response) -> bool:
    """`mf:expectedFormat "boolean"`: an ASK answer in a boolean results format, its value."""
    _succeeds(response)
    media = _media(response)
    assert media in BOOLEAN_TYPES, f"{media} is not a format for boolean results"
    if media.endswith("json"):
        value = json.loads(response.text)["boolean"]
        assert isinstance(value, bool)
        return value
    element = ET.fromstring(response.text).find(f"{RESULTS_NS}boolean")
    assert element is not None and element.text in ("true", "false")
    return element.text == "true"


def _tabular(response: httpx.Response) -> list[dict[str, tuple[str, str]]]:
    """`mf:expectedFormat "tabular"`: solutions, each variable as (uri/literal/bnode, value)."""
    _succeeds(response)
    media = _media(response)
    assert media in TABULAR_TYPES, f"{media} is not a format for SELECT results"
    if media.endswith("json"):
        return [
            {name: (term["type"], term["value"]) for name, term in row.items()}
            for row in json.loads(response.text)["results"]["bindings"]
        ]
    if media.endswith("xml"):
        rows = []
        for result in ET.fromstring(response.text).iter(f"{RESULTS_NS}result"):
            row = {}
            for binding in result.iter(f"{RESULTS_NS}binding"):
                term = binding[0]
                row[binding.attrib["name"]] = (term.tag.removeprefix(RESULTS_NS), term.text or "")
            rows.append(row)
        return rows
    lines = response.text.splitlines()
    if media == "text/tab-separated-values":
        names = [name.lstrip("?") for name in lines[0].split("\t")]
        return [
            {
                name: ("uri", cell[1:-1]) if cell.startswith("<") else ("literal", cell)
                for name, cell in zip(names, line.split("\t"), strict=True)
                if cell
            }
            for line in lines[1:]
        ]
    return [{"csv": ("unknown", line)} for line in lines[1:]]  # CSV cannot tell IRIs apart


def _rdf(response: httpx.Response) -> rdflib.Graph:
    """`mf:expectedFormat "RDF"`: a graph in an RDF syntax, which parses."""
    _succeeds(response)
    media = _media(response)
    assert media in RDF_TYPES, f"{media} is not an RDF syntax"
    return rdflib.Graph().parse(data=response.text, format=RDF_TYPES[media])


def _ask(http: httpx.Client, sparql: str, query: str) -> bool:
    """The follow-up request of the update cases: a direct POST of an ASK."""
    return _boolean(http.post(sparql, content=query, headers=DIRECT_QUERY))


# --- queries --------------------------------------------------------------------------------


def test_query_post_form(http: httpx.Client, sparql: str) -> None:
    """query via URL-encoded POST"""
    response = http.post(
        f"{sparql}?default-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata0.rdf",
        content="query=ASK%20%7B%7D",
        headers=FORM,
    )
    assert _boolean(response) is True


def test_query_dataset_default_graphs_get(
    http: httpx.Client, sparql: str, blank_writable_server: str
) -> None:
    """GET query with protocol-specified default graph"""
    _kasei(blank_writable_server, 1, 2)
    response = http.get(
        f"{sparql}?query=ASK%20%7B%20%3Chttp%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata1"
        ".rdf%3E%20a%20%3Ftype%20.%20%3Chttp%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata2"
        ".rdf%3E%20a%20%3Ftype%20.%20%7D"
        "&default-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata1.rdf"
        "&default-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata2.rdf"
    )
    assert _boolean(response) is True


def test_query_dataset_default_graphs_post(
    http: httpx.Client, sparql: str, blank_writable_server: str
) -> None:
    """POST query with protocol-specified default graphs"""
    _kasei(blank_writable_server, 1, 2)
    response = http.post(
        f"{sparql}?default-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata1.rdf"
        "&default-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata2.rdf",
        content="ASK { <http://kasei.us/2009/09/sparql/data/data1.rdf> a ?type . "
        "<http://kasei.us/2009/09/sparql/data/data2.rdf> a ?type . }",
        headers=DIRECT_QUERY,
    )
    assert _boolean(response) is True


def test_query_dataset_named_graphs_post(
    http: httpx.Client, sparql: str, blank_writable_server: str
) -> None:
    """POST query with protocol-specified named graphs"""
    _kasei(blank_writable_server, 1, 2)
    response = http.post(
        f"{sparql}?named-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata1.rdf"
        "&named-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata2.rdf",
        content="ASK { GRAPH ?g1 { <http://kasei.us/2009/09/sparql/data/data1.rdf> a ?type } "
        "GRAPH ?g2 { <http://kasei.us/2009/09/sparql/data/data2.rdf> a ?type } }",
        headers=DIRECT_QUERY,
    )
    assert _boolean(response) is True


def test_query_dataset_named_graphs_get(
    http: httpx.Client, sparql: str, blank_writable_server: str
) -> None:
    """GET query with protocol-specified named graphs"""
    _kasei(blank_writable_server, 1, 2)
    response = http.get(
        f"{sparql}?query=ASK%20%7B%20GRAPH%20%3Fg1%20%7B%20%3Chttp%3A%2F%2Fkasei.us%2F2009%2F09"
        "%2Fsparql%2Fdata%2Fdata1.rdf%3E%20a%20%3Ftype%20%7D%20GRAPH%20%3Fg2%20%7B%20%3Chttp%3A%2F"
        "%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata2.rdf%3E%20a%20%3Ftype%20%7D%20%7D"
        "&named-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata1.rdf"
        "&named-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata2.rdf"
    )
    assert _boolean(response) is True


def test_query_dataset_full(http: httpx.Client, sparql: str, blank_writable_server: str) -> None:
    """query with protocol-specified dataset (both named and default graphs)"""
    _kasei(blank_writable_server, 1, 2, 3)
    response = http.post(
        f"{sparql}?default-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata3.rdf"
        "&named-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata1.rdf"
        "&named-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata2.rdf",
        content="""ASK {
  <http://kasei.us/2009/09/sparql/data/data3.rdf> a ?type
  GRAPH ?g1 { <http://kasei.us/2009/09/sparql/data/data1.rdf> a ?type }
  GRAPH ?g2 { <http://kasei.us/2009/09/sparql/data/data2.rdf> a ?type }
}""",
        headers=DIRECT_QUERY,
    )
    assert _boolean(response) is True


def test_query_multiple_dataset(
    http: httpx.Client, sparql: str, blank_writable_server: str
) -> None:
    """query specifying dataset in both query string and protocol; test for use of
    protocol-specified dataset

    The manifest's path encodes the `&` between its two named-graph-uri parameters (`%26`), which
    makes them one IRI naming no graph, and no server could then answer the expected `true`. Its
    name and expectation mean two parameters, data1 and data2, replacing the query's FROM data3:
    that is what is sent here."""
    _kasei(blank_writable_server, 1, 2, 3)
    response = http.post(
        f"{sparql}?named-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata1.rdf"
        "&named-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata2.rdf",
        content="ASK FROM <http://kasei.us/2009/09/sparql/data/data3.rdf> { "
        "GRAPH ?g1 { <http://kasei.us/2009/09/sparql/data/data1.rdf> a ?type } "
        "GRAPH ?g2 { <http://kasei.us/2009/09/sparql/data/data2.rdf> a ?type } }",
        headers=DIRECT_QUERY,
    )
    assert _boolean(response) is True


def test_query_get(http: httpx.Client, sparql: str) -> None:
    """query via GET"""
    response = http.get(
        f"{sparql}?query=ASK%20%7B%7D"
        "&default-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata0.rdf"
    )
    assert _boolean(response) is True


DATA0 = "?default-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata0.rdf"


def test_query_content_type_select(http: httpx.Client, sparql: str) -> None:
    """query appropriate content type (expect one of: XML, JSON, CSV, TSV)"""
    response = http.post(
        f"{sparql}{DATA0}", content="SELECT (1 AS ?value) {}", headers=DIRECT_QUERY
    )
    rows = _tabular(response)
    assert len(rows) == 1


def test_query_content_type_ask(http: httpx.Client, sparql: str) -> None:
    """query appropriate content type (expect one of: XML, JSON)"""
    response = http.post(f"{sparql}{DATA0}", content="ASK {}", headers=DIRECT_QUERY)
    _boolean(response)


def test_query_content_type_describe(http: httpx.Client, sparql: str) -> None:
    """query appropriate content type (expect one of: RDF/XML, Turtle, N-Triples, RDFa)"""
    response = http.post(
        f"{sparql}{DATA0}", content="DESCRIBE <http://example.org/>", headers=DIRECT_QUERY
    )
    _rdf(response)


def test_query_content_type_construct(http: httpx.Client, sparql: str) -> None:
    """query appropriate content type (expect one of: RDF/XML, Turtle, N-Triples, RDFa)"""
    response = http.post(
        f"{sparql}{DATA0}", content="CONSTRUCT { <s> <p> 1 } WHERE {}", headers=DIRECT_QUERY
    )
    assert len(_rdf(response)) == 1


def test_query_post_direct(http: httpx.Client, sparql: str) -> None:
    """query via POST directly"""
    response = http.post(sparql, content="ASK {}", headers=DIRECT_QUERY)
    assert _boolean(response) is True


# --- updates ----------------------------------------------------------------------------------

PREFIXES = "PREFIX dc: <http://purl.org/dc/terms/>\nPREFIX foaf: <http://xmlns.com/foaf/0.1/>\n"
INSERT_THREE = """INSERT DATA {
    GRAPH <http://kasei.us/2009/09/sparql/data/data1.rdf> { <http://kasei.us/2009/09/sparql/data/data1.rdf> a foaf:Document }
    GRAPH <http://kasei.us/2009/09/sparql/data/data2.rdf> { <http://kasei.us/2009/09/sparql/data/data2.rdf> a foaf:Document }
    GRAPH <http://kasei.us/2009/09/sparql/data/data3.rdf> { <http://kasei.us/2009/09/sparql/data/data3.rdf> a foaf:Document }
} ;
"""  # noqa: E501  (as the manifest writes it)


def _clear_own(*graphs: str) -> str:
    """What `CLEAR ALL ;` / `DROP ALL ;` become here: the case's own graphs, by name."""
    return "CLEAR DEFAULT ;\n" + "".join(f"DROP SILENT GRAPH <{g}> ;\n" for g in graphs)


def _kasei_graphs(*numbers: int) -> list[str]:
    return [f"{KASEI}data{n}.rdf" for n in numbers]


ASK_DATASET_TEST = """ASK {
    GRAPH <http://example.org/protocol-update-dataset-test/> {
        <http://kasei.us/2009/09/sparql/data/data1.rdf> a <http://purl.org/dc/terms/BibliographicResource>
    }
}"""

ASK_DATASET_GRAPHS_TEST = """ASK {
    GRAPH <http://example.org/protocol-update-dataset-graphs-test/> {
        <http://kasei.us/2009/09/sparql/data/data1.rdf> a <http://purl.org/dc/terms/BibliographicResource> .
        <http://kasei.us/2009/09/sparql/data/data2.rdf> a <http://purl.org/dc/terms/BibliographicResource> .
    }
    FILTER NOT EXISTS {
        GRAPH <http://example.org/protocol-update-dataset-graphs-test/> {
            <http://kasei.us/2009/09/sparql/data/data3.rdf> a <http://purl.org/dc/terms/BibliographicResource> .
        }
    }
}"""  # noqa: E501  (as the manifest writes it)

ASK_DATASET_NAMED_GRAPHS_TEST = """ASK {
    GRAPH <http://example.org/protocol-update-dataset-named-graphs-test/> {
        <http://kasei.us/2009/09/sparql/data/data1.rdf> a <http://purl.org/dc/terms/BibliographicResource> .
        <http://kasei.us/2009/09/sparql/data/data2.rdf> a <http://purl.org/dc/terms/BibliographicResource> .
    }
    FILTER NOT EXISTS {
        GRAPH <http://example.org/protocol-update-dataset-named-graphs-test/> {
            <http://kasei.us/2009/09/sparql/data/data3.rdf> a <http://purl.org/dc/terms/BibliographicResource> .
        }
    }
}"""  # noqa: E501  (as the manifest writes it)

ASK_DATASET_FULL_TEST = """ASK {
    GRAPH <http://example.org/protocol-update-dataset-full-test/> {
        <http://kasei.us/2009/09/sparql/data/data1.rdf> <http://example.org/in> "default" .
        <http://kasei.us/2009/09/sparql/data/data2.rdf> <http://example.org/in> <http://kasei.us/2009/09/sparql/data/data2.rdf> .
    }
    FILTER NOT EXISTS {
        GRAPH <http://example.org/protocol-update-dataset-full-test/> {
            <http://kasei.us/2009/09/sparql/data/data3.rdf> ?p ?o
        }
    }
}"""  # noqa: E501  (as the manifest writes it)


def test_update_dataset_default_graph(http: httpx.Client, sparql: str) -> None:
    """update with protocol-specified default graph"""
    target = "http://example.org/protocol-update-dataset-test/"
    update = (
        PREFIXES
        + _clear_own(*_kasei_graphs(1), target)
        + """INSERT DATA {
    GRAPH <http://kasei.us/2009/09/sparql/data/data1.rdf> {
        <http://kasei.us/2009/09/sparql/data/data1.rdf> a foaf:Document
    }
} ;
INSERT {
    GRAPH <http://example.org/protocol-update-dataset-test/> {
        ?s a dc:BibliographicResource
    }
}
WHERE {
    ?s a foaf:Document
}"""
    )
    response = http.post(
        f"{sparql}?using-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata1.rdf",
        content=update,
        headers={**DIRECT_UPDATE, **AUTH},
    )
    _succeeds(response)

    assert _ask(http, sparql, ASK_DATASET_TEST) is True


def test_update_dataset_default_graphs(http: httpx.Client, sparql: str) -> None:
    """update with protocol-specified default graphs"""
    target = "http://example.org/protocol-update-dataset-graphs-test/"
    update = (
        PREFIXES
        + _clear_own(*_kasei_graphs(1, 2, 3), target)
        + INSERT_THREE
        + """INSERT {
    GRAPH <http://example.org/protocol-update-dataset-graphs-test/> {
        ?s a dc:BibliographicResource
    }
}
WHERE {
    ?s a foaf:Document
}"""
    )
    response = http.post(
        f"{sparql}?using-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata1.rdf"
        "&using-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata2.rdf",
        content=update,
        headers={**DIRECT_UPDATE, **AUTH},
    )
    _succeeds(response)

    assert _ask(http, sparql, ASK_DATASET_GRAPHS_TEST) is True


def test_update_dataset_named_graphs(http: httpx.Client, sparql: str) -> None:
    """update with protocol-specified named graphs"""
    target = "http://example.org/protocol-update-dataset-named-graphs-test/"
    update = (
        PREFIXES
        + _clear_own(*_kasei_graphs(1, 2, 3), target)
        + INSERT_THREE
        + """INSERT {
    GRAPH <http://example.org/protocol-update-dataset-named-graphs-test/> {
        ?s a dc:BibliographicResource
    }
}
WHERE {
    GRAPH ?g {
        ?s a foaf:Document
    }
}"""
    )
    response = http.post(
        f"{sparql}?using-named-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2F"
        "data1.rdf&using-named-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2F"
        "data2.rdf",
        content=update,
        headers={**DIRECT_UPDATE, **AUTH},
    )
    _succeeds(response)

    assert _ask(http, sparql, ASK_DATASET_NAMED_GRAPHS_TEST) is True


def test_update_dataset_full(http: httpx.Client, sparql: str) -> None:
    """update with protocol-specified dataset (both named and default graphs)"""
    target = "http://example.org/protocol-update-dataset-full-test/"
    update = (
        PREFIXES
        + _clear_own(*_kasei_graphs(1, 2, 3), target)
        + INSERT_THREE
        + """INSERT {
    GRAPH <http://example.org/protocol-update-dataset-full-test/> {
        ?s <http://example.org/in> ?in
    }
}
WHERE {
    {
        GRAPH ?g { ?s a foaf:Document }
        BIND(?g AS ?in)
    }
    UNION
    {
        ?s a foaf:Document .
        BIND("default" AS ?in)
    }
}"""
    )
    response = http.post(
        f"{sparql}?using-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata1.rdf"
        "&using-named-graph-uri=http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata2.rdf",
        content=update,
        headers={**DIRECT_UPDATE, **AUTH},
    )
    _succeeds(response)

    assert _ask(http, sparql, ASK_DATASET_FULL_TEST) is True


OWN = "http://example.org/protocol-own-graph/"
"""The graph the cases that `CLEAR ALL` clear here instead."""


@pytest.fixture
def own_graph(blank_writable_server: str) -> str:
    """The case's own graph, holding one triple."""
    _put_graph(blank_writable_server, OWN, '<http://example.org/s> <http://example.org/p> "1" .\n')
    return OWN


def _holds_data(http: httpx.Client, sparql: str, graph: str) -> bool:
    return _ask(http, sparql, f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")


def test_update_post_form(http: httpx.Client, sparql: str, own_graph: str) -> None:
    """update via URL-encoded POST (`update=CLEAR+ALL`: clears the case's own graph here)"""
    response = http.post(
        sparql,
        content=f"update=CLEAR+GRAPH+{quote(f'<{own_graph}>', safe='')}",
        headers={**FORM, **AUTH},
    )
    _succeeds(response)
    assert not _holds_data(http, sparql, own_graph)


def test_update_post_direct(http: httpx.Client, sparql: str, own_graph: str) -> None:
    """update via POST directly (`CLEAR ALL`: clears the case's own graph here)"""
    response = http.post(
        sparql, content=f"CLEAR GRAPH <{own_graph}>", headers={**DIRECT_UPDATE, **AUTH}
    )
    _succeeds(response)
    assert not _holds_data(http, sparql, own_graph)


@pytest.mark.parametrize(
    ("update", "headers"),
    [
        ("update=CLEAR+ALL", FORM),
        ("CLEAR ALL", DIRECT_UPDATE),
        ("DROP ALL", DIRECT_UPDATE),
    ],
)
def test_clear_all_is_refused_because_it_would_wipe_modelkgs_own_graphs(
    http: httpx.Client, sparql: str, own_graph: str, update: str, headers: dict[str, str]
) -> None:
    response = http.post(sparql, content=update, headers={**headers, **AUTH})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "protected_graph"
    assert _holds_data(http, sparql, own_graph)
    assert _holds_data(http, sparql, "https://w3id.org/modelkg/graph/ontology")


def test_update_base_uri(http: httpx.Client, sparql: str, blank_writable_server: str) -> None:
    """test for service-defined BASE URI ("which MAY be the service endpoint")"""
    # The case CLEARs its graph first: a store that records graphs fails CLEAR GRAPH of one it
    # does not hold (SPARQL 1.1 Update 3.2.2), so the graph exists, as on the case's second run.
    _put_graph(blank_writable_server, "http://example.org/protocol-base-test/", "")
    response = http.post(
        sparql,
        content="CLEAR GRAPH <http://example.org/protocol-base-test/> ;\n"
        "INSERT DATA { GRAPH <http://example.org/protocol-base-test/> { "
        "<http://example.org/s> <http://example.org/p> <test> } }",
        headers={**DIRECT_UPDATE, **AUTH},
    )
    _succeeds(response)

    rows = _tabular(http.post(sparql, content="""SELECT ?o WHERE {
    GRAPH <http://example.org/protocol-base-test/> {
        <http://example.org/s> <http://example.org/p> ?o
    }
}""", headers=DIRECT_QUERY))  # fmt: skip
    assert len(rows) == 1  # one result with ?o bound to an IRI that is not <test>
    kind, value = rows[0]["o"]
    assert kind == "uri" and value != "test"


# --- bad requests ---------------------------------------------------------------------------


def test_bad_query_method(http: httpx.Client, sparql: str) -> None:
    """invoke query operation with a method other than GET or POST"""
    response = http.put(f"{sparql}?query=ASK%20%7B%7D{DATA0.replace('?', '&')}", headers=FORM)
    _refused(response)


def test_bad_multiple_queries(http: httpx.Client, sparql: str) -> None:
    """invoke query operation with more than one query string"""
    _refused(http.get(f"{sparql}?query=ASK%20%7B%7D&query=SELECT%20%2A%20%7B%7D"))


def test_bad_query_wrong_media_type(http: httpx.Client, sparql: str) -> None:
    """invoke query operation with a POST with media type that's not url-encoded or
    application/sparql-query"""
    _refused(http.post(sparql, content="ASK {}", headers={"Content-Type": "text/plain"}))


def test_bad_query_missing_form_type(http: httpx.Client, sparql: str) -> None:
    """invoke query operation with url-encoded body, but without
    application/x-www-form-urlencoded media type"""
    _refused(http.post(sparql, content="query=ASK%20%7B%7D"))


def test_bad_query_missing_direct_type(http: httpx.Client, sparql: str) -> None:
    """invoke query operation with SPARQL body, but without application/sparql-query media
    type"""
    _refused(http.post(sparql, content="ASK {}"))


def test_bad_query_non_utf8(http: httpx.Client, sparql: str) -> None:
    """invoke query operation with direct POST, but with a non-UTF8 encoding (UTF-16)"""
    response = http.post(
        sparql,
        content="ASK {}".encode("utf-16"),  # with a byte order mark, as the case says
        headers={"Content-Type": "application/sparql-query; charset=UTF-16"},
    )
    _refused(response)


def test_bad_query_syntax(http: httpx.Client, sparql: str) -> None:
    """invoke query operation with invalid query syntax (4XX result)"""
    _refused(http.get(f"{sparql}?query=ASK%20%7B"))


def test_bad_update_get(http: httpx.Client, sparql: str, own_graph: str) -> None:
    """invoke update operation with GET"""
    response = http.get(
        f"{sparql}?update={quote(f'CLEAR GRAPH <{own_graph}>', safe='')}", headers=AUTH
    )
    _refused_as_malformed(response)
    assert _holds_data(http, sparql, own_graph)


def test_bad_multiple_updates(http: httpx.Client, sparql: str, own_graph: str) -> None:
    """invoke update operation with more than one update string"""
    clear_own = quote(f"CLEAR GRAPH <{own_graph}>", safe="")
    response = http.post(
        sparql, content=f"update={clear_own}&update=CLEAR%20DEFAULT", headers={**FORM, **AUTH}
    )
    _refused_as_malformed(response)
    assert _holds_data(http, sparql, own_graph)


def test_bad_update_wrong_media_type(http: httpx.Client, sparql: str, own_graph: str) -> None:
    """invoke update operation with a POST with media type that's not url-encoded or
    application/sparql-update"""
    response = http.post(
        sparql, content=f"CLEAR GRAPH <{own_graph}>", headers={"Content-Type": "text/plain", **AUTH}
    )
    _refused_as_malformed(response)
    assert _holds_data(http, sparql, own_graph)


def test_bad_update_missing_form_type(http: httpx.Client, sparql: str, own_graph: str) -> None:
    """invoke update operation with url-encoded body, but without
    application/x-www-form-urlencoded media type"""
    response = http.post(
        sparql, content=f"update={quote(f'CLEAR GRAPH <{own_graph}>', safe='')}", headers=AUTH
    )
    _refused_as_malformed(response)
    assert _holds_data(http, sparql, own_graph)


def test_bad_update_non_utf8(http: httpx.Client, sparql: str, own_graph: str) -> None:
    """invoke update operation with direct POST, but with a non-UTF8 encoding"""
    response = http.post(
        sparql,
        content=f"CLEAR GRAPH <{own_graph}>".encode("utf-16"),  # with a byte order mark
        headers={"Content-Type": "application/sparql-update; charset=UTF-16", **AUTH},
    )
    _refused_as_malformed(response)
    assert _holds_data(http, sparql, own_graph)


def test_bad_update_syntax(http: httpx.Client, sparql: str) -> None:
    """invoke update operation with invalid update syntax"""
    response = http.post(sparql, content="update=CLEAR%20XYZ", headers={**FORM, **AUTH})
    _refused_as_malformed(response)


def test_bad_update_dataset_conflict(http: httpx.Client, sparql: str) -> None:
    """invoke update with both using-graph-uri/using-named-graph-uri parameter and USING/WITH
    clause"""
    response = http.post(
        f"{sparql}?using-named-graph-uri=http%3A%2F%2Fexample%2Fpeople",
        content="""PREFIX foaf:  <http://xmlns.com/foaf/0.1/>
WITH <http://example/addresses>
DELETE { ?person foaf:givenName 'Bill' }
INSERT { ?person foaf:givenName 'William' }
WHERE {
    ?person foaf:givenName 'Bill'
}""",
        headers={**DIRECT_UPDATE, **AUTH},
    )
    _refused_as_malformed(response)


# --- beyond the manifest: what the specifications say and no case tests ----------------------

SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")


@pytest.mark.parametrize("accept", [None, "text/turtle", "application/rdf+xml"])
def test_the_endpoint_url_dereferenced_is_its_service_description(
    http: httpx.Client, sparql: str, accept: str | None
) -> None:
    """SPARQL 1.1 Service Description, section 2: a GET of the endpoint without a query returns
    the service description, an sd:Service whose sd:endpoint is that URL."""
    response = http.get(sparql, headers={"Accept": accept} if accept else {})

    description = _rdf(response)
    services = set(description.subjects(rdflib.RDF.type, SD.Service))
    assert any((s, SD.endpoint, rdflib.URIRef(sparql)) in description for s in services)


@pytest.mark.parametrize(
    ("query", "refused", "check"),
    [
        ("SELECT (1 AS ?value) {}", "application/sparql-results+json", _tabular),
        ("ASK {}", "application/sparql-results+json", _boolean),
        ("CONSTRUCT { <http://example.org/s> <http://example.org/p> 1 } WHERE {}", "text/turtle",
         _rdf),
    ],
)  # fmt: skip
def test_a_type_the_client_gives_q_0_is_never_chosen(
    http: httpx.Client, sparql: str, query: str, refused: str, check: object
) -> None:
    """RFC 9110, section 12.4.2: a weight of 0 means "not acceptable", even beside `*/*`."""
    response = http.post(
        sparql, content=query, headers={**DIRECT_QUERY, "Accept": f"{refused};q=0, */*;q=0.1"}
    )

    assert _media(response) != refused
    check(response)  # type: ignore[operator]


# --- standard clients -------------------------------------------------------------------------


def test_sparqlwrapper_and_rdflib_sparqlstore_query_the_endpoint(
    sparql: str, blank_writable_server: str
) -> None:
    # a document of its own: the update cases leave their (correct) results in the union graph
    document = "http://example.org/protocol-clients/document"
    _put_graph(blank_writable_server, document, f"<{document}> <{RDF_TYPE}> <{FOAF_DOCUMENT}> .\n")

    client = SPARQLWrapper(sparql)
    client.setQuery(f"SELECT ?type WHERE {{ GRAPH <{document}> {{ <{document}> a ?type }} }}")
    client.setReturnFormat(JSON)
    results = cast("dict[str, Any]", client.query().convert())
    assert [row["type"]["value"] for row in results["results"]["bindings"]] == [FOAF_DOCUMENT]

    store = SPARQLStore(query_endpoint=sparql)  # read-only: no update endpoint
    graph = rdflib.Graph(store=store)
    solutions = graph.query(f"SELECT ?t WHERE {{ <{document}> a ?t }}").bindings
    assert {str(row[rdflib.Variable("t")]) for row in solutions} == {FOAF_DOCUMENT}
    assert (rdflib.URIRef(document), rdflib.RDF.type, rdflib.URIRef(FOAF_DOCUMENT)) in graph
