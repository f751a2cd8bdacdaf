"""The Graph Store Protocol at /rdf-graph-store, against a live server: a client loads, reads,
replaces and removes whole graphs of its own, and can never write ModelKG's.

Written from the SPARQL 1.1 Graph Store HTTP Protocol (https://www.w3.org/TR/sparql11-http-rdf-update/).
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import httpx
import pytest
import rdflib
from rdflib.compare import isomorphic

from tests.resolvers.conftest import TOKEN

ONTOLOGY = "https://w3id.org/modelkg/graph/ontology"
SHAPES = "https://w3id.org/modelkg/graph/shapes"
INFERRED = "https://w3id.org/modelkg/id/graph/inferred/hf/openai-community/gpt2"
SIZES = "https://w3id.org/modelkg/id/graph/size/hf/openai-community/gpt2"

BERT = "http://example.org/bert"
TURTLE = """@prefix ex: <http://example.org/> .
ex:bert ex:hiddenSize 768 ; ex:name "BERT"@en .
"""
NTRIPLES = (
    "<http://example.org/bert> <http://example.org/hiddenSize> "
    '"768"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
    '<http://example.org/bert> <http://example.org/name> "BERT"@en .\n'
)
RDF_XML = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">
  <rdf:Description rdf:about="http://example.org/bert">
    <ex:hiddenSize rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">768</ex:hiddenSize>
    <ex:name xml:lang="en">BERT</ex:name>
  </rdf:Description>
</rdf:RDF>
"""
JSON_LD = json.dumps(
    {
        "@id": BERT,
        "http://example.org/hiddenSize": 768,
        "http://example.org/name": {"@value": "BERT", "@language": "en"},
    }
)
THE_SAME_GRAPH = [
    ("text/turtle", TURTLE),
    ("application/n-triples", NTRIPLES),
    ("application/rdf+xml", RDF_XML),
    ("application/ld+json", JSON_LD),
]
GPT2 = (  # N-Triples, so Turtle too
    "<http://example.org/gpt2> <http://example.org/hiddenSize> "
    '"768"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
)


def _expected(data: str = TURTLE) -> rdflib.Graph:
    return rdflib.Graph().parse(data=data, format="turtle")


def _url(store: str, graph: str | None) -> str:
    """The graph's address: `?graph=<IRI>` (indirect identification), or `?default`."""
    return f"{store}?graph={quote(graph, safe='')}" if graph is not None else f"{store}?default"


def _send(
    method: str,
    url: str,
    body: str | None = None,
    content_type: str | None = "text/turtle",
    token: str | None = TOKEN,
) -> httpx.Response:
    headers = {}
    if content_type is not None and body is not None:
        headers["Content-Type"] = content_type
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.request(method, url, content=body, headers=headers)


def _read(url: str, accept: str = "application/n-triples") -> httpx.Response:
    return httpx.get(url, headers={"Accept": accept})


def _graph(url: str) -> rdflib.Graph:
    response = _read(url)
    assert response.status_code == 200, response.text
    return rdflib.Graph().parse(data=response.text, format="nt")


def _error(
    response: httpx.Response, status: int, code: str, *, hinted: bool = True
) -> dict[str, str]:
    """The JSON error of a refused request: what was wrong, and (`hinted`) how to fix it."""
    assert response.status_code == status, response.text
    error: dict[str, str] = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert error["hint"] or not hinted
    return error


def _dump(server: str) -> tuple[list[str], list[str]]:
    """Every quad of the store, freshly read: the named graphs' through SPARQL (sorted TSV
    rows), the default graph's through GET."""
    named = httpx.post(
        f"{server}/sparql",
        content="SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }",
        headers={"Content-Type": "application/sparql-query",
                 "Accept": "text/tab-separated-values", "Cache-Control": "no-cache"},
    )  # fmt: skip
    assert named.status_code == 200
    default = _read(f"{server}/rdf-graph-store?default")
    return sorted(named.text.splitlines()[1:]), sorted(default.text.splitlines())


