"""`modelkg migrate`: copy a store into another, embedded or remote, and check the counts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from kg.cli.common import console, err_console

__all__ = ["migrate_command"]


def migrate_command(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="The store to copy: a folder or sparql+http://HOST:PORT.",
            show_default=False,
        ),
    ],
    target: Annotated[
        str,
        typer.Option(
            "--to",
            help="The store to copy into: a folder or sparql+http://HOST:PORT.",
            show_default=False,
        ),
    ],
    force: Annotated[
        bool,
        typer.Option("--force", help="Empty the target first when it already holds data."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary line.")] = False,
) -> None:
    """Copy every model graph and derived graph from one store into another, embedded or
    remote, with a progress bar; the quads of both sides are counted at the end and must match.
    The target keeps its own ontology and shapes. A target that already holds data is refused
    unless --force.

    Example:

    \b
        oxigraph serve --location /srv/oxigraph --bind 127.0.0.1:7878 &
        modelkg migrate --from .modelkg --to sparql+http://127.0.0.1:7878
    """
    from kg.store import open_store
    from kg.store.migrate import migrate

    with (
        open_store(source, read_only=True) as from_store,
        open_store(target) as to_store,
        Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
            console=err_console, transient=True, disable=quiet,
        ) as progress,
    ):  # fmt: skip
        bar = progress.add_task("copying quads", total=None)
        done = migrate(
            from_store,
            to_store,
            replace=force,
            on_total=lambda n: progress.update(bar, total=n),
            on_progress=lambda n: progress.advance(bar, n),
        )
    console.print(
        f"copied {done.quads:,} quads in {done.graphs:,} graphs from {source} to {target}; "
        "the counts match"
    )
