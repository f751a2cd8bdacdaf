"""What `/graphql` takes and answers, written into the app's OpenAPI description.

Strawberry's router describes its routes as taking nothing and answering 200 with any JSON, so
a client reading `/openapi.json` (or a fuzzer checking the server against it) would not know
that a query goes in a JSON body or the URL, nor that a refused request is a 400 (415 for a
body type other than JSON or multipart) with GraphQL's `{"data": null, "errors": [...]}`.
`document` fills that in on the route.

>>> from fastapi.routing import APIRoute
>>> route = APIRoute("/graphql", lambda: None, methods=["POST"])
>>> document(route)
>>> sorted(route.responses), "requestBody" in route.openapi_extra
([200, 400, 415], True)
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

__all__ = ["document"]

_ERRORS: dict[str, Any] = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "data": {"type": "null"},
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["message"],
                "properties": {
                    "message": {"type": "string"},
                    "extensions": {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                            "hint": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        },
                    },
                },
            },
        },
    },
}
"""A request refused as a whole: no data, the errors saying why (code, field, hint)."""

_RESULT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "data": {"anyOf": [{"type": "object"}, {"type": "null"}]},
        "errors": {"type": "array", "items": {"type": "object"}},
        "extensions": {"type": "object"},
    },
}

_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["query"],
    "properties": {
        "query": {"type": "string", "minLength": 1},
        "variables": {"anyOf": [{"type": "object"}, {"type": "null"}]},
        "operationName": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
}

_PARAMETERS: list[dict[str, Any]] = [
    {"name": "query", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "A GraphQL query (not a mutation); without one, a browser gets GraphiQL."},
    {"name": "variables", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "The variables, as a JSON object."},
    {"name": "operationName", "in": "query", "required": False, "schema": {"type": "string"}},
]  # fmt: skip


def _refused(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERRORS}}}


def document(route: APIRoute) -> None:
    """Describe the GET or POST `/graphql` route's request and answers in OpenAPI."""
    responses: dict[int | str, dict[str, Any]] = {
        200: {
            "description": "The result: data, and errors for the fields that failed.",
            "content": {"application/json": {"schema": _RESULT}},
        },
        400: _refused("A request refused as a whole: syntax, validation, limits, bad JSON."),
    }
    if "POST" in (route.methods or ()):
        responses[415] = _refused("A body other than JSON or multipart/form-data.")
        route.openapi_extra = {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _REQUEST}},
            }
        }
    else:
        responses[200]["content"]["text/html"] = {"schema": {"type": "string"}}
        route.openapi_extra = {"parameters": _PARAMETERS}
    route.responses = responses
