"""ModelKG's lifecycle records as MLflow's protobuf messages, and MLflow's messages as records.

Each record is handed to the matching `mlflow.entities` class and that class writes its proto
(`to_proto()`), so what the API answers is what MLflow's own server would for the same data:
the same field names, the same defaults, the same enums.

>>> from kg.lifecycle.records import Metric
>>> metric(Metric("acc", 0.9, 1700000000000, 3)).step
3
"""

from __future__ import annotations

import threading
from typing import Any

from cachetools import LRUCache
from mlflow.entities import Dataset as MlflowDataset
from mlflow.entities import DatasetInput as MlflowDatasetInput
from mlflow.entities import Experiment as MlflowExperiment
from mlflow.entities import ExperimentTag, InputTag, Param, RunData, RunInputs, RunTag
from mlflow.entities import Metric as MlflowMetric
from mlflow.entities import Run as MlflowRun
from mlflow.entities import RunInfo as MlflowRunInfo
from mlflow.entities.model_registry import ModelVersion as MlflowVersion
from mlflow.entities.model_registry import ModelVersionTag, RegisteredModelTag
from mlflow.entities.model_registry import RegisteredModel as MlflowModel
from mlflow.entities.model_registry.registered_model_alias import RegisteredModelAlias
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from kg.lifecycle.records import (
    DatasetInput,
    Experiment,
    Metric,
    ModelVersion,
    RegisteredModel,
    Run,
    RunInfo,
)
from resolvers.mlflow_api.proto_json import message_dict

__all__ = [
    "dataset_input",
    "experiment",
    "metric",
    "model_version",
    "registered_model",
    "run",
    "run_info",
    "run_json",
]


def experiment(record: Experiment) -> Any:
    """An `mlflow.protos.service_pb2.Experiment`."""
    return MlflowExperiment(
        record.experiment_id,
        record.name,
        record.artifact_location,
        record.lifecycle_stage,
        [ExperimentTag(key, value) for key, value in record.tags.items()],
        record.creation_time,
        record.last_update_time,
    ).to_proto()


def _run_info(record: RunInfo) -> MlflowRunInfo:
    return MlflowRunInfo(
        run_id=record.run_id,
        experiment_id=record.experiment_id,
        user_id=record.user_id,
        status=record.status,
        start_time=record.start_time,
        end_time=record.end_time,
        lifecycle_stage=record.lifecycle_stage,
        artifact_uri=record.artifact_uri,
        run_name=record.run_name,
    )


def run_info(record: RunInfo) -> Any:
    """An `mlflow.protos.service_pb2.RunInfo`."""
    return _run_info(record).to_proto()


def metric(record: Metric) -> Any:
    """An `mlflow.protos.service_pb2.Metric`: one point of a series."""
    return MlflowMetric(record.key, record.value, record.timestamp, record.step).to_proto()


def _dataset(record: DatasetInput) -> MlflowDatasetInput:
    tags = [InputTag(MLFLOW_DATASET_CONTEXT, record.context)] if record.context else []
    return MlflowDatasetInput(
        MlflowDataset(
            record.name,
            record.digest,
            record.source_type,
            record.source,
            record.schema or None,
            record.profile or None,
        ),
        tags,
    )


def run(record: Run) -> Any:
    """An `mlflow.protos.service_pb2.Run`: its info, its data (the latest point of each metric,
    the params, the tags) and the datasets it used."""
    data = RunData(
        metrics=[
            MlflowMetric(m.key, m.value, m.timestamp, m.step) for m in record.metrics.values()
        ],
        params=[Param(key, value) for key, value in record.params.items()],
        tags=[RunTag(key, value) for key, value in record.tags.items()],
    )
    inputs = RunInputs(dataset_inputs=[_dataset(d) for d in record.inputs])
    return MlflowRun(_run_info(record.info), data, inputs).to_proto()


_RUN_JSON: LRUCache[int, tuple[Run, dict[str, Any]]] = LRUCache(maxsize=4096)
"""id of a run record -> (the record, its JSON): the lifecycle hands back the same record for a
run until the store is written (`kg.lifecycle.tracking._RUNS`), and a search answers up to 1,000
runs; the record is held with its JSON, so its id is not reused while the entry lives"""
_RUN_JSON_LOCK = threading.Lock()


def run_json(record: Run) -> dict[str, Any]:
    """`run(record)` as the JSON object MLflow writes for it (`proto_json.message_dict`),
    remembered for the same record: building the message and walking it again for every answer
    that holds the run costs ten times the search that found it. Not to be changed."""
    with _RUN_JSON_LOCK:
        found = _RUN_JSON.get(id(record))
    if found is not None and found[0] is record:
        return found[1]
    written = message_dict(run(record))
    with _RUN_JSON_LOCK:
        _RUN_JSON[id(record)] = (record, written)
    return written


def dataset_input(proto: Any) -> DatasetInput:
    """An `mlflow.protos.service_pb2.DatasetInput` as the lifecycle's record (its context is
    MLflow's input tag `mlflow.data.context`)."""
    context = next((t.value for t in proto.tags if t.key == MLFLOW_DATASET_CONTEXT), "")
    dataset = proto.dataset
    return DatasetInput(
        name=dataset.name,
        digest=dataset.digest,
        source_type=dataset.source_type,
        source=dataset.source,
        schema=dataset.schema,
        profile=dataset.profile,
        context=context,
    )


def _version(record: ModelVersion) -> MlflowVersion:
    return MlflowVersion(
        record.name,
        record.version,
        record.creation_time,
        record.last_updated_time,
        record.description,
        current_stage=record.stage,
        source=record.source,
        run_id=record.run_id,
        tags=[ModelVersionTag(key, value) for key, value in record.tags.items()],
        aliases=list(record.aliases),
    )


def model_version(record: ModelVersion) -> Any:
    """An `mlflow.protos.model_registry_pb2.ModelVersion` (always READY: a version is
    registered whole, there is no copying to wait for)."""
    return _version(record).to_proto()


def registered_model(record: RegisteredModel) -> Any:
    """An `mlflow.protos.model_registry_pb2.RegisteredModel` with its latest version of each
    stage and its aliases."""
    return MlflowModel(
        record.name,
        record.creation_time,
        record.last_updated_time,
        record.description,
        [_version(v) for v in record.latest_versions],
        [RegisteredModelTag(key, value) for key, value in record.tags.items()],
        [RegisteredModelAlias(alias, version) for alias, version in record.aliases.items()],
    ).to_proto()
