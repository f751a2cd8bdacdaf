"""`modelkg catalog`: check or regenerate `ontology/catalog.ttl` from the installed transformers."""

from __future__ import annotations

from typing import Annotated

import typer

from kg.cli.common import console

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

    code = main([] if write else ["--check"])
    if code == 0:
        console.print("ontology/catalog.ttl is " + ("written" if write else "up to date"))
    raise typer.Exit(code)
