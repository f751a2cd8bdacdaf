"""The SPARQL 1.1 Protocol endpoint at `/sparql`: queries for anyone, updates with the token.

Query by GET (`?query=`) or POST (a URL-encoded form, or an `application/sparql-query` body),
with `default-graph-uri` / `named-graph-uri`; update by POST (a form with `update=`, or an
`application/sparql-update` body). Results are negotiated by `Accept` (`q=0` excludes a type):
SPARQL JSON, XML, CSV and TSV for SELECT/ASK; Turtle, N-Triples, RDF/XML and JSON-LD for
CONSTRUCT/DESCRIBE. Relative IRIs resolve against the endpoint's URL. A GET without a query is a
query editor for a browser and the Service Description for a program.

The protocol's bad requests are answered as it says: 400 for a missing, repeated or malformed
operation, both a query and an update, an update by GET, a body not in UTF-8; 415 for a body
type the protocol does not define; 406 when nothing the client accepts can be produced. What
runs is decided by `resolvers.sparql_run` on the parsed request.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import Response

from resolvers.errors import HttpError
from resolvers.negotiation import GRAPH_TYPES, RESULT_TYPES, media_type, negotiate, not_acceptable
from resolvers.openapi import SPARQL_GET, SPARQL_POST
from resolvers.service_description import service_description
from resolvers.services import services
from resolvers.sparql_editor import editor_page
from resolvers.sparql_run import (
    client_address,
    parse_client_query,
    run_client_query,
    run_client_update,
    unless_client_leaves,
)
from resolvers.update import check_writes

__all__ = ["router"]

router = APIRouter()

_QUERY_PARAMS = frozenset({"query", "default-graph-uri", "named-graph-uri"})
_UPDATE_PARAMS = frozenset({"update", "using-graph-uri", "using-named-graph-uri"})


def _one(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name, [])
    if len(values) > 1:
        raise HttpError(
            400,
            "repeated_parameter",
            f"`{name}` is given {len(values)} times; a request carries exactly one",
            field=name,
            hint=f"send one `{name}` per request",
        )
    return values[0] if values else None


def _decode(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HttpError(
            400,
            "not_utf8",
            f"the {what} is not UTF-8 (invalid byte at offset {exc.start})",
            hint="SPARQL requests are sent in UTF-8",
        ) from None


def _content_type(request: Request) -> str:
    media, charset = media_type(request.headers.get("content-type"))
    if charset not in (None, "utf-8", "utf8"):
        raise HttpError(
            400,
            "not_utf8",
            f"the body is declared as {charset}; SPARQL requests are UTF-8",
            field="Content-Type",
            hint="send the body in UTF-8 (charset=utf-8)",
        )
    return media


def _base(request: Request) -> str:
    return str(request.url.replace(query=None, fragment=None))


def _wants_html(accept: str | None) -> bool:
    return negotiate(accept, [*GRAPH_TYPES, "text/html"]) == "text/html"


async def _answer_query(
    request: Request, text: str | None, defaults: list[str], named: list[str]
) -> Response:
    if not text:
        raise HttpError(
            400,
            "missing_query",
            "no SPARQL query in the request",
            field="query",
            hint="send ?query=... (GET), a form with query=..., or an application/sparql-query "
            "body",
        )
    state = services(request)
    base = _base(request)
    parsed = await parse_client_query(text, state.settings, base)
    accept = request.headers.get("accept")
    offered = list(GRAPH_TYPES if parsed.gives_graph else RESULT_TYPES)
    media = negotiate(accept, offered)
    if media is None:
        what = "a graph result" if parsed.gives_graph else "SELECT/ASK results"
        raise not_acceptable(what, accept, offered)
    answer = await unless_client_leaves(
        request,
        lambda: run_client_query(
            state,
            parsed,
            media,
            client=client_address(request),
            base_iri=base,
            default_graphs=defaults or None,
            named_graphs=named or None,
        ),
    )
    headers = {"Vary": "Accept"}
    if not answer.cacheable:
        headers["Cache-Control"] = "no-store"
    return Response(answer.body, media_type=f"{media}; charset=utf-8", headers=headers)


async def _update(request: Request, text: str | None, fields: dict[str, list[str]]) -> Response:
    """Run a SPARQL update after the token check and the guard (`resolvers.sparql_run`)."""
    check_writes(services(request).settings, request.headers.get("authorization"))
    if not text:
        raise HttpError(400, "missing_update", "no SPARQL update in the request", field="update")
    await run_client_update(
        services(request),
        text,
        base_iri=_base(request),
        using_graphs=fields.get("using-graph-uri", []),
        using_named_graphs=fields.get("using-named-graph-uri", []),
    )
    return Response(status_code=204)


def _check_params(fields: dict[str, list[str]], foreign: frozenset[str], operation: str) -> None:
    stray = sorted(name for name in fields if name in foreign)
    if stray:
        raise HttpError(
            400,
            "bad_parameter",
            f"`{stray[0]}` does not go with a SPARQL {operation}",
            field=stray[0],
            hint="queries take default-graph-uri/named-graph-uri, updates "
            "using-graph-uri/using-named-graph-uri",
        )


async def _dispatch(request: Request, fields: dict[str, list[str]]) -> Response:
    if "query" in fields and "update" in fields:
        raise HttpError(
            400,
            "query_and_update",
            "the request carries both a query and an update",
            hint="send one operation per request",
        )
    if "update" in fields:
        _check_params(fields, _QUERY_PARAMS - {"query"}, "update")
        return await _update(request, _one(fields, "update"), fields)
    _check_params(fields, _UPDATE_PARAMS - {"update"}, "query")
    return await _answer_query(
        request,
        _one(fields, "query"),
        fields.get("default-graph-uri", []),
        fields.get("named-graph-uri", []),
    )


def _query_string(request: Request) -> dict[str, list[str]]:
    raw = request.url.query
    try:
        return parse_qs(raw, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise HttpError(400, "not_utf8", "the URL's parameters are not UTF-8") from None


@router.get("/sparql", response_class=Response, **SPARQL_GET)
async def sparql_get(request: Request) -> Response:
    """SPARQL query via GET (`query`, `default-graph-uri`, `named-graph-uri`); without a query,
    the query editor (for a browser) or the Service Description."""
    fields = _query_string(request)
    if "update" in fields:
        raise HttpError(
            400, "update_by_get", "updates are not accepted by GET", hint="POST the update"
        )
    if "query" not in fields:
        if _wants_html(request.headers.get("accept")):
            return editor_page("/sparql")
        return service_description(request, _base(request))
    return await _dispatch(request, fields)


@router.post("/sparql", response_class=Response, **SPARQL_POST)
async def sparql_post(request: Request) -> Response:
    """SPARQL query or update via POST: a URL-encoded form, or a direct body."""
    content_type = _content_type(request)
    url_fields = _query_string(request)
    if content_type == "application/x-www-form-urlencoded":
        body = _decode(await request.body(), "form")
        try:
            fields = parse_qs(body, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise HttpError(400, "not_utf8", "the form's values are not UTF-8") from None
        return await _dispatch(request, fields)
    if content_type == "application/sparql-query":
        text = _decode(await request.body(), "query")
        if "query" in url_fields or "update" in url_fields:
            raise HttpError(400, "query_and_update", "the operation is both in the URL and body")
        return await _dispatch(request, {**url_fields, "query": [text]})
    if content_type == "application/sparql-update":
        text = _decode(await request.body(), "update")
        if "query" in url_fields or "update" in url_fields:
            raise HttpError(400, "query_and_update", "the operation is both in the URL and body")
        return await _dispatch(request, {**url_fields, "update": [text]})
    raise HttpError(
        415,
        "unsupported_media_type",
        f"a SPARQL request cannot be sent as `{content_type or 'no content type'}`",
        hint="use application/x-www-form-urlencoded, application/sparql-query or "
        "application/sparql-update",
    )
