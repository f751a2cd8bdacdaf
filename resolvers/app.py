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
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from kg import __version__
from kg.errors import ModelKGError
from resolvers.errors import HttpError, from_modelkg_error
from resolvers.graph_store import router as graph_store_router
from resolvers.graphiql import mount_graphiql_assets
from resolvers.graphql.router import graphql_router
from resolvers.json_guard import JsonGuard
from resolvers.landing import router as landing_router
from resolvers.logs import configure_logging
from resolvers.metrics import install_metrics
from resolvers.middleware import AccessLog, RequestLimits
from resolvers.mlflow_api import install as install_mlflow_api
from resolvers.mlflow_api import unserved as mlflow_unserved
from resolvers.openapi import install_openapi
from resolvers.response_cache import ResponseCache
from resolvers.rest import install_docs, install_error_handlers
from resolvers.rest import router as rest_router
from resolvers.rest.tasks import start_runner
from resolvers.search_state import preload
from resolvers.services import Services, services
from resolvers.settings import ServerSettings
from resolvers.sparql import router as sparql_router
from resolvers.sparql_editor import mount_editor_assets
from resolvers.sparql_editor import router as sparql_editor_router
from resolvers.threads import run_in_worker
from resolvers.web import router as web_router

__all__ = ["SETTINGS_VARIABLE", "app_of_worker", "create_app"]


SETTINGS_VARIABLE = "MODELKG_SERVE_SETTINGS"
"""How `modelkg serve --workers N` hands its resolved settings to its worker processes (JSON)."""


def app_of_worker() -> FastAPI:
    """The app of one of `modelkg serve --workers N`'s processes: uvicorn builds each from
    this import string (`resolvers.app:app_of_worker`), with the settings the command
    resolved; its store is the one the command shares (`kg.store.serve_store`)."""
    configure_logging()  # a fresh process: the command's set-up is not inherited
    return create_app(ServerSettings.model_validate_json(os.environ[SETTINGS_VARIABLE]))


def create_app(settings: ServerSettings) -> FastAPI:
    """An app over the store named in `settings`, opened once at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        shared = Services.start(settings)
        app.state.services = shared
        try:
            # background tasks: what a stopped server left running is marked interrupted
            app.state.tasks = await run_in_worker(start_runner, shared)
            if settings.preload_embeddings:  # else the first search loads the model and syncs
                await run_in_worker(preload, shared.search)
            yield
        finally:
            if (runner := getattr(app.state, "tasks", None)) is not None:
                await run_in_worker(runner.stop)  # running tasks end `interrupted`
            await run_in_worker(shared.close)

    app = FastAPI(
        title="ModelKG", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    # FastAPI tries each route in turn, ~4 us a route: the APIs programs call in loops come
    # first, those of a few routes before REST's forty-odd; MLflow's ~50 routes are mounted
    # under their prefix (one check for every request after it). Measured: behind REST's
    # routes, a Graph Store GET spent ~0.3 ms of its ~1.3 ms of Python on routing.
    app.include_router(sparql_router)
    app.include_router(graph_store_router)
    app.include_router(graphql_router(settings))
    install_mlflow_api(app)
    app.include_router(rest_router)
    app.include_router(landing_router)
    app.include_router(web_router)
    app.include_router(sparql_editor_router)
    app.include_router(mlflow_unserved)
    mount_graphiql_assets(app)
    mount_editor_assets(app)
    install_docs(app)
    install_openapi(app)  # every status a route can answer, in /openapi.json
    install_error_handlers(app)
    app.add_middleware(JsonGuard)  # innermost: a guarded body is already within the cap
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
    install_metrics(app)  # outermost: times and counts every request

    @app.exception_handler(HttpError)
    async def http_error(_: Request, exc: HttpError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(ModelKGError)
    async def modelkg_error(_: Request, exc: ModelKGError) -> JSONResponse:
        return from_modelkg_error(exc).response()

    @app.get("/health")
    async def health(request: Request) -> dict[str, object]:
        """The store opens and answers: how many models it holds, and the version."""
        store = services(request).store
        return {"status": "ok", "version": __version__, "models": store.count_models()}

    return app
