"""Write a stdio MCP server for models: a UDF package whose functions are also MCP tools.

`modelkg codegen mcp` writes what `modelkg codegen udf` writes, plus `mcp_server.py` (the
official SDK's low-level server: it lists the tools `codegen.tools` describes in MCP's shape,
word for word, and calls the package's functions), `tools.json` (those tools) and a
`{package}-mcp` console script. One package, so a tool and the function it calls cannot drift.

>>> import tempfile
>>> from kg.ingest.register import register
>>> from kg.store import open_store
>>> from codegen.interface import describe
>>> store = open_store(tempfile.mkdtemp() + "/kg")
>>> _ = register(["examples/models/gpt2-style-lm"], store, size=False)
>>> out = Path(tempfile.mkdtemp()) / "lm"
>>> package = write_mcp_package([describe(store, "gpt2-style-lm")], out)
>>> json.loads((out / "src" / package.name / "tools.json").read_text())[0]["name"]
'gpt2_style_lm_generate'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from codegen.interface import ModelInterface
from codegen.tools import tool_pairs
from codegen.udf.package import GeneratedPackage, default_name, write_package
from codegen.udf.views import module_view

__all__ = ["server_command", "write_mcp_package"]

TEMPLATES = Path(__file__).parent / "mcp_templates"
_FILE_KINDS = ("Image", "Audio")
"""data kinds a tool call passes as a path to a file"""


def write_mcp_package(
    interfaces: Sequence[ModelInterface],
    out: Path,
    *,
    name: str | None = None,
    force: bool = False,
    progress: Callable[[ModelInterface], None] | None = None,
) -> GeneratedPackage:
    """Write the package for `interfaces` into `out`, as `write_package` does (whole or not at
    all; `force` to replace a folder that is not empty), with its MCP server."""
    package = name or default_name(interfaces)
    tools = tool_pairs(interfaces, "mcp")
    modules = {i.iri: module_view(i, package).module for i in interfaces}
    rows = [
        {
            "name": tool["name"],
            "module": modules[interface.iri],
            "function": function.name,
            "kinds": repr({a.name: a.kind for a in function.arguments if a.kind in _FILE_KINDS}),
        }
        for interface, function, tool in tools
    ]
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    server = environment.get_template("mcp_server.py.j2").render(
        package=package,
        modules=sorted(set(modules.values())),
        tools=rows,
        instructions=_instructions(interfaces),
    )
    return write_package(
        interfaces,
        out,
        name=package,
        force=force,
        progress=progress,
        extra_files={
            "mcp_server.py": server,
            "tools.json": json.dumps([tool for _, _, tool in tools], indent=2) + "\n",
        },
        extra_dependencies=("mcp",),
        scripts={server_command(package): f"{package}.mcp_server:main"},
    )


def server_command(package: str) -> str:
    """The console script that starts a package's MCP server.

    >>> server_command("all_minilm_l6_v2_udf"), server_command("minilm_mcp")
    ('all-minilm-l6-v2-udf-mcp', 'minilm-mcp')
    """
    name = package.replace("_", "-")
    return name if name.endswith("-mcp") else f"{name}-mcp"


def _instructions(interfaces: Sequence[ModelInterface]) -> str:
    names = ", ".join(i.model_id for i in interfaces)
    text = f"Tools that run {names} locally. Pass images and audio as paths to files."
    return text.replace("\\", "\\\\").replace('"', '\\"')
