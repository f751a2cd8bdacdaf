"""The `modelkg` command's entry point, light on purpose: it imports no command until one runs.

AnyIO's query worker processes (`kg.sparql.isolation`) start by running the parent's main
module again, as `__mp_main__` (as multiprocessing does), and the parent's main module is this
one (the console script imports it; `python -m resolvers.command` runs it). When it built the
command tree on import, every query worker spent ~0.7 s of CPU importing typer, the settings
and every command's module before its first query; the tree is now built by `main`, from
`resolvers.commands`.

>>> main(["--version"])
modelkg ...
0
"""

from __future__ import annotations

import sys

__all__ = ["main", "run"]


def main(argv: list[str] | None = None) -> int:
    """Run `modelkg` with `argv`; the exit code (0 success, 1 a user error, 2 usage)."""
    from kg.cli import main as kg_cli
    from resolvers.commands import app

    return kg_cli.main(argv, app=app)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
