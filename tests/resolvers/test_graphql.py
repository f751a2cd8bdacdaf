"""A GraphQL client's story against the live server: real gql client, real store on disk."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, gql
from gql.transport.httpx import HTTPXTransport

from resolvers.graphql.schema import schema_sdl
from tests.conftest import CORPUS, CliResult, corpus_folder
from tests.resolvers.conftest import TOKEN, registry, serve

SNAPSHOT = Path(__file__).with_name("schema.graphql")


def _client(base: str, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return Client(transport=HTTPXTransport(url=f"{base}/graphql", headers=headers, timeout=60))


def run(base: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    with _client(base) as session:
        result: dict[str, Any] = session.execute(gql(query), variable_values=variables)
    return result


def post(base: str, query: str, token: str | None = None, **variables: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=60,
    )


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server over every corpus model (for lineage, paging and query counting)."""
    hub_ids = [
        json.loads((f / "PROVENANCE.json").read_text())["hub_id"]
        for f in sorted(CORPUS.iterdir())
        if (f / "PROVENANCE.json").is_file()
    ]
    path = registry(tmp_path_factory, "corpus", hub_ids)
    yield from serve(path, token=None)


@pytest.fixture(scope="module")
def ingest_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A writable server that may ingest paths under one allowed root."""
    root = tmp_path_factory.mktemp("allowed")
    path = registry(tmp_path_factory, "ingestable")
    for base in serve(path, token=TOKEN, ingest_roots=(str(root),)):
        yield base, root


def test_a_model_shows_normalized_parameters_whatever_the_config_called_them(
    server: str,
) -> None:
    data = run(
        server,
        """{ gpt2: model(id: "openai-community/gpt2") { id hiddenSize vocabSize
               numHiddenLayers parameterCount tasks { id } outputs { kind } }
             whisper: model(id: "openai/whisper-base") { hiddenSize modalities
               inputs { kind modality } } }""",
    )
    gpt2 = data["gpt2"]
    assert gpt2["hiddenSize"] == 768  # n_embd in GPT-2's config
    assert gpt2["vocabSize"] == 50257
    assert gpt2["numHiddenLayers"] == 12  # n_layer
    assert 120_000_000 < gpt2["parameterCount"] < 130_000_000
    assert "text-generation" in [t["id"] for t in gpt2["tasks"]]
    assert data["whisper"]["hiddenSize"] == 512  # d_model
    assert "Audio" in data["whisper"]["modalities"]


def test_an_unknown_model_is_null(server: str) -> None:
    assert run(server, '{ model(id: "nobody/nothing") { id } }') == {"model": None}


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ('{modality: "audio"}', {"openai/whisper-base"}),
        ('{task: "feature-extraction"}', {"sentence-transformers/all-MiniLM-L6-v2"}),
        ("{hiddenSize: {gte: 700}}", {"openai-community/gpt2"}),
        ("{parameterCount: {lte: 1e8}}", {"sentence-transformers/all-MiniLM-L6-v2",
                                           "openai/whisper-base"}),
        ('{nameContains: "WHISPER"}', {"openai/whisper-base"}),
        ('{library: ["sentence-transformers", "transformers"], hiddenSize: {lt: 400}}',
         {"sentence-transformers/all-MiniLM-L6-v2"}),
    ],
)  # fmt: skip
def test_filters_pick_the_models_they_describe(
    server: str, filter: str, expected: set[str]
) -> None:
    data = run(server, f"{{ models(filter: {filter}) {{ totalCount edges {{ node {{ id }} }} }} }}")
    ids = {edge["node"]["id"] for edge in data["models"]["edges"]}
    assert ids == expected
    assert data["models"]["totalCount"] == len(expected)


def test_paging_walks_every_model_once_in_name_order(corpus_server: str) -> None:
    query = """query Page($after: String) { models(first: 40, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = run(corpus_server, query, {"after": after})["models"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"] > 100
    assert seen == sorted(seen)


def test_a_page_costs_the_same_number_of_store_queries_for_5_or_100_models(
    corpus_server: str,
) -> None:
    query = """query Page($first: Int!) { models(first: $first) { totalCount edges { node {
        id name hiddenSize license tasks { id label } modalities outputs { kind dimension }
        baseModels { relation model { id } } derivedModels { relation model { id } } } } } }"""
    costs = {}
    post(corpus_server, query, first=1)  # the sorted listing is read once per store version
    for first in (5, 100):
        response = post(corpus_server, query, first=first).json()
        assert "errors" not in response
        assert len(response["data"]["models"]["edges"]) == first
        costs[first] = response["extensions"]["storeQueries"]
    assert costs[5] == costs[100] <= 10


def test_a_page_answers_tasks_and_lineage_as_each_model_does_alone(corpus_server: str) -> None:
    """A page reads its models' tasks and lineage at once, also through fragments; the same
    fields asked of one model at a time (through the DataLoaders) give the same answers."""
    page = run(
        corpus_server,
        """fragment Lineage on Model { baseModels { relation model { id } } }
           { models(first: 100) { edges { node { id ...Lineage
             ... on Model { tasks { id label } derivedModels { relation model { id } } } } } } }""",
    )["models"]["edges"]
    assert any(edge["node"]["baseModels"] for edge in page), "the corpus has fine-tunes"
    for edge in page[::7]:
        node = edge["node"]
        alone = run(
            corpus_server,
            """query($id: ID!) { model(id: $id) { id tasks { id label }
                 baseModels { relation model { id } }
                 derivedModels { relation model { id } } } }""",
            {"id": node["id"]},
        )["model"]
        assert alone == node


def test_lineage_reads_both_ways(corpus_server: str) -> None:
    rows = run(
        corpus_server,
        """{ sparql(query: \"\"\"SELECT ?d ?b { ?dm mkg:fineTunedFrom ?bm . ?dm schema:name ?d .
             ?bm a mkg:Model ; schema:name ?b } ORDER BY ?d LIMIT 1\"\"\") }""",
    )["sparql"]["results"]["bindings"]
    assert rows, "the corpus holds at least one fine-tune of a model it also holds"
    derived, base = rows[0]["d"]["value"], rows[0]["b"]["value"]
    data = run(
        corpus_server,
        """query($d: ID!, $b: ID!) {
             d: model(id: $d) { baseModels { relation model { id } } }
             b: model(id: $b) { derivedModels { relation model { id } } } }""",
        {"d": derived, "b": base},
    )
    assert {"relation": "fine-tune", "model": {"id": base}} in data["d"]["baseModels"]
    assert {"relation": "fine-tune", "model": {"id": derived}} in data["b"]["derivedModels"]


def test_compatibility_questions_are_fields(server: str) -> None:
    data = run(
        server,
        """{ model(id: "sentence-transformers/all-MiniLM-L6-v2") {
               sameEmbeddingSpace { model { id } reasons }
               fitsIn(memory: "1GB") { fits lines } }
             fits(memory: "1GB") { model { id } }
             chain(models: ["openai/whisper-base", "sentence-transformers/all-MiniLM-L6-v2"])
               { ok reasons } }""",
    )
    model = data["model"]
    # a model shares its own space; the answer lists only the others (none here)
    assert "sentence-transformers/all-MiniLM-L6-v2" not in [
        a["model"]["id"] for a in model["sameEmbeddingSpace"]
    ]
    assert model["fitsIn"]["fits"] is True
    assert any("params" in line for line in model["fitsIn"]["lines"])
    assert "sentence-transformers/all-MiniLM-L6-v2" in [a["model"]["id"] for a in data["fits"]]
    assert data["chain"][0]["ok"] is True  # a transcript is text the encoder takes


def test_explanations_name_the_rule_and_premises(server: str) -> None:
    data = run(
        server,
        """{ model(id: "sentence-transformers/all-MiniLM-L6-v2") {
               explanations { rule fact premises { triple sourceFile sourceKey } } } }""",
    )
    rules = {e["rule"] for e in data["model"]["explanations"]}
    assert "embedding-output" in rules
    files = {p["sourceFile"] for e in data["model"]["explanations"] for p in e["premises"]}
    assert files - {None}


def test_sparql_is_there_for_power_users(server: str) -> None:
    data = run(server, '{ sparql(query: "SELECT (COUNT(*) AS ?n) { ?m a mkg:Model }") }')
    assert data["sparql"]["results"]["bindings"][0]["n"]["value"] == "3"


def _error(response: httpx.Response) -> dict[str, Any]:
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors[0]


@pytest.mark.parametrize(
    ("query", "status", "code", "says"),
    [
        ("{ models(first: 3 { id }", 400, "invalid_query", "Syntax Error"),
        ("{ models { edges { node { nope } } } }", 400, "invalid_query", "Cannot query field"),
        ('{ models(filter: {hiddenSize: {gte: "big"}}) { totalCount } }', 400, "invalid_query",
         "Float cannot represent"),
        ('{ models(filter: {task: "text-genration"}) { totalCount } }', 400, "bad_input",
         "did you mean text-generation"),
        ("{ models(first: 1000) { totalCount } }", 400, "bad_input", "a page holds 0 to 100"),
        ('{ models(after: "not-a-cursor") { totalCount } }', 400, "bad_input",
         "not one this server issued"),
        ('{ sparql(query: "SELECT ?x WHERE { ?x ") }', 400, "malformed_query", "line 1"),
        ('{ fits(memory: "16 GiB") { score } }', 400, "bad_option", "16GiB"),
        ("{ models(first: 100) { edges { node { consumers(first: 100) { model {"
         " replacements(first: 100) { model { id } } } } } } } }", 400, "too_complex",
         "complexity"),
        ('{ model(id: "x") ' + "{ baseModels { model " * 6 + "{ id }" + " } }" * 6 + " }", 400,
         "invalid_query", "exceeds maximum operation depth"),
    ],
)  # fmt: skip
def test_bad_queries_get_400_with_a_clear_error_and_the_server_stays_up(
    server: str, query: str, status: int, code: str, says: str
) -> None:
    response = post(server, query)
    assert response.status_code == status
    error = _error(response)
    assert error["extensions"]["code"] == code
    assert says in error["message"] + str(error["extensions"].get("hint"))
    assert httpx.get(f"{server}/health").json()["status"] == "ok"


def test_a_cursor_from_another_filter_is_refused(server: str) -> None:
    cursor = run(server, "{ models(first: 1) { pageInfo { endCursor } } }")["models"]["pageInfo"]
    response = post(
        server,
        '{ models(filter: {modality: "audio"}, after: "' + cursor["endCursor"] + '") '
        "{ totalCount } }",
    )
    assert "different filter" in _error(response)["message"]


def test_a_tampered_cursor_is_refused(server: str) -> None:
    cursor = run(server, "{ models(first: 1) { pageInfo { endCursor } } }")["models"]["pageInfo"]
    raw = bytearray(base64.urlsafe_b64decode(cursor["endCursor"] + "=="))
    raw[-3] ^= 1  # edit the name inside, keep the shape
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    response = post(server, '{ models(after: "' + forged + '") { totalCount } }')
    assert _error(response)["extensions"]["field"] == "after"


def _model_count(base: str) -> int:
    return int(httpx.get(f"{base}/health").json()["models"])


INGEST = "mutation($paths: [String!]) { ingest(paths: $paths) { ingested rejected { reason } } }"


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [(None, 401, "token_required"), ("wrong", 403, "bad_token")],
)
def test_ingest_without_the_token_is_refused_and_changes_nothing(
    ingest_server: tuple[str, Path], token: str | None, status: int, code: str
) -> None:
    base, root = ingest_server
    before = _model_count(base)
    response = post(base, INGEST, token, paths=[str(root)])
    assert response.status_code == status
    assert _error(response)["extensions"]["code"] == code
    assert _model_count(base) == before


def test_ingest_refuses_paths_outside_the_allowed_roots(ingest_server: tuple[str, Path]) -> None:
    base, root = ingest_server
    before = _model_count(base)
    for outside in (str(corpus_folder("openai-community/gpt2")), f"{root}/../../etc"):
        response = post(base, INGEST, TOKEN, paths=[outside])
        assert response.status_code == 403
        assert _error(response)["extensions"]["code"] == "path_not_allowed"
    assert _model_count(base) == before


def test_ingest_of_an_allowed_path_adds_the_model(ingest_server: tuple[str, Path]) -> None:
    base, root = ingest_server
    folder = root / "bert"
    folder.mkdir()
    source = corpus_folder("google-bert/bert-base-uncased")
    for name in ("config.json", "PROVENANCE.json"):
        (folder / name).write_bytes((source / name).read_bytes())
    response = post(base, INGEST, TOKEN, paths=[str(folder)])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["ingest"]["ingested"] == ["google-bert/bert-base-uncased"]
    data = run(base, '{ model(id: "google-bert/bert-base-uncased") { hiddenSize tasks { id } } }')
    assert data["model"]["hiddenSize"] == 768
    assert data["model"]["tasks"], "the model was re-derived on ingest"


def test_uploaded_files_are_ingested_under_the_given_hub_id(
    ingest_server: tuple[str, Path],
) -> None:
    base, _ = ingest_server
    config = (corpus_folder("openai-community/gpt2") / "config.json").read_bytes()
    operations = (
        '{"query": "mutation($files: [Upload!]!) { ingest(files: $files, hubId: \\"me/tiny\\")'
        ' { ingested rejected { reason } } }", "variables": {"files": [null]}}'
    )
    response = httpx.post(
        f"{base}/graphql",
        data={"operations": operations, "map": '{"0": ["variables.files.0"]}'},
        files={"0": ("config.json", config, "application/json")},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["ingest"]["ingested"] == ["me/tiny"]
    assert run(base, '{ model(id: "me/tiny") { hiddenSize } }')["model"]["hiddenSize"] == 768


def test_a_broken_upload_is_rejected_with_its_reason(ingest_server: tuple[str, Path]) -> None:
    base, _ = ingest_server
    before = _model_count(base)
    operations = (
        '{"query": "mutation($files: [Upload!]!) { ingest(files: $files, hubId: \\"me/broken\\")'
        ' { ingested rejected { source reason } } }", "variables": {"files": [null]}}'
    )
    response = httpx.post(
        f"{base}/graphql",
        data={"operations": operations, "map": '{"0": ["variables.files.0"]}'},
        files={"0": ("config.json", b'{"model_type": "bert", "hidden_size": }', "text/plain")},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    rejected = response.json()["data"]["ingest"]["rejected"]
    assert "malformed JSON" in rejected[0]["reason"]
    assert _model_count(base) == before


def test_the_schema_is_exported_and_matches_the_snapshot(cli: Callable[..., CliResult]) -> None:
    result = cli("graphql-schema")
    assert result.code == 0
    assert result.out == schema_sdl()
    assert schema_sdl() == SNAPSHOT.read_text(encoding="utf-8"), (
        "the GraphQL schema changed: if on purpose, run "
        "`modelkg graphql-schema -o tests/resolvers/schema.graphql` and review the diff"
    )


def test_the_server_serves_its_schema_as_sdl(server: str) -> None:
    response = httpx.get(f"{server}/graphql/schema.graphql")
    assert response.status_code == 200
    assert "type Model {" in response.text
    assert "hiddenSize: Int" in response.text and "parameterCount: Long" in response.text
