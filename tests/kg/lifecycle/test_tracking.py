"""A training pipeline records its work: experiments, runs, params, metric series, tags, datasets.
Bad input is refused with MLflow's verdict and leaves the store exactly as it was."""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.errors import AlreadyExistsError, InvalidStateError, LifecycleError, NotFoundError
from kg.lifecycle import DatasetInput, Metric, Tracking, leaderboard, search_runs
from kg.store import ModelStore, open_store
from tests.conftest import snapshot


@pytest.fixture
def tracking(store_path: Path) -> Iterator[Tracking]:
    with open_store(str(store_path)) as store:
        yield Tracking(store)


def test_a_run_keeps_what_the_script_logged(any_store: ModelStore) -> None:
    """Over every engine: the params, every point of a series, the latest values, the tags."""
    tracking = Tracking(any_store)
    experiment = tracking.create_experiment("sentiment", description="fine-tune BERT on reviews")
    run = tracking.create_run(experiment, run_name="lr-3e-5", seed=7, code_version="abc123")
    tracking.log_batch(run.run_id, params=[("lr", "3e-5"), ("epochs", "3")])
    for step, (loss, acc) in enumerate([(0.9, 0.6), (0.5, 0.8), (0.3, 0.85)]):
        tracking.log_batch(
            run.run_id,
            metrics=[
                Metric("loss", loss, 1000 + step, step),
                Metric("acc", acc, 1000 + step, step),
            ],
        )
    tracking.set_tag(run.run_id, "team", "nlp")
    tracking.update_run(run.run_id, status="finished")

    got = tracking.get_run(run.run_id)
    assert got.info.status == "FINISHED" and got.info.end_time is not None
    assert (got.info.seed, got.info.code_version, got.info.run_name) == (7, "abc123", "lr-3e-5")
    assert got.params == {"lr": "3e-5", "epochs": "3"}
    assert got.tags["team"] == "nlp"
    assert got.metrics["loss"].value == 0.3 and got.metrics["loss"].step == 2
    assert (got.metrics["acc"].minimum, got.metrics["acc"].maximum) == (0.6, 0.85)
    assert [m.value for m in tracking.metric_history(run.run_id, "loss")] == [0.9, 0.5, 0.3]
    assert tracking.get_experiment(experiment).description == "fine-tune BERT on reviews"


def test_the_latest_point_is_the_highest_step_whatever_the_order_logged(tracking: Tracking) -> None:
    run = tracking.create_run(tracking.create_experiment("e"))
    tracking.log_metric(run.run_id, "acc", 0.9, step=5, timestamp=10)
    tracking.log_metric(run.run_id, "acc", 0.1, step=2, timestamp=20)
    assert tracking.get_run(run.run_id).metrics["acc"].value == 0.9
    assert [m.step for m in tracking.metric_history(run.run_id, "acc")] == [2, 5]


def test_nan_is_kept_and_infinities_are_stored_as_mlflow_does(tracking: Tracking) -> None:
    run = tracking.create_run(tracking.create_experiment("e"))
    tracking.log_metric(run.run_id, "grad", math.nan, step=0)
    tracking.log_metric(run.run_id, "grad", math.inf, step=1)
    tracking.log_metric(run.run_id, "grad", -math.inf, step=2)
    values = [m.value for m in tracking.metric_history(run.run_id, "grad")]
    assert math.isnan(values[0])
    assert values[1:] == [sys.float_info.max, -sys.float_info.max]


def test_system_metrics_are_marked(tracking: Tracking) -> None:
    run = tracking.create_run(tracking.create_experiment("e"))
    tracking.log_metric(run.run_id, "system/cpu_utilization_percentage", 42.0)
    assert tracking.store.ask(
        "ASK { ?s mkg:key 'system/cpu_utilization_percentage' ; mkg:systemMetric true }"
    )


def test_series_are_stored_compactly_not_a_triple_per_point(tracking: Tracking) -> None:
    run = tracking.create_run(tracking.create_experiment("e"))
    tracking.log_batch(run.run_id, metrics=[Metric("loss", 1 / (s + 1), s, s) for s in range(1000)])
    (row,) = tracking.store.select(
        "SELECT (COUNT(*) AS ?n) WHERE { ?s mkg:key 'loss' ; mkg:points ?p }"
    )
    assert row["n"].value == "1"  # type: ignore[union-attr]
    assert len(tracking.metric_history(run.run_id, "loss")) == 1000


