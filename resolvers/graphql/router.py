"""`/graphql`: strawberry's FastAPI router with ModelKG's context and an offline GraphiQL.

A browser (GET, `Accept: text/html`) gets GraphiQL built from assets the app serves itself
(`resolvers.graphiql`); programs POST JSON, or multipart for file uploads (the ingest mutation).
`GET /graphql/schema.graphql` gives the SDL.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from strawberry.fastapi import GraphQLRouter

from resolvers.graphiql import graphiql_response
from resolvers.graphql.context import CompatCache, GraphQLContext
from resolvers.graphql.schema import build_schema
from resolvers.settings import ServerSettings

__all__ = ["graphql_router"]


class _Router(GraphQLRouter[GraphQLContext, None]):
    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return graphiql_response(request.url.path)


def graphql_router(settings: ServerSettings) -> GraphQLRouter[GraphQLContext, None]:
    """The router serving `/graphql` with this server's limits."""
    schema = build_schema(settings)
    compat = CompatCache()

    async def context(request: Request) -> GraphQLContext:
        return GraphQLContext(request.app.state.store, request.app.state.settings, compat)

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
