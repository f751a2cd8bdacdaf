"""The ML lifecycle in GraphQL: experiments, runs, metric series, leaderboards, registered models,
versions, deployments and lineage as queries; logging, registering, approving, deploying and
rolling back as mutations (each needs the bearer token).

Every resolver calls `kg.lifecycle`, the code the MLflow API, REST and the CLI call, so a run
an MLflow client logged is this `Run`. `Run.models` and `Model.runs` join the lifecycle to the
models; `lineage(id:, direction:, depth:)` walks both.
"""

# Strawberry reads annotations at schema build: no `from __future__ import annotations` here.

import math
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from kg import lifecycle
from kg.errors import NotFoundError
from kg.lifecycle.graph import now_millis
from kg.lifecycle.links import models_of_runs
from kg.models.records import find_models
from resolvers.graphql.context import GraphQLContext
from resolvers.graphql.types import Long, Model
from resolvers.threads import run_in_worker

__all__ = ["LifecycleMutation", "LifecycleQuery", "Run"]

T = TypeVar("T")


def _context(info: Info) -> GraphQLContext:
    context = info.context
    assert isinstance(context, GraphQLContext)
    return context


async def _call(info: Info, work: Callable[..., T], *args: Any, **options: Any) -> T:
    """Run a `kg.lifecycle` call off the event loop."""
    return await run_in_worker(work, *args, **options)


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


@strawberry.type(description="A key and its value (a param, a tag).")
class KeyValue:
    key: str
    value: str


def _pairs(values: dict[str, str]) -> list[KeyValue]:
    return [KeyValue(key=k, value=v) for k, v in sorted(values.items())]


@strawberry.type(description="What a run's series of one metric says now.")
class LatestMetric:
    key: str
    value: float | None = strawberry.field(description="The latest value (null for NaN).")
    step: Long
    timestamp: Long = strawberry.field(description="Milliseconds since the epoch.")
    minimum: float | None
    maximum: float | None
    count: int = strawberry.field(description="How many points were logged.")


@strawberry.type(description="One point of a metric series.")
class MetricPoint:
    step: Long
    timestamp: Long
    value: float | None = strawberry.field(description="null for NaN.")


@strawberry.type(description="A dataset a run used or produced.")
class Dataset:
    iri: str
    name: str
    digest: str
    source: str
    context: str = strawberry.field(description="training, validation, test, ...")


@strawberry.type(description="A file a run produced; checkpoints have a step, epoch and best flag.")
class Artifact:
    iri: str
    path: str
    kind: str
    uri: str | None
    size: Long | None
    checksum: str | None
    verified: bool = strawberry.field(description="ModelKG computed the checksum from the bytes.")
    step: Long | None
    epoch: int | None
    best: bool

    @classmethod
    def of(cls, a: lifecycle.Artifact) -> "Artifact":
        return cls(
            iri=a.iri,
            path=a.path,
            kind=a.kind,
            uri=a.uri,
            size=None if a.size is None else Long(a.size),
            checksum=a.checksum,
            verified=a.verified,
            step=None if a.step is None else Long(a.step),
            epoch=a.epoch,
            best=a.best,
        )


