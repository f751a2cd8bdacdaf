"""The lifecycle in REST, under `/api/v1`: experiments, runs, metric history, leaderboards,
artifacts (uploaded bytes checked against their checksum), versions with approval and aliases,
deployments with rollback, lineage. Reads are open; every write needs the bearer token.

The same `kg.lifecycle` calls as GraphQL, the CLI and MLflow's API, with the records written
as JSON under camelCase names. Uploaded artifacts are kept beside the store
(`{store}.artifacts/{run id}/{path}`), written only once their checksum matched.

>>> camel({"run_id": "1", "latest_metrics": [{"last_value": 2}]})
{'runId': '1', 'latestMetrics': [{'lastValue': 2}]}
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from pydantic import Field
from pydantic.alias_generators import to_camel

from kg import lifecycle
from kg.atomic import write_atomically
from kg.errors import LifecycleError
from kg.lifecycle.graph import now_millis
from resolvers.rest.context import ServicesDep
from resolvers.rest.patterns import CURSOR
from resolvers.rest.schemas import ErrorResponse, _Shape
from resolvers.services import Services
from resolvers.threads import run_in_worker
from resolvers.update import check_writes

__all__ = ["camel", "router"]

router = APIRouter(
    tags=["lifecycle"],
    responses={
        404: {"model": ErrorResponse, "description": "No such experiment, run, model, version, "
              "alias or target."},
        409: {"model": ErrorResponse, "description": "A name already taken, or a state that "
              "forbids the write (an ended run, a rejected version)."},
    },
)  # fmt: skip
Token = Annotated[str | None, Header(alias="Authorization", description="`Bearer <token>`")]


def camel(value: Any) -> Any:
    """Records (dataclasses, dicts, lists) as JSON with camelCase keys."""
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {to_camel(str(k)): camel(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [camel(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN: JSON has no such number
        return None
    return value


def _writes(shared: Services, authorization: str | None) -> None:
    check_writes(shared.settings, authorization)


class ExperimentIn(_Shape):
    name: str
    description: str | None = None


class RunIn(_Shape):
    name: str | None = None
    seed: int | None = None
    code_version: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class MetricIn(_Shape):
    key: str
    value: float
    step: int = 0
    timestamp: int | None = None


class DatasetIn(_Shape):
    name: str
    digest: str
    source: str = ""
    context: str = ""


class BatchIn(_Shape):
    metrics: list[MetricIn] = Field(default_factory=list)
    params: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    datasets: list[DatasetIn] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)


class EndIn(_Shape):
    status: str = "finished"


class ArtifactIn(_Shape):
    path: str
    kind: str = "other"
    uri: str | None = None
    checksum: str | None = None
    size: int | None = None
    step: int | None = None
    epoch: int | None = None
    best: bool = False


class VersionIn(_Shape):
    run_id: str | None = None
    source: str | None = None
    model: str | None = None
    fine_tuned_from: list[str] = Field(default_factory=list)
    description: str = ""


class DecisionIn(_Shape):
    status: str
    by: str
    notes: str = ""


class AliasIn(_Shape):
    version: str


class DeployIn(_Shape):
    name: str
    version: str
    strategy: str = "blue-green"
    traffic_share: float | None = None
    sla: dict[str, float] = Field(default_factory=dict)
    by: str = ""


class RollbackIn(_Shape):
    by: str = ""


# -- experiments and runs -----------------------------------------------------------------------
@router.get("/experiments", summary="Experiments")
async def experiments(shared: ServicesDep, deleted: bool = False) -> Any:
    """Active experiments (`deleted=true`: the deleted ones), with their tags."""
    tracking = lifecycle.Tracking(shared.store)
    view = "deleted_only" if deleted else "active_only"
    page = await run_in_worker(tracking.search_experiments, view=view)
    return camel(page.items)


@router.post("/experiments", status_code=201, summary="Create an experiment (bearer token)")
async def create_experiment(
    shared: ServicesDep, body: ExperimentIn, authorization: Token = None
) -> Any:
    """A new experiment; its name must be free (409 otherwise)."""
    _writes(shared, authorization)
    tracking = lifecycle.Tracking(shared.store)

    def create() -> lifecycle.Experiment:
        made = tracking.create_experiment(body.name, description=body.description)
        return tracking.get_experiment(made)

    return camel(await run_in_worker(create))


@router.get("/experiments/{experiment_id}/runs", summary="Runs of an experiment, filtered")
async def runs(
    shared: ServicesDep,
    experiment_id: str,
    filter: Annotated[str, Query(description="MLflow's grammar: metrics.acc > 0.9")] = "",
    order_by: Annotated[list[str] | None, Query(alias="orderBy")] = None,
    first: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[
        str | None,
        Query(pattern=CURSOR, description="`next` of the last page."),
    ] = None,
) -> Any:
    """An experiment's runs matching an MLflow filter string, in order, a page at a time."""
    tracking = lifecycle.Tracking(shared.store)
    page = await run_in_worker(
        lifecycle.search_runs,
        tracking,
        [experiment_id],
        filter,
        max_results=first,
        order_by=order_by or [],
        page_token=after,
    )
    return {"runs": camel(page.items), "next": page.next_token}