@pytest.mark.parametrize(
    ("status", "verdict"),
    [("finished", "FINISHED"), ("failed", "FAILED"), ("killed", "KILLED")],
)
def test_a_run_that_ended_takes_no_more_logging(
    tracking: Tracking, status: str, verdict: str
) -> None:
    run = tracking.create_run(tracking.create_experiment("e"))
    tracking.update_run(run.run_id, status=status)
    before = snapshot(tracking.store)
    with pytest.raises(InvalidStateError, match=verdict) as refused:
        tracking.log_metric(run.run_id, "loss", 0.1)
    assert refused.value.error_code == "INVALID_STATE"
    assert snapshot(tracking.store) == before


def test_a_param_once_set_never_changes(tracking: Tracking) -> None:
    run = tracking.create_run(tracking.create_experiment("e"))
    tracking.log_param(run.run_id, "lr", "0.1")
    tracking.log_param(run.run_id, "lr", "0.1")  # the same value again is fine, as in MLflow
    before = snapshot(tracking.store)
    with pytest.raises(LifecycleError, match="Changing param values is not allowed"):
        tracking.log_batch(run.run_id, metrics=[Metric("acc", 0.5, 1, 0)], params=[("lr", "0.2")])
    assert snapshot(tracking.store) == before  # the metric of the refused batch is not there either


@pytest.mark.parametrize(
    ("metrics", "params", "message"),
    [
        ([Metric("acc", 0.5, 1, 0)] * 1001, [], "at most 1000 metrics"),
        ([], [(f"p{i}", "v") for i in range(101)], "at most 100 params"),
        ([Metric("acc", "high", 1, 0)], [], r"Invalid value \"high\""),  # type: ignore[arg-type]
        ([Metric("acc", 0.5, -1, 0)], [], "Timestamp must be a nonnegative"),
        ([Metric("", 0.5, 1, 0)], [], "name"),
        ([], [("lr", "1"), ("lr", "2")], "Duplicate parameter keys"),
        ([Metric("../x", 0.5, 1, 0)], [], "must not resolve to other names"),
    ],
)
def test_a_bad_batch_is_refused_whole(
    tracking: Tracking,
    metrics: list[Metric],
    params: list[tuple[str, str]],
    message: str,
) -> None:
    run = tracking.create_run(tracking.create_experiment("e"))
    before = snapshot(tracking.store)
    with pytest.raises(LifecycleError, match=message) as refused:
        tracking.log_batch(run.run_id, metrics=[Metric("ok", 1.0, 1, 0), *metrics], params=params)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert snapshot(tracking.store) == before


def test_unknown_things_are_not_found(tracking: Tracking) -> None:
    with pytest.raises(NotFoundError) as unknown_run:
        tracking.log_metric("0" * 32, "acc", 1.0)
    assert unknown_run.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(NotFoundError):
        tracking.get_experiment("12345")
    with pytest.raises(NotFoundError):
        tracking.create_run("12345")


def test_experiment_names_are_unique_and_deleted_experiments_take_no_runs(
    tracking: Tracking,
) -> None:
    experiment = tracking.create_experiment("e")
    with pytest.raises(AlreadyExistsError):
        tracking.create_experiment("e")
    run = tracking.create_run(experiment)
    tracking.delete_experiment(experiment)
    assert tracking.get_run(run.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(InvalidStateError, match="active"):
        tracking.create_run(experiment)
    tracking.restore_experiment(experiment)
    assert tracking.get_run(run.run_id).info.lifecycle_stage == "active"


def test_the_default_experiment_is_made_when_first_used(tracking: Tracking) -> None:
    run = tracking.create_run("0")
    assert tracking.get_experiment("0").name == "Default"
    assert run.experiment_id == "0"
    assert tracking.create_experiment("next") == "1"


def test_concurrent_writers_to_one_run_lose_no_metric(tracking: Tracking) -> None:
    run = tracking.create_run(tracking.create_experiment("e"))

    def write(worker: int) -> None:
        for step in range(50):
            tracking.log_metric(
                run.run_id, "loss", worker + step / 100, step=step, timestamp=worker
            )

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tracking.metric_history(run.run_id, "loss")) == 200
    assert tracking.get_run(run.run_id).metrics["loss"].count == 200