def _ask(server: str, query: str) -> bool:
    response = httpx.get(
        f"{server}/sparql",
        params={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    )
    return bool(response.json()["boolean"])


@pytest.fixture
def store(writable_server: str) -> str:
    """The Graph Store Protocol's address on the writable server."""
    return f"{writable_server}/rdf-graph-store"


@pytest.fixture
def graph() -> str:
    """A fresh graph IRI of the client's own, absent from the store."""
    return f"http://example.org/graphs/{uuid.uuid4().hex}"


@pytest.fixture
def loaded(store: str, graph: str) -> str:
    """The address of a graph of the client's own holding the BERT triples."""
    url = _url(store, graph)
    assert _send("PUT", url, TURTLE).status_code == 201
    return url


# --- PUT, POST, DELETE, GET: the life of one graph -------------------------------------------


def test_a_put_creates_the_graph_and_get_reads_it_back(store: str, graph: str) -> None:
    url = _url(store, graph)
    assert _read(url).status_code == 404

    created = _send("PUT", url, TURTLE)

    assert created.status_code == 201  # new graph content: 201 Created
    assert isomorphic(_graph(url), _expected())


def test_a_second_put_replaces_the_graph_204(loaded: str) -> None:
    replaced = _send("PUT", loaded, GPT2, "application/n-triples")

    assert replaced.status_code == 204
    assert isomorphic(_graph(loaded), _expected(GPT2))


def test_post_creates_then_merges_into_the_graph(store: str, graph: str) -> None:
    url = _url(store, graph)

    assert _send("POST", url, TURTLE).status_code == 201
    assert _send("POST", url, GPT2).status_code == 204

    assert isomorphic(_graph(url), _expected(TURTLE + GPT2))


def test_delete_removes_the_graph_then_it_is_404(loaded: str) -> None:
    assert _send("DELETE", loaded).status_code == 204

    assert _error(_read(loaded), 404, "graph_not_found")
    _error(_send("DELETE", loaded), 404, "graph_not_found")


def test_an_empty_put_leaves_an_empty_graph(store: str, graph: str) -> None:
    url = _url(store, graph)

    assert _send("PUT", url, "").status_code == 201

    response = _read(url)
    assert response.status_code == 200 and response.text == ""


def test_reading_a_graph_the_store_does_not_hold_is_404(store: str, graph: str) -> None:
    error = _error(_read(_url(store, graph)), 404, "graph_not_found")
    assert graph in error["message"]


def test_sparql_sees_what_the_graph_store_writes(
    writable_server: str, store: str, graph: str
) -> None:
    ask = f"ASK {{ GRAPH <{graph}> {{ <{BERT}> ?p ?o }} }}"
    assert not _ask(writable_server, ask)

    _send("PUT", _url(store, graph), TURTLE)
    assert _ask(writable_server, ask)  # and the response cache forgot the earlier answer

    _send("DELETE", _url(store, graph))
    assert not _ask(writable_server, ask)


# --- the default graph ------------------------------------------------------------------------


def test_the_default_graph_is_replaced_merged_and_emptied(store: str) -> None:
    url = _url(store, None)

    assert _send("PUT", url, TURTLE).status_code == 204  # the default graph always exists
    assert _send("POST", url, GPT2).status_code == 204
    assert isomorphic(_graph(url), _expected(TURTLE + GPT2))

    assert _send("DELETE", url).status_code == 204
    response = _read(url)
    assert response.status_code == 200 and response.text == ""


def test_relative_iris_resolve_against_the_graph_iri(store: str, graph: str) -> None:
    _send("PUT", _url(store, graph), "<> <#describes> <models/bert> .")

    triples = set(_graph(_url(store, graph)))

    parent = graph.rsplit("/", 1)[0]
    assert triples == {
        (rdflib.URIRef(graph), rdflib.URIRef(f"{graph}#describes"),
         rdflib.URIRef(f"{parent}/models/bert"))
    }  # fmt: skip


def test_relative_iris_in_the_default_graph_resolve_against_the_request_url(store: str) -> None:
    url = _url(store, None)
    _send("PUT", url, "<#it> <http://example.org/p> 1 .")

    subjects = {str(s) for s in _graph(url).subjects()}
    _send("DELETE", url)

    assert subjects == {f"{url}#it"}


# --- content negotiation ---------------------------------------------------------------------


@pytest.mark.parametrize(("content_type", "body"), THE_SAME_GRAPH)
def test_a_graph_is_accepted_in_each_rdf_syntax(
    store: str, graph: str, content_type: str, body: str
) -> None:
    url = _url(store, graph)

    assert _send("PUT", url, body, content_type).status_code == 201

    assert isomorphic(_graph(url), _expected())


@pytest.mark.parametrize(
    ("accept", "media", "rdflib_format"),
    [
        (None, "text/turtle", "turtle"),
        ("*/*", "text/turtle", "turtle"),
        ("text/turtle", "text/turtle", "turtle"),
        ("application/n-triples", "application/n-triples", "nt"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("text/turtle;q=0.5, application/rdf+xml", "application/rdf+xml", "xml"),
        ("application/*", "application/n-triples", "nt"),
    ],
)
def test_get_answers_in_the_syntax_the_client_accepts(
    loaded: str, accept: str | None, media: str, rdflib_format: str
) -> None:
    response = httpx.get(loaded, headers={"Accept": accept} if accept else {})

    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert isomorphic(rdflib.Graph().parse(data=response.text, format=rdflib_format), _expected())


@pytest.mark.parametrize(
    "accept", ["application/sparql-results+json", "image/png", "application/n-quads"]
)
def test_get_is_406_when_no_accepted_syntax_can_hold_a_graph(loaded: str, accept: str) -> None:
    error = _error(_read(loaded, accept), 406, "not_acceptable")
    assert "text/turtle" in error["hint"]


def test_head_is_get_without_the_body(loaded: str) -> None:
    accept = {"Accept": "application/rdf+xml"}
    got = httpx.get(loaded, headers=accept)

    head = httpx.head(loaded, headers=accept)

    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))