@router.get("/experiments/{experiment_id}/leaderboard", summary="Runs ranked by a metric")
async def leaderboard(
    shared: ServicesDep,
    experiment_id: str,
    metric: str,
    goal: str = "max",
    value: str = "last",
    first: Annotated[int, Query(ge=1, le=1000)] = 10,
) -> Any:
    """An experiment's active runs ranked by a metric: `goal` max or min, `value` last or best."""
    tracking = lifecycle.Tracking(shared.store)
    rows = await run_in_worker(
        lifecycle.leaderboard, tracking, experiment_id, metric, goal=goal, value=value, limit=first
    )
    return camel(rows)


@router.post(
    "/experiments/{experiment_id}/runs", status_code=201, summary="Start a run (bearer token)"
)
async def start_run(
    shared: ServicesDep, experiment_id: str, body: RunIn, authorization: Token = None
) -> Any:
    """Start a run in an active experiment (experiment 0 is made when first used)."""
    _writes(shared, authorization)
    tracking = lifecycle.Tracking(shared.store)
    made = await run_in_worker(
        tracking.create_run,
        experiment_id,
        run_name=body.name,
        seed=body.seed,
        code_version=body.code_version,
        tags=body.tags,
    )
    return camel(made)


@router.get("/runs/{run_id}", summary="A run: params, latest metrics, tags, datasets, artifacts")
async def run(shared: ServicesDep, run_id: str) -> Any:
    """A run: info, params, latest metrics, tags, datasets used and produced, artifacts."""
    return camel(await run_in_worker(lifecycle.Tracking(shared.store).get_run, run_id))


@router.post("/runs/{run_id}/batch", summary="Log metrics, params, tags, datasets (bearer token)")
async def log_batch(
    shared: ServicesDep, run_id: str, body: BatchIn, authorization: Token = None
) -> Any:
    """One batch, written whole or not at all; params are set once."""
    _writes(shared, authorization)
    tracking = lifecycle.Tracking(shared.store)
    now = now_millis()
    metrics = [
        lifecycle.Metric(m.key, m.value, m.timestamp if m.timestamp is not None else now, m.step)
        for m in body.metrics
    ]

    def log() -> lifecycle.Run:
        if metrics or body.params or body.tags:
            tracking.log_batch(
                run_id,
                metrics=metrics,
                params=list(body.params.items()),
                tags=list(body.tags.items()),
            )
        if body.datasets or body.models:
            datasets = [
                lifecycle.DatasetInput(d.name, d.digest, source=d.source, context=d.context)
                for d in body.datasets
            ]
            tracking.log_inputs(run_id, datasets, models=body.models)
        return tracking.get_run(run_id)

    return camel(await run_in_worker(log))


