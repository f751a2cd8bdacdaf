"""A client searching the registry in plain words, over REST and GraphQL, against a live server.

One server for the module, over fifteen corpus models (speech recognizers, text classifiers,
sentence encoders and a few others), with the real all-MiniLM-L6-v2 behind it: the first
request loads the encoder and builds the index, later ones reuse both.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from kg.search.embedder import BUNDLED_MODEL, MAX_BATCH
from kg.search.service import MAX_QUERY_CHARS
from tests.conftest import corpus_folder
from tests.resolvers.conftest import TOKEN, registry, serve

API = "/api/v1"
SPEECH = (
    "openai/whisper-base",
    "openai/whisper-large-v3",
    "vinai/PhoWhisper-tiny",
    "othrif/wav2vec2-large-xlsr-arabic",
)
CLASSIFIERS = (
    "AventIQ-AI/distilbert-base-uncased-sentiment-analysis",
    "nlptown/bert-base-multilingual-uncased-sentiment",
    "ngclara07/distilbert_sentiment",
    "AventIQ-AI/roberta-spam-detection",
)
ENCODERS = (
    "sentence-transformers/all-MiniLM-L6-v2",
    "sentence-transformers/all-mpnet-base-v2",
    "BAAI/bge-large-zh",
)
OTHERS = ("openai-community/gpt2", "google/vit-base-patch16-224", "google-t5/t5-small")
MODELS = SPEECH + CLASSIFIERS + ENCODERS + OTHERS
LATE = "dslim/bert-base-NER"
"""Not in the registry at first: ingested through the API by the last test."""

GRAPHQL_SEARCH = """
query($query: String, $vector: [Float!], $filter: ModelFilter, $first: Int!,
      $threshold: Float) {
  searchModels(query: $query, vector: $vector, filter: $filter, first: $first,
               threshold: $threshold) { model { id iri } score matchedText }
}"""


@pytest.fixture(scope="module")
def searchable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A live server over `MODELS` that may ingest folders under one allowed root."""
    root = tmp_path_factory.mktemp("search-root")
    path = registry(tmp_path_factory, "searchable", MODELS)
    for base in serve(path, token=TOKEN, ingest_roots=(str(root),)):
        yield base, root


@pytest.fixture(scope="module")
def base(searchable: tuple[str, Path]) -> str:
    return searchable[0]


