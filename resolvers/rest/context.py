"""What every REST handler reaches: the store, the settings, the compatibility index, a model
by the id a client wrote; and the route class that counts the store queries a request cost.

Each response carries `X-Store-Queries`, the REST twin of GraphQL's `extensions.storeQueries`:
a list page costs the same handful of queries for one model as for a hundred, and a client (or
a test) can see so. The compatibility index is shared through `Services.compat`, so the
first request that needs it builds it and later ones, REST or GraphQL, reuse it until the store
is written.

>>> error = not_found_error("gtp2", "did you mean gpt2?")
>>> error.status, error.code, error.field, error.hint
(404, 'not_found', 'model_id', 'did you mean gpt2?')
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute

from kg.compat.index import CompatIndex
from kg.errors import InputError
from kg.models.records import find_models
from kg.reason.explain import resolve_model
from kg.store.base import ModelStore
from kg.store.embedded import QUERY_TALLY
from resolvers.errors import HttpError
from resolvers.rest.schemas import ErrorResponse
from resolvers.services import Services, services
from resolvers.settings import ServerSettings
from resolvers.threads import run_in_worker

__all__ = [
    "ERRORS",
    "CountedRoute",
    "SettingsDep",
    "StoreDep",
    "compat_index",
    "find_model",
    "not_found_error",
]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "A bad parameter, named in `error.field`."},
    404: {"model": ErrorResponse, "description": "No such model; `error.hint` has close names."},
}
"""The error answers most endpoints can give, for OpenAPI."""


class CountedRoute(APIRoute):
    """A route that answers with `X-Store-Queries`: how many SPARQL queries it cost."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def counted(request: Request) -> Response:
            tally = [0]
            token = QUERY_TALLY.set(tally)  # worker threads inherit it (run_in_worker)
            try:
                response = await handler(request)
            finally:
                QUERY_TALLY.reset(token)
            response.headers["X-Store-Queries"] = str(tally[0])
            return response

        return counted


def _store(request: Request) -> ModelStore:
    return services(request).store


def _settings(request: Request) -> ServerSettings:
    return services(request).settings


ServicesDep = Annotated[Services, Depends(services)]
StoreDep = Annotated[ModelStore, Depends(_store)]
SettingsDep = Annotated[ServerSettings, Depends(_settings)]


async def compat_index(request: Request) -> CompatIndex:
    """The compatibility index for the store as it is now (built off the event loop)."""
    shared = services(request)
    index: CompatIndex = await run_in_worker(shared.compat.get, shared.store)
    return index


def not_found_error(model_id: str, close_names: str | None = None) -> HttpError:
    """404 for a model id; `close_names` is kg's "did you mean ...?" when it has one."""
    suggests = close_names is not None and close_names.startswith("did you mean")
    return HttpError(
        404,
        "not_found",
        f"no model `{model_id}` in the registry",
        field="model_id",
        hint=close_names if suggests else "list models at /api/v1/models",
    )


def find_model(store: ModelStore, model_id: str) -> str:
    """The IRI of the model a hub id, name or IRI names; 404 with close names when none.

    The common case is one indexed look-up; only a miss reads every name, for the hint.
    """
    found = find_models(store, [model_id]).get(model_id)
    if found is not None:
        return found
    try:
        return resolve_model(store, model_id).value
    except InputError as exc:
        close_names = exc.hint
    # raised outside the handler: query results belong to this worker thread, and the caught
    # error's traceback would carry them to the event loop's
    raise not_found_error(model_id, close_names)
