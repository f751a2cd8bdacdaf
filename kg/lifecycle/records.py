"""What the lifecycle hands back: plain frozen records, shaped like MLflow's entities so the MLflow
API, GraphQL and the CLI each render the same record their own way.

Times are milliseconds since the epoch (MLflow's unit); ids are strings (experiment ids are
digits, run ids 32 hex digits).

>>> Metric("loss", 0.5, 1700000000000, 3).step
3
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = [
    "Artifact",
    "DatasetInput",
    "Deployment",
    "Experiment",
    "LatestMetric",
    "LeaderboardRow",
    "Metric",
    "ModelVersion",
    "Page",
    "RegisteredModel",
    "Run",
    "RunInfo",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Metric:
    """One point of a metric series."""

    key: str
    value: float
    timestamp: int
    step: int = 0


@dataclass(frozen=True)
class LatestMetric:
    """What a run's summary keeps of one metric: the latest point, the extremes, the count."""

    key: str
    value: float
    timestamp: int
    step: int
    minimum: float | None
    maximum: float | None
    count: int


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)
    iri: str = ""

    @property
    def description(self) -> str | None:
        """MLflow keeps an experiment's description in its `mlflow.note.content` tag."""
        return self.tags.get("mlflow.note.content")


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    """MLflow's spelling: RUNNING, SCHEDULED, FINISHED, FAILED, KILLED."""
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str
    user_id: str = ""
    code_version: str | None = None
    seed: int | None = None
    iri: str = ""


@dataclass(frozen=True)
class DatasetInput:
    """A dataset a run used (or produced): MLflow's dataset fields plus its IRI in the graph."""

    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema: str = ""
    profile: str = ""
    context: str = ""
    """training, validation, test, ... (MLflow's input tag mlflow.data.context)."""
    iri: str = ""


@dataclass(frozen=True)
class Artifact:
    path: str
    kind: str
    uri: str | None = None
    size: int | None = None
    checksum: str | None = None
    verified: bool = False
    step: int | None = None
    epoch: int | None = None
    best: bool = False
    iri: str = ""


@dataclass(frozen=True)
class Run:
    info: RunInfo
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, LatestMetric] = field(default_factory=dict)
    inputs: tuple[DatasetInput, ...] = ()
    outputs: tuple[DatasetInput, ...] = ()
    artifacts: tuple[Artifact, ...] = ()
    used_models: tuple[str, ...] = ()
    """IRIs of the models the run started from."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a search; `next_token` fetches the next (None on the last)."""

    items: list[T]
    next_token: str | None = None


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    run_id: str
    run_name: str
    value: float
    step: int | None
    iri: str


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    creation_time: int
    last_updated_time: int
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    """alias -> version number."""
    latest_versions: tuple[ModelVersion, ...] = ()
    iri: str = ""


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    creation_time: int
    last_updated_time: int
    source: str = ""
    run_id: str | None = None
    description: str = ""
    stage: str = "None"
    approval: str = "pending"
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    model: str | None = None
    """The IRI of the ingested model this version is (registered from outside), if any."""
    fine_tuned_from: tuple[str, ...] = ()
    iri: str = ""


@dataclass(frozen=True)
class Deployment:
    target: str
    number: int
    name: str
    """The registered model deployed."""
    version: str
    strategy: str
    started: int
    by: str = ""
    traffic_share: float | None = None
    sla: dict[str, float] = field(default_factory=dict)
    """latency_ms, availability, error_rate."""
    replaced_version: str | None = None
    rollback: bool = False
    current: bool = False
    iri: str = ""
