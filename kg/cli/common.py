"""Options and output shared by every command: the store location, the console, the base IRI."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from kg.store import DEFAULT_STORE

__all__ = [
    "STORE_HELP",
    "BaseIriOption",
    "ExecutorOption",
    "RayAddressOption",
    "StoreOption",
    "console",
    "err_console",
]

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

STORE_HELP = "Store: a folder, or a SPARQL server as sparql+http://HOST:PORT."
"""What `--store` names, for every command (`modelkg serve`'s settings say it too)."""

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="MODELKG_STORE",
        help=f"{STORE_HELP.removesuffix('.')} (default: $MODELKG_STORE, else ./{DEFAULT_STORE}).",
        show_default=False,
    ),
]
BaseIriOption = Annotated[
    str | None,
    typer.Option(
        "--base-iri",
        envvar="MODELKG_BASE_IRI",
        help="Base for the IRIs ModelKG mints (default: https://w3id.org/modelkg/id/).",
        show_default=False,
    ),
]

ExecutorOption = Annotated[
    str,
    typer.Option(
        "--executor",
        help="Where chunks of work run: local (worker processes) or ray (Ray tasks, while this "
        "process writes the store).",
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="A running Ray cluster (HEAD:6379, or auto); default: a local Ray instance.",
        show_default=False,
    ),
]
