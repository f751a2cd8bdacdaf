"""A client asks what a model is for: its primary task, with why, over GraphQL and REST, and
lists models by it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.resolvers.conftest import registry, serve
from tests.resolvers.test_graphql import post, run
from tests.resolvers.test_rest import API

MODELS = (
    "google-t5/t5-small",
    "sentence-transformers/all-MiniLM-L6-v2",
    "openai/whisper-base",
    "cross-encoder/ms-marco-MiniLM-L-2-v2",
    "mistralai/Devstral-Small-2507",
)


@pytest.fixture(scope="module")
def primary_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve(registry(tmp_path_factory, "primary", MODELS), token=None)


def test_graphql_gives_the_primary_task_and_why(primary_server: str) -> None:
    data = run(
        primary_server,
        """{ t5: model(id: "google-t5/t5-small") { primaryTask { task { id } source reason rule } }
             devstral: model(id: "mistralai/Devstral-Small-2507") {
               primaryTask { task { id } source reason } } }""",
    )

    t5 = data["t5"]["primaryTask"]
    assert t5["task"]["id"] == "translation" and t5["source"] == "files"
    assert t5["rule"] == "primary-task"
    assert "`translation` (precedence 90)" in t5["reason"] and "`summarization`" in t5["reason"]
    devstral = data["devstral"]["primaryTask"]
    assert devstral == {
        "task": {"id": "text2text-generation"},
        "source": "card",
        "reason": "the card's pipeline_tag is `text2text-generation`",
    }


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        (["text-ranking"], {"cross-encoder/ms-marco-MiniLM-L-2-v2"}),
        (["translation", "automatic-speech-recognition"],
         {"google-t5/t5-small", "openai/whisper-base"}),
        # a primary task matches exactly: t5-small performs text2text-generation, but it is
        # not what it is for
        (["text2text-generation"], {"mistralai/Devstral-Small-2507"}),
    ],
)  # fmt: skip
def test_models_are_listed_by_primary_task(
    primary_server: str, tasks: list[str], expected: set[str]
) -> None:
    data = run(
        primary_server,
        "query($t: [String!]) { models(filter: {primaryTask: $t}) { edges { node { id } } } }",
        {"t": tasks},
    )
    assert {edge["node"]["id"] for edge in data["models"]["edges"]} == expected
    page = httpx.get(f"{primary_server}{API}/models", params={"primary_task": tasks}, timeout=60)
    assert page.status_code == 200
    assert {item["id"] for item in page.json()["items"]} == expected


def test_a_misspelt_primary_task_is_an_error_naming_close_tasks(primary_server: str) -> None:
    answer = post(primary_server, '{ models(filter: {primaryTask: "translaton"}) { totalCount } }')
    assert "translation" in answer.text
    page = httpx.get(f"{primary_server}{API}/models?primary_task=translaton", timeout=60)
    assert page.status_code == 400
    assert page.json()["error"]["field"] == "primary_task"
    assert "translation" in page.json()["error"]["hint"]


def test_rest_model_json_has_the_primary_task(primary_server: str) -> None:
    url = f"{primary_server}{API}/models/cross-encoder/ms-marco-MiniLM-L-2-v2"
    body = httpx.get(url, timeout=60).json()

    assert body["primaryTask"]["task"]["id"] == "text-ranking"
    assert body["primaryTask"]["source"] == "files"
    assert body["primaryTask"]["rule"] == "primary-task"
