"""An LLM agent asks the registry over MCP: `modelkg mcp` runs as a real subprocess on stdio,
and the official client lists its tools, calls them, and gets answers or tool errors it can act
on, while the server keeps answering."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from kg.ingest.register import register
from kg.store import open_store
from resolvers.mcp_server import TOOL_NAMES, Registry
from tests.conftest import SparqlServer, corpus_folder
from tests.resolvers.conftest import serve

REPO = Path(__file__).resolve().parents[2]
TOOLS_SNAPSHOT = Path(__file__).with_name("mcp_tools.json")
GPT2 = "openai-community/gpt2"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
WHISPER = "openai/whisper-base"
FINETUNE = "example/minilm-finetune"

_T = TypeVar("_T")


def _minilm_finetune(root: Path) -> Path:
    """A fine-tune of all-MiniLM-L6-v2 as its author would publish it: same pooling, a card
    naming its base, so it shares the base's embedding space."""
    folder = root / "minilm-finetune"
    shutil.copytree(corpus_folder(MINILM), folder)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (folder / "PROVENANCE.json").write_text(json.dumps({"hub_id": FINETUNE}))
    (folder / "README.md").write_text(
        f"---\nbase_model: {MINILM}\npipeline_tag: sentence-similarity\n---\n# fine-tune\n"
    )
    return folder


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A registry on disk: the bundled examples, three corpus models and a MiniLM fine-tune,
    registered as `modelkg ingest` does (derived and sized)."""
    root = tmp_path_factory.mktemp("mcp")
    folders = [
        *(str(p) for p in sorted((REPO / "examples" / "models").iterdir())),
        *(str(corpus_folder(m)) for m in (GPT2, MINILM, WHISPER)),
        str(_minilm_finetune(root)),
    ]
    with open_store(str(root / "store")) as kg_store:
        done = register(folders, kg_store)
    assert not done.ingest.rejected, done.ingest.rejected
    return str(root / "store")


class Agent:
    """An MCP client session over `modelkg mcp`, on an event loop of its own thread, so one
    server process answers a whole module's tests."""

    def __init__(self, store: str, *options: str) -> None:
        self.parameters = StdioServerParameters(
            command=sys.executable,
            args=["-m", "resolvers.command", "mcp", "--store", store, *options],
            env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
            cwd=REPO,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._session: ClientSession | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._running = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        if not self._ready.wait(timeout=60):
            self._running.result(timeout=1)  # the reason it did not start, if it failed
            raise RuntimeError("modelkg mcp did not start within 60 s")

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with (
            stdio_client(self.parameters) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            self._session = session
            self._ready.set()
            await self._stop.wait()

    def _ask(self, question: Callable[[ClientSession], Awaitable[_T]]) -> _T:
        assert self._session is not None
        session = self._session

        async def asked() -> _T:
            return await question(session)

        return asyncio.run_coroutine_threadsafe(asked(), self._loop).result(timeout=120)

    def tools(self) -> list[types.Tool]:
        return self._ask(lambda session: session.list_tools()).tools

    def call(self, tool: str, **arguments: Any) -> types.CallToolResult:
        return self._ask(lambda session: session.call_tool(tool, arguments))

    def answer(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """The structured answer of a call that must succeed."""
        result = self.call(tool, **arguments)
        assert not result.is_error, _text(result)
        assert isinstance(result.structured_content, dict)
        return result.structured_content

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        with contextlib.suppress(Exception):
            self._running.result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def _text(result: types.CallToolResult) -> str:
    return " ".join(block.text for block in result.content if isinstance(block, types.TextContent))


@pytest.fixture(scope="module")
def agent(store: str) -> Iterator[Agent]:
    """`modelkg mcp --store STORE`, started as an MCP client (Claude Desktop, ...) starts it."""
    started = Agent(store)
    yield started
    started.close()


def test_the_agent_is_shown_every_tool_with_its_arguments(agent: Agent) -> None:
    tools = {tool.name: tool for tool in agent.tools()}

    assert list(tools) == list(TOOL_NAMES)
    for tool in tools.values():
        assert tool.description and "\n    " not in tool.description  # no docstring indent
        assert tool.input_schema["type"] == "object"
        assert tool.annotations is not None and tool.annotations.read_only_hint
    fits = tools["fits"].input_schema
    assert fits["required"] == ["memory"]
    assert "16GiB" in fits["properties"]["memory"]["description"]
    assert fits["properties"]["seq_len"]["minimum"] == 1


def test_what_the_agent_is_shown_is_snapshotted(agent: Agent) -> None:
    shown = [
        tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in agent.tools()
    ]
    text = json.dumps(shown, indent=2, sort_keys=True) + "\n"
    if not TOOLS_SNAPSHOT.exists():
        TOOLS_SNAPSHOT.write_text(text, encoding="utf-8")
        pytest.fail(f"wrote {TOOLS_SNAPSHOT.name}: review it, then run again")
    assert text == TOOLS_SNAPSHOT.read_text(encoding="utf-8"), (
        "the MCP tools changed: if on purpose, delete tests/resolvers/mcp_tools.json, run this "
        "test again and review the diff"
    )
    fits = next(tool for tool in shown if tool["name"] == "fits")
    answer = fits["outputSchema"]["$defs"]["Answer"]["properties"]
    assert {"model", "score", "case", "reasons", "components"} <= set(answer)


def test_a_fine_tune_shares_its_base_embedding_space(agent: Agent) -> None:
    found = agent.answer("same_embedding_space", model=MINILM)

    answers = {answer["model"]: answer for answer in found["answers"]}
    assert list(answers) == [FINETUNE]
    assert answers[FINETUNE]["case"] == "lineage"
    assert "fine-tune" in answers[FINETUNE]["reasons"][0]
    assert answers[FINETUNE]["components"][0]["name"] == "stated link"


def test_search_in_plain_words_finds_the_speech_model(agent: Agent) -> None:
    found = agent.answer("search_models", query="transcribe spoken English audio", limit=3)

    first = found["hits"][0]
    assert first["model"] == WHISPER
    assert 0 < first["score"] <= 1
    assert "automatic-speech-recognition" in first["matched_text"]


def test_search_narrowed_to_a_task(agent: Agent) -> None:
    found = agent.answer("search_models", query="a language model", task="text-generation")

    assert found["hits"]
    assert WHISPER not in {hit["model"] for hit in found["hits"]}


def test_a_model_record_has_its_parameters_tasks_and_lineage(agent: Agent) -> None:
    record = agent.answer("model", id=GPT2)

    assert record["id"] == GPT2
    assert record["parameters"]["hiddenSize"] == 768
    assert "text-generation" in {task["id"] for task in record["tasks"]}

    finetune = agent.answer("model", id=FINETUNE)
    assert [edge["model"]["id"] for edge in finetune["baseModels"]] == [MINILM]


def test_what_fits_in_a_memory_budget_shows_its_arithmetic(agent: Agent) -> None:
    found = agent.answer("fits", memory="1GB", dtype="fp32")

    answers = {answer["model"]: answer for answer in found["answers"]}
    assert GPT2 in answers and MINILM in answers
    assert found["notes"][0] == "budget: 1.00 GB"
    assert any("left out" in note and "lora-adapter" in note for note in found["notes"])


def test_a_pipeline_is_checked_step_by_step(agent: Agent) -> None:
    found = agent.answer("chain", models=[WHISPER, GPT2])

    assert found["ok"] is True
    assert found["steps"][0]["producer"] == WHISPER


def test_explain_gives_each_inferred_fact_with_its_rule(agent: Agent) -> None:
    found = agent.answer("explain", model=GPT2)

    assert found["primary_task"]["task"] == "text-generation"
    assert found["facts"]
    fact = found["facts"][0]
    assert fact["rule"] and fact["fact"].startswith("<")


def test_sparql_select_gives_json_rows(agent: Agent) -> None:
    query = (
        "SELECT ?name ?h WHERE { ?m a mkg:Model ; schema:name ?name ; mkg:hiddenSize ?h } "
        "ORDER BY ?name"
    )
    found = agent.answer("sparql", query=query)

    assert found["vars"] == ["name", "h"]
    assert {"name": GPT2, "h": 768} in found["rows"]
    assert found["truncated"] is False

    capped = agent.answer("sparql", query=query, max_rows=1)
    assert len(capped["rows"]) == 1 and capped["truncated"] is True

    assert agent.answer("sparql", query="ASK { ?m a mkg:Model }") == {"boolean": True}


def test_sparql_construct_gives_triples(agent: Agent) -> None:
    query = "CONSTRUCT { ?m mkg:hiddenSize ?h } WHERE { ?m schema:name ?n ; mkg:hiddenSize ?h }"
    found = agent.answer("sparql", query=query)

    assert ["https://huggingface.co/openai-community/gpt2",
            "https://w3id.org/modelkg/ontology#hiddenSize", 768] in found["triples"]  # fmt: skip


REFUSED: dict[str, tuple[str, dict[str, Any], str]] = {
    "a SPARQL update": (
        "sparql",
        {"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"},
        "this is a SPARQL update; the MCP server only reads",
    ),
    "a SERVICE call": (
        "sparql",
        {"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"},
        "SERVICE <http://127.0.0.1:9/sparql> is refused",
    ),
    "malformed SPARQL": (
        "sparql",
        {"query": "SELECT ?m WHERE { ?m a mkg:Model "},
        "invalid SPARQL at line 1",
    ),
    "an unknown model": (
        "same_embedding_space",
        {"model": "sentence-transformers/all-MiniLM-L6-v3"},
        f"no model `sentence-transformers/all-MiniLM-L6-v3` in the registry (did you mean {MINILM}",
    ),
    "an unknown model's record": ("model", {"id": "openai-community/gpt3"}, "did you mean"),
    "a memory budget with a space": (
        "fits",
        {"memory": "16 GB"},
        "field `memory`: a space between number and unit in '16 GB'",
    ),
    "an argument out of its bounds": ("consumers", {"model": GPT2, "limit": 0}, "limit"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_input_is_a_tool_error_that_names_the_problem(agent: Agent, case: str) -> None:
    tool, arguments, message = REFUSED[case]

    refused = agent.call(tool, **arguments)

    assert refused.is_error
    assert message in _text(refused)
    assert agent.answer("sparql", query="ASK { ?m a mkg:Model }") == {"boolean": True}


def test_a_query_past_its_timeout_is_killed_and_the_server_answers_on(store: str) -> None:
    hasty = Agent(store, "--query-timeout", "1")
    try:
        cross = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
        killed = hasty.call("sparql", query=cross)
        after = hasty.answer("sparql", query="ASK { ?m a mkg:Model }")
    finally:
        hasty.close()

    assert killed.is_error
    assert "the query did not finish within 1 s and was stopped" in _text(killed)
    assert after == {"boolean": True}


def test_the_compatibility_index_is_built_again_only_after_a_write(store: str) -> None:
    registry = Registry(store)
    with registry.store() as first, registry.store() as second:
        index = registry.compat_index(first)
        assert registry.compat_index(second) is index  # another call, the store unchanged


def test_it_answers_beside_a_running_server(store: str) -> None:
    with contextlib.contextmanager(serve)(store, None):  # `modelkg serve` shares the store now
        beside = Agent(store)
        try:
            found = beside.answer("consumers", model=WHISPER)
        finally:
            beside.close()

    assert GPT2 in {answer["model"] for answer in found["answers"]}


def test_over_a_sparql_server_the_server_answers_the_same(oxigraph_server: SparqlServer) -> None:
    oxigraph_server.clear()
    with open_store(oxigraph_server.location) as remote:
        register([str(p) for p in sorted((REPO / "examples" / "models").iterdir())], remote)
    over_http = Agent(oxigraph_server.location)
    try:
        rows = over_http.answer(
            "sparql", query="SELECT ?n WHERE { ?m a mkg:Model ; schema:name ?n } ORDER BY ?n"
        )
        replacements = over_http.answer("replacements", model="gpt2-style-lm")
        refused = over_http.call("sparql", query="SELECT * { SERVICE <http://127.0.0.1:9/> {} }")
    finally:
        over_http.close()

    assert [row["n"] for row in rows["rows"]][:2] == ["clip-style-dual-encoder", "gpt2-style-lm"]
    assert replacements["answers"][0]["case"] == "needs base"
    assert refused.is_error and "is refused" in _text(refused)


def test_a_model_ingested_during_the_session_is_seen_at_the_next_call(
    agent: Agent, store: str, tmp_path: Path
) -> None:
    newcomer = tmp_path / "newcomer"
    shutil.copytree(REPO / "examples" / "models" / "gpt2-style-lm", newcomer)
    config = json.loads((newcomer / "config.json").read_text())
    (newcomer / "config.json").write_text(json.dumps({**config, "n_layer": 12}))
    (newcomer / "README.md").write_text("---\npipeline_tag: text-generation\n---\n# newcomer\n")
    assert agent.call("model", id="newcomer").is_error
    assert agent.call("same_tokenizer", model="newcomer").is_error  # the index is built now

    with open_store(store) as kg_store:
        register([str(newcomer)], kg_store)

    assert agent.answer("model", id="newcomer")["parameters"]["numHiddenLayers"] == 12
    agent.answer("same_tokenizer", model="newcomer")  # the index was built again
    fitting = agent.answer("fits", memory="10GB", task="text-generation")
    assert "newcomer" in {answer["model"] for answer in fitting["answers"]}
