"""`/graphql`: strawberry's FastAPI router with ModelKG's context and an offline GraphiQL.

A browser (GET, `Accept: text/html`) gets GraphiQL built from assets the app serves itself
(`resolvers.graphiql`); programs POST JSON, or multipart for file uploads (the ingest mutation).
`GET /graphql/schema.graphql` gives the SDL.
"""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from strawberry.fastapi import GraphQLRouter
from strawberry.types.unset import UNSET

from resolvers.graphiql import graphiql_response
from resolvers.graphql.context import GraphQLContext
from resolvers.graphql.openapi import document
from resolvers.graphql.schema import build_schema
from resolvers.services import services
from resolvers.settings import ServerSettings

__all__ = ["graphql_router"]

SCHEMA_HINT = "check the query against the schema (GET /graphql/schema.graphql)"


_REFUSALS = {
    "Unsupported content type": (
        415,
        "unsupported_media_type",
        "POST application/json (or multipart/form-data to upload files)",
    ),
    "Unable to parse request body as JSON": (400, "bad_json", "send the body as JSON"),
    "No GraphQL query found in the request": (
        400,
        "missing_query",
        'send {"query": "{ ... }"} (POST) or ?query=... (GET)',
    ),
    "mutations are not allowed when using GET": (
        400,
        "mutation_by_get",
        'POST the mutation as JSON: {"query": "mutation { ... }"}, with the bearer token',
    ),
}
"""Strawberry's refusals of a request as a whole (its reason -> status, code, hint); the
others keep strawberry's status, with code `bad_request`."""


_LIMIT_HINTS = (
    ("exceeds maximum operation depth", "nest fewer fields: ask for the nested models in a "
     "second query, by their ids"),
    ("aliases found", "ask for each field once: page through a list with `first` and `after` "
     "instead of repeating it under aliases"),
    ("Document contains more than", "send a shorter query: page through lists with `first` "
     "and `after` instead of spelling out each item"),
)  # fmt: skip
"""graphql-core's words for a query over one of this server's limits -> what to do instead."""


def _hint(message: str) -> str:
    """How to fix a query refused as a whole: its limit's advice, or the schema."""
    return next((hint for words, hint in _LIMIT_HINTS if words in message), SCHEMA_HINT)


class _Router(GraphQLRouter[GraphQLContext, None]):
    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """Strawberry answers a request it refuses whole (a wrong content type, a body that is
        not JSON) in plain text, and an unknown content type with 400: here, in GraphQL's
        error shape, and 415 for the content type, as the OpenAPI description says."""
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as exc:
            status, code, hint = _REFUSALS.get(
                exc.reason, (exc.status_code, "bad_request", SCHEMA_HINT)
            )
            body = {
                "data": None,
                "errors": [
                    {"message": exc.reason, "extensions": {"code": code, "field": None,
                                                           "hint": hint}}
                ],
            }  # fmt: skip
            return JSONResponse(body, status_code=status)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A browser following a link /graphql?query=... gets GraphiQL on that query; programs
        # (Accept: application/json, or curl's */*) keep getting results.
        return request.method == "GET" and "text/html" in request.headers.get("accept", "")

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return graphiql_response(request.url.path)

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """Every error in ModelKG's shape; a request refused as a whole (syntax, validation,
        limits, or a bad argument that left no data) is HTTP 400, not 200."""
        for data in response_data if isinstance(response_data, list) else [response_data]:
            errors = data.get("errors") or []
            for error in errors:
                extensions = error.setdefault("extensions", {}) or {}
                error["extensions"] = extensions
                extensions.setdefault("code", "invalid_query")
                extensions.setdefault("field", None)
                extensions.setdefault("hint", _hint(str(error.get("message", ""))))
            if errors and data.get("data") is None and sub_response.status_code in (None, 200):
                sub_response.status_code = 400
        return super().create_response(response_data, sub_response)


def graphql_router(settings: ServerSettings) -> GraphQLRouter[GraphQLContext, None]:
    """The router serving `/graphql` with this server's limits."""
    schema = build_schema(settings)

    async def context(request: Request) -> GraphQLContext:
        return GraphQLContext(services(request))

    router = _Router(
        schema,
        path="/graphql",
        context_getter=context,
        multipart_uploads_enabled=True,
    )
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path == "/graphql":
            document(route)
    sdl = schema.as_str() + "\n"

    @router.get("/graphql/schema.graphql", response_class=PlainTextResponse)
    async def schema_text() -> Any:
        """The GraphQL schema as SDL."""
        return PlainTextResponse(sdl)

    return router
