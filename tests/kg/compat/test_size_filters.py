"""A user filters by size right after `modelkg ingest`: sized models are found at once, and a
model whose size cannot be known is counted as left out, never dropped silently, in the Python
API, the CLI, GraphQL and REST."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kg.ingest.register import register
from kg.models.filters import ModelFilter, Range
from kg.models.paging import list_models
from kg.store import open_store
from tests.resolvers.conftest import serve

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "models"
AT_MOST_1B = ModelFilter(ranges={"parameterCount": Range(lte=1e9)})


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("sized") / "store")
    store = open_store(path)
    done = register([str(EXAMPLES)], store)  # ingest only: no `modelkg reason`
    store.close()
    assert done.sizing is not None and done.sizing.counted == 3
    return path


@pytest.fixture(scope="module")
def server(store_path: str) -> Iterator[str]:
    yield from serve(store_path, token=None)


def test_sized_models_are_found_right_after_ingest(store_path: str) -> None:
    store = open_store(store_path, read_only=True)
    page = list_models(store, AT_MOST_1B, 10, None, b"k" * 32)

    assert {name for _, name in page.models} == {
        "gpt2-style-lm", "clip-style-dual-encoder", "tiny-sentiment-classifier",
    }  # fmt: skip
    [gap] = page.excluded  # the LoRA adapter: no config, so no size
    assert (gap.parameter, gap.count) == ("parameterCount", 1)
    assert "not known" in gap.reason


def test_a_filter_without_ranges_excludes_nothing(store_path: str) -> None:
    store = open_store(store_path, read_only=True)
    assert list_models(store, ModelFilter(), 10, None, b"k" * 32).excluded == ()


def test_graphql_says_how_many_models_a_range_left_out(server: str) -> None:
    query = (
        "{ models(filter: {parameterCount: {lte: 1e9}}) { totalCount "
        "excluded { parameter count reason } } }"
    )
    answer = httpx.post(f"{server}/graphql", json={"query": query}, timeout=60).json()

    connection = answer["data"]["models"]
    assert connection["totalCount"] == 3
    assert connection["excluded"][0]["parameter"] == "parameterCount"
    assert connection["excluded"][0]["count"] == 1


def test_rest_says_how_many_models_a_range_left_out(server: str) -> None:
    page = httpx.get(
        f"{server}/api/v1/models", params={"parameterCount.lte": "1e9"}, timeout=60
    ).json()

    assert page["totalCount"] == 3
    assert [(e["parameter"], e["count"]) for e in page["excluded"]] == [("parameterCount", 1)]


def test_the_cli_search_notes_what_it_left_out(store_path: str, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("search", "a small text model", "--max-params", "1B", "--store", store_path)

    assert result.code == 0, result.err
    assert "1 model(s) left out: their parameterCount is not known" in result.err


def test_graphql_lists_the_models_of_unknown_size(server: str) -> None:
    query = '{ unsizedModels { id } generators: unsizedModels(task: "text-generation") { id } }'
    data = httpx.post(f"{server}/graphql", json={"query": query}, timeout=60).json()["data"]

    assert data["unsizedModels"] == data["generators"] == [{"id": "lora-adapter"}]


def test_rest_fits_lists_the_models_it_could_not_place(server: str) -> None:
    answer = httpx.get(f"{server}/api/v1/fits", params={"memory": "1GB"}, timeout=60).json()

    assert "gpt2-style-lm" in {a["model"]["id"] for a in answer["items"]}
    assert answer["unsized"] == ["lora-adapter"]


def test_rest_search_says_what_its_size_range_left_out(server: str) -> None:
    body = {"query": "a small text model", "filter": {"ranges": {"parameterCount": {"lte": 1e9}}}}
    answer = httpx.post(f"{server}/api/v1/search", json=body, timeout=120).json()

    assert "lora-adapter" not in {hit["model"]["id"] for hit in answer["items"]}
    assert [(e["parameter"], e["count"]) for e in answer["excluded"]] == [("parameterCount", 1)]
