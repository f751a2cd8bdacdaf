"""The SPARQL 1.1 Protocol endpoint at `/sparql` (queries; updates come with write tokens).

Query by GET (`?query=`) or POST (a URL-encoded form, or an `application/sparql-query` body),
with `default-graph-uri` / `named-graph-uri`; results negotiated by `Accept`: SPARQL JSON, XML,
CSV and TSV for SELECT/ASK, Turtle, N-Triples, RDF/XML and JSON-LD for CONSTRUCT/DESCRIBE.
400 for a malformed query (with the parser's line and column), 415 for a body type the protocol
does not define, 406 when nothing the client accepts can be produced. `SERVICE` is refused: the
server never fetches addresses a client chooses.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pyoxigraph import NamedNode, QueryResultsFormat, QueryTriples, RdfFormat

from kg.errors import ModelKGError
from resolvers.errors import HttpError, from_modelkg_error
from resolvers.sparql_results import serialize_bounded
from resolvers.sparql_text import without_iris
from resolvers.update import check_writes, guard_update

if TYPE_CHECKING:
    from kg.store.embedded import EmbeddedStore
    from resolvers.settings import ServerSettings

__all__ = ["GRAPH_TYPES", "RESULT_TYPES", "negotiate", "router"]

router = APIRouter()

RESULT_TYPES: dict[str, QueryResultsFormat] = {
    "application/sparql-results+json": QueryResultsFormat.JSON,
    "application/json": QueryResultsFormat.JSON,
    "application/sparql-results+xml": QueryResultsFormat.XML,
    "application/xml": QueryResultsFormat.XML,
    "text/csv": QueryResultsFormat.CSV,
    "text/tab-separated-values": QueryResultsFormat.TSV,
}
GRAPH_TYPES: dict[str, RdfFormat] = {
    "text/turtle": RdfFormat.TURTLE,
    "application/n-triples": RdfFormat.N_TRIPLES,
    "application/rdf+xml": RdfFormat.RDF_XML,
    "application/ld+json": RdfFormat.JSON_LD,
}
_SERVICE = re.compile(r"\bSERVICE\b", re.IGNORECASE)


def negotiate(accept: str | None, offered: list[str], default: str) -> str | None:
    """The media type to answer with: the client's best-ranked one we offer (None: 406).

    >>> negotiate("text/csv;q=0.5, application/sparql-results+json", ["text/csv",
    ...           "application/sparql-results+json"], "text/csv")
    'application/sparql-results+json'
    >>> negotiate("image/png", ["text/csv"], "text/csv") is None
    True
    """
    if not accept:
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        quality = 1.0
        for field in fields[1:]:
            if field.startswith("q="):
                try:
                    quality = float(field[2:])
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, media))
    for _, _, media in sorted(ranked):
        if media in ("*/*", "application/*", "text/*"):
            family = media.split("/")[0]
            if media == "*/*" or default.startswith(family):
                return default
            match = next((o for o in offered if o.startswith(family)), None)
            if match:
                return match
        elif media in offered:
            return media
    return None


def _refuse_service(query: str) -> None:
    if _SERVICE.search(without_iris(query)):
        raise HttpError(
            403,
            "service_refused",
            "SERVICE is refused: this endpoint never fetches addresses a client chooses",
            field="query",
            hint="query the other endpoint yourself and send its data here",
        )


def _run(
    store: EmbeddedStore,
    settings: ServerSettings,
    query: str,
    accept: str | None,
    default_graphs: list[str],
    named_graphs: list[str],
) -> tuple[bytes, str]:
    started = time.monotonic()
    try:
        result = store.query_dataset(
            query,
            default_graphs=[NamedNode(g) for g in default_graphs] or None,
            named_graphs=[NamedNode(g) for g in named_graphs] or None,
        )
    except ModelKGError as exc:
        raise from_modelkg_error(exc) from exc
    except ValueError as exc:  # an invalid IRI in default-graph-uri / named-graph-uri
        raise HttpError(400, "bad_graph_uri", str(exc), field="default-graph-uri") from exc
    # query results belong to the thread that made them: never let one escape in a traceback
    graph = isinstance(result, QueryTriples)
    offered: dict[str, QueryResultsFormat] | dict[str, RdfFormat] = (
        GRAPH_TYPES if graph else RESULT_TYPES
    )
    media = negotiate(
        accept, list(offered), "text/turtle" if graph else "application/sparql-results+json"
    )
    error: HttpError
    if media is None:
        error = _not_acceptable(
            "a graph result" if graph else "SELECT/ASK results", accept, offered
        )
    else:
        try:
            return serialize_bounded(result, offered[media], settings, started), media
        except HttpError as exc:
            error = exc
    del result
    raise error.with_traceback(None)


def _not_acceptable(what: str, accept: str | None, offered: Iterable[str]) -> HttpError:
    return HttpError(
        406,
        "not_acceptable",
        f"{what} cannot be written as {accept}",
        hint="accept one of " + ", ".join(offered),
    )


async def _answer(
    request: Request, query: str | None, defaults: list[str], named: list[str]
) -> Response:
    if not query:
        raise HttpError(
            400,
            "missing_query",
            "no SPARQL query in the request",
            field="query",
            hint="send ?query=... (GET), a form with query=..., or an "
            "application/sparql-query body",
        )
    _refuse_service(query)
    state = request.app.state
    body, media = await run_in_threadpool(
        _run, state.store, state.settings, query, request.headers.get("accept"), defaults, named
    )
    charset = "; charset=utf-8" if media.startswith(("text/", "application/")) else ""
    return Response(body, media_type=media + charset)


@router.get("/sparql")
async def sparql_get(request: Request) -> Response:
    """SPARQL query via GET (`query`, `default-graph-uri`, `named-graph-uri`)."""
    params = request.query_params
    if "update" in params:
        raise HttpError(
            400, "update_by_get", "updates are not accepted by GET", hint="POST the update"
        )
    return await _answer(
        request,
        params.get("query"),
        params.getlist("default-graph-uri"),
        params.getlist("named-graph-uri"),
    )


@router.post("/sparql")
async def sparql_post(request: Request) -> Response:
    """SPARQL query via POST: a URL-encoded form or an `application/sparql-query` body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    params = request.query_params
    if content_type == "application/x-www-form-urlencoded":
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        if "update" in form:
            return await _update(request, next(iter(form.get("update", [])), ""))
        return await _answer(
            request,
            next(iter(form.get("query", [])), None),
            form.get("default-graph-uri", []),
            form.get("named-graph-uri", []),
        )
    if content_type == "application/sparql-query":
        text = (await request.body()).decode("utf-8", errors="replace")
        return await _answer(
            request, text, params.getlist("default-graph-uri"), params.getlist("named-graph-uri")
        )
    if content_type == "application/sparql-update":
        return await _update(request, (await request.body()).decode("utf-8", errors="replace"))
    raise HttpError(
        415,
        "unsupported_media_type",
        f"a SPARQL request cannot be sent as `{content_type or 'no content type'}`",
        hint="use application/x-www-form-urlencoded, application/sparql-query or "
        "application/sparql-update",
    )


async def _update(request: Request, update: str) -> Response:
    """Run a SPARQL update after the token and the graph guard (`resolvers.update`)."""
    check_writes(request.app.state.settings, request.headers.get("authorization"))
    guard_update(update)
    store = request.app.state.store
    await run_in_threadpool(_run_update, store, update)
    return Response(status_code=204)


def _run_update(store: EmbeddedStore, update: str) -> None:
    try:
        store.update(update)
    except ModelKGError as exc:
        raise from_modelkg_error(exc) from exc
