"""Experiments and runs: create them, log params, metrics, tags and datasets to a run, end it.

Every write checks, under the store's one writer lock, what it must not break: a finished or
deleted run takes no more logging, a param once set never changes, a batch is within MLflow's
limits and every item in it is valid, or nothing of it is written. What is written is one
update, so a reader sees a batch whole or not at all, and concurrent writers to one run lose
nothing (each write reads the run's summaries and writes the next ones under the lock).

>>> from kg.store import EmbeddedStore
>>> tracking = Tracking(EmbeddedStore.open(None))
>>> experiment = tracking.create_experiment("sentiment")
>>> run = tracking.create_run(experiment, run_name="baseline", seed=42)
>>> tracking.log_batch(run.run_id, metrics=[Metric("acc", 0.91, 1000, 1)], params=[("lr", "3e-5")])
>>> tracking.log_param(run.run_id, "lr", "1e-3")
Traceback (most recent call last):
...
kg.errors.LifecycleError: field `params.lr`: Changing param values is not allowed. ...
>>> tracking.update_run(run.run_id, status="finished").status
'FINISHED'
>>> tracking.get_run(run.run_id).metrics["acc"].value
0.91
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cachetools import LRUCache
from pyoxigraph import Literal, NamedNode, Quad

from kg.errors import AlreadyExistsError, InvalidStateError, LifecycleError, NotFoundError
from kg.lifecycle.graph import (
    GraphRecord,
    LifecycleIds,
    Write,
    from_millis,
    model_node,
    now_millis,
    tag,
    to_millis_literal,
    untag,
)
from kg.lifecycle.metrics import encode_points, history, summarize
from kg.lifecycle.records import (
    DatasetInput,
    Experiment,
    LatestMetric,
    Metric,
    Page,
    Run,
    RunInfo,
)
from kg.lifecycle.rules import (
    check,
    check_batch,
    entities,
    mlflow_verdicts,
    page_start,
    search_utils,
    token_at,
    validation,
)
from kg.lifecycle.vocabulary import vocabulary
from kg.store.base import ModelStore
from kg.store.sparql_text import sparql_term
from ontology.files import text_of
from ontology.namespaces import HF_DATASETS, MKG, MLS, PROV, RDF, SCHEMA, XSD

__all__ = ["DEFAULT_EXPERIMENT", "Tracking"]

_RUNS: LRUCache[tuple[str, int, str], Run] = LRUCache(maxsize=4096)
"""(store, write generation, run IRI) -> the run as read then: a write moves the generation, so
an entry is only ever found while it is what the store holds (`ModelStore.generation`)"""
_RUNS_LOCK = threading.Lock()

DEFAULT_EXPERIMENT = "0"
"""The experiment MLflow logs to when none is named: id 0, "Default"."""
ACTIVE, DELETED = "active", "deleted"
TAG_RUN_NAME = "mlflow.runName"
TAG_USER = "mlflow.user"
TAG_COMMIT = "mlflow.source.git.commit"
TAG_PARENT = "mlflow.parentRunId"
TAG_NOTE = "mlflow.note.content"
_INPUT_CONTEXT = "mlflow.data.context"
_HUB_SOURCE = re.compile(
    r"^(?:hf://datasets/|https://huggingface\.co/datasets/)([\w.-]+(?:/[\w.-]+)?)$"
)


def _int(value: int) -> Literal:
    return Literal(str(int(value)), datatype=XSD.integer)


def _double(value: float) -> Literal:
    return Literal(value)


@dataclass
class _RunState:
    """What a write to a run must check: its status and stage, its params, tags and metric
    summaries (never the points)."""

    status: str
    stage: str
    experiment_id: str = ""
    started: Literal | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, tuple[NamedNode, Literal]] = field(default_factory=dict)
    series: dict[str, tuple[NamedNode, LatestMetric, list[Quad]]] = field(default_factory=dict)


_RUN_STATE = """
SELECT ?kind ?node ?key ?value ?last ?step ?ts ?min ?max ?count WHERE { GRAPH %(g)s {
  { %(run)s mkg:runStatus ?value BIND("status" AS ?kind) }
  UNION { %(run)s mkg:lifecycleStage ?value BIND("stage" AS ?kind) }
  UNION { %(run)s mkg:inExperiment ?value BIND("experiment" AS ?kind) }
  UNION { %(run)s prov:startedAtTime ?value BIND("started" AS ?kind) }
  UNION { %(run)s mkg:hasParam ?node . ?node mkg:key ?key ; mkg:value ?value
          BIND("param" AS ?kind) }
  UNION { %(run)s mkg:hasTag ?node . ?node mkg:key ?key ; mkg:value ?value BIND("tag" AS ?kind) }
  UNION { %(run)s mkg:hasMetric ?node . ?node mkg:key ?key ; mkg:lastValue ?last ;
            mkg:lastStep ?step ; mkg:lastTimestamp ?ts ; mkg:pointCount ?count
          OPTIONAL { ?node mkg:minValue ?min ; mkg:maxValue ?max } BIND("metric" AS ?kind) }
} }
"""

_INDEXED = {MKG.lastValue: "last", MKG.minValue: "min", MKG.maxValue: "max"}
"""The summaries a run's index triples carry (`LifecycleIds.metric_index`)."""