def test_datasets_a_run_used_and_produced(tracking: Tracking) -> None:
    run = tracking.create_run(tracking.create_experiment("e"))
    tracking.log_inputs(
        run.run_id,
        [
            DatasetInput("imdb", "d1", source="hf://datasets/stanfordnlp/imdb", context="training"),
            DatasetInput("holdout", "d2", source="/data/holdout.parquet", context="eval"),
        ],
        models=["google-bert/bert-base-uncased"],
    )
    tracking.log_outputs(run.run_id, [DatasetInput("predictions", "d3")])
    got = tracking.get_run(run.run_id)
    assert {(d.name, d.context) for d in got.inputs} == {("imdb", "training"), ("holdout", "eval")}
    # a hub dataset joins the hub's own node, the one model cards name
    assert "https://huggingface.co/datasets/stanfordnlp/imdb" in {d.iri for d in got.inputs}
    assert [d.name for d in got.outputs] == ["predictions"]
    assert got.used_models == ("https://huggingface.co/google-bert/bert-base-uncased",)


def test_search_runs_speaks_mlflows_filter_grammar(tracking: Tracking) -> None:
    experiment = tracking.create_experiment("sweep")
    for lr, acc, status in (
        ("0.1", 0.8, "finished"),
        ("0.01", 0.93, "finished"),
        ("0.001", 0.9, "failed"),
    ):
        run = tracking.create_run(experiment, run_name=f"lr={lr}", tags={"opt": "adam"})
        tracking.log_batch(run.run_id, metrics=[Metric("acc", acc, 1, 0)], params=[("lr", lr)])
        tracking.update_run(run.run_id, status=status)

    def names(filter_string: str, **options: object) -> list[str]:
        found = search_runs(tracking, [experiment], filter_string, **options)  # type: ignore[arg-type]
        return [r.info.run_name for r in found.items]

    assert names("metrics.acc > 0.85", order_by=["metrics.acc DESC"]) == ["lr=0.01", "lr=0.001"]
    assert names("params.lr = '0.1'") == ["lr=0.1"]
    assert names("attributes.status = 'FINISHED'", order_by=["params.lr ASC"]) == [
        "lr=0.01",
        "lr=0.1",
    ]
    assert sorted(names("tags.opt LIKE 'ad%' and attributes.run_name ILIKE 'LR=0.0%'")) == [
        "lr=0.001",
        "lr=0.01",
    ]
    assert names("params.lr = 'x'' or 1=1 --'") == []  # a quote inside a value stays a value
    page = search_runs(tracking, [experiment], max_results=2)
    rest = search_runs(tracking, [experiment], max_results=2, page_token=page.next_token)
    assert len(page.items) == 2 and len(rest.items) == 1 and rest.next_token is None
    with pytest.raises(LifecycleError, match="comparator"):
        search_runs(tracking, [experiment], "metrics.acc >> 1")


def test_a_leaderboard_ranks_by_last_or_best_value(tracking: Tracking) -> None:
    experiment = tracking.create_experiment("board")
    series = {"a": [0.5, 0.2, 0.4], "b": [0.3, 0.3, 0.3], "c": [0.9, 0.1, 0.95]}
    for name, losses in series.items():
        run = tracking.create_run(experiment, run_name=name)
        tracking.log_batch(
            run.run_id, metrics=[Metric("loss", v, s, s) for s, v in enumerate(losses)]
        )
    board = leaderboard(tracking, experiment, "loss", goal="min", value="last")
    assert [(r.rank, r.run_name, r.value) for r in board] == [
        (1, "b", 0.3),
        (2, "a", 0.4),
        (3, "c", 0.95),
    ]
    best = leaderboard(tracking, experiment, "loss", goal="min", value="best", limit=2)
    assert [r.run_name for r in best] == ["c", "a"]
    assert [r.run_name for r in leaderboard(tracking, experiment, "loss", goal="max")] == [
        "c",
        "a",
        "b",
    ]
    with pytest.raises(LifecycleError, match="goal"):
        leaderboard(tracking, experiment, "loss", goal="highest")


