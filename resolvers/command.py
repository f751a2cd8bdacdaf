"""The `modelkg` command: every package's commands joined, at the top of the layers.

Each package contributes its own commands (`kg.cli.main.register`: ingest, query, reason,
compat, search, export, ...; `codegen.cli.register`: codegen ...; `resolvers.cli.register`:
serve, graphql-schema), so `kg` never imports the network face; this module, above all of
them, joins them into one command. It
imports only the command definitions: what a command needs (the store, the app, uvicorn) is
imported when it runs, so `modelkg --help` and the query workers (which import the entry
point's module when they start) stay light.

>>> main(["--version"])
modelkg ...
0
"""

from __future__ import annotations

import sys

import typer

from codegen import cli as codegen_cli
from kg.cli import main as kg_cli
from resolvers import cli as resolvers_cli

__all__ = ["app", "main", "run"]

app: typer.Typer = kg_cli.new_app()
kg_cli.register(app)
codegen_cli.register(app)
resolvers_cli.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run `modelkg` with `argv`; the exit code (0 success, 1 a user error, 2 usage)."""
    return kg_cli.main(argv, app=app)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
