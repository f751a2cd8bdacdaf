"""Runs imported in bulk: a history kept elsewhere (an export of another tracker, a benchmark's
synthetic sweep) written as the lifecycle writes runs, without a round trip per metric.

The runs are checked as one `log_batch` checks its items (MLflow's rules), then written in
chunks, each one transaction (`ModelStore.load`): a chunk lands whole or not at all, and a run
id already in the store is refused before anything of its chunk is written.

>>> from kg.store import EmbeddedStore
>>> from kg.lifecycle.tracking import Tracking
>>> tracking = Tracking(EmbeddedStore.open(None))
>>> experiment = tracking.create_experiment("imported")
>>> done = import_runs(tracking, experiment, [ImportedRun(
...     "0123456789abcdef0123456789abcdef", "old-sweep-1", 1000, 2000,
...     metrics=(Metric("acc", 0.9, 1500, 1),), params=(("lr", "0.1"),))])
>>> done, tracking.get_run("0123456789abcdef0123456789abcdef").metrics["acc"].value
(1, 0.9)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

from pyoxigraph import NamedNode

from kg.errors import AlreadyExistsError, LifecycleError
from kg.lifecycle.graph import Write, tag, to_millis_literal
from kg.lifecycle.records import Metric
from kg.lifecycle.rules import check_batch
from kg.lifecycle.tracking import TAG_RUN_NAME, Tracking
from kg.store.sparql_text import sparql_term
from ontology.namespaces import PROV

__all__ = ["ImportedRun", "import_runs"]

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class ImportedRun:
    """One run as another tracker kept it (times in ms since the epoch)."""

    run_id: str
    name: str
    start_time: int
    end_time: int | None = None
    status: str = "finished"
    metrics: tuple[Metric, ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    tags: tuple[tuple[str, str], ...] = ()


def import_runs(
    tracking: Tracking, experiment_id: str, runs: Iterable[ImportedRun], *, chunk: int = 2000
) -> int:
    """Write `runs` into an experiment, `chunk` runs per transaction; how many were written."""
    experiment = tracking.get_experiment(experiment_id)
    written = 0
    pending = iter(runs)
    while group := list(islice(pending, chunk)):
        write = Write(tracking.ids.graph_of(NamedNode(experiment.iri)))
        for run in group:
            if not _RUN_ID.match(run.run_id):
                raise LifecycleError(f"not a run id: {run.run_id!r}", field="run_id")
            check_batch(metrics=run.metrics, params=run.params, tags=run.tags)
            status = tracking.words.run_status(run.status)
            node = tracking.ids.run(run.run_id)
            one = tracking._new_run(
                experiment, run.run_id, run.name, run.start_time, status.iri, "", None, None
            )
            if run.end_time is not None:
                one.add(node, PROV.endedAtTime, to_millis_literal(run.end_time))
            for key, value in run.params:
                tracking._param(one, node, key, value, experiment_id)
            for key, value in (*run.tags, (TAG_RUN_NAME, run.name)):
                tag(one, node, key, value)
            series: dict[str, list[Metric]] = {}
            for metric in run.metrics:
                series.setdefault(metric.key, []).append(metric)
            for key, points in series.items():
                tracking._add_points(one, node, key, points, None, experiment_id)
            write.extend(one)
        graphs = " ".join(
            sparql_term(tracking.ids.graph_of(tracking.ids.run(r.run_id))) for r in group
        )
        with tracking.store.writer():
            if tracking.store.ask(f"ASK {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?g ?p ?o }} }}"):
                raise AlreadyExistsError(
                    "a run of this chunk is already in the store", field="run_id",
                    hint="import each run once; `modelkg runs show RUN_ID` shows the one there",
                )  # fmt: skip
            tracking.store.load(write.added)
        written += len(group)
    return written