_SUMMARY = (
    MKG.lastValue,
    MKG.lastStep,
    MKG.lastTimestamp,
    MKG.minValue,
    MKG.maxValue,
    MKG.pointCount,
)


class Tracking:
    """Experiments and runs in one store (embedded or remote), under MLflow's rules."""

    def __init__(self, store: ModelStore, ids: LifecycleIds | None = None) -> None:
        self.store = store
        self.ids = ids or LifecycleIds.from_environment()
        self.words = vocabulary()

    # -- experiments ---------------------------------------------------------------------------
    def create_experiment(
        self,
        name: str,
        *,
        artifact_location: str | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> str:
        """A new experiment; its id. A name may be used by one experiment only (a deleted one
        keeps its name until it is restored or renamed, as in MLflow)."""
        check(validation._validate_experiment_name, name, field="name")
        tags = dict(tags or {})
        if description is not None:
            tags[TAG_NOTE] = description
        for key, value in tags.items():
            check(validation._validate_experiment_tag, key, value, field="tags")
        with self.store.writer():
            if self._experiment_named(name) is not None:
                raise AlreadyExistsError(
                    f"Experiment(name={name}) already exists.",
                    field="name",
                    hint="choose another name, or log to the existing experiment",
                )
            experiment_id = self._next_experiment_id(name)
            self._write_experiment(experiment_id, name, artifact_location, tags)
        return experiment_id

    def _next_experiment_id(self, name: str) -> str:
        if name == "Default" and not self.store.has_graph(
            self.ids.graph_of(self.ids.experiment(DEFAULT_EXPERIMENT))
        ):
            return DEFAULT_EXPERIMENT
        rows = self.store.select(
            "SELECT (MAX(xsd:integer(?id)) AS ?top) "
            "WHERE { ?e a mkg:Experiment ; mkg:experimentId ?id }"
        )
        top = next(iter(rows))["top"]
        return str(int(text_of(top)) + 1) if top is not None else "1"

    def _write_experiment(
        self, experiment_id: str, name: str, location: str | None, tags: Mapping[str, str]
    ) -> None:
        experiment = self.ids.experiment(experiment_id)
        now = to_millis_literal(now_millis())
        write = Write(self.ids.graph_of(experiment)).new_graph()
        write.typed(experiment, MKG.Experiment, MLS.Experiment)
        write.add_all(
            experiment,
            [
                (MKG.experimentId, Literal(experiment_id)),
                (MKG.name, Literal(name)),
                (MKG.artifactLocation, Literal(location or f"mlflow-artifacts:/{experiment_id}")),
                (MKG.lifecycleStage, Literal(ACTIVE)),
                (MKG.createdAt, now),
                (MKG.updatedAt, now),
            ],
        )
        for key, value in tags.items():
            tag(write, experiment, key, value)
        write.apply(self.store)

    def ensure_default_experiment(self) -> None:
        """Experiment 0, "Default", as MLflow's server creates it at start."""
        graph = self.ids.graph_of(self.ids.experiment(DEFAULT_EXPERIMENT))
        if self.store.has_graph(graph):
            return
        with self.store.writer():
            if not self.store.has_graph(graph) and self._experiment_named("Default") is None:
                self._write_experiment(DEFAULT_EXPERIMENT, "Default", None, {})

    def _experiment_named(self, name: str) -> str | None:
        rows = self.store.select(
            f"SELECT ?id WHERE {{ ?e a mkg:Experiment ; mkg:name {sparql_term(Literal(name))} ; "
            "mkg:experimentId ?id } LIMIT 1"
        )
        for row in rows:
            return text_of(row["id"])
        return None

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment, or `NotFoundError`. Experiment 0, "Default", always exists, as in
        MLflow: until something is logged to it, it is not written to the store."""
        experiment = self.ids.experiment(experiment_id)
        record = GraphRecord(self.store.graph_quads(self.ids.graph_of(experiment)))
        if record.one(experiment, MKG.name) is None:
            if experiment_id == DEFAULT_EXPERIMENT:
                return Experiment(
                    DEFAULT_EXPERIMENT, "Default", f"mlflow-artifacts:/{DEFAULT_EXPERIMENT}",
                    ACTIVE, 0, 0, {}, experiment.value,
                )  # fmt: skip
            raise NotFoundError(
                f"No Experiment with id={experiment_id} exists", field="experiment_id"
            )
        return Experiment(
            experiment_id,
            record.one(experiment, MKG.name) or "",
            record.one(experiment, MKG.artifactLocation) or "",
            record.one(experiment, MKG.lifecycleStage) or ACTIVE,
            from_millis(record.term(experiment, MKG.createdAt)),
            from_millis(record.term(experiment, MKG.updatedAt)),
            record.pairs(experiment, MKG.hasTag),
            experiment.value,
        )

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment of that name (active or deleted), else None."""
        found = self._experiment_named(name)
        if found is None and name == "Default":
            found = DEFAULT_EXPERIMENT
        return self.get_experiment(found) if found is not None else None

    def experiments(self) -> list[Experiment]:
        """Every experiment, active and deleted (Default among them)."""
        rows = self.store.select("SELECT ?id WHERE { ?e a mkg:Experiment ; mkg:experimentId ?id }")
        ids = {text_of(row["id"]) for row in rows}
        if self._experiment_named("Default") is None:
            ids.add(DEFAULT_EXPERIMENT)
        return [self.get_experiment(i) for i in sorted(ids, key=int)]

    def search_experiments(
        self,
        *,
        view: str = "active_only",
        filter_string: str | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[Experiment]:
        """Experiments as MLflow's `search_experiments` finds them: its filter grammar on name,
        tags and times, its orderings and page tokens (MLflow's own in-memory search)."""
        if not 0 < max_results <= 50_000:
            raise LifecycleError(
                f"Invalid value {max_results} for parameter 'max_results' supplied: it must be "
                "between 1 and 50000",
                field="max_results",
            )
        with mlflow_verdicts("filter"):
            view_type = entities.ViewType.from_string(view.lower())
            wanted = {
                entities.ViewType.ACTIVE_ONLY: {ACTIVE},
                entities.ViewType.DELETED_ONLY: {DELETED},
                entities.ViewType.ALL: {ACTIVE, DELETED},
            }[view_type]
            found = [e for e in self.experiments() if e.lifecycle_stage in wanted]
            by_id = {e.experiment_id: e for e in found}
            rows = [
                entities.Experiment(
                    e.experiment_id,
                    e.name,
                    e.artifact_location,
                    e.lifecycle_stage,
                    [entities.ExperimentTag(k, v) for k, v in e.tags.items()],
                    e.creation_time,
                    e.last_update_time,
                )
                for e in found
            ]
            rows = search_utils.SearchExperimentsUtils.filter(rows, filter_string)
            rows = search_utils.SearchExperimentsUtils.sort(
                rows, list(order_by) or ["creation_time DESC", "experiment_id ASC"]
            )
            start = page_start(page_token)
            chosen = rows[start : start + max_results]
            more = start + max_results < len(rows)
            token = token_at(start + max_results) if more else None
        return Page([by_id[e.experiment_id] for e in chosen], token)

    def update_experiment(self, experiment_id: str, *, name: str) -> None:
        """Rename an active experiment (the new name must be free)."""
        check(validation._validate_experiment_name, name, field="name")
        with self.store.writer():
            self._active_experiment(experiment_id)
            taken = self._experiment_named(name)
            if taken is not None and taken != experiment_id:
                raise AlreadyExistsError(f"Experiment(name={name}) already exists.", field="name")
            self._replace(self.ids.experiment(experiment_id), MKG.name, Literal(name))

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark the experiment and its runs deleted (restorable)."""
        self._set_experiment_stage(experiment_id, DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        self._set_experiment_stage(experiment_id, ACTIVE)

    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None:
        with self.store.writer():
            if experiment_id == DEFAULT_EXPERIMENT:
                self.ensure_default_experiment()
            experiment = self.get_experiment(experiment_id)
            if experiment_id == DEFAULT_EXPERIMENT and stage == DELETED:
                raise InvalidStateError(
                    "Cannot delete the default experiment '0'. This is an internally reserved "
                    "experiment.",
                    field="experiment_id",
                )
            write = self._replacing(
                self.ids.experiment(experiment_id), MKG.lifecycleStage, Literal(stage)
            )
            rows = self.store.select(
                f"SELECT ?run ?stage WHERE {{ ?run mkg:inExperiment "
                f"{sparql_term(NamedNode(experiment.iri))} ; mkg:lifecycleStage ?stage }}"
            )
            for row in list(rows):
                run = row["run"]
                assert isinstance(run, NamedNode)
                if text_of(row["stage"]) == stage:
                    continue
                index = self._index_quads(run, self._state(run.value.rsplit("/", 1)[-1]))
                change = Write(self.ids.graph_of(run)).remove(
                    run,
                    MKG.lifecycleStage,
                    row["stage"],
                )
                change.add(run, MKG.lifecycleStage, Literal(stage))
                if stage == ACTIVE:
                    change.added.extend(index)
                else:
                    change.remove_quads(index)
                write.extend(change)
            write.apply(self.store)

    def _active_experiment(self, experiment_id: str) -> Experiment:
        """The experiment, which must be active (experiment 0 written first if need be)."""
        if experiment_id == DEFAULT_EXPERIMENT:
            self.ensure_default_experiment()
        experiment = self.get_experiment(experiment_id)
        if experiment.lifecycle_stage != ACTIVE:
            raise InvalidStateError(
                f"The experiment {experiment_id} must be in the 'active' state. "
                f"Current state is {experiment.lifecycle_stage}.",
                field="experiment_id",
            )
        return experiment

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        check(validation._validate_experiment_tag, key, value, field="key")
        with self.store.writer():
            experiment = self._active_experiment(experiment_id)
            node = self.ids.experiment(experiment_id)
            write = Write(self.ids.graph_of(node))
            tag(write, node, key, value, before=experiment.tags.get(key))
            write.apply(self.store)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with self.store.writer():
            experiment = self.get_experiment(experiment_id)
            if key not in experiment.tags:
                raise NotFoundError(f"No tag with name: {key} in experiment {experiment_id}.")
            node = self.ids.experiment(experiment_id)
            write = Write(self.ids.graph_of(node))
            untag(write, node, key, experiment.tags[key])
            write.apply(self.store)

    # -- runs ----------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        user_id: str | None = None,
        code_version: str | None = None,
        seed: int | None = None,
        status: str = "running",
    ) -> RunInfo:
        """A new run in an active experiment (experiment 0 is made when first used)."""
        tags = dict(tags or {})
        for key, value in tags.items():
            check(validation._validate_tag, key, value, field="tags")
        run_name = run_name or tags.get(TAG_RUN_NAME) or _generated_name()
        tags[TAG_RUN_NAME] = run_name
        user_id = user_id or tags.get(TAG_USER) or ""
        code_version = code_version or tags.get(TAG_COMMIT)
        started = now_millis() if start_time is None else int(start_time)
        run_status = self.words.run_status(status)
        with self.store.writer():
            experiment = self._active_experiment(experiment_id)
            run_id = uuid.uuid4().hex
            write = self._new_run(
                experiment, run_id, run_name, started, run_status.iri, user_id, code_version, seed
            )
            run = self.ids.run(run_id)
            for key, value in tags.items():
                tag(write, run, key, value)
                self._tag_effects(write, run, key, value)
            write.apply(self.store)
        return self.get_run_info(run_id)

    def _new_run(
        self,
        experiment: Experiment,
        run_id: str,
        run_name: str,
        started: int,
        status: NamedNode,
        user_id: str,
        code_version: str | None,
        seed: int | None,
    ) -> Write:
        """The triples of a new run (its graph marked as a lifecycle graph)."""
        run = self.ids.run(run_id)
        artifact_uri = f"{experiment.artifact_location.rstrip('/')}/{run_id}/artifacts"
        write = Write(self.ids.graph_of(run)).new_graph()
        write.typed(run, MKG.Run, MLS.Run, PROV.Activity)
        return write.add_all(
            run,
            [
                (MKG.runId, Literal(run_id)),
                (MKG.inExperiment, NamedNode(experiment.iri)),
                (MKG.runName, Literal(run_name)),
                (MKG.runStatus, status),
                (PROV.startedAtTime, to_millis_literal(started)),
                (self.ids.start_index(experiment.experiment_id), to_millis_literal(started)),
                (MKG.lifecycleStage, Literal(ACTIVE)),
                (MKG.artifactUri, Literal(artifact_uri)),
                (MKG.userId, Literal(user_id)),
                (MKG.codeVersion, Literal(code_version) if code_version else None),
                (MKG.randomSeed, _int(seed) if seed is not None else None),
            ],
        )

    def _param(
        self, write: Write, run: NamedNode, key: str, value: str, experiment_id: str
    ) -> None:
        node = LifecycleIds.part(run, "param", key)
        write.add(run, MKG.hasParam, node).typed(node, MKG.Param)
        write.add(node, MKG.key, Literal(key)).add(node, MKG.value, Literal(value))
        write.add(run, self.ids.param_index(experiment_id, key), Literal(value))

    def get_run_info(self, run_id: str) -> RunInfo:
        return self.get_run(run_id).info

    def get_run(self, run_id: str) -> Run:
        """The run with its params, tags, latest metrics, datasets and artifacts, or
        `NotFoundError`.

        Kept in memory until the store's next write (`_RUNS`): a search answers up to 1,000
        runs, and reading one back from the store (its ~50 quads) costs more than the search's
        own query; a dashboard asks for the same runs again and again."""
        run = self.ids.run(run_id)
        key = (self.store.location, self.store.generation, run.value)
        with _RUNS_LOCK:
            found = _RUNS.get(key)
        if found is not None:
            return found
        record = GraphRecord(self.store.graph_quads(self.ids.graph_of(run)))
        if record.one(run, MKG.runId) is None:
            raise NotFoundError(f"Run with id={run_id} not found", field="run_id")
        read = _run_of(record, run, self.words)
        with _RUNS_LOCK:
            _RUNS[key] = read
        return read

    def _state(self, run_id: str) -> _RunState:
        run = self.ids.run(run_id)
        rows = self.store.select(
            _RUN_STATE % {"g": sparql_term(self.ids.graph_of(run)), "run": sparql_term(run)}
        )
        state = _RunState("", "")
        for row in rows:
            kind = text_of(row["kind"])
            node = row["node"]
            if kind == "status":
                state.status = text_of(row["value"])
            elif kind == "stage":
                state.stage = text_of(row["value"])
            elif kind == "experiment":
                state.experiment_id = text_of(row["value"]).rsplit("/", 1)[-1]
            elif kind == "started":
                assert isinstance(row["value"], Literal)
                state.started = row["value"]
            elif kind == "param":
                state.params[text_of(row["key"])] = text_of(row["value"])
            elif kind == "tag":
                assert isinstance(node, NamedNode) and isinstance(row["value"], Literal)
                state.tags[text_of(row["key"])] = (node, row["value"])
            else:
                assert isinstance(node, NamedNode)
                key = text_of(row["key"])
                minimum, maximum = row["min"], row["max"]
                summary = LatestMetric(
                    key,
                    float(text_of(row["last"])),
                    int(text_of(row["ts"])),
                    int(text_of(row["step"])),
                    float(text_of(minimum)) if minimum is not None else None,
                    float(text_of(maximum)) if maximum is not None else None,
                    int(text_of(row["count"])),
                )
                graph = self.ids.graph_of(run)
                old = [
                    Quad(node, predicate, row[name], graph)
                    for predicate, name in zip(
                        _SUMMARY, ("last", "step", "ts", "min", "max", "count"), strict=True
                    )
                    if row[name] is not None
                ]
                state.series[key] = (node, summary, old)
        if not state.status:
            raise NotFoundError(f"Run with id={run_id} not found", field="run_id")
        return state

    def _active(self, run_id: str, state: _RunState) -> None:
        """Refuse a write to a deleted or ended run."""
        if state.stage != ACTIVE:
            raise InvalidStateError(
                f"The run {run_id} must be in the 'active' state. Current state is {state.stage}.",
                field="run_id",
                hint="restore the run first",
            )
        status = self.words.status_of(state.status)
        if status.terminal:
            raise InvalidStateError(
                f"The run {run_id} is {status.code} ({status.mlflow_name}): a run that has "
                "ended takes no more params, metrics or tags",
                field="run_id",
                hint="start a new run, or log before ending the run",
            )

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Log metrics, params and tags to a running run: all of them, or (on any error)
        none. A param already set may be logged again with the same value only."""
        check_batch(metrics=metrics, params=params, tags=tags)
        with mlflow_verdicts("params"):
            validation._validate_param_keys_unique([_Param(k, v) for k, v in params])
        run = self.ids.run(run_id)
        graph = self.ids.graph_of(run)
        with self.store.writer():
            state = self._state(run_id)
            self._active(run_id, state)
            write = Write(graph)
            for key, value in params:
                before = state.params.get(key)
                if before is not None and before != value:
                    raise LifecycleError(
                        f"Changing param values is not allowed. Param with key='{key}' was "
                        f"already logged with value='{before}' for run ID='{run_id}'. "
                        f"Attempted logging new value '{value}'.",
                        field=f"params.{key}",
                        hint="params are set once; log the new value in a new run",
                    )
                if before is None:
                    self._param(write, run, key, value, state.experiment_id)
            by_key: dict[str, list[Metric]] = {}
            for metric in metrics:
                by_key.setdefault(metric.key, []).append(metric)
            for key, points in by_key.items():
                self._add_points(
                    write, run, key, points, state.series.get(key), state.experiment_id
                )
            for key, value in tags:
                before_tag = state.tags.get(key)
                tag(write, run, key, value, before=before_tag[1].value if before_tag else None)
                self._tag_effects(write, run, key, value)
            write.apply(self.store)

    def _add_points(
        self,
        write: Write,
        run: NamedNode,
        key: str,
        points: Sequence[Metric],
        before: tuple[NamedNode, LatestMetric, list[Quad]] | None,
        experiment_id: str | None,
    ) -> None:
        """Add points to a series and rewrite its summary (and, for an active run of
        `experiment_id`, its index triples)."""
        points_graph = self.ids.points_graph_of(run)
        series = Write(points_graph)
        if before is None:
            node = LifecycleIds.part(run, "metric", key)
            write.add(run, MKG.hasMetric, node).typed(node, MKG.MetricSeries)
            write.add(node, MKG.key, Literal(key))
            if key.startswith("system/"):
                write.add(node, MKG.systemMetric, Literal(True))
            summary = summarize(key, None, points)
            series.new_graph()
        else:
            node, previous, old = before
            write.remove_quads(old)
            if experiment_id is not None:
                write.remove_quads(self._metric_index(run, experiment_id, key, old))
            summary = summarize(key, previous, points)
        write.extend(series.add(node, MKG.points, encode_points(points)))
        values = [
            (MKG.lastValue, _double(summary.value)),
            (MKG.lastStep, _int(summary.step)),
            (MKG.lastTimestamp, _int(summary.timestamp)),
            (MKG.minValue, _double(summary.minimum) if summary.minimum is not None else None),
            (MKG.maxValue, _double(summary.maximum) if summary.maximum is not None else None),
            (MKG.pointCount, _int(summary.count)),
        ]
        write.add_all(node, values)
        if experiment_id is not None:
            graph = self.ids.graph_of(run)
            summaries = [Quad(node, p, o, graph) for p, o in values if o is not None]
            write.added.extend(self._metric_index(run, experiment_id, key, summaries))

    def _metric_index(
        self, run: NamedNode, experiment_id: str, key: str, summary: Sequence[Quad]
    ) -> list[Quad]:
        """The index triples of one series, from its summary quads (a NaN is left out)."""
        graph = self.ids.graph_of(run)
        found = []
        for quad in summary:
            which = _INDEXED.get(quad.predicate)
            value = quad.object
            if which is not None and isinstance(value, Literal) and value.value != "NaN":
                index = self.ids.metric_index(experiment_id, key, which)
                found.append(Quad(run, index, value, graph))
        return found

    def _index_quads(self, run: NamedNode, state: _RunState) -> list[Quad]:
        """Every index triple a run has while active: its params and metric summaries."""
        graph = self.ids.graph_of(run)
        found = [
            Quad(run, self.ids.param_index(state.experiment_id, key), Literal(value), graph)
            for key, value in state.params.items()
        ]
        if state.started is not None:
            found.append(Quad(run, self.ids.start_index(state.experiment_id), state.started, graph))
        for key, (_, _, summary) in state.series.items():
            found += self._metric_index(run, state.experiment_id, key, summary)
        return found

    def log_metric(
        self, run_id: str, key: str, value: float, *, timestamp: int | None = None, step: int = 0
    ) -> None:
        """One metric point (a batch of one)."""
        stamp = now_millis() if timestamp is None else timestamp
        self.log_batch(run_id, metrics=[Metric(key, value, stamp, step)])

    def log_param(self, run_id: str, key: str, value: str) -> None:
        self.log_batch(run_id, params=[(key, value)])

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        """Set a tag; unlike params, tags may change (and may be set on an ended run, as in
        MLflow, where the end of a run is itself recorded in tags by some clients)."""
        check(validation._validate_tag, key, value, field="key")
        run = self.ids.run(run_id)
        with self.store.writer():
            state = self._state(run_id)
            if state.stage != ACTIVE:
                self._active(run_id, state)
            write = Write(self.ids.graph_of(run))
            before = state.tags.get(key)
            tag(write, run, key, value, before=before[1].value if before else None)
            self._tag_effects(write, run, key, value)
            write.apply(self.store)

    def delete_tag(self, run_id: str, key: str) -> None:
        run = self.ids.run(run_id)
        with self.store.writer():
            state = self._state(run_id)
            if state.stage != ACTIVE:
                self._active(run_id, state)
            if key not in state.tags:
                raise NotFoundError(f"No tag with name: {key} in run with id {run_id}", field="key")
            write = Write(self.ids.graph_of(run))
            untag(write, run, key, state.tags[key][1].value)
            write.apply(self.store)

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point logged for `key`, by step then time."""
        run = self.ids.run(run_id)
        series = LifecycleIds.part(run, "metric", key)
        quads = self.store.subject_quads(series, self.ids.points_graph_of(run))
        literals = [q.object for q in quads if isinstance(q.object, Literal)]
        if not literals and not self.store.has_graph(self.ids.graph_of(run)):
            raise NotFoundError(f"Run with id={run_id} not found", field="run_id")
        return history(key, literals)

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Change a run's status (ending it records its end time), or its name."""
        run = self.ids.run(run_id)
        with self.store.writer():
            state = self._state(run_id)
            if state.stage != ACTIVE:
                self._active(run_id, state)
            write = Write(self.ids.graph_of(run))
            if status is not None:
                chosen = self.words.run_status(status)
                write.extend(self._replacing(run, MKG.runStatus, chosen.iri))
                if chosen.terminal:
                    ended = now_millis() if end_time is None else int(end_time)
                    write.extend(self._replacing(run, PROV.endedAtTime, to_millis_literal(ended)))
            elif end_time is not None:
                write.extend(self._replacing(run, PROV.endedAtTime, to_millis_literal(end_time)))
            if run_name:
                write.extend(self._replacing(run, MKG.runName, Literal(run_name)))
                before = state.tags.get(TAG_RUN_NAME)
                tag(write, run, TAG_RUN_NAME, run_name, before=before[1].value if before else None)
            write.apply(self.store)
        return self.get_run_info(run_id)

    def delete_run(self, run_id: str) -> None:
        """Mark the run deleted (restorable; searches leave it out)."""
        self._set_run_stage(run_id, DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, ACTIVE)

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        """A deleted run keeps its records but leaves the experiment's index (searches and
        leaderboards skip it); restoring puts it back."""
        run = self.ids.run(run_id)
        with self.store.writer():
            state = self._state(run_id)
            if state.stage == stage:
                return
            write = self._replacing(run, MKG.lifecycleStage, Literal(stage))
            index = self._index_quads(run, state)
            if stage == ACTIVE:
                write.added.extend(index)
            else:
                write.remove_quads(index)
            write.apply(self.store)

    # -- datasets ------------------------------------------------------------------------------
    def log_inputs(
        self, run_id: str, datasets: Sequence[DatasetInput] = (), *, models: Sequence[str] = ()
    ) -> None:
        """Datasets the run used (`prov:used`, with their context: training, eval, ...) and
        models it started from (IRIs of ingested models, e.g. a hub base model)."""
        for dataset in datasets:
            check(
                validation._validate_dataset,
                _DatasetProxy(dataset),
                field="datasets",
            )
        run = self.ids.run(run_id)
        graph = self.ids.graph_of(run)
        with self.store.writer():
            state = self._state(run_id)
            self._active(run_id, state)
            write = Write(graph)
            for dataset in datasets:
                node = self._dataset_node(write, dataset)
                usage = LifecycleIds.part(run, "input", f"{dataset.name}/{dataset.digest}")
                write.add(run, MKG.usedDataset, node)
                write.add(run, PROV.qualifiedUsage, usage).typed(usage, PROV.Usage)
                write.add(usage, PROV.entity, node)
                if dataset.context:
                    write.add(usage, MKG.datasetContext, Literal(dataset.context))
            for model in models:
                write.add(run, MKG.usedModel, model_node(model, "models"))
            write.apply(self.store)

    def log_outputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Datasets the run produced (`prov:wasGeneratedBy` the run)."""
        run = self.ids.run(run_id)
        with self.store.writer():
            state = self._state(run_id)
            self._active(run_id, state)
            write = Write(self.ids.graph_of(run))
            for dataset in datasets:
                node = self._dataset_node(write, dataset)
                write.add(node, PROV.wasGeneratedBy, run)
            write.apply(self.store)

    def _dataset_node(self, write: Write, dataset: DatasetInput) -> NamedNode:
        hub = _hub_dataset(dataset)
        node = HF_DATASETS[hub] if hub else self.ids.dataset(dataset.name, dataset.digest)
        write.typed(node, SCHEMA.Dataset, PROV.Entity)
        write.add_all(
            node,
            [
                (MKG.name, Literal(dataset.name)),
                (MKG.datasetDigest, Literal(dataset.digest)),
                (MKG.datasetSource, Literal(dataset.source) if dataset.source else None),
                (MKG.key, Literal(dataset.source_type) if dataset.source_type else None),
            ],
        )
        return node

    # -- helpers -------------------------------------------------------------------------------
    def _tag_effects(self, write: Write, run: NamedNode, key: str, value: str) -> None:
        """The tags MLflow's clients set that mean a fact of the graph: the code version, the
        parent run."""
        if key == TAG_COMMIT:
            write.add(run, MKG.codeVersion, Literal(value))
        elif key == TAG_PARENT and re.fullmatch(r"[0-9a-f]{32}", value):
            parent = self.ids.run(value)
            if parent == run:
                raise InvalidStateError(
                    "a run cannot be its own parent: the lineage would have a cycle",
                    field=TAG_PARENT,
                )
            from kg.lifecycle.lineage import refuse_cycle

            refuse_cycle(self.store, run, parent)
            write.add(run, MKG.parentRun, parent)

    def _replacing(
        self, subject: NamedNode, predicate: NamedNode, obj: NamedNode | Literal
    ) -> Write:
        graph = self.ids.graph_of(subject)
        write = Write(graph)
        for quad in self.store.subject_quads(subject, graph):
            if quad.predicate == predicate:
                write.removed.append(quad)
        return write.add(subject, predicate, obj)

    def _replace(self, subject: NamedNode, predicate: NamedNode, obj: NamedNode | Literal) -> None:
        """Replace one property's value; an experiment also records when it changed."""
        write = self._replacing(subject, predicate, obj)
        if subject.value.startswith(self.ids.experiment("").value):
            write.extend(self._replacing(subject, MKG.updatedAt, to_millis_literal(now_millis())))
        write.apply(self.store)


@dataclass(frozen=True)
class _Param:
    key: str
    value: str


@dataclass(frozen=True)
class _DatasetProxy:
    """What MLflow's dataset validation reads."""

    dataset: DatasetInput

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def digest(self) -> str:
        return self.dataset.digest

    @property
    def source_type(self) -> str:
        return self.dataset.source_type or "local"

    @property
    def source(self) -> str:
        return self.dataset.source or "{}"

    @property
    def schema(self) -> str | None:
        return self.dataset.schema or None

    @property
    def profile(self) -> str | None:
        return self.dataset.profile or None


def _hub_dataset(dataset: DatasetInput) -> str | None:
    """The hub id of a dataset on the HuggingFace Hub, so a run's input joins the node model
    cards name: from a URL or `hf://datasets/...` source, or the JSON source MLflow's dataset
    classes write (`{"url": ...}`, or `{"path": ...}` for a `hugging_face` source)."""
    source = dataset.source or ""
    if source.startswith("{"):
        try:
            fields = json.loads(source)
        except ValueError:
            fields = {}
        if not isinstance(fields, dict):
            fields = {}
        if dataset.source_type == "hugging_face" and isinstance(fields.get("path"), str):
            path = fields["path"]
            return path if re.fullmatch(r"[\w.-]+(?:/[\w.-]+)?", path) else None
        source = str(fields.get("url") or fields.get("uri") or "")
    found = _HUB_SOURCE.match(source)
    return found.group(1) if found else None


_ADJECTIVES = (
    "bold",
    "calm",
    "eager",
    "gentle",
    "keen",
    "lucid",
    "merry",
    "nimble",
    "quiet",
    "swift",
)
_NOUNS = ("otter", "heron", "lynx", "finch", "panda", "wren", "koala", "ibis", "yak", "gecko")


def _generated_name() -> str:
    """A readable run name when none is given, as MLflow makes one."""
    pick = uuid.uuid4().int
    return f"{_ADJECTIVES[pick % 10]}-{_NOUNS[(pick // 10) % 10]}-{pick % 1000}"


def _run_of(record: GraphRecord, run: NamedNode, words: object) -> Run:
    from kg.lifecycle.vocabulary import Vocabulary

    assert isinstance(words, Vocabulary)
    status = words.status_of(record.one(run, MKG.runStatus) or MKG.StatusRunning.value)
    ended = record.term(run, PROV.endedAtTime)
    seed = record.one(run, MKG.randomSeed)
    experiment = record.one(run, MKG.inExperiment) or ""
    info = RunInfo(
        run_id=record.one(run, MKG.runId) or "",
        experiment_id=experiment.rsplit("/", 1)[-1],
        run_name=record.one(run, MKG.runName) or "",
        status=status.mlflow_name,
        start_time=from_millis(record.term(run, PROV.startedAtTime)),
        end_time=from_millis(ended) if ended is not None else None,
        lifecycle_stage=record.one(run, MKG.lifecycleStage) or ACTIVE,
        artifact_uri=record.one(run, MKG.artifactUri) or "",
        user_id=record.one(run, MKG.userId) or "",
        code_version=record.one(run, MKG.codeVersion),
        seed=int(seed) if seed is not None else None,
        iri=run.value,
    )
    metrics = {}
    for node in record.all(run, MKG.hasMetric):
        assert isinstance(node, NamedNode)
        key = record.one(node, MKG.key) or ""
        minimum, maximum = record.one(node, MKG.minValue), record.one(node, MKG.maxValue)
        metrics[key] = LatestMetric(
            key,
            float(record.one(node, MKG.lastValue) or "nan"),
            int(record.one(node, MKG.lastTimestamp) or 0),
            int(record.one(node, MKG.lastStep) or 0),
            float(minimum) if minimum is not None else None,
            float(maximum) if maximum is not None else None,
            int(record.one(node, MKG.pointCount) or 0),
        )
    contexts = {}
    for usage in record.all(run, PROV.qualifiedUsage):
        assert isinstance(usage, NamedNode)
        contexts[record.one(usage, PROV.entity)] = record.one(usage, MKG.datasetContext) or ""

    def dataset(node: object) -> DatasetInput:
        assert isinstance(node, NamedNode)
        return DatasetInput(
            name=record.one(node, MKG.name) or "",
            digest=record.one(node, MKG.datasetDigest) or "",
            source_type=record.one(node, MKG.key) or "",
            source=record.one(node, MKG.datasetSource) or "",
            context=contexts.get(node.value, ""),
            iri=node.value,
        )

    inputs = tuple(dataset(node) for node in record.all(run, MKG.usedDataset))
    outputs = tuple(
        dataset(subject)
        for subject, predicates in record.by_subject.items()
        if run in predicates.get(PROV.wasGeneratedBy, [])
        and SCHEMA.Dataset in predicates.get(RDF.type, [])
    )
    from kg.lifecycle.artifacts import artifact_of

    artifacts = tuple(
        sorted(
            (artifact_of(record, node, words) for node in record.all(run, MKG.hasArtifact)),  # type: ignore[arg-type]
            key=lambda a: a.path,
        )
    )
    return Run(
        info,
        record.pairs(run, MKG.hasParam),
        record.pairs(run, MKG.hasTag),
        metrics,
        inputs,
        outputs,
        artifacts,
        tuple(text_of(m) for m in record.all(run, MKG.usedModel)),
    )
