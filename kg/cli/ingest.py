"""`modelkg ingest` and `modelkg validate`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from kg.cli.common import (
    BaseIriOption,
    ExecutorOption,
    RayAddressOption,
    StoreOption,
    console,
    err_console,
)
from kg.cli.progress import progress_bar, stop_requested
from kg.errors import UsageError
from kg.executors import chosen_executor, executor_name
from kg.ingest.pipeline import IngestSummary
from kg.ingest.reader import read_source
from kg.ingest.register import register, sync_index_on_disk
from kg.ingest.sources import check_hub_id_option, discover_all
from kg.iris import IriMinter
from kg.store import open_store
from kg.validate import ENGINES, validate_models

__all__ = ["ingest_command", "validate_command"]


def ingest_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Config files, model folders, folders of model folders, HF caches, or hub ids "
            "(org/name) found in the local HF cache.",
            show_default=False,
        ),
    ],
    store: StoreOption = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Reject a model on any SHACL finding (warnings too, e.g. an unknown model type), "
            "and write nothing if anything is rejected.",
        ),
    ] = False,
    hub_id: Annotated[
        str | None,
        typer.Option("--hub-id", help="Hub id for a single config file or model folder."),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help=f"SHACL engine: {' or '.join(ENGINES)}.")
    ] = "compiled",
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Reader processes (default: 2, or 1 core)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary line.")] = False,
    derive: Annotated[
        bool,
        typer.Option(
            "--reason/--no-reason",
            help="Re-derive tasks and I/O types of what changed (and of models built on it).",
        ),
    ] = True,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    base_iri: BaseIriOption = None,
) -> None:
    """Ingest HuggingFace model metadata into the store, validated against the SHACL shapes.

    Every model becomes one named graph, replaced in one transaction on re-ingest; unchanged
    sources are skipped by content hash. A bad model is reported with its file and field and
    leaves the store untouched; the others go on (unless --strict: then nothing is written
    if anything is rejected, however many batches the ingest spans). Exit code 1 when
    anything was rejected.

    Ctrl-C (or SIGTERM) stops after the current chunk, its models written, and exits 130:
    run the same command again to resume (what is already in the store is skipped). A crash
    (even SIGKILL) leaves every model wholly old or wholly new; the next write repairs the
    derived data it left stale.

    Example:

    \b
        modelkg ingest ~/.cache/huggingface/hub examples/models openai-community/gpt2
        modelkg ingest /data/hub-mirror --executor ray --ray-address head:6379
    """
    chosen = executor_name(executor)
    if engine not in ENGINES:  # before the store opens: a usage error touches nothing
        raise UsageError(f"unknown validation engine `{engine}`", expected=" or ".join(ENGINES))
    ids = IriMinter.from_environment(base_iri)
    check_hub_id_option(hub_id)
    kg_store = open_store(store)
    with (
        progress_bar(unit="models", disable=quiet) as progress,
        stop_requested() as stop,
        chosen_executor(chosen, workers=workers, address=ray_address) as run,
    ):
        task = progress.add_task("ingesting", total=None, visible=False)
        done = register(
            sources,
            kg_store,
            derive=derive,
            sync_index=sync_index_on_disk(kg_store),
            strict=strict,
            hub_id=hub_id,
            ids=ids,
            engine=engine,
            workers=workers,
            executor=run,
            on_total=lambda n: progress.update(task, total=n, visible=n > 1),
            on_progress=lambda n: progress.advance(task, n),
            on_optimize=None if quiet else _announce_optimize,
            stop=stop,
        )
    kg_store.close()
    summary = done.ingest
    if not quiet and done.reasoning is not None:
        reasoned = done.reasoning
        err_console.print(f"derived {reasoned.facts} fact(s) for {reasoned.derived} model(s)")
    if not quiet and done.search is not None:
        synced = done.search
        err_console.print(
            f"search index: {synced.embedded} embedded, {synced.removed} removed, "
            f"{synced.unchanged} unchanged"
        )
    _print_summary(summary, quiet=quiet)
    if summary.interrupted:
        err_console.print(
            f"[yellow]interrupted[/]: {summary.interrupted} source(s) not read yet; run the "
            "same command again to go on (what is in the store is skipped as unchanged)"
        )
        raise typer.Exit(130)
    if summary.rejected:
        raise typer.Exit(1)


def _announce_optimize(quads: int) -> None:
    err_console.print(f"compacting the store for reads after {quads:,} quads written ...")


def _print_summary(summary: IngestSummary, *, quiet: bool) -> None:
    if not quiet:
        for name, warning in summary.warnings:
            err_console.print(f"[yellow]warning[/] {escape(name)}: {escape(warning)}")
        for note in summary.notes:
            err_console.print(f"[blue]note[/] {escape(note)}")
        for name, reason in summary.rejected:
            err_console.print(f"[red]rejected[/] {escape(name)}: {escape(reason)}")
    console.print(
        f"ingested {len(summary.ingested)}, updated {len(summary.updated)}, "
        f"unchanged {len(summary.unchanged)}, rejected {len(summary.rejected)} "
        f"({summary.triples} triples written, {len(summary.warnings)} warnings)"
    )


def validate_command(
    sources: Annotated[
        list[str], typer.Argument(help="What `ingest` takes: files, folders, caches, hub ids.")
    ],
    engine: Annotated[
        str, typer.Option("--engine", help=f"SHACL engine: {' or '.join(ENGINES)}.")
    ] = "compiled",
    base_iri: BaseIriOption = None,
) -> None:
    """Check models against the SHACL shapes and print the report; writes nothing.

    Exit code 1 when a model has a violation (or cannot be read at all).

    Example:

    \b
        modelkg validate ../shared/corpus/hf/openai-community__gpt2 --engine pyshacl
    """
    ids = IriMinter.from_environment(base_iri)
    found = discover_all(sources)
    failed = False
    for name, error in found.problems:
        failed = True
        console.print(f"{escape(name)}: [red]error[/]: {escape(str(error))}")
    graphs = []
    for source in found.sources:
        try:
            graphs.append(read_source(source, ids))
        except ValueError as exc:
            failed = True
            console.print(f"{escape(source.display)}: [red]error[/]: {escape(str(exc))}")
    for graph, results in zip(graphs, validate_models(graphs, engine), strict=True):
        name = escape(graph.source.display)
        for warning in graph.warnings:
            console.print(f"{name}: [yellow]warning[/]: {escape(warning)}")
        for result in results:
            failed |= result.severity == "Violation"
            colour = "red" if result.severity == "Violation" else "yellow"
            severity, _, rest = result.describe().partition(": ")
            console.print(f"{name}: [{colour}]{severity}[/]: {escape(rest)}")
    verdict = "violations found" if failed else "conforms"
    console.print(f"checked {len(graphs)} model(s) with {engine}: {verdict}")
    if failed:
        raise typer.Exit(1)