@strawberry.type(description="One execution of training or evaluation code (a prov:Activity).")
class Run:
    record: strawberry.Private[lifecycle.Run]

    @strawberry.field(description="The run id (32 hex digits), as MLflow names it.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.info.run_id)

    @strawberry.field
    def iri(self) -> str:
        return self.record.info.iri

    @strawberry.field
    def name(self) -> str:
        return self.record.info.run_name

    @strawberry.field(description="RUNNING, SCHEDULED (pending), FINISHED, FAILED or KILLED.")
    def status(self) -> str:
        return self.record.info.status

    @strawberry.field
    def experiment_id(self) -> str:
        return self.record.info.experiment_id

    @strawberry.field(description="Milliseconds since the epoch.")
    def start_time(self) -> Long:
        return Long(self.record.info.start_time)

    @strawberry.field
    def end_time(self) -> Long | None:
        end = self.record.info.end_time
        return None if end is None else Long(end)

    @strawberry.field
    def lifecycle_stage(self) -> str:
        return self.record.info.lifecycle_stage

    @strawberry.field
    def user(self) -> str:
        return self.record.info.user_id

    @strawberry.field
    def code_version(self) -> str | None:
        return self.record.info.code_version

    @strawberry.field
    def seed(self) -> Long | None:
        seed = self.record.info.seed
        return None if seed is None else Long(seed)

    @strawberry.field
    def params(self) -> list[KeyValue]:
        return _pairs(self.record.params)

    @strawberry.field
    def tags(self) -> list[KeyValue]:
        return _pairs(self.record.tags)

    @strawberry.field(description="Each metric's latest value, extremes and count.")
    def metrics(self) -> list[LatestMetric]:
        return [
            LatestMetric(
                key=m.key,
                value=_finite(m.value),
                step=Long(m.step),
                timestamp=Long(m.timestamp),
                minimum=m.minimum,
                maximum=m.maximum,
                count=m.count,
            )
            for m in sorted(self.record.metrics.values(), key=lambda m: m.key)
        ]

    @strawberry.field(description="Every point of one metric, by step.")
    async def metric_history(self, info: Info, key: str) -> list[MetricPoint]:
        tracking = lifecycle.Tracking(_context(info).store)
        points = await _call(info, tracking.metric_history, self.record.info.run_id, key)
        return [
            MetricPoint(step=Long(p.step), timestamp=Long(p.timestamp), value=_finite(p.value))
            for p in points
        ]

    @strawberry.field(description="Datasets the run used.")
    def inputs(self) -> list[Dataset]:
        return [_dataset(d) for d in self.record.inputs]

    @strawberry.field(description="Datasets the run produced.")
    def outputs(self) -> list[Dataset]:
        return [_dataset(d) for d in self.record.outputs]

    @strawberry.field
    def artifacts(self) -> list[Artifact]:
        return [Artifact.of(a) for a in self.record.artifacts]

    @strawberry.field(
        description="Models the run used (a base it fine-tuned) or made a version of."
    )
    async def models(self, info: Info) -> list[Model]:
        store = _context(info).store
        iris = (await _call(info, models_of_runs, store, [self.record.info.iri]))[
            self.record.info.iri
        ]
        names = await _call(info, find_models, store, iris)
        return [Model(key=iri, known_name=_hub_name(iri, names)) for iri in iris]


def _hub_name(iri: str, names: Mapping[str, str | None]) -> str | None:
    from kg.iris import hub_id_of_iri

    return hub_id_of_iri(iri) or names.get(iri)


def _dataset(d: lifecycle.DatasetInput) -> Dataset:
    return Dataset(iri=d.iri, name=d.name, digest=d.digest, source=d.source, context=d.context)


@strawberry.enum(description="Which way is better.")
class Goal(Enum):
    MAX = "max"
    MIN = "min"


@strawberry.enum(description="Rank by each run's last value, or its best.")
class ValueKind(Enum):
    LAST = "last"
    BEST = "best"


@strawberry.type(description="A named group of runs.")
class Experiment:
    record: strawberry.Private[lifecycle.Experiment]

    @strawberry.field(description="The experiment id (digits), as MLflow names it.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.experiment_id)

    @strawberry.field
    def name(self) -> str:
        return self.record.name

    @strawberry.field
    def description(self) -> str | None:
        return self.record.description

    @strawberry.field
    def lifecycle_stage(self) -> str:
        return self.record.lifecycle_stage

    @strawberry.field
    def creation_time(self) -> Long:
        return Long(self.record.creation_time)

    @strawberry.field
    def tags(self) -> list[KeyValue]:
        return _pairs(self.record.tags)

    @strawberry.field(
        description="Its runs matching an MLflow filter (`metrics.acc > 0.9 and params.lr = "
        "'0.1'`), in order (`metrics.acc DESC`)."
    )
    async def runs(
        self,
        info: Info,
        filter: str = "",
        order_by: list[str] | None = None,
        first: int = 100,
    ) -> list[Run]:
        return await _search(info, [self.record.experiment_id], filter, order_by, first)

    @strawberry.field(description="Its runs ranked by a metric.")
    async def leaderboard(
        self,
        info: Info,
        metric: str,
        goal: Goal = Goal.MAX,
        value: ValueKind = ValueKind.LAST,
        first: int = 10,
    ) -> list["LeaderboardRow"]:
        return await _leaderboard(info, self.record.experiment_id, metric, goal, value, first)


async def _search(
    info: Info, experiments: list[str], filter: str, order_by: list[str] | None, first: int
) -> list[Run]:
    tracking = lifecycle.Tracking(_context(info).store)
    page = await _call(
        info,
        lifecycle.search_runs,
        tracking,
        experiments,
        filter,
        max_results=min(max(first, 1), 1000),
        order_by=order_by or [],
    )
    return [Run(record=run) for run in page.items]


@strawberry.type(description="A run's place on a leaderboard.")
class LeaderboardRow:
    rank: int
    value: float
    step: Long | None
    run: Run


async def _leaderboard(
    info: Info, experiment_id: str, metric: str, goal: Goal, value: ValueKind, first: int
) -> list[LeaderboardRow]:
    tracking = lifecycle.Tracking(_context(info).store)
    chosen_goal, chosen_value = goal.value, value.value

    def rank() -> list[LeaderboardRow]:
        rows = lifecycle.leaderboard(
            tracking,
            experiment_id,
            metric,
            goal=chosen_goal,
            value=chosen_value,
            limit=min(max(first, 1), 1000),
        )
        return [
            LeaderboardRow(
                rank=row.rank,
                value=row.value,
                step=None if row.step is None else Long(row.step),
                run=Run(record=tracking.get_run(row.run_id)),
            )
            for row in rows
        ]

    return await run_in_worker(rank)


@strawberry.type(description="A decision on a version's approval: who, when, why.")
class Decision:
    status: str
    by: str
    notes: str
    at: Long


@strawberry.type(description="One version of a registered model (a prov:Entity).")
class ModelVersion:
    record: strawberry.Private[lifecycle.ModelVersion]

    @strawberry.field
    def iri(self) -> str:
        return self.record.iri

    @strawberry.field(description="The registered model's name.")
    def name(self) -> str:
        return self.record.name

    @strawberry.field
    def version(self) -> str:
        return self.record.version

    @strawberry.field(description="pending, approved, rejected or deprecated.")
    def approval(self) -> str:
        return self.record.approval

    @strawberry.field(description="MLflow's stage: None, Staging, Production, Archived.")
    def stage(self) -> str:
        return self.record.stage

    @strawberry.field
    def source(self) -> str:
        return self.record.source

    @strawberry.field
    def description(self) -> str:
        return self.record.description

    @strawberry.field
    def aliases(self) -> list[str]:
        return list(self.record.aliases)

    @strawberry.field
    def tags(self) -> list[KeyValue]:
        return _pairs(self.record.tags)

    @strawberry.field(description="The run that generated it.")
    async def run(self, info: Info) -> Run | None:
        if self.record.run_id is None:
            return None
        tracking = lifecycle.Tracking(_context(info).store)
        return Run(record=await _call(info, tracking.get_run, self.record.run_id))

    @strawberry.field(description="The ingested model the version is (registered from outside).")
    def model(self) -> Model | None:
        iri = self.record.model
        return None if iri is None else Model(key=iri, known_name=_hub_name(iri, {}))

    @strawberry.field(description="The base models it was fine-tuned from.")
    def fine_tuned_from(self) -> list[Model]:
        return [
            Model(key=iri, known_name=_hub_name(iri, {})) for iri in self.record.fine_tuned_from
        ]

    @strawberry.field(description="Its approval decisions, oldest first.")
    async def decisions(self, info: Info) -> list[Decision]:
        registry = lifecycle.Registry(_context(info).store)
        found = await _call(info, registry.decisions, self.record.name, self.record.version)
        return [
            Decision(status=d["status"], by=d["by"], notes=d["notes"], at=Long(int(d["at"])))
            for d in found
        ]


@strawberry.type(description="A named line of model versions.")
class RegisteredModel:
    record: strawberry.Private[lifecycle.RegisteredModel]

    @strawberry.field
    def name(self) -> str:
        return self.record.name

    @strawberry.field
    def description(self) -> str:
        return self.record.description

    @strawberry.field(description="alias=version pairs (champion, staging, ...).")
    def aliases(self) -> list[KeyValue]:
        return _pairs(self.record.aliases)

    @strawberry.field
    async def versions(self, info: Info) -> list[ModelVersion]:
        registry = lifecycle.Registry(_context(info).store)
        found = await _call(info, registry.versions, self.record.name)
        return [ModelVersion(record=v) for v in found]


@strawberry.type(description="SLA targets of a deployment.")
class Sla:
    latency_ms: float | None
    availability: float | None
    error_rate: float | None


@strawberry.type(description="A version put on a target (a prov:Activity that used it).")
class Deployment:
    record: strawberry.Private[lifecycle.Deployment]

    @strawberry.field
    def iri(self) -> str:
        return self.record.iri

    @strawberry.field
    def target(self) -> str:
        return self.record.target

    @strawberry.field(description="1 for the target's first deployment.")
    def number(self) -> int:
        return self.record.number

    @strawberry.field(description="blue-green, canary, rolling or shadow.")
    def strategy(self) -> str:
        return self.record.strategy

    @strawberry.field
    def traffic_share(self) -> float | None:
        return self.record.traffic_share

    @strawberry.field
    def sla(self) -> Sla:
        sla = self.record.sla
        return Sla(
            latency_ms=sla.get("latency_ms"),
            availability=sla.get("availability"),
            error_rate=sla.get("error_rate"),
        )

    @strawberry.field(description="True when it restored the version before.")
    def rollback(self) -> bool:
        return self.record.rollback

    @strawberry.field(description="True for what runs on the target now.")
    def current(self) -> bool:
        return self.record.current

    @strawberry.field
    def by(self) -> str:
        return self.record.by

    @strawberry.field
    def started(self) -> Long:
        return Long(self.record.started)

    @strawberry.field(description="The number of the version it replaced.")
    def replaced_version(self) -> str | None:
        return self.record.replaced_version

    @strawberry.field(description="The version it serves.")
    async def version(self, info: Info) -> ModelVersion:
        registry = lifecycle.Registry(_context(info).store)
        found = await _call(info, registry.get_model_version, self.record.name, self.record.version)
        return ModelVersion(record=found)


@strawberry.enum(description="Which way lineage is walked.")
class Direction(Enum):
    ANCESTORS = "ancestors"
    DESCENDANTS = "descendants"
    BOTH = "both"


@strawberry.type(description="A node of a lineage graph.")
class LineageNode:
    iri: str
    kind: str = strawberry.field(
        description="model, version, run, dataset, artifact, deployment, experiment or thing."
    )
    label: str
    depth: int = strawberry.field(description="Steps from the node asked about.")


@strawberry.type(description="A link of a lineage graph: `source` came from `target`.")
class LineageLink:
    source: str
    target: str
    relation: str = strawberry.field(description="The property's IRI.")
    name: str = strawberry.field(description="Its local name: fineTunedFrom, used, ...")


@strawberry.type(description="Ancestors or descendants of a node, as a graph.")
class LineageGraph:
    root: str
    nodes: list[LineageNode]
    edges: list[LineageLink]
    truncated: bool


@strawberry.type
class LifecycleQuery:
    @strawberry.field(description="Experiments (active ones unless `deleted`).")
    async def experiments(self, info: Info, deleted: bool = False) -> list[Experiment]:
        tracking = lifecycle.Tracking(_context(info).store)
        page = await _call(
            info, tracking.search_experiments, view="deleted_only" if deleted else "active_only"
        )
        return [Experiment(record=e) for e in page.items]

    @strawberry.field(description="An experiment by id or name; null when there is none.")
    async def experiment(self, info: Info, id: str) -> Experiment | None:
        tracking = lifecycle.Tracking(_context(info).store)

        def find() -> lifecycle.Experiment | None:
            if id.isdigit():
                try:
                    return tracking.get_experiment(id)
                except NotFoundError:
                    return None
            return tracking.get_experiment_by_name(id)

        found = await run_in_worker(find)
        return None if found is None else Experiment(record=found)

    @strawberry.field(description="A run by id; null when there is none.")
    async def run(self, info: Info, id: strawberry.ID) -> Run | None:
        tracking = lifecycle.Tracking(_context(info).store)
        try:
            return Run(record=await _call(info, tracking.get_run, str(id)))
        except NotFoundError:
            return None

    @strawberry.field(description="Runs of experiments matching an MLflow filter string.")
    async def runs(
        self,
        info: Info,
        experiment_ids: list[str],
        filter: str = "",
        order_by: list[str] | None = None,
        first: int = 100,
    ) -> list[Run]:
        return await _search(info, experiment_ids, filter, order_by, first)

    @strawberry.field(description="An experiment's runs ranked by a metric.")
    async def leaderboard(
        self,
        info: Info,
        experiment_id: str,
        metric: str,
        goal: Goal = Goal.MAX,
        value: ValueKind = ValueKind.LAST,
        first: int = 10,
    ) -> list[LeaderboardRow]:
        return await _leaderboard(info, experiment_id, metric, goal, value, first)

    @strawberry.field(description="A registered model by name; null when there is none.")
    async def registered_model(self, info: Info, name: str) -> RegisteredModel | None:
        registry = lifecycle.Registry(_context(info).store)
        try:
            return RegisteredModel(record=await _call(info, registry.get_registered_model, name))
        except NotFoundError:
            return None

    @strawberry.field(description="Every registered model.")
    async def registered_models(self, info: Info) -> list[RegisteredModel]:
        registry = lifecycle.Registry(_context(info).store)
        return [RegisteredModel(record=m) for m in await _call(info, registry.registered_models)]

    @strawberry.field(description="A version by number or alias; null when there is none.")
    async def model_version(
        self, info: Info, name: str, version: str | None = None, alias: str | None = None
    ) -> ModelVersion | None:
        registry = lifecycle.Registry(_context(info).store)
        try:
            if alias is not None:
                return ModelVersion(
                    record=await _call(info, registry.get_version_by_alias, name, alias)
                )
            return ModelVersion(
                record=await _call(info, registry.get_model_version, name, version or "1")
            )
        except NotFoundError:
            return None

    @strawberry.field(description="A target's deployments, newest first.")
    async def deployments(self, info: Info, target: str) -> list[Deployment]:
        deployments = lifecycle.Deployments(_context(info).store)
        return [Deployment(record=d) for d in await _call(info, deployments.history, target)]

    @strawberry.field(
        description="Lineage of a node (hub id, IRI, run id, models:/NAME/VERSION, "
        "models:/NAME@ALIAS, deployments:/TARGET): its ancestors, descendants, or both."
    )
    async def lineage(
        self, info: Info, id: str, direction: Direction = Direction.ANCESTORS, depth: int = 5
    ) -> LineageGraph:
        store = _context(info).store

        def walk() -> lifecycle.LineageGraph:
            return lifecycle.lineage(
                store, lifecycle.resolve_node(store, id), direction=direction.value, depth=depth
            )

        graph = await run_in_worker(walk)
        return LineageGraph(
            root=graph.root,
            nodes=[
                LineageNode(iri=n.iri, kind=n.kind, label=n.label, depth=n.depth)
                for n in graph.nodes
            ],
            edges=[
                LineageLink(source=e.source, target=e.target, relation=e.relation, name=e.name)
                for e in graph.edges
            ],
            truncated=graph.truncated,
        )


@strawberry.input(description="One metric point to log.")
class MetricInput:
    key: str
    value: float
    step: Long = Long(0)
    timestamp: Long | None = strawberry.field(
        default=None, description="Milliseconds since the epoch (default: now)."
    )


@strawberry.input
class KeyValueInput:
    key: str
    value: str


@strawberry.input(description="A dataset a run used.")
class DatasetInputGql:
    name: str
    digest: str
    source: str = ""
    context: str = ""


@strawberry.input
class SlaInput:
    latency_ms: float | None = None
    availability: float | None = None
    error_rate: float | None = None

    def targets(self) -> dict[str, float]:
        """The targets given, as `kg.lifecycle.Deployments.deploy` takes them."""
        return {k: v for k, v in vars(self).items() if v is not None}


def _writer(info: Info) -> GraphQLContext:
    return _context(info).writable()


@strawberry.type
class LifecycleMutation:
    @strawberry.mutation(description="A new experiment (bearer token needed); its id.")
    async def create_experiment(
        self, info: Info, name: str, description: str | None = None
    ) -> Experiment:
        tracking = lifecycle.Tracking(_writer(info).store)
        made = await _call(info, tracking.create_experiment, name, description=description)
        return Experiment(record=await _call(info, tracking.get_experiment, made))

    @strawberry.mutation(description="Start a run in an experiment (bearer token needed).")
    async def start_run(
        self,
        info: Info,
        experiment_id: str,
        name: str | None = None,
        seed: Long | None = None,
        code_version: str | None = None,
        tags: list[KeyValueInput] | None = None,
    ) -> Run:
        tracking = lifecycle.Tracking(_writer(info).store)
        made = await _call(
            info,
            tracking.create_run,
            experiment_id,
            run_name=name,
            seed=seed,
            code_version=code_version,
            tags={t.key: t.value for t in tags or []},
        )
        return Run(record=await _call(info, tracking.get_run, made.run_id))

    @strawberry.mutation(
        description="Log metrics, params and tags to a running run as one batch: all or nothing."
    )
    async def log_batch(
        self,
        info: Info,
        run_id: str,
        metrics: list[MetricInput] | None = None,
        params: list[KeyValueInput] | None = None,
        tags: list[KeyValueInput] | None = None,
        datasets: list[DatasetInputGql] | None = None,
        models: list[str] | None = None,
    ) -> Run:
        tracking = lifecycle.Tracking(_writer(info).store)
        now = now_millis()
        points = [
            lifecycle.Metric(
                m.key, m.value, m.timestamp if m.timestamp is not None else now, m.step
            )
            for m in metrics or []
        ]

        def log() -> lifecycle.Run:
            if points or params or tags:
                tracking.log_batch(
                    run_id,
                    metrics=points,
                    params=[(p.key, p.value) for p in params or []],
                    tags=[(t.key, t.value) for t in tags or []],
                )
            if datasets or models:
                tracking.log_inputs(
                    run_id,
                    [
                        lifecycle.DatasetInput(d.name, d.digest, source=d.source, context=d.context)
                        for d in datasets or []
                    ],
                    models=models or [],
                )
            return tracking.get_run(run_id)

        return Run(record=await run_in_worker(log))

    @strawberry.mutation(description="End a run: finished, failed or killed.")
    async def end_run(self, info: Info, run_id: str, status: str = "finished") -> Run:
        tracking = lifecycle.Tracking(_writer(info).store)
        await _call(info, tracking.update_run, run_id, status=status)
        return Run(record=await _call(info, tracking.get_run, run_id))

    @strawberry.mutation(
        description="Record an artifact of a running run by URI (its checksum as declared)."
    )
    async def log_artifact(
        self,
        info: Info,
        run_id: str,
        path: str,
        kind: str = "other",
        uri: str | None = None,
        checksum: str | None = None,
        size: Long | None = None,
        step: Long | None = None,
        epoch: int | None = None,
        best: bool = False,
    ) -> Artifact:
        tracking = lifecycle.Tracking(_writer(info).store)
        a = await _call(
            info,
            lifecycle.log_artifact,
            tracking,
            run_id,
            path,
            kind=kind,
            uri=uri,
            checksum=checksum,
            size=size,
            step=step,
            epoch=epoch,
            best=best,
        )
        return Artifact.of(a)

    @strawberry.mutation(
        description="Register a new version of NAME (made if new) from a run or an ingested model."
    )
    async def register_version(
        self,
        info: Info,
        name: str,
        run_id: str | None = None,
        source: str | None = None,
        model: str | None = None,
        fine_tuned_from: list[str] | None = None,
        description: str = "",
    ) -> ModelVersion:
        registry = lifecycle.Registry(_writer(info).store)

        found = await _call(
            info,
            registry.register_version,
            name,
            run_id=run_id,
            source=source,
            model=model,
            fine_tuned_from=fine_tuned_from or [],
            description=description,
        )
        return ModelVersion(record=found)

    @strawberry.mutation(description="Approve, reject or deprecate a version (allowed moves only).")
    async def decide_version(
        self, info: Info, name: str, version: str, status: str, by: str, notes: str = ""
    ) -> ModelVersion:
        registry = lifecycle.Registry(_writer(info).store)
        found = await _call(info, registry.decide, name, version, status, by=by, notes=notes)
        return ModelVersion(record=found)

    @strawberry.mutation(description="Point an alias at a version (rejected ones are refused).")
    async def set_alias(self, info: Info, name: str, alias: str, version: str) -> ModelVersion:
        registry = lifecycle.Registry(_writer(info).store)
        await _call(info, registry.set_alias, name, alias, version)
        return ModelVersion(record=await _call(info, registry.get_model_version, name, version))

    @strawberry.mutation(description="Deploy an approved version to a target.")
    async def deploy(
        self,
        info: Info,
        target: str,
        name: str,
        version: str,
        strategy: str = "blue-green",
        traffic_share: float | None = None,
        sla: SlaInput | None = None,
        by: str = "",
    ) -> Deployment:
        deployments = lifecycle.Deployments(_writer(info).store)
        targets = sla.targets() if sla is not None else {}
        done = await _call(
            info,
            deployments.deploy,
            target,
            name,
            version,
            strategy=strategy,
            traffic_share=traffic_share,
            sla=targets,
            by=by,
        )
        return Deployment(record=done)

    @strawberry.mutation(description="Deploy again the version the current deployment replaced.")
    async def rollback(self, info: Info, target: str, by: str = "") -> Deployment:
        deployments = lifecycle.Deployments(_writer(info).store)
        return Deployment(record=await _call(info, deployments.rollback, target, by=by))
