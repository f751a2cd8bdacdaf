"""`modelkg catalog`: check or regenerate `ontology/catalog.ttl` from the installed transformers."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["catalog_command"]


def catalog_command(
    write: Annotated[
        bool, typer.Option("--write", help="Regenerate ontology/catalog.ttl in place.")
    ] = False,
) -> None:
    """Check that the catalog of model types matches the installed transformers (or rewrite it).

    The catalog lists every model type, config class, attribute_map alias, nested config and
    architecture (with its auto mappings and pipeline tasks) that transformers knows. It takes
    about 15 seconds: every config class is imported.

    Example:

    \b
        modelkg catalog --write
    """
    from ontology.catalog_build import main

    # main() prints the outcome itself: "wrote ..." / "... is up to date for transformers X",
    # or on stderr that the file is stale and the command that regenerates it
    raise typer.Exit(main([] if write else ["--check"]))