@pytest.fixture
def sweep(tracking: Tracking) -> tuple[str, list[tuple[str, float, str, int]]]:
    """40 runs, with ties: (run id, accuracy, batch size, start time)."""
    experiment = tracking.create_experiment("ties")
    runs = []
    for i in range(40):
        started = 1_700_000_000_000 + (i % 7) * 1000  # start times repeat too
        run = tracking.create_run(experiment, run_name=f"r{i}", start_time=started)
        accuracy, size = round((i * 37 % 11) / 10, 1), str(16 * (1 + i % 3))
        tracking.log_batch(
            run.run_id, metrics=[Metric("acc", accuracy, 1, 0)], params=[("bs", size)]
        )
        runs.append((run.run_id, accuracy, size, started))
    return experiment, runs


def test_pages_of_a_search_are_mlflows_order_ties_included(
    tracking: Tracking, sweep: tuple[str, list[tuple[str, float, str, int]]]
) -> None:
    """Through the experiment's index and without it (all runs), the same order: the key,
    then start time newest first, then run id; every run on exactly one page."""
    experiment, runs = sweep
    by_start = sorted(runs, key=lambda r: r[0])
    by_start.sort(key=lambda r: r[3], reverse=True)
    want = sorted(by_start, key=lambda r: r[1], reverse=True)
    for view in ("active_only", "all"):
        pages, token = [], None
        while True:
            page = search_runs(tracking, [experiment], order_by=["metrics.acc DESC"],
                               max_results=7, page_token=token, view=view)  # fmt: skip
            pages += [run.info.run_id for run in page.items]
            token = page.next_token
            if token is None:
                break
        assert pages == [r[0] for r in want], view
    newest = search_runs(tracking, [experiment], max_results=5).items
    assert [r.info.run_id for r in newest] == [r[0] for r in by_start[:5]]


def test_a_filter_through_the_index_finds_what_a_scan_finds(
    tracking: Tracking, sweep: tuple[str, list[tuple[str, float, str, int]]]
) -> None:
    experiment, runs = sweep
    wanted = "metrics.acc >= 0.5 and params.bs = '32'"
    for view in ("active_only", "all"):
        found = search_runs(tracking, [experiment], wanted, view=view, max_results=100).items
        assert {r.info.run_id for r in found} == {
            r for r, acc, size, _ in runs if acc >= 0.5 and size == "32"
        }, view


def test_a_deleted_run_leaves_searches_and_leaderboards_and_comes_back(
    tracking: Tracking, sweep: tuple[str, list[tuple[str, float, str, int]]]
) -> None:
    experiment, runs = sweep
    best = leaderboard(tracking, experiment, "acc", limit=1)[0]
    tracking.delete_run(best.run_id)
    assert best.run_id not in {r.run_id for r in leaderboard(tracking, experiment, "acc")}
    assert best.run_id not in {
        r.info.run_id for r in search_runs(tracking, [experiment], "metrics.acc > 0").items
    }
    deleted = search_runs(tracking, [experiment], view="deleted_only").items
    assert [r.info.run_id for r in deleted] == [best.run_id]
    tracking.restore_run(best.run_id)
    assert leaderboard(tracking, experiment, "acc", limit=1)[0].run_id == best.run_id
    tracking.delete_experiment(experiment)
    tracking.restore_experiment(experiment)
    assert len(leaderboard(tracking, experiment, "acc", limit=100)) == len(runs)


def test_a_run_read_again_shows_every_write_since_whoever_made_it(store_path: Path) -> None:
    """Runs read back are kept in memory until the store's next write: a dashboard that asks
    again sees each new metric and tag, whether the write came through the lifecycle API,
    through another `Tracking` on the same store, or as a SPARQL update."""
    with open_store(str(store_path)) as store:
        tracking, other = Tracking(store), Tracking(store)
        run = tracking.create_run(tracking.create_experiment("dash")).run_id
        assert tracking.get_run(run).metrics == {}
        assert tracking.get_run(run) == tracking.get_run(run)

        other.log_batch(run, metrics=[Metric("loss", 0.5, 1000, 0)])
        assert tracking.get_run(run).metrics["loss"].value == 0.5
        other.set_tag(run, "stage", "tuned")
        assert tracking.get_run(run).tags["stage"] == "tuned"

        name = other.get_run(run).info.run_name
        store.update(
            "DELETE { GRAPH ?g { ?r mkg:runName ?n } } INSERT { GRAPH ?g { ?r mkg:runName "
            f'"renamed" }} }} WHERE {{ GRAPH ?g {{ ?r mkg:runId "{run}" ; mkg:runName ?n }} }}'
        )
        assert name != "renamed"
        assert tracking.get_run(run).info.run_name == "renamed"
