"""`modelkg codegen ...`: a model's interface, and the code and schemas made from it.

`register` adds the `codegen` group to the `modelkg` command (`resolvers.commands`); each kind of
output adds its own command to `codegen_app` here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from kg.cli.common import StoreOption, console, err_console
from kg.errors import CodegenError

if TYPE_CHECKING:
    from collections.abc import Callable

    from codegen.interface import ModelInterface
    from codegen.udf import GeneratedPackage

    WritePackage = Callable[..., GeneratedPackage]

__all__ = ["codegen_app", "register"]

codegen_app = typer.Typer(
    help="Code from the graph: a model's interface description (describe), how two differ by "
    "semver (diff), typed UDF packages, LLM tool schemas and MCP servers.\n\n"
    "Example:\n\n\b\n"
    "    modelkg codegen describe sentence-transformers/all-MiniLM-L6-v2 -o v1.json\n"
    "    modelkg codegen diff v1.json sentence-transformers/all-MiniLM-L6-v2",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add `modelkg codegen ...` to `app`."""
    app.add_typer(codegen_app, name="codegen")


Models = Annotated[list[str], typer.Argument(help="Hub ids (org/name), model names or IRIs.")]
Output = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]


@codegen_app.command("describe")
def describe_command(models: Models, store: StoreOption = None, output: Output = None) -> None:
    """Print the interface description of each model as JSON (a list): the functions code can
    call it through, their typed arguments and results, from the graph. Save one to compare
    it later with `modelkg codegen diff`.

    Example:

    \b
        modelkg codegen describe distilbert/distilbert-base-uncased-finetuned-sst-2-english
    """
    from codegen.interface import describe_many
    from kg.store import open_store, store_location

    with open_store(store_location(store), read_only=True) as opened:
        interfaces = describe_many(opened, models)
    text = json.dumps([i.model_dump(mode="json") for i in interfaces], indent=2) + "\n"
    if output is None:
        console.print(escape(text), end="")
        return
    output.write_text(text, encoding="utf-8")
    err_console.print(f"wrote {len(interfaces)} interface(s) to {escape(str(output))}")


@codegen_app.command("diff")
def diff_command(
    old: Annotated[str, typer.Argument(help="A saved description (.json) or a model.")],
    new: Annotated[str, typer.Argument(help="A saved description (.json) or a model.")],
    store: StoreOption = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="text (for people) or json (for tools).")
    ] = "text",
) -> None:
    """Compare two interface descriptions and classify every change as major, minor or patch.
    Each side is a file `modelkg codegen describe -o` saved, or a model in the store (two
    models, or a snapshot and the model now). Exits 1 on a breaking (major) change, so CI can
    gate on it.

    Example:

    \b
        modelkg codegen describe my-org/classifier -o before.json
        modelkg ingest ./classifier-v2 --hub-id my-org/classifier
        modelkg codegen diff before.json my-org/classifier || echo "breaking"
    """
    from codegen.diff import compare

    if fmt not in ("text", "json"):
        raise CodegenError(f"unknown format {fmt!r}", field="--format", expected="text or json")
    report = compare(_side(old, store), _side(new, store))
    if fmt == "json":
        data = {
            "old": report.old,
            "new": report.new,
            "bump": report.bump,
            "breaking": report.breaking,
            "changes": [vars(c) for c in report.changes],
        }
        console.print_json(json.dumps(data))
    else:
        for change in report.changes:
            console.print(escape(change.describe()))
        console.print(f"bump: {report.bump}")
    if report.breaking:
        raise typer.Exit(1)


def _side(name: str, store: str | None) -> ModelInterface:
    from codegen.interface import ModelInterface, describe
    from kg.store import open_store, store_location

    path = Path(name)
    if path.suffix == ".json" and path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, list) and len(data) == 1:
                data = data[0]
            return ModelInterface.model_validate(data)
        except (ValueError, TypeError) as exc:
            raise CodegenError(
                f"not an interface description: {exc}",
                path=str(path),
                hint="save one with `modelkg codegen describe MODEL -o FILE` (one model)",
            ) from exc
    with open_store(store_location(store), read_only=True) as opened:
        return describe(opened, name)


@codegen_app.command("tools")
def tools_command(
    models: Models,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="openai, anthropic, mcp or jsonschema (one JSON Schema each)."
        ),
    ] = "openai",
    store: StoreOption = None,
    output: Output = None,
) -> None:
    """Print LLM tool schemas for the models as JSON (a list): one tool per model and function,
    named after the model (`all_minilm_l6_v2_embed`), described from its card and facts, its
    arguments typed, bounded and exemplified; MCP and jsonschema describe the result too.

    Example:

    \b
        modelkg codegen tools sentence-transformers/all-MiniLM-L6-v2 openai-community/gpt2 \\
            --format anthropic -o tools.json
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from codegen.interface import describe_many
    from codegen.tools import tool_format, tool_schemas
    from kg.store import open_store, store_location

    known = tool_format(fmt)  # a bad format fails before the store is opened
    interfaces = []
    with (
        open_store(store_location(store), read_only=True) as opened,
        Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
            disable=len(models) < 2,
        ) as progress,
    ):
        task = progress.add_task("describing", total=len(models))
        for start in range(0, len(models), _TOOLS_CHUNK):  # batched reads, a bar that moves
            chunk = models[start : start + _TOOLS_CHUNK]
            interfaces.extend(describe_many(opened, chunk))
            progress.advance(task, len(chunk))
    tools = tool_schemas(interfaces, known)
    text = json.dumps(tools, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        console.print(escape(text), end="")
        return
    output.write_text(text, encoding="utf-8")
    err_console.print(f"wrote {len(tools)} {known} tool(s) to {escape(str(output))}")


_TOOLS_CHUNK = 50
"""models described per batch of reads by `modelkg codegen tools`"""


Out = Annotated[Path, typer.Option("--out", help="The package's folder (must be empty).")]
Name = Annotated[
    str | None,
    typer.Option(
        "--name",
        help="The package's import name (default: MODULE_udf for one model, modelkg_udf "
        "for several).",
    ),
]
Force = Annotated[bool, typer.Option("--force", help="Replace a folder that is not empty.")]


@codegen_app.command("udf")
def udf_command(
    models: Models, out: Out, name: Name = None, force: Force = False, store: StoreOption = None
) -> None:
    """Write a pip-installable package of typed functions for the models: one module per model,
    one function per task (embed, classify, generate, ...), typed by the graph (an embedding's
    length, a classifier's labels, bounds on max_new_tokens), with a README and its own tests.
    The functions load the weights from the machine, never from the network.

    Example:

    \b
        modelkg codegen udf sentence-transformers/all-MiniLM-L6-v2 --out minilm
        pip install ./minilm
        python -c "from all_minilm_l6_v2_udf import embed; print(len(embed('hi')))"
    """
    from codegen.udf import write_package

    package = _generate(write_package, models, out, name=name, force=force, store=store)
    err_console.print(
        f"wrote package {package.name} ({len(package.modules)} model(s)) to "
        f"{escape(str(package.folder))}; install it with: pip install {escape(str(package.folder))}"
    )


@codegen_app.command("mcp")
def mcp_command(
    models: Models, out: Out, name: Name = None, force: Force = False, store: StoreOption = None
) -> None:
    """Write a stdio MCP server for the models: the package `modelkg codegen udf` writes, whose
    functions are also MCP tools (the schemas `modelkg codegen tools --format mcp` prints),
    served by the official MCP SDK from a console script. Agents pass images and audio as
    paths to files.

    Example:

    \b
        modelkg codegen mcp sentence-transformers/all-MiniLM-L6-v2 --out minilm-mcp
        pip install ./minilm-mcp
        all-minilm-l6-v2-udf-mcp     # speaks MCP on stdin/stdout; give this to the client
    """
    from codegen.mcp_package import server_command, write_mcp_package

    package = _generate(write_mcp_package, models, out, name=name, force=force, store=store)
    server = server_command(package.name)
    err_console.print(
        f"wrote MCP server {package.name} ({len(package.modules)} model(s)) to "
        f"{escape(str(package.folder))}; install it with: pip install "
        f"{escape(str(package.folder))}, then start it with: {server}"
    )


def _generate(
    write: WritePackage,
    models: list[str],
    out: Path,
    *,
    name: str | None,
    force: bool,
    store: str | None,
) -> GeneratedPackage:
    """Describe the models, then write their package with a progress bar over several."""
    from rich.progress import Progress

    from codegen.interface import describe_many
    from kg.store import open_store, store_location

    with open_store(store_location(store), read_only=True) as opened:
        interfaces = describe_many(opened, models)
    with Progress(console=err_console, transient=True, disable=len(interfaces) < 2) as progress:
        task = progress.add_task("generating", total=len(interfaces))
        return write(
            interfaces,
            out,
            name=name,
            force=force,
            progress=lambda interface: progress.update(
                task, advance=1, description=escape(interface.model_id)
            ),
        )
