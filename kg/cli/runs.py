"""`modelkg runs ...` and `modelkg lineage`: the ML lifecycle from a shell or a training script.

Everything here calls `kg.lifecycle`, the same code the MLflow API, GraphQL and REST call, so a
run started here is the run every other door shows.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from kg.cli.common import StoreOption, console
from kg.errors import UsageError
from kg.lifecycle import (
    DatasetInput,
    Deployments,
    Metric,
    Registry,
    Tracking,
    leaderboard,
    lineage,
    log_artifact,
    resolve_node,
    search_runs,
)
from kg.lifecycle.graph import now_millis
from kg.store import ModelStore, open_store, store_location

__all__ = ["lineage_command", "runs_app"]

runs_app = typer.Typer(
    help="The ML lifecycle: experiments, runs (params, metrics, tags, datasets, artifacts), "
    "model versions with approval and aliases, deployments with rollback, leaderboards. "
    "The same runs an MLflow client logs to `modelkg serve`.\n\n"
    "Example:\n\n\b\n"
    "    run=$(modelkg runs start sentiment --name lr-3e-5 --seed 42)\n"
    "    modelkg runs log $run --param lr=3e-5 --metric loss=0.42@1 --metric acc=0.91@1\n"
    "    modelkg runs end $run\n"
    "    modelkg runs leaderboard sentiment acc",
    no_args_is_help=True,
)
Format = Annotated[
    Literal["text", "json"], typer.Option("--format", "-f", help="text (for people) or json.")
]
By = Annotated[str, typer.Option("--by", help="Who does it (recorded with the decision).")]


def _store(store: str | None) -> ModelStore:
    return open_store(store_location(store))


def _pairs(values: list[str] | None, what: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise UsageError(f"--{what} {value!r}: expected KEY=VALUE", field=what)
        pairs.append((key, rest))
    return pairs


def _metrics(values: list[str] | None) -> list[Metric]:
    """`KEY=VALUE` or `KEY=VALUE@STEP`."""
    now = now_millis()
    metrics = []
    for key, rest in _pairs(values, "metric"):
        number, _, step = rest.partition("@")
        try:
            metrics.append(Metric(key, float(number), now, int(step) if step else 0))
        except ValueError:
            raise UsageError(
                f"--metric {key}={rest}: expected KEY=NUMBER or KEY=NUMBER@STEP", field="metric"
            ) from None
    return metrics


def _experiment_id(tracking: Tracking, name_or_id: str, *, create: bool = False) -> str:
    """An experiment by id or name (created when `create` and it does not exist)."""
    if name_or_id.isdigit():
        return tracking.get_experiment(name_or_id).experiment_id
    found = tracking.get_experiment_by_name(name_or_id)
    if found is not None:
        return found.experiment_id
    if create:
        return tracking.create_experiment(name_or_id)
    return tracking.get_experiment(name_or_id).experiment_id  # raises NotFoundError


def _json(value: object) -> None:
    console.print_json(
        json.dumps(
            value, default=lambda v: asdict(v) if hasattr(v, "__dataclass_fields__") else str(v)
        )
    )


@runs_app.command("start")
def start_command(
    experiment: Annotated[str, typer.Argument(help="An experiment name (made if new) or id.")],
    name: Annotated[str | None, typer.Option("--name", help="The run's name.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="The random seed.")] = None,
    code_version: Annotated[
        str | None, typer.Option("--code-version", help="The commit the code ran at.")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE, repeatable.")] = None,
    store: StoreOption = None,
) -> None:
    """Start a run in EXPERIMENT; print its id.

    Example:

    \b
        modelkg runs start sentiment --name lr-3e-5 --seed 42 --code-version abc123
    """
    tracking = Tracking(_store(store))
    run = tracking.create_run(
        _experiment_id(tracking, experiment, create=True),
        run_name=name,
        seed=seed,
        code_version=code_version,
        tags=dict(_pairs(tag, "tag")),
    )
    console.print(run.run_id)


@runs_app.command("log")
def log_command(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    param: Annotated[
        list[str] | None, typer.Option("--param", help="KEY=VALUE (set once).")
    ] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="KEY=NUMBER or KEY=NUMBER@STEP.")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE.")] = None,
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset", help="NAME@DIGEST[:CONTEXT] the run used (hf://datasets/... too)."
        ),
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="A model the run started from (hub id).")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Log params, metrics and tags to a running run, as one batch: all or nothing.

    Example:

    \b
        modelkg runs log $run --param lr=3e-5 --metric loss=0.42@1
    """
    tracking = Tracking(_store(store))
    metrics, params, tags = _metrics(metric), _pairs(param, "param"), _pairs(tag, "tag")
    if metrics or params or tags:
        tracking.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    inputs = []
    for text in dataset or []:
        name, _, rest = text.partition("@")
        digest, _, context = rest.partition(":")
        source = name if name.startswith("hf://") else ""
        short = name.removeprefix("hf://datasets/")
        inputs.append(DatasetInput(short, digest or "-", source=source, context=context))
    if inputs or model:
        tracking.log_inputs(run_id, inputs, models=model or [])
    console.print(
        f"logged {len(metrics)} metric(s), {len(params)} param(s), {len(tags)} tag(s), "
        f"{len(inputs)} dataset(s), {len(model or [])} model(s)"
    )


