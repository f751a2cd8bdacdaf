"""A tracking server that does no work: the `mlflow` client's floor (bench/lifecycle.py).

Every request is read whole and answered at once, as uvicorn (httptools) serves both real
servers: `runs/create` with a run, `experiments/create` with an id, anything else `{}`. The
client's time against it is what the client and HTTP cost on their own: the least a call can
take on this machine, whatever the server. The ratio MLflow's time / this one is the best any
server could reach on that call.

Run: .venv/bin/python -m uvicorn --app-dir bench mlflow_floor:app --port 5999 --http httptools
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

RUN_ID = "0" * 32
_ANSWERS = {
    "/api/2.0/mlflow/runs/create": (
        b'{"run": {"info": {"run_id": "%s", "run_uuid": "%s", "experiment_id": "0", '
        b'"status": "RUNNING", "lifecycle_stage": "active"}, "data": {}}}'
        % (RUN_ID.encode(), RUN_ID.encode())
    ),
    "/api/2.0/mlflow/experiments/create": b'{"experiment_id": "0"}',
}


async def answer(request: Request) -> Response:
    await request.body()
    return Response(_ANSWERS.get(request.url.path, b"{}"), media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST", "PATCH"])])
