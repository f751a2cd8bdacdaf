"""MLflow's tracking API (experiments, runs, metrics) over `kg.lifecycle.Tracking`.

Each endpoint reads MLflow's request message, makes ONE call to the lifecycle core (which
checks MLflow's rules and writes, or refuses and writes nothing) in a worker thread, and
answers MLflow's response message. Paths and methods are those MLflow's client calls
(`mlflow.store.tracking.rest_store`), under `/api/2.0/mlflow`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from mlflow.entities import RunStatus, ViewType
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST
from mlflow.protos.service_pb2 import (
    CreateExperiment,
    CreateRun,
    DeleteExperiment,
    DeleteExperimentTag,
    DeleteRun,
    DeleteTag,
    GetExperiment,
    GetExperimentByName,
    GetMetricHistory,
    GetRun,
    LogBatch,
    LogInputs,
    LogMetric,
    LogParam,
    RestoreExperiment,
    RestoreRun,
    SearchExperiments,
    SearchRuns,
    SetExperimentTag,
    SetTag,
    UpdateExperiment,
    UpdateRun,
)
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD
from mlflow.utils import validation
from mlflow.utils.search_utils import SearchUtils

from kg.lifecycle.records import Metric
from kg.lifecycle.rules import page_start
from kg.lifecycle.search import search_runs as find_runs
from kg.lifecycle.tracking import Tracking
from resolvers.mlflow_api import entities
from resolvers.mlflow_api.messages import (
    WRITE,
    MlflowRoute,
    answer,
    answer_json,
    page_size,
    read,
    require,
)
from resolvers.services import services
from resolvers.threads import run_in_worker

__all__ = ["router"]

router = APIRouter(route_class=MlflowRoute, tags=["mlflow"])


def _tracking(request: Request) -> Tracking:
    return Tracking(services(request).store)


def _run_id(message: object) -> str:
    """The run a message names: MLflow's client sends both `run_id` and its old name
    `run_uuid`."""
    run_id = getattr(message, "run_id", "") or getattr(message, "run_uuid", "")
    if not run_id:
        raise MlflowException(
            "Missing value for required parameter 'run_id'. See the API docs for more "
            "information about request parameters.",
            error_code=INVALID_PARAMETER_VALUE,
        )
    return str(run_id)


# -- experiments -------------------------------------------------------------------------------
@router.post("/experiments/create", dependencies=WRITE)
async def create_experiment(request: Request) -> Response:
    """Create an experiment (its name must be free); answers its id."""
    message = await read(request, CreateExperiment())
    require(message, "name")
    experiment_id = await run_in_worker(
        _tracking(request).create_experiment,
        message.name,
        artifact_location=message.artifact_location or None,
        tags={tag.key: tag.value for tag in message.tags},
    )
    return answer(CreateExperiment.Response(experiment_id=experiment_id))


@router.get("/experiments/get")
async def get_experiment(request: Request) -> Response:
    """One experiment by id."""
    message = await read(request, GetExperiment())
    require(message, "experiment_id")
    found = await run_in_worker(_tracking(request).get_experiment, message.experiment_id)
    return answer(GetExperiment.Response(experiment=entities.experiment(found)))


@router.get("/experiments/get-by-name")
async def get_experiment_by_name(request: Request) -> Response:
    """One experiment by name (active or deleted); RESOURCE_DOES_NOT_EXIST when there is none,
    which MLflow's client reads as "no such experiment" (and `set_experiment` then creates it)."""
    message = await read(request, GetExperimentByName())
    require(message, "experiment_name")
    found = await run_in_worker(_tracking(request).get_experiment_by_name, message.experiment_name)
    if found is None:
        raise MlflowException(
            f"Could not find experiment with name '{message.experiment_name}'",
            error_code=RESOURCE_DOES_NOT_EXIST,
        )
    return answer(GetExperimentByName.Response(experiment=entities.experiment(found)))


@router.post("/experiments/search")
async def search_experiments(request: Request) -> Response:
    """Experiments matching MLflow's filter grammar, in its orderings, a page at a time."""
    message = await read(request, SearchExperiments())
    page = await run_in_worker(
        _tracking(request).search_experiments,
        view=ViewType.to_string(ViewType.from_proto(message.view_type)),
        filter_string=message.filter or None,
        max_results=page_size(
            message, default=SEARCH_MAX_RESULTS_DEFAULT, limit=SEARCH_MAX_RESULTS_THRESHOLD
        ),
        order_by=list(message.order_by),
        page_token=message.page_token or None,
    )
    response = SearchExperiments.Response(experiments=[entities.experiment(e) for e in page.items])
    if page.next_token:
        response.next_page_token = page.next_token
    return answer(response)