@runs_app.command("end")
def end_command(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    status: Annotated[
        str, typer.Option("--status", help="finished, failed or killed.")
    ] = "finished",
    store: StoreOption = None,
) -> None:
    """End a run (nothing more can be logged to it).

    Example:

    \b
        modelkg runs end $run --status failed
    """
    info = Tracking(_store(store)).update_run(run_id, status=status)
    console.print(f"{info.run_id} {info.status}")


@runs_app.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    fmt: Format = "text",
    store: StoreOption = None,
) -> None:
    """A run: its params, latest metrics, tags, datasets and artifacts.

    Example:

    \b
        modelkg runs show $run --format json
    """
    run = Tracking(_store(store)).get_run(run_id)
    if fmt == "json":
        _json(run)
        return
    info = run.info
    console.print(
        f"[bold]{escape(info.run_name)}[/] {info.run_id} ({info.status}) "
        f"in experiment {info.experiment_id}"
    )
    if info.seed is not None or info.code_version:
        console.print(f"seed {info.seed}, code {escape(info.code_version or '-')}")
    table = Table("kind", "key", "value", "step")
    for key, value in sorted(run.params.items()):
        table.add_row("param", escape(key), escape(value), "")
    for key, latest in sorted(run.metrics.items()):
        table.add_row("metric", escape(key), f"{latest.value:g}", str(latest.step))
    for key, value in sorted(run.tags.items()):
        if not key.startswith("mlflow."):
            table.add_row("tag", escape(key), escape(value), "")
    for dataset in run.inputs:
        table.add_row("dataset", escape(dataset.name), escape(dataset.context), "")
    for artifact in run.artifacts:
        best = " (best)" if artifact.best else ""
        table.add_row(
            artifact.kind,
            escape(artifact.path),
            escape(artifact.checksum or "") + best,
            str(artifact.step if artifact.step is not None else ""),
        )
    console.print(table)


