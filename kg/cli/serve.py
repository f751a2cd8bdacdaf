"""`modelkg serve`: the network face (resolvers) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from kg.cli.common import StoreOption
from kg.store import store_location

__all__ = ["serve_command"]


def serve_command(
    host: Annotated[
        str, typer.Option("--host", envvar="MODELKG_HOST", help="Address to bind.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", envvar="MODELKG_PORT", help="Port to bind.")
    ] = 8000,
    store: StoreOption = None,
) -> None:
    """Serve the registry over HTTP: the SPARQL 1.1 endpoint at /sparql and /health.

    Reads are open; SPARQL updates are refused until write tokens arrive. Stop with Ctrl-C
    (uvicorn shuts down gracefully).

    Example:

    \b
        modelkg serve --port 8000
    """
    import uvicorn

    from resolvers.app import create_app
    from resolvers.settings import ServerSettings

    settings = ServerSettings.from_environment(store=store_location(store), host=host, port=port)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
