"""`modelkg tasks ...`: start, follow, list and cancel background tasks on a running server.

A thin layer over `kg.tasks.client.TaskClient`: `start --wait` and `watch` show a progress bar
while the task runs, and exit 0 when it succeeded, 1 when it failed, was cancelled or was
interrupted (with its error on stderr).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Column, Table

from kg.cli.common import console, err_console
from kg.cli.progress import progress_bar
from kg.errors import UsageError
from kg.tasks.client import TaskClient

__all__ = ["tasks_app"]

tasks_app = typer.Typer(
    help="Background tasks on a running `modelkg serve`: long operations (ingest of server "
    "folders, full reasoning, index rebuild, codegen of many models) that run in the "
    "server, followed by id.\n\n"
    "Example:\n\n\b\n"
    "    modelkg tasks start ingest /srv/models --server http://127.0.0.1:8000 --wait\n"
    "    modelkg tasks list --server http://127.0.0.1:8000 --status running\n"
    "    modelkg tasks cancel 3f2a...e9 --server http://127.0.0.1:8000",
    no_args_is_help=True,
)

Server = Annotated[
    str,
    typer.Option(
        "--server",
        envvar="MODELKG_SERVER",
        help="The server's base URL (default: $MODELKG_SERVER).",
        show_default=False,
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="MODELKG_TOKEN",
        show_default=False,
        help="The bearer token starting and cancelling need (default: $MODELKG_TOKEN).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print the task as JSON.")]


def _client(server: str, token: str | None) -> TaskClient:
    return TaskClient(server, token)


def _arguments(
    operation: str, args: list[str], full: bool, strict: bool, raw: str | None, force: bool
) -> dict[str, Any]:
    """The operation's arguments from the command line (or `--arguments` JSON)."""
    if raw is not None:
        try:
            given = json.loads(raw)
        except ValueError as exc:
            raise UsageError(f"--arguments is not JSON: {exc}", field="--arguments") from None
        if not isinstance(given, dict):
            raise UsageError("--arguments must be a JSON object", field="--arguments")
        return given
    if operation == "ingest":
        return {"paths": args, "strict": strict}
    if operation == "codegen":
        return {"models": args}
    if operation == "migrate":
        if len(args) != 1:
            raise UsageError(
                "migrate takes one target: the name the server offers it under",
                hint="modelkg tasks start migrate backup (the server's --migrate-to backup=...)",
            )
        return {"target": args[0], "replace": force}
    if args:
        raise UsageError(
            f"`{operation}` takes no arguments",
            hint="paths go to ingest, models to codegen, a target's name to migrate",
        )
    return {"full": full} if operation == "reason" else {}


def _line(task: dict[str, Any]) -> str:
    progress = task["progress"]
    total = progress["total"]
    done = f"{progress['done']}/{total}" if total is not None else str(progress["done"])
    return f"{task['id']}  {task['operation']:<14} {task['status']:<12} {done}"


def _show(task: dict[str, Any], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(task))
        return
    console.print(escape(_line(task)))
    for key in ("createdAt", "startedAt", "finishedAt"):
        if task.get(key):
            console.print(f"  {key}: {task[key]}")
    if task.get("progress", {}).get("message"):
        console.print(f"  doing: {escape(task['progress']['message'])}")
    if task.get("result") is not None:
        console.print(f"  result: {escape(json.dumps(task['result']))}")
    if task.get("error"):
        error = task["error"]
        console.print(f"  error ({error['kind']}): {escape(error['message'])}")
        if error.get("hint"):
            console.print(f"  hint: {escape(error['hint'])}")


def _follow(client: TaskClient, task_id: str, every: float, as_json: bool) -> None:
    """Show a progress bar until the task ends; exit 1 unless it succeeded."""
    last: dict[str, Any] = {}
    with progress_bar(unit="items") as bar:
        row = bar.add_task("queued", total=None)
        for task in client.follow(task_id, every=every):
            last = task
            progress = task["progress"]
            label = f"{task['operation']}: {task['status']}"
            if progress.get("message") and task["status"] == "running":
                label = f"{task['operation']}: {progress['message']}"
            bar.update(
                row, description=escape(label), completed=progress["done"], total=progress["total"]
            )
    _show(last, as_json)
    if last["status"] != "succeeded":
        error = last.get("error") or {}
        err_console.print(
            f"[red]error:[/] task {last['status']}: {escape(str(error.get('message', '')))}"
        )
        raise typer.Exit(1)