@runs_app.command("list")
def list_command(
    experiment: Annotated[str, typer.Argument(help="An experiment name or id.")],
    filter_string: Annotated[
        str,
        typer.Option("--filter", help="MLflow's filter: metrics.acc > 0.9 and params.lr = '0.1'"),
    ] = "",
    order_by: Annotated[
        list[str] | None, typer.Option("--order-by", help="metrics.acc DESC, repeatable.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 100,
    fmt: Format = "text",
    store: StoreOption = None,
) -> None:
    """Runs of an experiment that match a filter, in order.

    Example:

    \b
        modelkg runs list sentiment --filter "metrics.acc > 0.9"
    """
    tracking = Tracking(_store(store))
    found = search_runs(
        tracking,
        [_experiment_id(tracking, experiment)],
        filter_string,
        max_results=limit,
        order_by=order_by or [],
    )
    if fmt == "json":
        _json(found.items)
        return
    table = Table("run", "name", "status", "metrics")
    for run in found.items:
        metrics = ", ".join(f"{k}={m.value:g}" for k, m in sorted(run.metrics.items()))
        table.add_row(run.info.run_id, escape(run.info.run_name), run.info.status, escape(metrics))
    console.print(table)


@runs_app.command("history")
def history_command(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    key: Annotated[str, typer.Argument(help="The metric.")],
    fmt: Format = "text",
    store: StoreOption = None,
) -> None:
    """Every point logged for one metric of a run.

    Example:

    \b
        modelkg runs history $run loss
    """
    points = Tracking(_store(store)).metric_history(run_id, key)
    if fmt == "json":
        _json(
            [
                {
                    "step": p.step,
                    "timestamp": p.timestamp,
                    "value": None if math.isnan(p.value) else p.value,
                }
                for p in points
            ]
        )
        return
    for point in points:
        console.print(f"{point.step}\t{point.value:g}\t{point.timestamp}")


@runs_app.command("leaderboard")
def leaderboard_command(
    experiment: Annotated[str, typer.Argument(help="An experiment name or id.")],
    metric: Annotated[str, typer.Argument(help="The metric to rank by.")],
    goal: Annotated[str, typer.Option("--goal", help="max or min.")] = "max",
    value: Annotated[str, typer.Option("--value", help="last or best.")] = "last",
    limit: Annotated[int, typer.Option("--limit", "-n")] = 10,
    fmt: Format = "text",
    store: StoreOption = None,
) -> None:
    """An experiment's runs ranked by a metric.

    Example:

    \b
        modelkg runs leaderboard sentiment loss --goal min --value best
    """
    tracking = Tracking(_store(store))
    rows = leaderboard(
        tracking, _experiment_id(tracking, experiment), metric, goal=goal, value=value, limit=limit
    )
    if fmt == "json":
        _json(rows)
        return
    table = Table("rank", "run", "name", metric, "step")
    for row in rows:
        table.add_row(
            str(row.rank), row.run_id, escape(row.run_name), f"{row.value:g}", str(row.step)
        )
    console.print(table)


@runs_app.command("artifact")
def artifact_command(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    path: Annotated[str, typer.Argument(help="Where it sits among the run's artifacts.")],
    file: Annotated[
        Path | None, typer.Option("--file", help="The local file: its checksum is computed.")
    ] = None,
    uri: Annotated[str | None, typer.Option("--uri", help="Where it is stored.")] = None,
    kind: Annotated[
        str, typer.Option("--kind", help="checkpoint, plot, dataset, config, log, model, other.")
    ] = "other",
    checksum: Annotated[
        str | None, typer.Option("--checksum", help="sha256:HEX or blake3:HEX (checked).")
    ] = None,
    step: Annotated[int | None, typer.Option("--step")] = None,
    epoch: Annotated[int | None, typer.Option("--epoch")] = None,
    best: Annotated[bool, typer.Option("--best", help="The run's best checkpoint.")] = False,
    store: StoreOption = None,
) -> None:
    """Record an artifact of a run; a given checksum must match the file.

    Example:

    \b
        modelkg runs artifact $run ckpt/model.bin --file model.bin --kind checkpoint
    """
    artifact = log_artifact(
        Tracking(_store(store)),
        run_id,
        path,
        kind=kind,
        uri=uri,
        file=file,
        checksum=checksum,
        step=step,
        epoch=epoch,
        best=best,
    )
    console.print(
        f"{artifact.path} {artifact.checksum or ''}{' (verified)' if artifact.verified else ''}"
    )


@runs_app.command("register")
def register_command(
    name: Annotated[str, typer.Argument(help="The registered model (made if new).")],
    run_id: Annotated[str | None, typer.Option("--run", help="The run that made it.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Where its files are.")] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="An ingested model it is (hub id or IRI), or a folder to ingest."
        ),
    ] = None,
    fine_tuned_from: Annotated[
        list[str] | None, typer.Option("--fine-tuned-from", help="A base model (hub id).")
    ] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    store: StoreOption = None,
) -> None:
    """Register a new version of NAME from a run or from a model (a folder is ingested first).

    Example:

    \b
        modelkg runs register sentiment --run $run --fine-tuned-from org/base
    """
    opened = _store(store)
    registry = Registry(opened)
    if model is not None and Path(model).is_dir():
        from kg.ingest.register import register

        done = register([model], opened)
        if not done.ingest.written:
            raise UsageError(f"{model}: nothing was ingested from this folder", field="model")
        model = done.ingest.written[0]
    version = registry.register_version(
        name,
        run_id=run_id,
        source=source,
        model=model,
        fine_tuned_from=fine_tuned_from or [],
        description=description,
    )
    console.print(f"{name} version {version.version} ({version.approval})")


@runs_app.command("decide")
def decide_command(
    name: Annotated[str, typer.Argument(help="The registered model.")],
    version: Annotated[str, typer.Argument(help="The version number.")],
    status: Annotated[str, typer.Argument(help="approved, rejected, deprecated or pending.")],
    by: By,
    notes: Annotated[str, typer.Option("--notes", help="Why.")] = "",
    store: StoreOption = None,
) -> None:
    """Approve, reject or deprecate a version (only allowed transitions).

    Example:

    \b
        modelkg runs decide sentiment 3 approved --by ana --notes "beats v2"
    """
    found = Registry(_store(store)).decide(name, version, status, by=by, notes=notes)
    console.print(f"{name} version {found.version} is {found.approval}")


