"""The core's commands (ingest, query, reason, compat, search, export, ...), and the one place
errors become exit codes. The `modelkg` command joins these with the other packages' commands
in `resolvers.commands`, above every layer; `app` here is the core's commands alone.

Exit codes: 0 success, 1 a user error with a message (bad input, rejected model), 2 usage.
"""

from __future__ import annotations

import logging
import os
import sys

import typer
from rich.markup import escape

from kg import __version__
from kg.cli.catalog import catalog_command
from kg.cli.common import console, err_console
from kg.cli.compat import compat_app
from kg.cli.ingest import ingest_command, validate_command
from kg.cli.migrate import migrate_command
from kg.cli.ops import backup_command, doctor_command, restore_command
from kg.cli.query import export_command, query_command
from kg.cli.reason import explain_command, reason_command
from kg.cli.runs import lineage_command, runs_app
from kg.cli.search import search_command
from kg.cli.tasks import tasks_app
from kg.errors import ModelKGError, UsageError

__all__ = ["app", "main", "new_app", "register"]


def _version(value: bool) -> None:
    if value:
        console.print(f"modelkg {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """ModelKG: a knowledge-graph registry for machine-learning models."""


def new_app() -> typer.Typer:
    """An empty `modelkg` command (help, --version) that packages add their commands to."""
    created = typer.Typer(
        name="modelkg",
        help="ModelKG: a knowledge-graph registry for machine-learning models.\n\n"
        "Ingest HuggingFace metadata into a SHACL-validated RDF store and query it with "
        "SPARQL.\n\n"
        "Example: modelkg ingest ~/.cache/huggingface/hub && "
        "modelkg query 'SELECT ?m WHERE { ?m a mkg:Model }'",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    created.callback()(_root)
    return created


def register(app: typer.Typer) -> None:
    """Add the core's commands to `app`."""
    app.command("ingest")(ingest_command)
    app.command("validate")(validate_command)
    app.command("query")(query_command)
    app.command("export")(export_command)
    app.command("reason")(reason_command)
    app.command("explain")(explain_command)
    app.command("catalog")(catalog_command)
    app.command("search")(search_command)
    app.command("migrate")(migrate_command)
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
    app.command("doctor")(doctor_command)
    app.add_typer(compat_app, name="compat")
    app.add_typer(runs_app, name="runs")
    app.add_typer(tasks_app, name="tasks")
    app.command("lineage")(lineage_command)


app = new_app()
register(app)


class _WarningLine(logging.Handler):
    """A warning logged on `modelkg.catalog` (a stale catalog) as one `warning: ...` line on
    stderr, like the commands' own warnings, instead of the bare text of logging's last resort.
    Where logging is configured (`modelkg serve` logs through the root logger) that shows it."""

    def emit(self, record: logging.LogRecord) -> None:
        if not logging.getLogger().handlers:
            err_console.print(f"[yellow]warning:[/] {escape(record.getMessage())}")


def _show_catalog_warnings() -> None:
    logger = logging.getLogger("modelkg.catalog")
    if not any(isinstance(h, _WarningLine) for h in logger.handlers):
        logger.addHandler(_WarningLine(logging.WARNING))


def main(argv: list[str] | None = None, *, app: typer.Typer = app) -> int:
    """Run `app` (the core's commands unless given); known errors become one line and exit 1
    (usage errors exit 2)."""
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    _show_catalog_warnings()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        app(args=argv, prog_name="modelkg")
    except SystemExit as exc:  # click's own exit: usage errors are 2, --help 0
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ModelKGError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        if os.environ.get("MODELKG_DEBUG"):
            raise
        return 2 if isinstance(exc, UsageError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
