"""An agent platform asks the live server how to call a model: its interface description and its
LLM tool schemas, over REST and GraphQL, without a token; a model that cannot become code is
refused with the missing fact named, and only its own field fails."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from codegen.tools import TOOL_FORMATS
from resolvers.graphql.types import ToolFormat
from tests.resolvers.conftest import TOKEN, registry, serve

API = "/api/v1"
GPT2 = "openai-community/gpt2"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SENTIMENT = "nlptown/bert-base-multilingual-uncased-sentiment"
DETECTOR = "fayedoneaway/DETR-Fruit-Detector-3-Class-Custom-Model-"
"""an object detector: a task code has no type mapping for"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server whose operator set a write token; every read here goes without it."""
    store = registry(tmp_path_factory, "code", models=(GPT2, MINILM, SENTIMENT, DETECTOR))
    yield from serve(store, token=TOKEN)


def get(base: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{base}{API}{path}", params=params, timeout=60)


def graphql(base: str, query: str) -> dict[str, Any]:
    response = httpx.post(f"{base}/graphql", json={"query": query}, timeout=60)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


# --- REST ------------------------------------------------------------------------------------


def test_a_models_interface_is_one_get_away(server: str) -> None:
    response = get(server, f"/models/{MINILM}/interface")

    assert response.status_code == 200, response.text
    interface = response.json()
    assert interface["model_id"] == MINILM
    [embed] = interface["functions"]
    assert (embed["name"], embed["result"]["dimension"]) == ("embed", 384)


@pytest.mark.parametrize("fmt", TOOL_FORMATS)
def test_tool_schemas_come_in_every_format(server: str, fmt: str) -> None:
    response = get(server, f"/models/{GPT2}/tools", format=fmt)

    assert response.status_code == 200, response.text
    [tool] = response.json()
    text = str(tool)
    assert "gpt2_generate" in text and "'maximum': 1024" in text


def test_tools_default_to_openais_shape(server: str) -> None:
    [tool] = get(server, f"/models/{SENTIMENT}/tools").json()

    assert tool["type"] == "function"
    assert tool["function"]["name"] == "bert_base_multilingual_uncased_sentiment_classify"


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "words"),
    [
        (f"/models/{DETECTOR}/interface", {}, 422, "not_code", "(`object-detection`)"),
        (f"/models/{DETECTOR}/tools", {}, 422, "not_code", "has a type mapping for code"),
        (f"/models/{GPT2}/tools", {"format": "gemini"}, 422, "bad_parameter", "'gemini'"),
        ("/models/no-such/model/interface", {}, 404, "not_found", "no model `no-such/model`"),
        ("/models/no-such/model/tools", {}, 404, "not_found", "no model `no-such/model`"),
    ],
)
def test_what_cannot_be_answered_says_why(
    server: str, path: str, params: dict[str, str], status: int, code: str, words: str
) -> None:
    response = get(server, path, **params)

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"]
    if code == "bad_parameter":
        assert error["field"] == "format" and "openai, anthropic, mcp, jsonschema" in error["hint"]


def test_the_routes_are_documented(server: str) -> None:
    paths = httpx.get(f"{server}/openapi.json").json()["paths"]

    tools = paths[f"{API}/models/{{model_id}}/tools"]["get"]
    assert tools["summary"] and tools["description"]
    assert f"{API}/models/{{model_id}}/interface" in paths
    [fmt] = [p for p in tools["parameters"] if p["name"] == "format"]
    assert fmt["schema"]["enum"] == list(TOOL_FORMATS)


# --- GraphQL ---------------------------------------------------------------------------------


def test_a_model_carries_its_interface_and_tools(server: str) -> None:
    answer = graphql(server, f'{{ model(id: "{MINILM}") {{ interface toolSchema(format: MCP) }} }}')

    model = answer["data"]["model"]
    assert model["interface"]["functions"][0]["result"]["dimension"] == 384
    [tool] = model["toolSchema"]
    assert tool["name"] == "all_minilm_l6_v2_embed"
    assert tool["outputSchema"]["properties"]["result"]["maxItems"] == 384


def test_a_model_that_cannot_become_code_fails_only_its_own_field(server: str) -> None:
    answer = graphql(
        server,
        "{ models(first: 10) { nodes { id toolSchema(format: ANTHROPIC) } } }",
    )

    tools = {node["id"]: node["toolSchema"] for node in answer["data"]["models"]["nodes"]}
    assert tools[DETECTOR] is None
    assert tools[GPT2][0]["name"] == "gpt2_generate"
    assert tools[SENTIMENT][0]["input_schema"]["required"] == ["text"]
    [error] = answer["errors"]
    assert "(`object-detection`)" in error["message"]
    assert error["extensions"]["hint"]


def test_an_unknown_format_is_refused_by_the_schema(server: str) -> None:
    response = httpx.post(
        f"{server}/graphql",
        json={"query": f'{{ model(id: "{GPT2}") {{ toolSchema(format: GEMINI) }} }}'},
        timeout=60,
    )

    assert "GEMINI" in response.json()["errors"][0]["message"]


def test_the_graphql_formats_are_the_generators() -> None:
    assert [f.value for f in ToolFormat] == list(TOOL_FORMATS)
