"""The ML lifecycle as PROV-O lineage in the same graph as the models: experiments, runs (params,
compact metric series, tags, datasets, artifacts, checkpoints), registered models and versions
with approval and aliases, deployments with rollback, leaderboards, and lineage walks.

Each part is a small class over a `ModelStore`: `Tracking` (experiments and runs), `Registry`
(registered models, versions, approval, aliases, stages), `Deployments` (targets, strategies,
rollback); `search_runs` and `leaderboard` find runs; `lineage` walks what came from what.
MLflow's REST API (resolvers) and GraphQL, REST and the CLI all call these, so a run logged by an
MLflow client is the run every other door shows.

>>> from kg.store import EmbeddedStore
>>> store = EmbeddedStore.open(None)
>>> tracking = Tracking(store)
>>> run = tracking.create_run(tracking.create_experiment("demo"))
>>> tracking.log_metric(run.run_id, "loss", 0.25, step=1)
>>> [m.value for m in tracking.metric_history(run.run_id, "loss")]
[0.25]
"""

from kg.lifecycle.artifacts import checksum_of, log_artifact
from kg.lifecycle.deployments import Deployments
from kg.lifecycle.lineage import LineageEdge, LineageGraph, LineageNode, lineage, resolve_node
from kg.lifecycle.records import (
    Artifact,
    DatasetInput,
    Deployment,
    Experiment,
    LatestMetric,
    LeaderboardRow,
    Metric,
    ModelVersion,
    Page,
    RegisteredModel,
    Run,
    RunInfo,
)
from kg.lifecycle.registry import Registry
from kg.lifecycle.search import leaderboard, search_runs
from kg.lifecycle.tracking import DEFAULT_EXPERIMENT, Tracking

__all__ = [
    "DEFAULT_EXPERIMENT",
    "Artifact",
    "DatasetInput",
    "Deployment",
    "Deployments",
    "Experiment",
    "LatestMetric",
    "LeaderboardRow",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "Metric",
    "ModelVersion",
    "Page",
    "RegisteredModel",
    "Registry",
    "Run",
    "RunInfo",
    "Tracking",
    "checksum_of",
    "leaderboard",
    "lineage",
    "log_artifact",
    "resolve_node",
    "search_runs",
]
