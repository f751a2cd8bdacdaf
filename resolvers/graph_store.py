"""The SPARQL 1.1 Graph Store HTTP Protocol at `/rdf-graph-store`: whole graphs by HTTP verb.

Why a second write path beside SPARQL UPDATE: loading a file into a graph, or fetching a graph
back, should not mean writing SPARQL. Standard clients (rdflib, Jena's RDFConnection, the W3C
protocol test runner, plain curl) move whole graphs this way, and nothing a client sends ever
becomes SPARQL text: the body is parsed by a real RDF parser into terms, which the store writes.

- `GET` / `HEAD ?graph=IRI` or `?default`: the graph, as Turtle (the default), N-Triples,
  RDF/XML or JSON-LD by `Accept`; 404 for a named graph the store does not hold, 406 when no
  accepted type can be written. `?default` is the store's own default graph, what `PUT
  ?default` wrote (the SPARQL endpoint queries the union of all graphs instead).
- `PUT` replaces a graph, `POST` merges into it, `DELETE` removes it (404 when absent): with the
  operator's bearer token (`resolvers.update.check_writes`: 401 without, 403 wrong). Bodies are
  Turtle, N-Triples, RDF/XML or JSON-LD by `Content-Type` (415 otherwise), relative IRIs
  resolved against the graph's IRI (the request URL for `?default`); bad RDF is 400 with the
  parser's line and column. `201 Created` when the graph did not exist before, else `204`.
- ModelKG's own graphs (ontology, shapes, derived data: whatever kind the store marks protected,
  `kg.store.graph_kinds`) are never written: 403 `protected_graph`, checked and written under
  the store's one writer lock, so no other write slips in between.

>>> import tempfile
>>> from fastapi.testclient import TestClient
>>> from resolvers.app import create_app
>>> from resolvers.settings import ServerSettings
>>> app = create_app(ServerSettings(store=tempfile.mkdtemp() + "/kg", token="s3cret"))
>>> with TestClient(app) as client:
...     put = client.put("/rdf-graph-store?graph=urn:my:graph", content="<urn:a> <urn:b> <urn:c> .",
...                      headers={"Content-Type": "text/turtle", "Authorization": "Bearer s3cret"})
...     got = client.get("/rdf-graph-store?graph=urn:my:graph",
...                      headers={"Accept": "application/n-triples"})
>>> put.status_code, got.text
(201, '<urn:a> <urn:b> <urn:c> .\\n')
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pyoxigraph import DefaultGraph, NamedNode, RdfFormat, Triple, parse

from kg.errors import QueryRefused
from kg.sparql.guard import check_write
from kg.sparql.request import GraphRef
from kg.store.graph_kinds import protected_kind
from ontology.namespaces import MKG
from resolvers.errors import HttpError, from_modelkg_error
from resolvers.negotiation import GRAPH_TYPES, media_type, negotiate, not_acceptable
from resolvers.openapi import GRAPH_RESPONSES, GRAPH_STORE_READ, GRAPH_STORE_WRITE
from resolvers.services import services
from resolvers.sparql_results import BoundedSink
from resolvers.threads import run_in_worker
from resolvers.update import check_writes

if TYPE_CHECKING:
    from kg.store.base import ModelStore
    from resolvers.settings import ServerSettings

__all__ = ["PATH", "router"]

PATH = "/rdf-graph-store"
router = APIRouter()

Graph = NamedNode | DefaultGraph


_BODY_FORMATS = frozenset(GRAPH_TYPES.values())
_ACCEPTED_BODIES = (
    "Turtle (text/turtle), N-Triples (application/n-triples), RDF/XML (application/rdf+xml) "
    "or JSON-LD (application/ld+json)"
)
_PARSER_POSITION = re.compile(
    r"^Parser error at line \d+ (?:column \d+|between columns \d+ and \d+): "
)


def _named(graph: Graph) -> str:
    return f"<{graph.value}>" if isinstance(graph, NamedNode) else "the default graph"


def _target(request: Request) -> Graph:
    """The graph a request names: exactly one of `?graph=IRI` and `?default`."""
    params = request.query_params
    iris = params.getlist("graph")
    default = "default" in params
    if len(iris) + int(default) != 1:
        raise HttpError(
            400,
            "bad_graph_parameter",
            "name exactly one graph: one `graph` parameter or `default`"
            + (f", not {len(iris) + int(default)}" if iris or default else ", not none"),
            field="graph",
            hint=f"{PATH}?graph=https%3A%2F%2Fexample.org%2Fmy-graph, or {PATH}?default",
        )
    if default:
        return DefaultGraph()
    try:
        return NamedNode(iris[0])
    except ValueError as exc:
        raise HttpError(
            400,
            "bad_graph_uri",
            f"`{iris[0]}` is not an absolute IRI: {exc}",
            field="graph",
            hint="give the graph's full IRI, URL-encoded, e.g. ?graph=urn%3Amy%3Agraph",
        ) from exc


def _refuse_protected(store: ModelStore, graph: Graph, verb: str) -> None:
    """The SPARQL update guard's verdict on writing `graph` (`kg.sparql.guard.check_write`)."""
    if not isinstance(graph, NamedNode):
        return
    try:
        check_write(verb, GraphRef("iri", graph.value), lambda iri: protected_kind(store, iri))
    except QueryRefused as exc:
        exc.field = "graph"
        raise from_modelkg_error(exc) from None