@router.post("/experiments/update", dependencies=WRITE)
async def update_experiment(request: Request) -> Response:
    """Rename an experiment."""
    message = await read(request, UpdateExperiment())
    require(message, "experiment_id", "new_name")
    await run_in_worker(
        _tracking(request).update_experiment, message.experiment_id, name=message.new_name
    )
    return answer(UpdateExperiment.Response())


@router.post("/experiments/delete", dependencies=WRITE)
async def delete_experiment(request: Request) -> Response:
    """Mark an experiment and its runs deleted (restorable)."""
    message = await read(request, DeleteExperiment())
    require(message, "experiment_id")
    await run_in_worker(_tracking(request).delete_experiment, message.experiment_id)
    return answer(DeleteExperiment.Response())


@router.post("/experiments/restore", dependencies=WRITE)
async def restore_experiment(request: Request) -> Response:
    """Bring a deleted experiment and its runs back."""
    message = await read(request, RestoreExperiment())
    require(message, "experiment_id")
    await run_in_worker(_tracking(request).restore_experiment, message.experiment_id)
    return answer(RestoreExperiment.Response())


@router.post("/experiments/set-experiment-tag", dependencies=WRITE)
async def set_experiment_tag(request: Request) -> Response:
    """Set (or change) one tag of an active experiment."""
    message = await read(request, SetExperimentTag())
    require(message, "experiment_id", "key")
    await run_in_worker(
        _tracking(request).set_experiment_tag, message.experiment_id, message.key, message.value
    )
    return answer(SetExperimentTag.Response())


@router.post("/experiments/delete-experiment-tag", dependencies=WRITE)
async def delete_experiment_tag(request: Request) -> Response:
    """Remove one tag of an experiment."""
    message = await read(request, DeleteExperimentTag())
    require(message, "experiment_id", "key")
    await run_in_worker(
        _tracking(request).delete_experiment_tag, message.experiment_id, message.key
    )
    return answer(DeleteExperimentTag.Response())


# -- runs --------------------------------------------------------------------------------------
@router.post("/runs/create", dependencies=WRITE)
async def create_run(request: Request) -> Response:
    """Start a run in an active experiment, with its tags (one write)."""
    message = await read(request, CreateRun())
    run = await run_in_worker(
        _tracking(request).create_run,
        message.experiment_id or "0",
        run_name=message.run_name or None,
        start_time=message.start_time if message.HasField("start_time") else None,
        tags={tag.key: tag.value for tag in message.tags},
        user_id=message.user_id or None,
    )
    found = await run_in_worker(_tracking(request).get_run, run.run_id)
    return answer(CreateRun.Response(run=entities.run(found)))


@router.post("/runs/update", dependencies=WRITE)
async def update_run(request: Request) -> Response:
    """End a run (FINISHED, FAILED, KILLED), or rename it."""
    message = await read(request, UpdateRun())
    info = await run_in_worker(
        _tracking(request).update_run,
        _run_id(message),
        status=RunStatus.to_string(message.status) if message.HasField("status") else None,
        end_time=message.end_time if message.HasField("end_time") else None,
        run_name=message.run_name or None,
    )
    return answer(UpdateRun.Response(run_info=entities.run_info(info)))


@router.get("/runs/get")
async def get_run(request: Request) -> Response:
    """One run: its info, the latest point of each metric, params, tags, datasets."""
    message = await read(request, GetRun())
    found = await run_in_worker(_tracking(request).get_run, _run_id(message))
    return answer_json({"run": entities.run_json(found)})


@router.post("/runs/search")
async def search_runs(request: Request) -> Response:
    """Runs of the experiments matching an MLflow filter string, in MLflow's order."""
    message = await read(request, SearchRuns())
    page = await run_in_worker(
        find_runs,
        _tracking(request),
        list(message.experiment_ids),
        message.filter or None,
        view=ViewType.to_string(ViewType.from_proto(message.run_view_type)),
        max_results=page_size(
            message, default=SEARCH_MAX_RESULTS_DEFAULT, limit=SEARCH_MAX_RESULTS_THRESHOLD
        ),
        order_by=list(message.order_by),
        page_token=message.page_token or None,
    )
    found: dict[str, Any] = {}  # SearchRuns.Response, from each run's JSON (`run_json`)
    if page.items:
        found["runs"] = [entities.run_json(r) for r in page.items]
    if page.next_token:
        found["next_page_token"] = page.next_token
    return answer_json(found)