@tasks_app.command("start")
def start_command(
    operation: Annotated[
        str, typer.Argument(help="ingest, reason, index-rebuild, migrate or codegen.")
    ],
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="ingest: folders on the server, under its --ingest-root; codegen: models; "
            "migrate: the name of a target the server offers (its --migrate-to)."
        ),
    ] = None,
    server: Server = "",
    token: Token = None,
    full: Annotated[
        bool, typer.Option("--full/--stale", help="reason: every model, or only the stale ones.")
    ] = True,
    strict: Annotated[bool, typer.Option("--strict", help="ingest: all or nothing.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="migrate: empty the target first if it holds data.")
    ] = False,
    arguments: Annotated[
        str | None, typer.Option("--arguments", help="The arguments as a JSON object.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow it with a progress bar.")] = False,
    every: Annotated[float, typer.Option("--every", min=0.1, help="Seconds between polls.")] = 0.5,
    as_json: Json = False,
) -> None:
    """Start a background task on the server; print its id (and follow it with --wait).

    Example:

    \b
        modelkg tasks start ingest /srv/models/bert --server http://127.0.0.1:8000 --wait
        modelkg tasks start migrate backup --server http://127.0.0.1:8000 --wait
    """
    with _client(_needs(server), token) as client:
        task = client.start(
            operation, _arguments(operation, args or [], full, strict, arguments, force)
        )
        if wait:
            _follow(client, task["id"], every, as_json)
        elif as_json:
            _show(task, True)
        else:
            console.print(task["id"])


@tasks_app.command("watch")
def watch_command(
    task_id: Annotated[str, typer.Argument(help="The task's id.")],
    server: Server = "",
    every: Annotated[float, typer.Option("--every", min=0.1, help="Seconds between polls.")] = 0.5,
    as_json: Json = False,
) -> None:
    """Follow a task with a progress bar until it ends: exit 0 when it succeeded, 1 when it
    failed, was cancelled or was interrupted.

    Example:

    \b
        modelkg tasks watch 3f2a...e9 --server http://127.0.0.1:8000
    """
    with _client(_needs(server), None) as client:
        _follow(client, task_id, every, as_json)


@tasks_app.command("show")
def show_command(
    task_id: Annotated[str, typer.Argument(help="The task's id.")],
    server: Server = "",
    as_json: Json = False,
) -> None:
    """Show a task: status, progress, times, result or error.

    Example:

    \b
        modelkg tasks show 3f2a...e9 --server http://127.0.0.1:8000 --json
    """
    with _client(_needs(server), None) as client:
        _show(client.get(task_id), as_json)


@tasks_app.command("list")
def list_command(
    server: Server = "",
    status: Annotated[
        str | None, typer.Option("--status", help="Only tasks in this status.")
    ] = None,
    operation: Annotated[
        str | None, typer.Option("--operation", help="Only tasks of this operation.")
    ] = None,
    first: Annotated[int, typer.Option("--first", min=1, max=500, help="How many.")] = 50,
    as_json: Json = False,
) -> None:
    """List tasks, newest first.

    Example:

    \b
        modelkg tasks list --server http://127.0.0.1:8000 --status running
    """
    with _client(_needs(server), None) as client:
        page = client.list(status=status, operation=operation, first=first)
    if as_json:
        console.print_json(json.dumps(page))
        return
    table = Table("operation", "status", "progress", "created")
    table.columns.insert(0, Column("id", no_wrap=True, min_width=32))
    for task in page["tasks"]:
        progress = task["progress"]
        done = f"{progress['done']}/{progress['total'] if progress['total'] is not None else '?'}"
        created = task["createdAt"].replace("T", " ")[:19]
        table.add_row(task["id"], task["operation"], task["status"], done, created)
    console.print(table)
    console.print(f"{len(page['tasks'])} of {page['totalCount']} task(s)")


@tasks_app.command("cancel")
def cancel_command(
    task_id: Annotated[str, typer.Argument(help="The task's id.")],
    server: Server = "",
    token: Token = None,
) -> None:
    """Cancel a task: a queued one ends at once, a running one within about a second (an
    ingest at the end of the models it is writing). Fails when the task has already ended.

    Example:

    \b
        modelkg tasks cancel 3f2a...e9 --server http://127.0.0.1:8000
    """
    with _client(_needs(server), token) as client:
        task = client.cancel(task_id)
    state = "cancelled" if task["status"] == "cancelled" else "asked to stop"
    console.print(f"{task['id']} {state}")


def _needs(server: str) -> str:
    if not server:
        raise UsageError(
            "no server to ask",
            field="--server",
            hint="pass --server http://HOST:PORT (or set MODELKG_SERVER)",
        )
    return server
