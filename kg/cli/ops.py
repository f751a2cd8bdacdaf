"""`modelkg backup`, `modelkg restore` and `modelkg doctor`: operating a registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kg.cli.common import StoreOption, console

__all__ = ["backup_command", "doctor_command", "restore_command"]


def backup_command(
    destination: Annotated[
        Path, typer.Argument(help="A new folder to write the backup into.", show_default=False)
    ],
    store: StoreOption = None,
) -> None:
    """Back up the store into a new folder, consistently, even while `modelkg serve` writes
    it: the embedded store as a RocksDB checkpoint taken between two writes, with its vector
    index; a remote store as N-Quads. A manifest records the counts and each file's sha256.

    Example:

    \b
        modelkg backup /backups/kg-$(date +%F) --store /srv/kg
    """
    from kg.ops.backup import backup

    made = backup(store, destination)
    console.print(
        f"backed up {made.models:,} model(s), {made.quads:,} quads ({made.kind}, "
        f"{len(made.files)} file(s)) to {escape(str(destination))}"
    )


def restore_command(
    source: Annotated[
        Path, typer.Argument(help="A folder `modelkg backup` made.", show_default=False)
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a target store that holds data.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """Restore a backup into a store: every file is checked against the manifest first, the
    backup is staged beside the target and counted, then takes the target's place at once.
    A target holding data is refused unless --force; a served store is refused (stop the
    server first).

    Example:

    \b
        modelkg restore /backups/kg-2026-12-01 --store /srv/kg --force
    """
    from kg.ops.restore import restore
    from kg.store import store_location

    made = restore(source, store, force=force)
    console.print(
        f"restored {made.models:,} model(s), {made.quads:,} quads from the backup of "
        f"{made.created} into {escape(store_location(store))}"
    )


def doctor_command(
    fix: Annotated[bool, typer.Option("--fix", help="Run the fix of each finding.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the findings as JSON, for machines.")
    ] = False,
    shacl: Annotated[
        bool,
        typer.Option("--shacl/--no-shacl", help="Validate every model graph (the slow check)."),
    ] = True,
    store: StoreOption = None,
) -> None:
    """Check the store, its inferred and size graphs, the vector index and the catalog, and
    say how to fix each finding (the exact command). Exits 0 when healthy, 1 with findings;
    --fix runs the fixes and checks again.

    Example:

    \b
        modelkg doctor --store /srv/kg && modelkg doctor --fix --store /srv/kg
    """
    from kg.ops.doctor import diagnose, repair

    report = diagnose(store, shacl=shacl)
    fixed: list[str] = []
    if fix and report.findings:
        fixed = repair(store, report)
        report = diagnose(store, shacl=shacl)
    if as_json:
        console.print_json(json.dumps({**report.as_dict(), "fixed": fixed}))
    else:
        for line in fixed:
            console.print(f"[green]fixed[/] {escape(line)}")
        for finding in report.findings:
            console.print(
                f"[{finding.colour}]{finding.severity}[/] {escape(finding.what)} "
                f"[dim]({escape(finding.where)})[/] fix: [bold]{escape(finding.fix)}[/]"
            )
        if not report.findings:
            console.print(f"[green]healthy[/]: {escape(report.summary)}")
    if report.findings:
        raise typer.Exit(1)
