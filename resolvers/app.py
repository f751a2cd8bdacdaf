"""The FastAPI app `modelkg serve` runs: `/` (a landing page), `/sparql` (with a SPARQL editor at
`/sparql/editor`), `/graphql` (with GraphiQL), `/api/v1`, `/health`, OpenAPI at `/docs`; request
bounds, CORS and the access log wrap them all.

>>> import tempfile
>>> from resolvers.settings import ServerSettings
>>> app = create_app(ServerSettings(store=tempfile.mkdtemp() + "/kg"))
>>> from fastapi.testclient import TestClient
>>> with TestClient(app) as client:
...     client.get("/health").json()["models"], client.get("/sparql").headers["content-type"]
(0, 'text/turtle; charset=utf-8')
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from kg import __version__
from kg.errors import ModelKGError
from kg.sparql.forwarded import ForwardedQueries
from kg.sparql.isolation import IsolatedQueries
from kg.store import ModelStore, serve_store
from kg.store.embedded import EmbeddedStore
from kg.store.holder import record_holder, release_holder
from kg.store.shared import SharedStore
from kg.store.snapshots import PublishedCheckpoints, Snapshots
from resolvers.errors import HttpError, from_modelkg_error
from resolvers.graph_store import router as graph_store_router
from resolvers.graphiql import mount_graphiql_assets
from resolvers.graphql.context import CompatCache
from resolvers.graphql.router import graphql_router
from resolvers.landing import router as landing_router
from resolvers.middleware import AccessLog, RequestLimits
from resolvers.response_cache import ResponseCache
from resolvers.rest import install_docs, install_error_handlers
from resolvers.rest import router as rest_router
from resolvers.search_state import preload
from resolvers.settings import ServerSettings
from resolvers.sparql import router as sparql_router
from resolvers.sparql_editor import mount_editor_assets
from resolvers.sparql_editor import router as sparql_editor_router

__all__ = ["create_app"]


def _client_queries(
    store: ModelStore, settings: ServerSettings
) -> IsolatedQueries | ForwardedQueries:
    """Where clients' SPARQL runs: in worker processes killed at the timeout over the
    embedded store (`kg.sparql.isolation`), on the remote server's engine over a remote one."""
    if isinstance(store, SharedStore | EmbeddedStore):
        checkpoints = (
            PublishedCheckpoints(store)
            if isinstance(store, SharedStore)
            else Snapshots(store, grace_seconds=settings.query_timeout + 5)
        )
        # two per core, shared among the serving processes: while the server hands one
        # worker's answer back and the next job over (~1 ms), the core has another worker's
        # query to run; with one per core, 10 clients of a 5 ms lookup kept each worker idle
        # ~30% of the time
        serving = int(getattr(settings, "workers", 1))
        return IsolatedQueries(
            checkpoints,
            workers=settings.query_workers or max(2, 2 * (os.cpu_count() or 1) // serving),
            timeout=settings.query_timeout,
            max_per_client=settings.max_queries_per_client,
            max_result_bytes=settings.max_result_bytes,
        )
    return ForwardedQueries(
        store,
        timeout=settings.query_timeout,
        max_per_client=settings.max_queries_per_client,
        max_result_bytes=settings.max_result_bytes,
    )


def create_app(settings: ServerSettings) -> FastAPI:
    """An app over the store named in `settings`, opened once at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = serve_store(
            settings.store,
            grace_seconds=settings.query_timeout + 5,
            write_timeout=settings.query_timeout,
        )
        app.state.store = store
        app.state.settings = settings
        app.state.compat_cache = CompatCache()  # one compatibility index for GraphQL and REST
        app.state.queries = _client_queries(store, settings)
        recorded = isinstance(store, SharedStore) and store.owner
        if recorded:  # commands beside the server find it, and share the store with it
            record_holder(store.location, f"http://{settings.host}:{settings.port}")
        try:
            if settings.preload_embeddings:  # else the first search loads the model and syncs
                await run_in_threadpool(preload, app.state)
            yield
        finally:
            if recorded:
                release_holder(store.location)
            await run_in_threadpool(app.state.queries.close)
            app.state.store.close()

    app = FastAPI(
        title="ModelKG", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.include_router(landing_router)
    app.include_router(sparql_router)
    app.include_router(graph_store_router)
    app.include_router(sparql_editor_router)
    app.include_router(graphql_router(settings))
    app.include_router(rest_router)
    mount_graphiql_assets(app)
    mount_editor_assets(app)
    install_docs(app)
    install_error_handlers(app)
    app.add_middleware(ResponseCache, max_bytes=settings.response_cache_mb * 1024 * 1024)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
        )
    app.add_middleware(
        RequestLimits,
        max_bytes=settings.max_request_bytes,
        timeout=settings.query_timeout,
    )
    app.add_middleware(AccessLog)

    @app.exception_handler(HttpError)
    async def http_error(_: Request, exc: HttpError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(ModelKGError)
    async def modelkg_error(_: Request, exc: ModelKGError) -> JSONResponse:
        return from_modelkg_error(exc).response()

    @app.get("/health")
    async def health(request: Request) -> dict[str, object]:
        """The store opens and answers: how many models it holds, and the version."""
        store = request.app.state.store
        return {"status": "ok", "version": __version__, "models": store.count_models()}

    return app