@router.post("/runs/delete", dependencies=WRITE)
async def delete_run(request: Request) -> Response:
    """Mark a run deleted (restorable; searches leave it out)."""
    message = await read(request, DeleteRun())
    await run_in_worker(_tracking(request).delete_run, _run_id(message))
    return answer(DeleteRun.Response())


@router.post("/runs/restore", dependencies=WRITE)
async def restore_run(request: Request) -> Response:
    """Bring a deleted run back."""
    message = await read(request, RestoreRun())
    await run_in_worker(_tracking(request).restore_run, _run_id(message))
    return answer(RestoreRun.Response())


@router.post("/runs/log-metric", dependencies=WRITE)
async def log_metric(request: Request) -> Response:
    """One point of a metric series (NaN and infinities included, as MLflow keeps them)."""
    message = await read(request, LogMetric())
    run_id = _run_id(message)
    require(message, "key", "value", "timestamp")
    await run_in_worker(
        _tracking(request).log_metric,
        run_id,
        message.key,
        message.value,
        timestamp=message.timestamp,
        step=message.step,
    )
    return answer(LogMetric.Response())


@router.post("/runs/log-parameter", dependencies=WRITE)
async def log_param(request: Request) -> Response:
    """Set a param: once, or again with the same value."""
    message = await read(request, LogParam())
    run_id = _run_id(message)
    require(message, "key")
    await run_in_worker(_tracking(request).log_param, run_id, message.key, message.value)
    return answer(LogParam.Response())


@router.post("/runs/set-tag", dependencies=WRITE)
async def set_tag(request: Request) -> Response:
    """Set (or change) one tag of a run."""
    message = await read(request, SetTag())
    run_id = _run_id(message)
    require(message, "key")
    await run_in_worker(_tracking(request).set_tag, run_id, message.key, message.value)
    return answer(SetTag.Response())


@router.post("/runs/delete-tag", dependencies=WRITE)
async def delete_tag(request: Request) -> Response:
    """Remove one tag of a run."""
    message = await read(request, DeleteTag())
    run_id = _run_id(message)
    require(message, "key")
    await run_in_worker(_tracking(request).delete_tag, run_id, message.key)
    return answer(DeleteTag.Response())


@router.post("/runs/log-batch", dependencies=WRITE)
async def log_batch(request: Request) -> Response:
    """Metrics, params and tags in one request, written in one update: all or, on any error
    (a body over 1 MB, more than 1,000 metrics, a changed param, an ended run), nothing."""
    body = await request.body()
    validation._validate_batch_log_api_req(body)
    message = await read(request, LogBatch())
    run_id = _run_id(message)
    for index, point in enumerate(message.metrics):
        require(point, "key", "value", "timestamp", within=f"metrics[{index}].")
    await run_in_worker(
        _tracking(request).log_batch,
        run_id,
        metrics=[Metric(m.key, m.value, m.timestamp, m.step) for m in message.metrics],
        params=[(p.key, p.value) for p in message.params],
        tags=[(t.key, t.value) for t in message.tags],
    )
    return answer(LogBatch.Response())


@router.post("/runs/log-inputs", dependencies=WRITE)
async def log_inputs(request: Request) -> Response:
    """The datasets a run used, each with its context (training, evaluation, ...)."""
    message = await read(request, LogInputs())
    run_id = _run_id(message)
    if len(message.models):
        raise MlflowException(
            "Logged models (MLflow's `models` inputs) are not kept by ModelKG: log the datasets "
            "alone, and register the model as a version of a registered model",
            error_code=INVALID_PARAMETER_VALUE,
        )
    await run_in_worker(
        _tracking(request).log_inputs,
        run_id,
        [entities.dataset_input(d) for d in message.datasets],
    )
    return answer(LogInputs.Response())


# -- metrics -----------------------------------------------------------------------------------
@router.get("/metrics/get-history")
async def get_metric_history(request: Request) -> Response:
    """Every point logged for one metric of a run, by step then time (a page of
    `max_results` points when asked)."""
    message = await read(request, GetMetricHistory())
    run_id = _run_id(message)
    require(message, "metric_key")
    points = await run_in_worker(_tracking(request).metric_history, run_id, message.metric_key)
    response = GetMetricHistory.Response()
    if message.HasField("max_results"):
        if message.max_results <= 0:
            raise MlflowException(
                f"Invalid value {message.max_results} for parameter 'max_results' supplied. "
                "It must be a positive integer.",
                error_code=INVALID_PARAMETER_VALUE,
            )
        start = page_start(message.page_token or None)
        end = start + message.max_results
        if end < len(points):
            response.next_page_token = SearchUtils.create_page_token(end)
        points = points[start:end]
    response.metrics.extend(entities.metric(p) for p in points)
    return answer(response)