@router.post("/runs/{run_id}/end", summary="End a run (bearer token)")
async def end_run(
    shared: ServicesDep, run_id: str, body: EndIn, authorization: Token = None
) -> Any:
    """End a run (finished, failed or killed): nothing more can be logged to it."""
    _writes(shared, authorization)
    tracking = lifecycle.Tracking(shared.store)
    return camel(await run_in_worker(tracking.update_run, run_id, status=body.status))


@router.get("/runs/{run_id}/metrics/{key:path}", summary="Every point of one metric")
async def history(shared: ServicesDep, run_id: str, key: str) -> Any:
    """Every point logged for one metric of a run, by step then time."""
    tracking = lifecycle.Tracking(shared.store)
    return camel(await run_in_worker(tracking.metric_history, run_id, key))


@router.post("/runs/{run_id}/artifacts", summary="Record an artifact by URI (bearer token)")
async def artifact_by_uri(
    shared: ServicesDep, run_id: str, body: ArtifactIn, authorization: Token = None
) -> Any:
    """The checksum is recorded as declared: the server never fetches the URI."""
    _writes(shared, authorization)
    tracking = lifecycle.Tracking(shared.store)
    found = await run_in_worker(
        lifecycle.log_artifact,
        tracking,
        run_id,
        body.path,
        kind=body.kind,
        uri=body.uri,
        checksum=body.checksum,
        size=body.size,
        step=body.step,
        epoch=body.epoch,
        best=body.best,
    )
    return camel(found)


@router.put("/runs/{run_id}/artifacts/{path:path}", summary="Upload an artifact (bearer token)")
async def upload_artifact(
    request: Request,
    shared: ServicesDep,
    run_id: str,
    path: str,
    kind: str = "other",
    checksum: Annotated[str | None, Query(description="sha256:HEX or blake3:HEX; checked")] = None,
    step: int | None = None,
    epoch: int | None = None,
    best: bool = False,
    authorization: Token = None,
) -> Any:
    """The body is the artifact's bytes: their checksum is computed (and must equal
    `checksum` when given) before anything is kept or recorded."""
    _writes(shared, authorization)
    content = await request.body()
    tracking = lifecycle.Tracking(shared.store)
    target = _artifact_file(shared, run_id, path)

    def keep() -> lifecycle.Artifact:
        found = lifecycle.log_artifact(
            tracking,
            run_id,
            path,
            kind=kind,
            content=content,
            checksum=checksum,
            uri=target.as_uri(),
            step=step,
            epoch=epoch,
            best=best,
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, content)
        return found

    return camel(await run_in_worker(keep))


def _artifact_file(shared: Services, run_id: str, path: str) -> Path:
    """Where an uploaded artifact is kept: under the store's artifact folder, never outside."""
    location = shared.store.location
    root = Path(location + ".artifacts") if "://" not in location else Path("modelkg-artifacts")
    parts = Path(path).parts
    if not path or Path(path).is_absolute() or ".." in parts or not run_id.isalnum():
        raise LifecycleError(
            f"artifact path {path!r} must be relative, inside the run's artifacts",
            field="path",
            expected="a relative path such as checkpoints/step-100/model.safetensors",
        )
    return (root / run_id).resolve() / Path(*parts)


# -- registry and deployments ---------------------------------------------------------------------
@router.get("/registry/{name}", summary="A registered model and its versions")
async def registered_model(shared: ServicesDep, name: str) -> Any:
    """A registered model with its aliases and every version."""
    registry = lifecycle.Registry(shared.store)

    def read() -> dict[str, Any]:
        found = registry.get_registered_model(name)
        return {**camel(found), "versions": camel(registry.versions(name))}

    return await run_in_worker(read)


