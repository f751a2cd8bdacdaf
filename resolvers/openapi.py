"""An OpenAPI description that says what the server does: every status a route can answer, and
the request and response types of the protocol endpoints (`/sparql`, `/graphql`, the Graph
Store), which read their bodies by hand and so describe nothing by themselves.

FastAPI documents a 422 `HTTPValidationError` for every route with parameters, but the app
answers a failed validation with a 400 in its own error shape (`resolvers.rest`), and it never
documents the answers its middleware gives (413 past the body cap, 408 for a body too slow,
503 past the query timeout) or the token check's 401/403. A client generated from the
description, or a fuzzer checking the server against it (tests/resolvers/test_fuzz.py), would
meet statuses it was never told of. `install_openapi` rewrites the description once, when
first asked for: each of those statuses is added, in the error shape, where it can happen.

>>> from fastapi import FastAPI
>>> app = FastAPI()
>>> @app.get("/api/v1/page")
... def page(first: int) -> int:
...     return first
>>> install_openapi(app)
>>> sorted(app.openapi()["paths"]["/api/v1/page"]["get"]["responses"])
['200', '400', '503']
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from resolvers.negotiation import GRAPH_TYPES, RESULT_TYPES

__all__ = [
    "GRAPH_RESPONSES",
    "GRAPH_STORE_READ",
    "GRAPH_STORE_WRITE",
    "SPARQL_GET",
    "SPARQL_POST",
    "install_openapi",
]

_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorResponse",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field", "hint"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "hint": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
        }
    },
}
"""The error shape (`resolvers.errors`), for apps that have no route declaring it."""


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def _any_of(types: list[str]) -> dict[str, Any]:
    return {media: {"schema": {"type": "string"}} for media in types}


_QUERY_PARAMETERS: list[dict[str, Any]] = [
    {"name": "query", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "A SPARQL query (without one: the editor, or the Service Description)."},
    {"name": "default-graph-uri", "in": "query", "required": False,
     "schema": {"type": "array", "items": {"type": "string"}}},
    {"name": "named-graph-uri", "in": "query", "required": False,
     "schema": {"type": "array", "items": {"type": "string"}}},
]  # fmt: skip

_SPARQL_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("A malformed or refused request (syntax, nesting, a result over the cap)."),
    403: _error("A refused operation: SERVICE, LOAD, a protected graph."),
    406: _error("No result type the client accepts can be written."),
    413: _error("The query text or the body is over this server's cap."),
    429: _error("This client has too many queries running."),
}

SPARQL_GET: dict[str, Any] = {
    "openapi_extra": {"parameters": _QUERY_PARAMETERS},
    "responses": {
        200: {
            "description": "Query results, negotiated by `Accept`; without a query, the "
            "Service Description (Turtle) or, for a browser, the editor (HTML).",
            "content": _any_of([*RESULT_TYPES, *GRAPH_TYPES, "text/html"]),
        },
        **_SPARQL_ERRORS,
    },
}
"""What `GET /sparql` takes and answers (SPARQL 1.1 Protocol, query by GET)."""

SPARQL_POST: dict[str, Any] = {
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {
                "application/sparql-query": {"schema": {"type": "string", "minLength": 1}},
                "application/sparql-update": {"schema": {"type": "string", "minLength": 1}},
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "query": {"type": "string"},
                            "update": {"type": "string"},
                            "using-graph-uri": {"type": "string"},
                            "using-named-graph-uri": {"type": "string"},
                        },
                    }
                },
            },
        }
    },
    "responses": {
        200: {
            "description": "Query results, negotiated by `Accept`.",
            "content": _any_of([*RESULT_TYPES, *GRAPH_TYPES]),
        },
        204: {"description": "The update ran, as one transaction."},
        **_SPARQL_ERRORS,
        401: _error("An update without the bearer token."),
        403: _error(
            "A wrong token, writes off, or a refused operation (SERVICE, LOAD, a protected graph)."
        ),
        415: _error("A body other than a form, a query or an update."),
    },
}
"""What `POST /sparql` takes and answers (query or update by POST)."""

_GRAPH_PARAMETERS: list[dict[str, Any]] = [
    {"name": "graph", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "The named graph's IRI; give this or `default`, not both."},
    {"name": "default", "in": "query", "required": False, "allowEmptyValue": True,
     "schema": {"type": "string"}, "description": "The store's default graph."},
]  # fmt: skip
GRAPH_STORE_READ: dict[str, Any] = {"parameters": _GRAPH_PARAMETERS}
"""The Graph Store Protocol's parameters: which graph."""
GRAPH_STORE_WRITE: dict[str, Any] = {
    "parameters": _GRAPH_PARAMETERS,
    "requestBody": {"required": True, "content": _any_of(list(GRAPH_TYPES))},
}
"""... and, for PUT and POST, the body: RDF in one of the formats ModelKG parses."""

GRAPH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The graph, negotiated by `Accept`.", "content": _any_of([*GRAPH_TYPES])},
    201: {"description": "The graph did not exist and was created."},
    404: _error("No such named graph."),
    406: _error("No graph type the client accepts can be written."),
    415: _error("A body in a format ModelKG does not parse."),
}
"""Statuses of the Graph Store Protocol routes beyond the ones `install_openapi` adds."""

_READ_POSTS = frozenset({"/api/v1/search", "/api/v1/embeddings"})
"""POST routes that only read: they need no token."""
_TIMED = ("/sparql", "/graphql", "/api/")


def _statuses(path: str, method: str, operation: dict[str, Any]) -> dict[str, str]:
    """Status -> why, for the answers of `operation` its route does not declare itself."""
    added: dict[str, str] = {}
    if operation.get("parameters") or operation.get("requestBody"):
        added["400"] = "A bad parameter or body field, named in `error.field`."
    if operation.get("requestBody"):
        added["408"] = "The body arrived too slowly: the client was cut off."
        added["413"] = "The body is over this server's cap (`--max-request-bytes`)."
    if method in ("post", "put", "patch", "delete") and path not in _READ_POSTS:
        added["401"] = "A write without `Authorization: Bearer <token>`."
        added["403"] = "A wrong token, or writes are off on this server."
    if path.startswith(_TIMED):
        added["503"] = "Past the query timeout, or the store could not answer."
    return added


def _rewrite(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorResponse", _ERROR_SCHEMA)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            invalid = responses.get("422", {}).get("content", {}).get("application/json", {})
            if invalid.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                del responses["422"]  # validation fails with 400, in the error shape
            for status, why in _statuses(path, method, operation).items():
                responses.setdefault(status, _error(why))
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and `/openapi.json`) give the rewritten description."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _rewrite(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
