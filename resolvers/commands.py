"""The `modelkg` command tree: every package's commands joined, at the top of the layers.

Each package contributes its own commands (`kg.cli.main.register`: ingest, query, reason,
compat, search, export, ...; `codegen.cli.register`: codegen ...; `resolvers.cli.register`:
serve, graphql-schema), so `kg` never imports the network face; this module, above all of
them, joins them into one command. It imports only the command definitions: what a command
needs (the store, the app, uvicorn) is imported when it runs. The entry point is
`resolvers.command`, which imports this module only when a command runs.

>>> [group.name for group in app.registered_groups]  # the core's groups, then codegen's
['compat', 'runs', 'tasks', 'codegen']
"""

from __future__ import annotations

import typer

from codegen import cli as codegen_cli
from kg.cli import main as kg_cli
from resolvers import cli as resolvers_cli

__all__ = ["app"]

app: typer.Typer = kg_cli.new_app()
kg_cli.register(app)
codegen_cli.register(app)
resolvers_cli.register(app)
