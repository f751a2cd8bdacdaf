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
from pyoxigraph import QueryResultsFormat, RdfFormat

from resolvers.errors import HttpError
from resolvers.service_description import service_description
from resolvers.sparql_editor import editor_page
from resolvers.sparql_run import parse_client_query, run_client_query, run_client_update
from resolvers.update import check_writes

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

_QUERY_PARAMS = frozenset({"query", "default-graph-uri", "named-graph-uri"})
_UPDATE_PARAMS = frozenset({"update", "using-graph-uri", "using-named-graph-uri"})


def negotiate(accept: str | None, offered: list[str], default: str) -> str | None:
    """The media type to answer with: the client's best-ranked one we offer (None: 406).

    A type given `q=0` is never chosen, not even through a wildcard.

    >>> negotiate("text/csv;q=0.5, application/sparql-results+json", ["text/csv",
    ...           "application/sparql-results+json"], "text/csv")
    'application/sparql-results+json'
    >>> negotiate("text/turtle;q=0, */*", ["text/turtle", "application/n-triples"], "text/turtle")
    'application/n-triples'
    >>> negotiate("image/png", ["text/csv"], "text/csv") is None
    True
    """
    if not accept:
        return default
    ranked: list[tuple[float, int, str]] = []
    refused: set[str] = set()
    for position, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        quality = 1.0
        for field in fields[1:]:
            if field.lower().startswith("q="):
                try:
                    quality = float(field[2:])
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, media))
        else:
            refused.add(media)
    candidates = [default, *(o for o in offered if o != default)]
    candidates = [o for o in candidates if o not in refused]
    for _, _, media in sorted(ranked):
        if media == "*/*":
            if candidates:
                return candidates[0]
        elif media.endswith("/*"):
            family = media.split("/")[0] + "/"
            match = next((o for o in candidates if o.startswith(family)), None)
            if match:
                return match
        elif media in candidates:
            return media
    return None


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
    header = request.headers.get("content-type", "")
    media, _, params = header.partition(";")
    for param in params.split(";"):
        key, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if key.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise HttpError(
                400,
                "not_utf8",
                f"the body is declared as {value.strip()}; SPARQL requests are UTF-8",
                field="Content-Type",
                hint="send the body in UTF-8 (charset=utf-8)",
            )
    return media.strip().lower()


def _base(request: Request) -> str:
    return str(request.url.replace(query=None, fragment=None))


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _wants_html(accept: str | None) -> bool:
    return negotiate(accept, ["text/html", *GRAPH_TYPES], "text/turtle") == "text/html"


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
    state = request.app.state
    base = _base(request)
    parsed = await parse_client_query(text, state.settings, base)
    accept = request.headers.get("accept")
    offered = list(GRAPH_TYPES if parsed.gives_graph else RESULT_TYPES)
    media = negotiate(accept, offered, offered[0])
    if media is None:
        what = "a graph result" if parsed.gives_graph else "SELECT/ASK results"
        raise HttpError(
            406,
            "not_acceptable",
            f"{what} cannot be written as {accept}",
            hint="accept one of " + ", ".join(offered),
        )
    answer = await run_client_query(
        state,
        parsed,
        media,
        client=_client(request),
        base_iri=base,
        default_graphs=defaults or None,
        named_graphs=named or None,
    )
    headers = {"Vary": "Accept"}
    if not answer.cacheable:
        headers["Cache-Control"] = "no-store"
    return Response(answer.body, media_type=f"{media}; charset=utf-8", headers=headers)


async def _update(request: Request, text: str | None, fields: dict[str, list[str]]) -> Response:
    """Run a SPARQL update after the token check and the guard (`resolvers.sparql_run`)."""
    check_writes(request.app.state.settings, request.headers.get("authorization"))
    if not text:
        raise HttpError(400, "missing_update", "no SPARQL update in the request", field="update")
    if fields.get("using-graph-uri") or fields.get("using-named-graph-uri"):
        raise HttpError(
            400,
            "unsupported_parameter",
            "using-graph-uri and using-named-graph-uri are not supported yet",
            field="using-graph-uri",
            hint="write the dataset in the update itself: USING <g> / USING NAMED <g>",
        )
    await run_client_update(request.app.state, text, base_iri=_base(request))
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


@router.get("/sparql")
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


@router.post("/sparql")
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
