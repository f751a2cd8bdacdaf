"""The network face's own commands: `modelkg serve` (the app under uvicorn) and
`modelkg graphql-schema`. `register` adds them to the `modelkg` command (`resolvers.command`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from kg.cli.common import StoreOption

__all__ = ["graphql_schema_command", "register", "serve_command"]


def serve_command(
    host: Annotated[
        str, typer.Option("--host", envvar="MODELKG_HOST", help="Address to bind.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", envvar="MODELKG_PORT", help="Port to bind.")
    ] = 8000,
    store: StoreOption = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="MODELKG_TOKEN",
            help="Bearer token that enables writes (prefer the variable: flags show in `ps`).",
            show_default=False,
        ),
    ] = None,
    writes: Annotated[
        bool,
        typer.Option(
            "--writes/--no-writes",
            envvar="MODELKG_WRITES",
            help="With a token set, still refuse every write.",
        ),
    ] = True,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin",
            help="A browser origin allowed to call the API (repeat; `*` for any). None by default. "
            "Or MODELKG_CORS_ORIGINS, comma-separated.",
        ),
    ] = None,
    query_timeout: Annotated[
        float,
        typer.Option(
            "--query-timeout",
            envvar="MODELKG_QUERY_TIMEOUT",
            help="Seconds a SPARQL/GraphQL/REST request may run before 503.",
        ),
    ] = 30.0,
    max_result_bytes: Annotated[
        int,
        typer.Option(
            "--max-result-bytes",
            envvar="MODELKG_MAX_RESULT_BYTES",
            help="Largest SPARQL result written; beyond it, 400 with a hint to page.",
        ),
    ] = 50 * 1024 * 1024,
    max_request_bytes: Annotated[
        int,
        typer.Option(
            "--max-request-bytes",
            envvar="MODELKG_MAX_REQUEST_BYTES",
            help="Largest request body (uploads included); beyond it, 413.",
        ),
    ] = 10 * 1024 * 1024,
    graphql_max_depth: Annotated[
        int,
        typer.Option(
            "--graphql-max-depth", envvar="MODELKG_GRAPHQL_MAX_DEPTH", help="GraphQL depth limit."
        ),
    ] = 10,
    graphql_max_complexity: Annotated[
        int,
        typer.Option(
            "--graphql-max-complexity",
            envvar="MODELKG_GRAPHQL_MAX_COMPLEXITY",
            help="GraphQL complexity limit (fields, multiplied by page sizes).",
        ),
    ] = 5000,
    ingest_root: Annotated[
        list[Path] | None,
        typer.Option(
            "--ingest-root",
            help="A server folder that ingest requests may name paths under (repeat). None by "
            "default: uploads only. Or MODELKG_INGEST_ROOTS, comma-separated.",
        ),
    ] = None,
    response_cache_mb: Annotated[
        int,
        typer.Option(
            "--response-cache-mb",
            envvar="MODELKG_RESPONSE_CACHE_MB",
            min=0,
            help="Memory (MiB) for replaying reads (GraphQL and SPARQL queries, REST GETs) until "
            "the store is next written; 0 turns it off. Clients skip it with "
            "`Cache-Control: no-cache`.",
        ),
    ] = 64,
    max_query_bytes: Annotated[
        int,
        typer.Option(
            "--max-query-bytes",
            envvar="MODELKG_MAX_QUERY_BYTES",
            min=1,
            help="Largest SPARQL query or update text, checked before parsing (413 past it).",
        ),
    ] = 1024 * 1024,
    max_query_nesting: Annotated[
        int,
        typer.Option(
            "--max-query-nesting",
            envvar="MODELKG_MAX_QUERY_NESTING",
            min=1,
            help="Deepest nesting of { }, ( ) and [ ] in a SPARQL request (400 past it).",
        ),
    ] = 64,
    max_queries_per_client: Annotated[
        int,
        typer.Option(
            "--max-queries-per-client",
            envvar="MODELKG_MAX_QUERIES_PER_CLIENT",
            min=1,
            help="SPARQL queries one client address may have running at once (429 past it).",
        ),
    ] = 4,
    query_workers: Annotated[
        int,
        typer.Option(
            "--query-workers",
            envvar="MODELKG_QUERY_WORKERS",
            min=0,
            help="Processes that run clients' SPARQL queries, each killed at the query timeout; "
            "0: two per core.",
        ),
    ] = 0,
    preload_embeddings: Annotated[
        bool,
        typer.Option(
            "--preload-embeddings",
            envvar="MODELKG_PRELOAD_EMBEDDINGS",
            help="Load the embedding model and sync the search index at start-up (else the "
            "first search does, and waits a few seconds).",
        ),
    ] = False,
) -> None:
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
    import uvicorn

    from kg.store import store_location
    from resolvers.app import create_app
    from resolvers.settings import ServerSettings

    settings = ServerSettings.from_environment(
        store=store_location(store),
        host=host,
        port=port,
        token=token,
        writes=writes,
        cors_origins=tuple(cors_origin) if cors_origin else None,
        query_timeout=query_timeout,
        max_result_bytes=max_result_bytes,
        max_request_bytes=max_request_bytes,
        graphql_max_depth=graphql_max_depth,
        graphql_max_complexity=graphql_max_complexity,
        ingest_roots=tuple(str(p) for p in ingest_root) if ingest_root else None,
        response_cache_mb=response_cache_mb,
        max_query_bytes=max_query_bytes,
        max_query_nesting=max_query_nesting,
        max_queries_per_client=max_queries_per_client,
        query_workers=query_workers,
        preload_embeddings=preload_embeddings,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        access_log=False,  # ModelKG's access log has the latency
        timeout_graceful_shutdown=10,
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


def register(app: typer.Typer) -> None:
    """Add the network face's commands to `app`."""
    app.command("serve")(serve_command)
    app.command("graphql-schema")(graphql_schema_command)