def test_head_of_a_missing_graph_is_404(store: str, graph: str) -> None:
    head = httpx.head(_url(store, graph))
    assert head.status_code == 404 and head.content == b""


# --- bodies the server cannot take -----------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "application/n-quads", "application/trig", "text/html",
     "application/x-www-form-urlencoded", "text/turtle; charset=utf-16"],
)  # fmt: skip
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_a_body_in_a_syntax_the_server_does_not_take_is_415(
    store: str, graph: str, method: str, content_type: str | None
) -> None:
    url = _url(store, graph)
    response = httpx.request(
        method,
        url,
        content=NTRIPLES,
        headers={"Authorization": f"Bearer {TOKEN}",
                 **({"Content-Type": content_type} if content_type else {})},
    )  # fmt: skip

    error = _error(response, 415, "unsupported_media_type")
    assert "text/turtle" in error["hint"]
    assert _read(url).status_code == 404


@pytest.mark.parametrize(
    ("content_type", "body", "where"),
    [
        ("text/turtle", "<urn:a> <urn:b> <urn:c> .\n<urn:a> <urn:b> .", "line 2, column 17"),
        ("application/n-triples", "<urn:a> <urn:b> <urn:c> .\n<urn:a> <urn:b> urn:c .",
         "line 2, column 17"),
        ("application/ld+json", '{"@id": "urn:a", "urn:b": ', None),
        ("application/rdf+xml", "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-"
         "ns#'><rdf:Description rdf:about='urn:a'><rdf:li></rdf:Description></rdf:RDF>", None),
    ],
)  # fmt: skip
def test_bad_rdf_is_400_where_the_parser_stopped_and_changes_nothing(
    loaded: str, content_type: str, body: str, where: str | None
) -> None:
    error = _error(_send("PUT", loaded, body, content_type), 400, "malformed_rdf")

    if where is not None:
        assert where in error["message"]
    assert isomorphic(_graph(loaded), _expected())


def test_a_body_holding_a_named_graph_is_400(store: str, graph: str) -> None:
    body = json.dumps({"@id": "http://example.org/elsewhere",
                       "@graph": [{"@id": BERT, "http://example.org/p": 1}]})  # fmt: skip

    error = _error(_send("PUT", _url(store, graph), body, "application/ld+json"), 400,
                   "malformed_rdf")  # fmt: skip

    assert "http://example.org/elsewhere" in error["message"]
    assert _read(_url(store, graph)).status_code == 404