@runs_app.command("alias")
def alias_command(
    name: Annotated[str, typer.Argument(help="The registered model.")],
    alias: Annotated[str, typer.Argument(help="champion, staging, ...")],
    version: Annotated[str, typer.Argument(help="The version it points to now.")],
    store: StoreOption = None,
) -> None:
    """Point an alias at a version (a rejected or deprecated one is refused).

    Example:

    \b
        modelkg runs alias sentiment champion 3
    """
    Registry(_store(store)).set_alias(name, alias, version)
    console.print(f"{name}@{alias} -> version {version}")


@runs_app.command("deploy")
def deploy_command(
    target: Annotated[str, typer.Argument(help="Where: an endpoint or cluster name.")],
    name: Annotated[str, typer.Argument(help="The registered model.")],
    version: Annotated[str, typer.Argument(help="An approved version.")],
    strategy: Annotated[
        str, typer.Option("--strategy", help="blue-green, canary, rolling or shadow.")
    ] = "blue-green",
    traffic_share: Annotated[
        float | None, typer.Option("--traffic-share", help="A canary's share (0-1).")
    ] = None,
    sla: Annotated[
        list[str] | None,
        typer.Option("--sla", help="latency_ms=200, availability=0.999, error_rate=0.01."),
    ] = None,
    by: Annotated[str, typer.Option("--by")] = "",
    store: StoreOption = None,
) -> None:
    """Deploy an approved version to TARGET; it replaces what runs there.

    Example:

    \b
        modelkg runs deploy prod sentiment 3 --strategy canary --traffic-share 0.1
    """
    targets = {}
    for key, text in _pairs(sla, "sla"):
        try:
            targets[key] = float(text)
        except ValueError:
            raise UsageError(f"--sla {key}={text}: expected a number", field="sla") from None
    deployments = Deployments(_store(store))
    done = deployments.deploy(
        target, name, version, strategy=strategy, traffic_share=traffic_share, sla=targets, by=by
    )
    replaced = f", replacing version {done.replaced_version}" if done.replaced_version else ""
    console.print(
        f"{target}: deployment {done.number}, {name} version {done.version} "
        f"({done.strategy}){replaced}"
    )


@runs_app.command("rollback")
def rollback_command(
    target: Annotated[str, typer.Argument(help="The target to roll back.")],
    by: Annotated[str, typer.Option("--by")] = "",
    store: StoreOption = None,
) -> None:
    """Deploy again the version the current deployment replaced.

    Example:

    \b
        modelkg runs rollback prod --by oncall
    """
    done = Deployments(_store(store)).rollback(target, by=by)
    console.print(
        f"{target}: rolled back to {done.name} version {done.version} (deployment {done.number})"
    )


@runs_app.command("deployments")
def deployments_command(
    target: Annotated[str, typer.Argument(help="The target.")],
    fmt: Format = "text",
    store: StoreOption = None,
) -> None:
    """A target's deployments, newest first.

    Example:

    \b
        modelkg runs deployments prod
    """
    history = Deployments(_store(store)).history(target)
    if fmt == "json":
        _json(history)
        return
    table = Table("#", "model", "version", "strategy", "replaced", "rollback", "current")
    for d in history:
        table.add_row(
            str(d.number),
            escape(d.name),
            d.version,
            d.strategy,
            d.replaced_version or "",
            "yes" if d.rollback else "",
            "*" if d.current else "",
        )
    console.print(table)


def lineage_command(
    node: Annotated[
        str,
        typer.Argument(
            help="A hub id, IRI, run id, models:/NAME/VERSION, models:/NAME@ALIAS or "
            "deployments:/TARGET."
        ),
    ],
    direction: Annotated[
        str, typer.Option("--direction", help="ancestors, descendants or both.")
    ] = "ancestors",
    depth: Annotated[int, typer.Option("--depth", help="How many steps (1-20).")] = 5,
    fmt: Format = "text",
    store: StoreOption = None,
) -> None:
    """What NODE came from (or what came from it): versions, runs, datasets, base models.

    Example:

    \b
        modelkg lineage deployments:/prod --depth 5
    """
    opened = _store(store)
    graph = lineage(opened, resolve_node(opened, node), direction=direction, depth=depth)
    if fmt == "json":
        _json(graph)
        return
    labels = {n.iri: n for n in graph.nodes}
    for item in graph.nodes:
        console.print(f"{'  ' * item.depth}{item.kind}: {escape(item.label)}  <{escape(item.iri)}>")
    for edge in graph.edges:
        console.print(
            f"{escape(labels[edge.source].label)} --{edge.name}--> "
            f"{escape(labels[edge.target].label)}"
        )
    if graph.truncated:
        console.print("(stopped at the node limit)")
