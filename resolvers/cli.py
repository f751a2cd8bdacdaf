"""The network face's own commands: `modelkg serve` (the app under uvicorn),
`modelkg graphql-schema` and `modelkg mcp` (the registry for LLM agents over MCP). `register`
adds them to the `modelkg` command (`resolvers.commands`).
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import typer

from kg.cli.common import StoreOption
from resolvers.logs import configure_logging
from resolvers.settings import ServerSettings, bounds_of, flag_of, variable_of

__all__ = ["graphql_schema_command", "mcp_command", "register", "serve_command"]


def serve_command(**given: Any) -> None:
    """Serve the registry over HTTP: GraphQL (and GraphiQL) at /graphql, SPARQL 1.1 at
    /sparql, REST at /api/v1 (OpenAPI at /docs), and /health.

    Reads are open. Writes (SPARQL UPDATE, the ingest mutation, REST ingest) need the bearer
    token the operator sets in MODELKG_TOKEN. Each request is bounded in time, body size,
    result size and GraphQL depth/complexity. Every option also reads a MODELKG_* variable.
    Ctrl-C (or SIGTERM) stops accepting, finishes requests in flight, closes the store.

    Example:

    \b
        modelkg serve --port 8000
        export MODELKG_TOKEN=$(openssl rand -hex 16)   # writes on, for whoever has it
        modelkg serve --ingest-root /srv/models --cors-origin https://dash.example.org
        curl -s localhost:8000/graphql -H 'content-type: application/json' \\
            -d '{"query": "{ models(first: 3) { totalCount edges { node { id } } } }"}'
    """
    settings = ServerSettings.from_environment(**given)
    configure_logging()
    from kg.store import check_servable

    check_servable(settings.store)  # a clear error now, not a traceback from uvicorn's start-up
    if settings.workers == 1:
        from resolvers.app import create_app

        _run_uvicorn(create_app(settings), settings)
        return
    from resolvers.app import SETTINGS_VARIABLE
    from resolvers.services import share_for_workers

    # the processes are uvicorn's (one socket, workers restarted when they die); each builds
    # its app from the settings resolved here, and attaches to the store shared here
    os.environ[SETTINGS_VARIABLE] = settings.model_dump_json()
    with share_for_workers(settings):
        _run_uvicorn("resolvers.app:app_of_worker", settings, factory=True)


def _run_uvicorn(app: object, settings: ServerSettings, **more: Any) -> None:
    import uvicorn

    uvicorn.run(
        app,  # type: ignore[arg-type]
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
        access_log=False,  # ModelKG's access log has the latency
        timeout_graceful_shutdown=10,
        **settings.uvicorn_options(),  # slow and oversized requests cut off
        **more,
    )


def _option(name: str) -> inspect.Parameter:
    """The `modelkg serve` option of the setting `name`: its flag, type, help and variable from
    the field; None unless given, so an unset flag falls through to the variable, then the
    default. `--store` is the option every command shares."""
    field = ServerSettings.model_fields[name]
    if name == "store":
        option: object = StoreOption
    else:
        kind: Any = field.annotation
        if get_origin(kind) is tuple:
            kind = list[get_args(kind)[0]]  # type: ignore[misc]  # a repeated flag
        flag = flag_of(name)
        option = Annotated[
            kind | None,
            typer.Option(flag.name, metavar=flag.metavar, help=_help(name), show_default=False),
        ]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=option)


def _help(name: str) -> str:
    """The field's description, then where else it comes from and its default and bounds."""
    field, flag = ServerSettings.model_fields[name], flag_of(name).name
    notes = [f"env var: {variable_of(name)}"]
    if get_origin(field.annotation) is tuple:
        notes[0] += ", comma-separated"
    elif "/" in flag:  # --writes/--no-writes: the default is the one that holds
        on, off = flag.split("/")
        notes.append(f"default: {(on if field.default else off).lstrip('-')}")
    elif field.default is not None and field.default is not False:
        notes.append(f"default: {field.default}")
    notes += bounds_of(field)
    return f"{field.description}  [{'; '.join(notes)}]"


serve_command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [_option(name) for name in ServerSettings.model_fields], return_annotation=None
)


def graphql_schema_command(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the SDL here instead of printing it."),
    ] = None,
) -> None:
    """Print the GraphQL schema (SDL) the server serves at /graphql.

    Example:

    \b
        modelkg graphql-schema -o schema.graphql
    """
    from resolvers.graphql.schema import schema_sdl

    sdl = schema_sdl()
    if output is None:
        typer.echo(sdl, nl=False)
    else:
        output.write_text(sdl, encoding="utf-8")
        typer.echo(f"wrote {output}")


def mcp_command(
    store: StoreOption = None,
    query_timeout: Annotated[
        float,
        typer.Option(
            "--query-timeout",
            envvar="MODELKG_QUERY_TIMEOUT",
            min=0.1,
            help="Seconds a sparql tool call may run before its query is killed.",
        ),
    ] = 30.0,
) -> None:
    """Serve the registry to LLM agents over MCP (the Model Context Protocol) on stdin/stdout.

    An MCP client (Claude Desktop, an IDE, an agent framework) starts this command and calls
    its tools: search_models (plain words), model (a model's record), consumers,
    replacements, same_tokenizer, same_embedding_space, fits (a memory budget), chain,
    explain (why an inferred fact holds) and sparql (read-only, guarded, capped). The store
    is opened read-only for each call, so answers follow `modelkg ingest`, and the command
    works beside a running `modelkg serve`. Bad input comes back as a tool error saying what
    to fix; the server keeps answering. Logs go to stderr.

    Example: the command, and the entry an MCP client's config (Claude Desktop's
    claude_desktop_config.json) needs to start it (absolute paths: the client starts it from
    a folder of its own):

    \b
        modelkg mcp --store /srv/modelkg/store
        {"mcpServers": {"modelkg": {
            "command": "/opt/modelkg/.venv/bin/modelkg",
            "args": ["mcp", "--store", "/srv/modelkg/store"],
            "env": {"HF_HUB_OFFLINE": "1"}}}}
    """
    from resolvers.mcp_server import run_stdio

    run_stdio(store, query_timeout=query_timeout)


def register(app: typer.Typer) -> None:
    """Add the network face's commands to `app`."""
    app.command("serve")(serve_command)
    app.command("graphql-schema")(graphql_schema_command)
    app.command("mcp")(mcp_command)