def _not_found(graph: NamedNode) -> HttpError:
    return HttpError(
        404,
        "graph_not_found",
        f"this store holds no graph <{graph.value}>",
        field="graph",
        hint="list the graphs with SELECT DISTINCT ?g WHERE { GRAPH ?g { } } at /sparql",
    )


# --- reads ----------------------------------------------------------------------------------


def _read(
    store: ModelStore, settings: ServerSettings, graph: Graph, media: str | None, accept: str
) -> bytes:
    """The graph serialized as `media`, by the engine straight from the store, within the
    result cap and the deadline (404 before 406: a missing graph is the bigger news)."""
    started = time.monotonic()
    if isinstance(graph, NamedNode) and not store.has_graph(graph):
        raise _not_found(graph)
    if media is None:
        raise not_acceptable("a graph", accept, list(GRAPH_TYPES))
    sink = BoundedSink(settings.max_result_bytes, started + settings.query_timeout)
    try:
        store.serialize_graph(graph, sink, GRAPH_TYPES[media])
    except HttpError as exc:
        if exc.code != "result_too_large":
            raise
        raise HttpError(
            400,
            "result_too_large",
            f"{_named(graph)} is larger than this server's result cap of "
            f"{settings.max_result_bytes:,} bytes",
            field="graph",
            hint="read it in pages at /sparql: CONSTRUCT WHERE { GRAPH <...> { ?s ?p ?o } } "
            "LIMIT ... OFFSET ...",
        ) from None
    return sink.getvalue()


@router.get(
    PATH, response_class=Response, responses=GRAPH_RESPONSES, openapi_extra=GRAPH_STORE_READ
)
@router.head(PATH, include_in_schema=False)  # one operation in OpenAPI: HEAD is GET's headers
async def get_graph(request: Request) -> Response:
    """A graph's triples (Graph Store Protocol GET/HEAD), negotiated by `Accept`.

    Read in the server, in a thread: for one model's graph (~0.6 ms to write) the hop to a
    query worker cost more than it saved (measured: p50 1.4 ms here, 2.3 ms through workers)."""
    graph = _target(request)
    accept = request.headers.get("accept")
    media = negotiate(accept, list(GRAPH_TYPES))
    state = services(request)
    body = await run_in_worker(_read, state.store, state.settings, graph, media, accept or "*/*")
    assert media is not None  # _read raised 406 otherwise
    headers = {"Vary": "Accept"}
    content_type = f"{media}; charset=utf-8"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(status_code=200, headers=headers, media_type=content_type)
    return Response(body, headers=headers, media_type=content_type)


# --- writes ---------------------------------------------------------------------------------


def _body_format(content_type: str | None) -> RdfFormat:
    """The RDF syntax of a request body, from its `Content-Type` (415 unless a triples syntax
    in UTF-8)."""
    media, charset = media_type(content_type)
    found = RdfFormat.from_media_type(media) if media else None
    if found not in _BODY_FORMATS or charset not in (None, "utf-8", "utf8"):
        raise HttpError(
            415,
            "unsupported_media_type",
            f"a graph cannot be sent as `{content_type or 'no content type'}`",
            field="Content-Type",
            hint=f"send {_ACCEPTED_BODIES}, in UTF-8",
        )
    assert found is not None
    return found


