"""The MLflow tracking and model-registry REST API, `/api/2.0/mlflow/...`: a second door onto
ModelKG's lifecycle, so an unmodified `mlflow` client logs to ModelKG and GraphQL sees the same
experiments, runs, metrics and versions.

Point the client at the server (`MLFLOW_TRACKING_URI=http://127.0.0.1:8000`) with the
operator's token (`MLFLOW_TRACKING_TOKEN`, sent as `Authorization: Bearer ...`, which every
write needs, as all of the app's writes do); reads are open. What the client asks that ModelKG
does not serve (artifacts, traces, logged models, `/api/3.0/...`,
`/api/2.0/mlflow-artifacts/...`) is answered as MLflow's server
answers an unknown endpoint: 404 `ENDPOINT_NOT_FOUND`, in MLflow's error body.

    resolvers.mlflow_api.messages   requests and answers as MLflow's protobuf messages; errors
    resolvers.mlflow_api.entities   lifecycle records <-> MLflow's entities
    resolvers.mlflow_api.tracking   experiments, runs, metrics
    resolvers.mlflow_api.registry   registered models, versions, stages, aliases

The API is mounted under its prefix (`install`), not included route by route: a request for
any other path costs one prefix check instead of a look at each of its ~50 routes.

>>> from fastapi import FastAPI
>>> from fastapi.testclient import TestClient
>>> app = FastAPI()
>>> install(app)
>>> answer = TestClient(app).get("/api/2.0/mlflow/artifacts/list")
>>> answer.status_code, answer.json()["error_code"]
(404, 'ENDPOINT_NOT_FOUND')
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response

from resolvers.mlflow_api import registry, tracking
from resolvers.mlflow_api.messages import MlflowRoute, error_response

__all__ = ["PREFIX", "install", "unserved"]

PREFIX = "/api/2.0/mlflow"
"""Where MLflow's client finds the API (`mlflow.utils.rest_utils._REST_API_PATH_PREFIX`)."""

_api = APIRouter(route_class=MlflowRoute)  # paths below PREFIX
_api.include_router(tracking.router)
_api.include_router(registry.router)
unserved = APIRouter(route_class=MlflowRoute)
"""MLflow's other APIs, none of them served: MLflow's not-found, included after every route."""

_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def install(app: FastAPI) -> None:
    """Serve MLflow's API from `app`: mounted under `PREFIX` (so the app stays the request's
    app: its services and error handlers, and every other request pays one check for MLflow's
    ~50 routes). Include `unserved` too, for MLflow's not-found on its other APIs."""
    app.mount(PREFIX, _api)


@_api.api_route("/{path:path}", methods=_METHODS, include_in_schema=False)
@unserved.api_route("/api/3.0/mlflow/{path:path}", methods=_METHODS, include_in_schema=False)
@unserved.api_route(
    "/api/2.0/mlflow-artifacts/{path:path}", methods=_METHODS, include_in_schema=False
)
async def not_served(request: Request, path: str) -> Response:
    """Anything else MLflow's client may call: MLflow's answer for an unknown endpoint."""
    return error_response(
        "ENDPOINT_NOT_FOUND",
        f"ModelKG does not serve {request.method} {request.url.path}: it serves MLflow's "
        "tracking and model-registry API (experiments, runs, metrics, registered models), "
        "not artifacts, logged models or traces",
    )