@router.post(
    "/registry/{name}/versions", status_code=201, summary="Register a version (bearer token)"
)
async def register_version(
    shared: ServicesDep, name: str, body: VersionIn, authorization: Token = None
) -> Any:
    """A new version of NAME (made if new) from a run or an ingested model."""
    _writes(shared, authorization)
    registry = lifecycle.Registry(shared.store)

    found = await run_in_worker(
        registry.register_version,
        name,
        run_id=body.run_id,
        source=body.source,
        model=body.model,
        fine_tuned_from=body.fine_tuned_from,
        description=body.description,
    )
    return camel(found)


@router.get("/registry/{name}/versions/{version}", summary="A version and its decisions")
async def version(shared: ServicesDep, name: str, version: str) -> Any:
    """One version: approval status, stage, aliases, source, run, and its decisions."""
    registry = lifecycle.Registry(shared.store)

    def read() -> dict[str, Any]:
        found = registry.get_model_version(name, version)
        return {**camel(found), "decisions": registry.decisions(name, version)}

    return await run_in_worker(read)


@router.post("/registry/{name}/versions/{version}/decision", summary="Approve, reject, deprecate")
async def decide(
    shared: ServicesDep, name: str, version: str, body: DecisionIn, authorization: Token = None
) -> Any:
    """Move a version's approval along an allowed transition, recording who and why."""
    _writes(shared, authorization)
    registry = lifecycle.Registry(shared.store)
    found = await run_in_worker(
        registry.decide, name, version, body.status, by=body.by, notes=body.notes
    )
    return camel(found)


@router.put("/registry/{name}/aliases/{alias}", summary="Point an alias at a version")
async def set_alias(
    shared: ServicesDep, name: str, alias: str, body: AliasIn, authorization: Token = None
) -> Any:
    """Point an alias at a version (a rejected or deprecated one is refused: 409)."""
    _writes(shared, authorization)
    registry = lifecycle.Registry(shared.store)

    def point() -> lifecycle.ModelVersion:
        registry.set_alias(name, alias, body.version)
        return registry.get_model_version(name, body.version)

    return camel(await run_in_worker(point))


@router.get("/deployments/{target}", summary="A target's deployments, newest first")
async def deployments(shared: ServicesDep, target: str) -> Any:
    """A target's deployments, newest first: version, strategy, SLA, what it replaced."""
    return camel(await run_in_worker(lifecycle.Deployments(shared.store).history, target))


@router.post("/deployments/{target}", status_code=201, summary="Deploy an approved version")
async def deploy(
    shared: ServicesDep, target: str, body: DeployIn, authorization: Token = None
) -> Any:
    """Deploy an approved version to the target; it replaces what runs there."""
    _writes(shared, authorization)
    done = await run_in_worker(
        lifecycle.Deployments(shared.store).deploy,
        target,
        body.name,
        body.version,
        strategy=body.strategy,
        traffic_share=body.traffic_share,
        sla=body.sla,
        by=body.by,
    )
    return camel(done)


@router.post("/deployments/{target}/rollback", summary="Deploy the replaced version again")
async def rollback(
    shared: ServicesDep,
    target: str,
    body: Annotated[RollbackIn, Body()] = RollbackIn(),
    authorization: Token = None,
) -> Any:
    """Deploy again the version the current deployment replaced, marked as a rollback."""
    _writes(shared, authorization)
    done = await run_in_worker(lifecycle.Deployments(shared.store).rollback, target, by=body.by)
    return camel(done)


@router.get("/lineage", summary="Ancestors or descendants of a node, as a graph")
async def lineage(
    shared: ServicesDep,
    id: Annotated[str, Query(description="IRI, hub id, run id, models:/NAME/V, deployments:/T")],
    direction: str = "ancestors",
    depth: Annotated[int, Query(ge=1, le=20)] = 5,
) -> Any:
    """What a node came from (or what came from it): versions, runs, datasets, base models."""
    store = shared.store

    def walk() -> lifecycle.LineageGraph:
        return lifecycle.lineage(
            store, lifecycle.resolve_node(store, id), direction=direction, depth=depth
        )

    return camel(await run_in_worker(walk))
