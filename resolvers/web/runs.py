"""`/experiments`, `/experiments/{id}` and `/runs/{id}`: experiments with their runs and a
leaderboard, and a page per run with its metrics drawn over steps.

Everything is read through `kg.lifecycle` (`Tracking`, `search_runs`, `leaderboard`), the same
calls the MLflow API and GraphQL make, so a run logged by an MLflow client looks the same here.
A run page draws one plot per metric (at most `MAX_PLOTS`): losses and accuracies live on
different scales and would flatten each other in one plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from kg.lifecycle import LeaderboardRow, Run, Tracking, leaderboard, search_runs
from kg.store.base import ModelStore
from resolvers.pictures import PictureUnavailable, metric_plot_svg
from resolvers.services import services
from resolvers.threads import run_in_worker
from resolvers.web import links
from resolvers.web.layout import MAX_ID_CHARS, NotFound, Rendered, build, read_query, render
from resolvers.web.lineage import lineage_view

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

MAX_PLOTS = 12
"""Metrics drawn on a run page; the rest are in its table."""

MAX_RUNS = 200
"""Runs listed on an experiment's page (newest first)."""

METRIC_COLUMNS = 4
_LEADERBOARD_PARAMETERS = ("metric", "goal", "value")


def _check_id(what: str, text: str) -> None:
    if not text or len(text) > MAX_ID_CHARS:
        raise NotFound(f"no {what} `{text[:80]}`")


@dataclass(frozen=True)
class Plot:
    key: str
    svg: Markup | None
    note: str | None


def _plots(tracking: Tracking, run: Run) -> list[Plot]:
    plots = []
    for key in sorted(run.metrics)[:MAX_PLOTS]:
        points = [(float(m.step), m.value) for m in tracking.metric_history(run.info.run_id, key)]
        try:
            plots.append(Plot(key, Markup(metric_plot_svg({key: points}, title=key)), None))
        except PictureUnavailable as exc:
            plots.append(Plot(key, None, f"No plot: {exc.message}."))
    return plots


def _run_page(store: ModelStore, run_id: str) -> Rendered:
    _check_id("run", run_id)
    tracking = Tracking(store)
    run = tracking.get_run(run_id)
    experiment = tracking.get_experiment(run.info.experiment_id)
    models = [(links.model_label(iri), links.model_href(iri)) for iri in run.used_models]
    return render(
        "run.html.j2",
        title=f"Run {run.info.run_name}",
        run=run,
        experiment=experiment,
        experiment_href=links.experiment_href(experiment.experiment_id),
        models=models,
        plots=_plots(tracking, run),
        more_metrics=max(0, len(run.metrics) - MAX_PLOTS),
        dataset_page=links.hub_page,
        lineage=lineage_view(store, run.info.iri, direction="both", depth=2),
    )


@router.get("/runs/{run_id:path}", response_class=HTMLResponse)
async def run_page(run_id: str, request: Request) -> HTMLResponse:
    """One run: params, tags, metrics (a table and plots), datasets, artifacts, lineage."""
    store = services(request).store
    page = await run_in_worker(build, lambda: _run_page(store, run_id))
    return page.response()


def _experiments_page(store: ModelStore) -> Rendered:
    experiments = sorted(Tracking(store).experiments(), key=lambda e: int(e.experiment_id))
    return render(
        "experiments.html.j2",
        title="Experiments",
        experiments=[(e, links.experiment_href(e.experiment_id)) for e in experiments],
    )


@router.get("/experiments", response_class=HTMLResponse)
async def experiment_list(request: Request) -> HTMLResponse:
    """Every experiment, with a link to its runs."""
    store = services(request).store
    page = await run_in_worker(build, lambda: _experiments_page(store))
    return page.response()


@dataclass(frozen=True)
class Board:
    """The leaderboard the page shows, and the choices its form offers."""

    metric: str | None
    goal: str
    value: str
    rows: list[LeaderboardRow]


def _board(
    tracking: Tracking, experiment_id: str, wanted: dict[str, str], keys: Sequence[str]
) -> Board:
    metric = wanted.get("metric") or (keys[0] if keys else None)
    goal, value = wanted.get("goal", "max"), wanted.get("value", "last")
    rows = (
        leaderboard(tracking, experiment_id, metric, goal=goal, value=value)
        if metric is not None
        else []
    )
    return Board(metric, goal, value, rows)


def _experiment_page(
    store: ModelStore, experiment_id: str, query: Sequence[tuple[str, str]]
) -> Rendered:
    _check_id("experiment", experiment_id)
    wanted = read_query(query, _LEADERBOARD_PARAMETERS)
    tracking = Tracking(store)
    experiment = tracking.get_experiment(experiment_id)
    runs = search_runs(tracking, [experiment_id], max_results=MAX_RUNS).items
    keys = sorted({key for run in runs for key in run.metrics})
    return render(
        "experiment.html.j2",
        title=f"Experiment {experiment.name}",
        experiment=experiment,
        runs=[(run, links.run_href(run.info.run_id)) for run in runs],
        columns=keys[:METRIC_COLUMNS],
        keys=keys,
        board=_board(tracking, experiment_id, wanted, keys),
        run_href=links.run_href,
    )


@router.get("/experiments/{experiment_id:path}", response_class=HTMLResponse)
async def experiment_page(experiment_id: str, request: Request) -> HTMLResponse:
    """An experiment: its runs with their latest metrics, and a leaderboard by `metric`
    (`goal` max or min, `value` last or best)."""
    store = services(request).store
    query = list(request.query_params.multi_items())
    page = await run_in_worker(
        build,
        lambda: _experiment_page(store, experiment_id, query),
        query_fields=_LEADERBOARD_PARAMETERS,
    )
    return page.response()
