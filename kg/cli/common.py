"""Options and output shared by every command: the store location, the console, the base IRI."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

__all__ = ["BaseIriOption", "StoreOption", "console", "err_console"]

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="MODELKG_STORE",
        help="Store: a folder, or a SPARQL server as sparql+http://HOST:PORT (default: "
        "$MODELKG_STORE, else ./.modelkg).",
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