def search(base: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{base}{API}/search", json=body, timeout=120)


def hits(response: httpx.Response) -> list[tuple[str, float]]:
    assert response.status_code == 200, response.text
    return [(item["model"]["id"], item["score"]) for item in response.json()["items"]]


def names(response: httpx.Response) -> list[str]:
    return [name for name, _ in hits(response)]


def graphql(base: str, **variables: Any) -> httpx.Response:
    return httpx.post(
        f"{base}/graphql", json={"query": GRAPHQL_SEARCH, "variables": variables}, timeout=120
    )


def embed(base: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{base}{API}/embeddings", json=body, timeout=120)


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["message"]
    return error


# --- finding models --------------------------------------------------------------------------


def test_speech_recognition_finds_the_speech_models_before_any_text_classifier(
    base: str,
) -> None:
    response = search(base, query="speech recognition", first=len(MODELS))
    found = names(response)
    assert set(found) == set(MODELS), "without a filter every model is ranked"
    last_speech = max(found.index(m) for m in SPEECH)
    first_classifier = min(found.index(m) for m in CLASSIFIERS)
    assert last_speech < first_classifier, found
    answer = response.json()
    assert (answer["model"], answer["metric"]) == (BUNDLED_MODEL, "cosine")
    top = answer["items"][0]
    assert "Automatic Speech Recognition" in top["matchedText"], "the text shows why it matched"
    assert top["model"]["iri"] == f"https://huggingface.co/{top['model']['id']}"
    scores = [score for _, score in hits(response)]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("search_filter", "list_params"),
    [
        ({"task": "text-classification"}, {"task": "text-classification"}),
        (
            {"task": ["automatic-speech-recognition"], "ranges": {"parameterCount": {"lte": 2e8}}},
            {"task": "automatic-speech-recognition", "parameterCount.lte": "2e8"},
        ),
        ({"task": "automatic-speech-recognition", "nameContains": "WHISPER"},
         {"task": "automatic-speech-recognition", "q": "whisper"}),
        ({"library": "sentence-transformers"}, {"library": "sentence-transformers"}),
    ],
)  # fmt: skip
def test_a_filter_admits_exactly_the_models_the_model_list_admits(
    base: str, search_filter: dict[str, Any], list_params: dict[str, str]
) -> None:
    found = names(search(base, query="speech recognition", filter=search_filter, first=100))
    listed = httpx.get(f"{base}{API}/models", params=list_params, timeout=60).json()["items"]
    assert found and set(found) == {item["id"] for item in listed}


def test_a_parameter_count_bound_leaves_out_the_large_whisper(base: str) -> None:
    speech = {"task": "automatic-speech-recognition"}
    every = names(search(base, query="speech recognition", filter=speech))
    small = names(
        search(
            base,
            query="speech recognition",
            filter={**speech, "ranges": {"parameterCount": {"lte": 2e8}}},
        )
    )
    assert "openai/whisper-large-v3" in every  # about 1.5 billion parameters
    assert "openai/whisper-large-v3" not in small and "openai/whisper-base" in small
    assert not set(small) & set(CLASSIFIERS)


def test_a_threshold_keeps_only_close_matches(base: str) -> None:
    every = hits(search(base, query="speech recognition", first=len(MODELS)))
    close = hits(search(base, query="speech recognition", first=len(MODELS), threshold=0.4))
    assert close == [(name, score) for name, score in every if score >= 0.4]
    assert 0 < len(close) < len(every)


@pytest.mark.parametrize(
    ("query", "rest_filter", "graphql_filter"),
    [
        ("speech recognition", None, None),
        ("sentiment of product reviews", {"task": "text-classification"},
         {"task": ["text-classification"]}),
        ("sentence embeddings", {"ranges": {"parameterCount": {"gte": 1e7, "lte": 5e8}}},
         {"parameterCount": {"gte": 1e7, "lte": 5e8}}),
    ],
)  # fmt: skip
def test_rest_and_graphql_give_the_same_hits_and_scores(
    base: str,
    query: str,
    rest_filter: dict[str, Any] | None,
    graphql_filter: dict[str, Any] | None,
) -> None:
    rest = search(base, query=query, filter=rest_filter, first=8)
    response = graphql(base, query=query, filter=graphql_filter, first=8)
    assert response.status_code == 200, response.text
    graph = response.json()["data"]["searchModels"]
    assert [(h["model"]["id"], h["score"]) for h in graph] == hits(rest)
    assert [h["matchedText"] for h in graph] == [i["matchedText"] for i in rest.json()["items"]]


def test_a_vector_from_the_embeddings_endpoint_finds_what_its_text_finds(base: str) -> None:
    text = "transcribe spoken audio into text"
    vector = embed(base, text=text).json()["embeddings"][0]
    by_text = hits(search(base, query=text, first=3))
    by_vector = hits(search(base, vector=vector, first=3))
    assert by_vector[0] == by_text[0]
    assert names(search(base, vector=vector, first=3)) == [n for n, _ in by_text]
    graph = graphql(base, vector=vector, first=3).json()["data"]["searchModels"]
    assert [(h["model"]["id"], h["score"]) for h in graph] == by_vector


# --- embeddings ------------------------------------------------------------------------------


def test_an_embedding_is_384_numbers_and_comes_from_the_cache_the_second_time(base: str) -> None:
    text = "a tiny model that tags parts of speech"
    first = embed(base, text=text).json()
    again = embed(base, text=[text, "something never asked before"]).json()
    assert (first["model"], first["dimensions"], first["count"]) == (BUNDLED_MODEL, 384, 1)
    assert np.asarray(first["embeddings"]).shape == (1, 384)
    assert first["cached"] == [False]
    assert again["cached"] == [True, False] and again["count"] == 2
    assert again["embeddings"][0] == first["embeddings"][0]
    assert np.linalg.norm(first["embeddings"][0]) == pytest.approx(1.0, abs=1e-4)


def test_normalize_false_gives_the_raw_vector(base: str) -> None:
    text = "raw vectors please"
    raw = np.asarray(embed(base, text=text, normalize=False).json()["embeddings"][0])
    unit = np.asarray(embed(base, text=text).json()["embeddings"][0])
    assert abs(np.linalg.norm(raw) - 1.0) > 0.01
    assert raw / np.linalg.norm(raw) == pytest.approx(unit, abs=1e-4)


def test_the_embedding_models_on_offer_and_the_limits(base: str) -> None:
    embed(base, text="load the encoder")
    answer = httpx.get(f"{base}{API}/embeddings/models", timeout=60).json()
    assert {"name": BUNDLED_MODEL, "dimensions": 384, "loaded": True} in answer["models"]
    assert answer["maxBatch"] == MAX_BATCH and answer["maxTextChars"] > 0


def test_openapi_describes_the_search_and_embedding_bodies(base: str) -> None:
    spec = httpx.get(f"{base}/openapi.json", timeout=60).json()
    body = spec["paths"][f"{API}/search"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/SearchRequest")
    schemas = spec["components"]["schemas"]
    assert {"SearchRequest", "SearchFilter", "SearchOut", "EmbeddingsOut"} <= set(schemas)
    assert "parameterCount" in schemas["SearchFilter"]["properties"]["ranges"]["description"]


# --- mistakes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"query": "   "}, "query", "empty"),
        ({"query": "x" * (MAX_QUERY_CHARS + 1)}, "query", f"at most {MAX_QUERY_CHARS:,}"),
        ({}, "query", "either a text query or a vector"),
        ({"query": "speech", "vector": [0.1] * 384}, "query", "either"),
        ({"vector": [0.1] * 3}, "vector", "384-dimensional"),
        ({"query": "speech", "threshold": 1.5}, "threshold", "outside -1 to 1"),
        ({"query": "speech", "threshold": -2}, "threshold", "outside -1 to 1"),
        ({"query": "speech", "first": 0}, "first", "greater than or equal to 1"),
        ({"query": "speech", "filter": {"tsk": "x"}}, "filter.tsk", "not permitted"),
        ({"query": "speech", "filter": {"task": "speech-recognize"}}, "filter.task",
         "no task `speech-recognize`"),
        ({"query": "speech", "filter": {"ranges": {"paramCount": {"lte": 1}}}},
         "filter.ranges.paramCount", "no numeric parameter `paramCount`"),
        ({"query": "speech", "filter": {"ranges": {"parameterCount": {"most": 1}}}},
         "filter.ranges.parameterCount.most", "not permitted"),
        ({"query": "speech", "filter": {"derivedFrom": "nobody/nothing"}}, "filter.derivedFrom",
         "no model `nobody/nothing`"),
        ({"query": "speech", "limit": 5}, "limit", "not permitted"),
    ],
)  # fmt: skip
def test_a_bad_search_is_a_400_naming_the_field(
    base: str, body: dict[str, Any], field: str, says: str
) -> None:
    error = error_of(search(base, **body), 400)
    assert (error["code"], error["field"]) == ("bad_parameter", field)
    assert says in error["message"]


