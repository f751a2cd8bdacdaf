"""`/graphql`: strawberry's FastAPI router with ModelKG's context and an offline GraphiQL.

A browser (GET, `Accept: text/html`) gets GraphiQL built from assets the app serves itself
(`resolvers.graphiql`); programs POST JSON, or multipart for file uploads (the ingest mutation).
`GET /graphql/schema.graphql` gives the SDL.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from strawberry.fastapi import GraphQLRouter

from resolvers.graphiql import graphiql_response
from resolvers.graphql.context import GraphQLContext
from resolvers.graphql.schema import build_schema
from resolvers.services import services
from resolvers.settings import ServerSettings

__all__ = ["graphql_router"]

SCHEMA_HINT = "check the query against the schema (GET /graphql/schema.graphql)"


class _Router(GraphQLRouter[GraphQLContext, None]):
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
                extensions.setdefault("hint", SCHEMA_HINT)
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
    sdl = schema.as_str() + "\n"

    @router.get("/graphql/schema.graphql", response_class=PlainTextResponse)
    async def schema_text() -> Any:
        """The GraphQL schema as SDL."""
        return PlainTextResponse(sdl)

    return router
