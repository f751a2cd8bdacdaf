"""The `modelkg` command line: a thin typer layer over the `kg` Python API."""