def test_a_typo_in_a_range_gets_the_parameter_it_meant(base: str) -> None:
    body = {"query": "speech", "filter": {"ranges": {"parameterCont": {"lte": 1}}}}
    assert error_of(search(base, **body), 400)["hint"] == "did you mean parameterCount?"


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"query": "", "first": 5}, "query"),
        ({"query": "speech", "first": 500}, "first"),
        ({"query": "speech", "first": 5, "threshold": 3.0}, "threshold"),
        ({"vector": [1.0, 0.0], "first": 5}, "vector"),
        ({"query": "speech", "first": 5, "filter": {"task": ["speech-recognize"]}}, "filter.task"),
    ],
)
def test_graphql_names_the_same_fields_in_its_errors(
    base: str, variables: dict[str, Any], field: str
) -> None:
    response = graphql(base, **variables)
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("bad_input", field)


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"text": ""}, "text", "empty"),
        ({"text": []}, "text", "`text` is empty: give at least one"),
        ({"text": ["fine", "  "]}, "text[1]", "`text[1]` is empty or only spaces"),
        ({"text": ["x"] * (MAX_BATCH + 1)}, "text", f"at most {MAX_BATCH}"),
        ({"text": "x", "model": "nobody/encoder"}, "model", f"known: {BUNDLED_MODEL}"),
        ({"text": "x", "modle": BUNDLED_MODEL}, "modle", "not permitted"),
        ({}, "text", "Field required"),
    ],
)
def test_a_bad_embedding_request_is_a_400_that_says_what_to_send(
    base: str, body: dict[str, Any], field: str, says: str
) -> None:
    error = error_of(embed(base, **body), 400)
    assert (error["code"], error["field"]) == ("bad_parameter", field)
    assert says in error["message"]


# --- the index follows ingests ---------------------------------------------------------------


def test_a_model_ingested_through_the_api_is_found_at_once(
    searchable: tuple[str, Path],
) -> None:
    base, root = searchable
    query = "named entity recognition"
    assert LATE not in names(search(base, query=query, first=len(MODELS)))
    folder = shutil.copytree(corpus_folder(LATE), root / LATE.replace("/", "__"))
    with ThreadPoolExecutor(4) as pool:  # searches go on while the index follows the ingest
        searching = [pool.submit(search, base, query=q, first=3) for q in ("speech",) * 12]
        response = httpx.post(
            f"{base}{API}/ingest",
            json={"paths": [str(folder)]},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=120,
        )
        assert all(f.result().status_code == 200 for f in searching)
    assert response.status_code == 200, response.text
    assert response.json()["ingested"] == [LATE]
    assert names(search(base, query=query, first=3))[0] == LATE
    graph = graphql(base, query=query, first=1).json()["data"]["searchModels"]
    assert graph[0]["model"]["id"] == LATE


def test_a_preloading_server_has_the_encoder_and_the_index_ready_before_any_search(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = registry(tmp_path_factory, "preloaded", ("sentence-transformers/all-MiniLM-L6-v2",))
    for url in serve(path, token=None, preload_embeddings=True):
        assert Path(f"{path}.search/meta.json").is_file(), "synced at start-up"
        answer = httpx.get(f"{url}{API}/embeddings/models", timeout=60).json()
        assert {"name": BUNDLED_MODEL, "dimensions": 384, "loaded": True} in answer["models"]