def _parse(body: bytes, format: RdfFormat, base_iri: str, graph: Graph) -> list[Triple]:
    """The body's triples, or 400 naming where the parser stopped."""
    try:
        quads = list(parse(body, format=format, base_iri=base_iri))
    except SyntaxError as exc:
        detail = _PARSER_POSITION.sub("", exc.msg)
        where = f" at line {exc.lineno}, column {exc.offset}" if exc.lineno else ""
        raise HttpError(
            400,
            "malformed_rdf",
            f"the body is not valid {format.name}{where}: {detail}",
            field="body",
            hint=f"fix the data there, or send it with the Content-Type of its syntax "
            f"({_ACCEPTED_BODIES})",
        ) from None
    triples: list[Triple] = []
    for quad in quads:
        if not isinstance(quad.graph_name, DefaultGraph):
            raise HttpError(
                400,
                "malformed_rdf",
                f"the body holds a named graph {quad.graph_name}: a Graph Store request "
                "carries the triples of one graph",
                field="body",
                hint="send that graph's triples alone, to ?graph=<its IRI>",
            )
        if quad.subject == graph and quad.predicate == MKG.graphKind:
            raise HttpError(
                403,
                "protected_graph",
                f"the body states the kind of {_named(graph)} (mkg:graphKind): only ModelKG "
                "marks graphs as its own",
                field="body",
                hint="leave out the mkg:graphKind triple",
            )
        triples.append(quad.triple)
    return triples


def _write(
    store: ModelStore,
    graph: Graph,
    body: bytes,
    format: RdfFormat,
    base_iri: str,
    *,
    replace: bool,
) -> bool:
    """Parse, then check and write under the writer lock; True when the graph is new."""
    verb = "PUT" if replace else "POST"
    _refuse_protected(store, graph, verb)  # early: refuse before parsing a large body
    triples = _parse(body, format, base_iri, graph)
    with store.writer():
        _refuse_protected(store, graph, verb)  # the check that counts: nothing writes now
        existed = store.has_graph(graph)
        if replace:
            store.put_graph(graph, triples)
        else:
            store.post_graph(graph, triples)
    return not existed


async def _put_or_post(request: Request, *, replace: bool) -> Response:
    state = services(request)
    check_writes(state.settings, request.headers.get("authorization"))
    graph = _target(request)
    format = _body_format(request.headers.get("content-type"))
    body = await request.body()
    base_iri = graph.value if isinstance(graph, NamedNode) else str(request.url)
    created = await run_in_worker(
        _write, state.store, graph, body, format, base_iri, replace=replace
    )
    return Response(status_code=201 if created else 204)


@router.put(PATH, status_code=204, responses=GRAPH_RESPONSES, openapi_extra=GRAPH_STORE_WRITE)
async def put_graph(request: Request) -> Response:
    """Replace a graph with the body's triples (201 when it is new, else 204)."""
    return await _put_or_post(request, replace=True)


@router.post(PATH, status_code=204, responses=GRAPH_RESPONSES, openapi_extra=GRAPH_STORE_WRITE)
async def post_graph(request: Request) -> Response:
    """Merge the body's triples into a graph (201 when it is new, else 204)."""
    return await _put_or_post(request, replace=False)


def _drop(store: ModelStore, graph: Graph) -> None:
    with store.writer():
        _refuse_protected(store, graph, "DELETE")
        if isinstance(graph, NamedNode) and not store.has_graph(graph):
            raise _not_found(graph)
        store.drop_graph(graph)


@router.delete(PATH, status_code=204, responses=GRAPH_RESPONSES, openapi_extra=GRAPH_STORE_READ)
async def delete_graph(request: Request) -> Response:
    """Remove a graph (the default graph is emptied); 404 when there is no such graph."""
    state = services(request)
    check_writes(state.settings, request.headers.get("authorization"))
    graph = _target(request)
    await run_in_worker(_drop, state.store, graph)
    return Response(status_code=204)