# --- who may write, and what --------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "status", "code"), [(None, 401, "token_required"), ("wrong", 403, "bad_token")]
)
@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_a_write_without_the_right_token_changes_nothing(
    loaded: str, method: str, token: str | None, status: int, code: str
) -> None:
    response = _send(method, loaded, GPT2 if method != "DELETE" else None, token=token)

    _error(response, status, code, hinted=False)  # resolvers.update.check_writes' own words
    assert isomorphic(_graph(loaded), _expected())


def test_a_server_without_a_token_refuses_writes_and_serves_reads(
    blank_read_only_server: str,
) -> None:
    store = f"{blank_read_only_server}/rdf-graph-store"

    _error(_send("PUT", _url(store, None), TURTLE), 403, "writes_disabled")
    assert _read(_url(store, ONTOLOGY), "text/turtle").status_code == 200


@pytest.mark.parametrize(
    ("protected", "kind"),
    [(ONTOLOGY, "the ontology graph"), (SHAPES, "the SHACL shapes graph"),
     (INFERRED, "a graph of inferred facts"), (SIZES, "a graph of computed model sizes")],
)  # fmt: skip
@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_modelkgs_own_graphs_are_never_written(
    writable_server: str, store: str, method: str, protected: str, kind: str
) -> None:
    before = _dump(writable_server)

    response = _send(method, _url(store, protected), GPT2 if method != "DELETE" else None)

    error = _error(response, 403, "protected_graph")
    assert protected in error["message"] and kind in error["message"]
    assert _dump(writable_server) == before


def test_a_protected_graph_is_still_readable(store: str) -> None:
    ontology = _read(_url(store, ONTOLOGY), "text/turtle")
    assert ontology.status_code == 200
    assert "owl:Ontology" in ontology.text or "Ontology>" in ontology.text


def test_a_body_may_not_mark_its_graph_as_modelkgs_own(store: str, graph: str) -> None:
    claim = (
        "@prefix mkg: <https://w3id.org/modelkg/ontology#> . <> mkg:graphKind mkg:InferredGraph ."
    )

    _error(_send("PUT", _url(store, graph), claim), 403, "protected_graph")

    assert _read(_url(store, graph)).status_code == 404


# --- addressing a graph ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "bad_graph_parameter"),
        ("?graph=urn%3Aa&graph=urn%3Ab", "bad_graph_parameter"),
        ("?graph=urn%3Aa&default", "bad_graph_parameter"),
        ("?graph=not%20an%20IRI", "bad_graph_uri"),
        ("?graph=relative%2Fpath", "bad_graph_uri"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_request_names_exactly_one_graph_by_a_valid_iri(
    store: str, method: str, query: str, code: str
) -> None:
    response = _send(method, f"{store}{query}", TURTLE if method == "PUT" else None)

    error = _error(response, 400, code)
    assert error["field"] == "graph"


def test_other_methods_are_405_in_the_json_error_shape(loaded: str) -> None:
    response = httpx.patch(loaded, content=TURTLE, headers={"Content-Type": "text/turtle"})
    assert response.status_code == 405
    assert "error" in response.json()


# --- standard clients --------------------------------------------------------------------


def test_rdflib_reads_a_graph_and_files_it_in_a_dataset(loaded: str, graph: str) -> None:
    fetched = rdflib.Graph().parse(loaded)  # rdflib's own GET, Accept and format detection
    assert isomorphic(fetched, _expected())

    dataset = rdflib.Dataset()
    named = dataset.graph(rdflib.URIRef(graph))
    named.parse(loaded, format="turtle")

    quads = set(dataset.quads((None, None, None, named)))
    assert (
        rdflib.URIRef(BERT),
        rdflib.URIRef("http://example.org/name"),
        rdflib.Literal("BERT", lang="en"),
        rdflib.URIRef(graph),
    ) in quads
    assert len(quads) == 2
