"""An agent builder turns all-MiniLM-L6-v2 into an MCP server: installs what `modelkg codegen
mcp` wrote, starts it as its MCP client would, lists its tools (the schemas `codegen tools`
prints, word for word) and calls the embedding tool, getting what sentence-transformers gives.
With call logging on, the call lands in the registry as an activity."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import anyio
import numpy
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, ListToolsResult

from codegen.interface import describe
from codegen.tools import tool_schemas
from codegen.udf import GeneratedPackage
from kg.ingest.register import register
from kg.store import open_store
from resolvers.command import main
from tests.codegen.conftest import BIN, EMBEDDER, Venv, logged_calls
from tests.resolvers.conftest import TOKEN

TOOL = "all_minilm_l6_v2_embed"
T = TypeVar("T")


@pytest.fixture(scope="module")
def server_package(
    minilm_dir: Path, venv: Venv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[GeneratedPackage, list[dict[str, object]]]]:
    """The MCP server for all-MiniLM-L6-v2, written by the command and installed; with the
    tools `modelkg codegen tools --format mcp` gives for the same model."""
    folder = tmp_path_factory.mktemp("minilm-mcp")
    with open_store(str(folder / "kg")) as store:
        register([str(minilm_dir)], store, hub_id=EMBEDDER)
        tools = tool_schemas([describe(store, EMBEDDER)], "mcp")
        location = store.location
    out = folder / "server"
    command = ["codegen", "mcp", EMBEDDER, "--store", location, "--out", str(out)]
    assert main([*command, "--name", "minilm_mcp"]) == 0  # beside the udf tests' package
    package = GeneratedPackage("minilm_mcp", out, ("all_minilm_l6_v2",), ("embed",))
    venv.install(package)
    yield package, tools


async def _session(
    venv: Venv, env: dict[str, str], work: Callable[[ClientSession], Awaitable[T]]
) -> T:
    """Start the installed server as an MCP client does, and run `work` in a session."""
    server = StdioServerParameters(
        command=str(venv.python.parent / "minilm-mcp"),
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
    )
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await work(session)


def test_the_server_lists_the_tools_and_embeds_as_sentence_transformers_does(
    server_package: tuple[GeneratedPackage, list[dict[str, object]]],
    venv: Venv,
    minilm_dir: Path,
) -> None:
    _, expected_tools = server_package
    text = "A registry of models, served to agents."

    async def work(
        session: ClientSession,
    ) -> tuple[ListToolsResult, CallToolResult, CallToolResult]:
        listed = await session.list_tools()
        answer = await session.call_tool(TOOL, {"text": text})
        refused = await session.call_tool(TOOL, {"text": 42})
        return listed, answer, refused

    listed, answer, refused = anyio.run(_session, venv, {}, work)

    tools = [t.model_dump(by_alias=True, exclude_none=True) for t in listed.tools]
    assert [t["name"] for t in tools] == [TOOL]
    assert tools[0]["inputSchema"] == expected_tools[0]["inputSchema"]
    assert tools[0]["description"] == expected_tools[0]["description"]
    assert not answer.is_error
    vector = answer.structured_content["result"]
    from sentence_transformers import SentenceTransformer

    direct = SentenceTransformer(str(minilm_dir)).encode(text)
    assert len(vector) == 384
    assert numpy.allclose(vector, direct, atol=1e-6)
    assert json.loads(answer.content[0].text) == vector
    assert refused.is_error  # the server said what was wrong, and is still serving


def test_with_call_logging_on_the_tool_call_is_an_activity_in_the_registry(
    server_package: tuple[GeneratedPackage, list[dict[str, object]]],
    venv: Venv,
    registry_url: str,
) -> None:
    async def work(session: ClientSession) -> CallToolResult:
        return await session.call_tool(TOOL, {"text": "logged"})

    env = {"MODELKG_CALL_LOG": registry_url, "MODELKG_TOKEN": TOKEN}
    answer = anyio.run(_session, venv, env, work)
    assert not answer.is_error

    calls = logged_calls(registry_url)
    assert [(c["function"], c["arguments"], c["model"]) for c in calls] == [
        ("embed", "text: str of 6 characters", f"https://huggingface.co/{EMBEDDER}")
    ]


@pytest.mark.xdist_group("mypy")  # after the UDF package's check, in its warm cache
def test_the_server_is_typed_strictly(
    server_package: tuple[GeneratedPackage, list[dict[str, object]]], venv: Venv
) -> None:
    package, _ = server_package
    checked = subprocess.run(
        [str(BIN / "mypy"), "--strict", "--cache-dir", str(venv.mypy_cache), "src"],
        cwd=package.folder,
        capture_output=True,
        text=True,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout
