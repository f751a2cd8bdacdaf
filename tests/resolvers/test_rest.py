"""A REST client's story against the live server: httpx, a real store on disk, `/api/v1`."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
import rdflib
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from kg import __version__
from tests.conftest import corpus_folder
from tests.resolvers.conftest import TOKEN, registry, serve

API = "/api/v1"
GPT2 = "openai-community/gpt2"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
WHISPER = "openai/whisper-base"
MODELS = (GPT2, MINILM, WHISPER)
HF = "https://huggingface.co/"
MKG = rdflib.Namespace("https://w3id.org/modelkg/ontology#")

Params = Mapping[str, str | list[str]]


def get(
    base: str, path: str, params: Params | None = None, *, accept: str | None = None
) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.get(f"{base}{API}{path}", params=params, headers=headers, timeout=60)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def graphql(base: str, query: str) -> dict[str, Any]:
    response = httpx.post(f"{base}/graphql", json={"query": query}, timeout=60)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def model_count(base: str) -> int:
    return int(httpx.get(f"{base}/health").json()["models"])


def assert_error(response: httpx.Response, status: int, code: str, field: str | None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]


# --- listing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"modality": "audio"}, {WHISPER}),
        ({"task": "feature-extraction"}, {MINILM}),
        ({"task": ["text-generation", "automatic-speech-recognition"]}, {GPT2, WHISPER}),
        ({"hiddenSize.gte": "700"}, {GPT2}),
        ({"hiddenSize.gt": "384", "hiddenSize.lt": "768"}, {WHISPER}),
        ({"parameterCount.lte": "1e8"}, {MINILM, WHISPER}),
        ({"parameterCount.gte": "1e8", "parameterCount.lte": "1e9"}, {GPT2}),
        ({"q": "WHISPER"}, {WHISPER}),
        ({"library": ["sentence-transformers", "transformers"], "hiddenSize.lt": "400"}, {MINILM}),
        ({"model_type": "gpt2"}, {GPT2}),
        ({"license": "apache-2.0", "modality": "audio"}, {WHISPER}),
    ],
)
def test_filters_pick_the_models_they_describe(
    server: str, params: Params, expected: set[str]
) -> None:
    response = get(server, "/models", params)
    assert set(ids(response)) == expected
    assert response.json()["totalCount"] == len(expected)


def test_a_list_item_is_a_cheap_summary(server: str) -> None:
    items = {item["id"]: item for item in get(server, "/models").json()["items"]}
    assert items[MINILM] == {
        "id": MINILM,
        "iri": HF + MINILM,
        "name": MINILM,
        "tasks": ["feature-extraction", "sentence-similarity"],
        "modelType": "bert",
        "license": "apache-2.0",
        "libraryName": "sentence-transformers",
    }


def test_paging_follows_link_headers_through_every_model_once(server: str) -> None:
    url: str | None = f"{server}{API}/models?first=1"
    seen: list[str] = []
    totals = set()
    while url:
        response = httpx.get(url)
        seen += ids(response)
        totals.add(response.json()["totalCount"])
        url = response.links.get("next", {}).get("url")  # the `Link: <...>; rel="next"` header
        assert (url is not None) == response.json()["pageInfo"]["hasNextPage"]
    assert seen == sorted(seen) == sorted({GPT2, MINILM, WHISPER})
    assert totals == {3}


def test_paging_by_end_cursor_keeps_the_filter(server: str) -> None:
    first = get(server, "/models", {"hiddenSize.gte": "500", "first": "1"}).json()
    after = first["pageInfo"]["endCursor"]
    second = get(server, "/models", {"hiddenSize.gte": "500", "first": "1", "after": after})
    assert first["items"][0]["id"] == GPT2 and first["pageInfo"]["hasNextPage"]
    assert ids(second) == [WHISPER] and not second.json()["pageInfo"]["hasNextPage"]
    other_filter = get(server, "/models", {"first": "1", "after": after})
    assert_error(other_filter, 400, "bad_parameter", "after")


def test_a_page_costs_the_same_store_queries_for_one_model_as_for_all(server: str) -> None:
    def cost(first: str) -> str:  # computed now: a cached answer replays the header it had
        url = f"{server}{API}/models"
        answer = httpx.get(url, params={"first": first}, headers={"Cache-Control": "no-cache"})
        return answer.headers["x-store-queries"]

    cost("1")  # the sorted list, made once per store generation
    one, every = cost("1"), cost("100")
    assert one == every
    assert int(every) <= 4


# --- one model -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "parameter", "value"),
    [
        (GPT2, "hiddenSize", 768),  # n_embd in GPT-2's config
        (GPT2, "vocabSize", 50257),
        (GPT2, "numHiddenLayers", 12),  # n_layer
        (MINILM, "embeddingDimension", 384),
        (MINILM, "hiddenSize", 384),
        (WHISPER, "hiddenSize", 512),  # d_model
        (WHISPER, "samplingRate", 16000),
    ],
)
def test_a_model_shows_its_normalized_parameters(
    server: str, model: str, parameter: str, value: int
) -> None:
    body = get(server, f"/models/{model}").json()
    assert (body["id"], body["iri"], body["hubId"]) == (model, HF + model, model)
    assert body["parameters"][parameter] == value


@pytest.mark.parametrize("model", [GPT2, MINILM, WHISPER])
def test_parameters_are_exactly_what_the_store_holds(server: str, model: str) -> None:
    query = (
        "PREFIX mkg: <https://w3id.org/modelkg/ontology#> SELECT ?p ?o WHERE { "
        f"<{HF}{model}> ?p ?o . ?p a mkg:ParameterConcept }}"
    )
    rows = httpx.get(f"{server}/sparql", params={"query": query}).json()["results"]["bindings"]
    stored = {row["p"]["value"].rsplit("#", 1)[1]: row["o"]["value"] for row in rows}
    shown = get(server, f"/models/{model}").json()["parameters"]
    assert {name: str(value) for name, value in shown.items()} == stored


def test_a_model_has_tasks_io_and_modalities(server: str) -> None:
    minilm = get(server, f"/models/{MINILM}").json()
    task = "feature-extraction"
    assert {"id": task, "label": "Feature Extraction", "category": "nlp",
            "iri": f"https://huggingface.co/tasks/{task}"} in minilm["tasks"]  # fmt: skip
    assert {"kind": "Embedding", "modality": None, "dimension": 384, "labels": []} in minilm[
        "outputs"
    ]
    assert (
        minilm["libraryName"] == "sentence-transformers"
        and "SentenceTransformer" in minilm["kinds"]
    )
    whisper = get(server, f"/models/{WHISPER}").json()
    assert whisper["inputs"][0]["kind"] == "Audio" and "Audio" in whisper["modalities"]


def test_rest_and_graphql_give_the_same_model_under_the_same_names(server: str) -> None:
    fields = (
        "id iri name hubId modelType license libraryName pipelineTag architectures tags "
        "datasets languages hiddenSize vocabSize parameterCount tasks { id label category iri } "
        "inputs { kind modality dimension labels } outputs { kind modality dimension labels } "
        "modalities baseModels { relation } derivedModels { relation }"
    )
    shown = graphql(server, f'{{ model(id: "{MINILM}") {{ {fields} }} }}')["model"]
    rest = get(server, f"/models/{MINILM}").json()
    for name, value in shown.items():
        expected = rest["parameters"].get(name) if name in rest["parameters"] else rest[name]
        assert value == expected, name


def test_an_unknown_model_is_a_404_naming_the_closest(server: str) -> None:
    response = get(server, "/models/openai-community/gtp2")
    assert_error(response, 404, "not_found", "model_id")
    assert GPT2 in response.json()["error"]["hint"]


# --- the model's graph -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "rdflib_format"),
    [
        (None, "turtle"),
        ("text/turtle", "turtle"),
        ("application/ld+json", "json-ld"),
        ("application/n-triples", "nt"),
        ("application/rdf+xml", "xml"),
    ],
)
def test_the_graph_comes_in_the_format_asked_for_and_parses(
    server: str, accept: str | None, rdflib_format: str
) -> None:
    response = get(server, f"/models/{GPT2}/graph", accept=accept)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(accept or "text/turtle")
    graph = rdflib.Graph().parse(data=response.text, format=rdflib_format)
    gpt2 = rdflib.URIRef(HF + GPT2)
    assert (gpt2, MKG.hubId, rdflib.Literal(GPT2)) in graph  # read from its files
    assert (gpt2, MKG.numKeyValueHeads, rdflib.Literal(12)) in graph  # inferred
    assert not set(graph.subjects(MKG.describes, rdflib.URIRef(HF + MINILM)))


def test_a_graph_nobody_can_read_is_a_406(server: str) -> None:
    response = get(server, f"/models/{GPT2}/graph", accept="image/png")
    assert_error(response, 406, "not_acceptable", None)
    assert "text/turtle" in response.json()["error"]["hint"]


def test_explanations_say_why_an_inferred_fact_holds(server: str) -> None:
    found = get(server, f"/models/{GPT2}/explanations").json()
    kv_heads = next(e for e in found if e["rule"] == "kv-heads-default")
    assert "numKeyValueHeads" in kv_heads["fact"]
    assert any("numAttentionHeads" in p["triple"] for p in kv_heads["premises"])


# --- compatibility ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "field", "model"),
    [
        ("consumers", "consumers", WHISPER),
        ("replacements", "replacements", GPT2),
        ("same-tokenizer", "sameTokenizer", GPT2),
        ("same-embedding-space", "sameEmbeddingSpace", MINILM),
    ],
)
def test_compat_answers_match_graphql(server: str, route: str, field: str, model: str) -> None:
    query = (
        f'{{ model(id: "{model}") {{ {field}(first: 5) {{ model {{ id iri }} score case reasons '
        "components { name points weight why } } } }"
    )
    rest = get(server, f"/models/{model}/{route}", {"first": "5"})
    assert rest.status_code == 200, rest.text
    assert rest.json() == graphql(server, query)["model"][field]


def test_whisper_transcripts_feed_text_models(server: str) -> None:
    answers = get(server, f"/models/{WHISPER}/consumers").json()
    assert {a["model"]["id"] for a in answers} == {GPT2, MINILM}
    assert all(a["reasons"] and 0 < a["score"] <= 1 for a in answers)


def test_a_model_without_embeddings_has_no_embedding_space(server: str) -> None:
    assert_error(get(server, f"/models/{GPT2}/same-embedding-space"), 400, "bad_input", None)


@pytest.mark.parametrize(("memory", "fits"), [("16GB", True), ("100MB", False)])
def test_one_model_fits_a_budget_or_not_with_the_arithmetic(
    server: str, memory: str, fits: bool
) -> None:
    body = get(server, f"/models/{GPT2}/fits", {"memory": memory, "dtype": "bf16"}).json()
    assert body["model"] == {"id": GPT2, "iri": HF + GPT2}
    assert body["fits"] is fits and body["totalBytes"] > 2 * 120_000_000
    assert any("weights" in line for line in body["lines"])


def test_fits_lists_the_models_within_a_budget_as_graphql_does(server: str) -> None:
    budget = {"memory": "300MB", "dtype": "fp16"}
    rest = get(server, "/fits", budget).json()
    shown = graphql(server, '{ fits(memory: "300MB", dtype: "fp16") { model { id } score } }')
    listed = [answer["model"]["id"] for answer in rest["items"]]
    assert listed == [answer["model"]["id"] for answer in shown["fits"]]
    one_by_one = {m for m in MODELS if get(server, f"/models/{m}/fits", budget).json()["fits"]}
    assert set(listed) == one_by_one and 0 < len(listed) < len(MODELS)
    assert all(any("weights" in line for line in a["reasons"]) for a in rest["items"])
    assert rest["unsized"] == []


@pytest.mark.parametrize(
    ("models", "ok"),
    [([WHISPER, GPT2], True), ([WHISPER, GPT2, MINILM], True), ([GPT2, WHISPER], False)],
)
def test_a_chain_says_where_a_pipeline_breaks(server: str, models: list[str], ok: bool) -> None:
    steps = get(server, "/chain", {"models": models}).json()
    assert [(s["producer"], s["consumer"]) for s in steps] == list(pairwise(models))
    assert all(s["ok"] for s in steps) is ok
    broken = [s for s in steps if not s["ok"]]
    assert all("breaks here" in s["reasons"][0] for s in broken)


def test_version(server: str) -> None:
    assert get(server, "/version").json() == {"version": __version__, "api": "v1"}


# --- documentation ---------------------------------------------------------------------------


def test_docs_load_from_the_server_alone(server: str) -> None:
    page = httpx.get(f"{server}/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert not re.search(r"https?://", page.text), "the page must not load from a CDN"
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert httpx.get(f"{server}{asset}").status_code == 200, asset
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_swagger_ui_shows_every_endpoint_offline(server: str, browser: WebDriver) -> None:
    browser.get(f"{server}/docs")
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".opblock"))
    shown = {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {f"{API}/models", f"{API}/models/{{model_id}}", f"{API}/ingest"} <= shown
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )
    assert [name for name in loaded if not name.startswith(f"{server}/")] == []
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []  # no Content-Security-Policy violation, no failed load


def test_openapi_documents_every_endpoint(server: str) -> None:
    spec = httpx.get(f"{server}/openapi.json").json()
    operations = {
        (method.upper(), path): operation
        for path, methods in spec["paths"].items()
        if path.startswith(API)
        for method, operation in methods.items()
    }
    assert {
        ("GET", f"{API}/models"), ("GET", f"{API}/models/{{model_id}}"),
        ("GET", f"{API}/models/{{model_id}}/graph"), ("GET", f"{API}/models/{{model_id}}/fits"),
        ("GET", f"{API}/models/{{model_id}}/consumers"), ("GET", f"{API}/fits"),
        ("GET", f"{API}/chain"), ("POST", f"{API}/ingest"), ("GET", f"{API}/version"),
    } <= set(operations)  # fmt: skip
    for key, operation in operations.items():
        assert operation.get("summary") and operation.get("description"), key
    assert "hiddenSize" in operations[("GET", f"{API}/models")]["description"]
    assert {"ModelDetail", "ModelPage", "ErrorResponse"} <= set(spec["components"]["schemas"])


# --- bad requests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status", "field", "hint"),
    [
        ("/models", {"tsk": "x"}, 400, "tsk", "task"),
        ("/models", {"hiddenSize": "768"}, 400, "hiddenSize", "hiddenSize.gte"),
        ("/models", {"hiddenSise.gte": "768"}, 400, "hiddenSise.gte", "hiddenSize"),
        ("/models", {"hiddenSize.most": "768"}, 400, "hiddenSize.most", "lt"),
        ("/models", {"hiddenSize.gte": "big"}, 400, "hiddenSize.gte", "number"),
        ("/models", {"parameterCount.lte": "nan"}, 400, "parameterCount.lte", "number"),
        ("/models", {"task": "text-generaton"}, 400, "task", "text-generation"),
        ("/models", {"modality": "smell"}, 400, "modality", "audio"),
        ("/models", {"derived_from": "nobody/nothing"}, 400, "derived_from", None),
        ("/models", {"first": "abc"}, 400, "first", None),
        ("/models", {"first": "1000"}, 400, "first", None),
        ("/models", {"after": "not-a-cursor"}, 400, "after", "endCursor"),
        (f"/models/{GPT2}/consumers", {"first": "0"}, 400, "first", None),
        (f"/models/{GPT2}/fits", {"memory": "lots"}, 400, "memory", None),
        (f"/models/{GPT2}/fits", {}, 400, "memory", None),
        ("/fits", {"memory": "16GB", "task": "txt-generation"}, 400, "task", "text-generation"),
        ("/chain", {"models": GPT2}, 400, "models", None),
        ("/chain", {"models": [GPT2, "nobody/nothing"]}, 400, "models", None),
        ("/models/nobody/nothing/consumers", {}, 404, "model_id", None),
    ],
)
def test_bad_requests_name_what_is_wrong(
    server: str, path: str, params: Params, status: int, field: str, hint: str | None
) -> None:
    response = get(server, path, params)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field and error["message"]
    if hint is not None:
        assert hint in error["hint"]


def test_a_tampered_cursor_is_refused(server: str) -> None:
    cursor = get(server, "/models", {"first": "1"}).json()["pageInfo"]["endCursor"]
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    assert_error(get(server, "/models", {"after": tampered}), 400, "bad_parameter", "after")


def test_an_unknown_route_answers_in_the_error_shape(server: str) -> None:
    assert_error(get(server, "/modelz"), 404, "not_found", None)


# --- writes ----------------------------------------------------------------------------------


def post_ingest(base: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{base}{API}/ingest", headers=headers, timeout=120, **kwargs)


CONFIG = ("config.json", (corpus_folder(GPT2) / "config.json").read_bytes())


@pytest.mark.parametrize(
    ("token", "kwargs", "status", "code"),
    [
        (None, {"json": {"paths": ["/tmp"]}}, 401, "token_required"),
        ("wrong", {"json": {"paths": ["/tmp"]}}, 403, "bad_token"),
        (None, {"files": [("files", CONFIG)], "data": {"hub_id": "x/y"}}, 401, "token_required"),
        ("wrong", {"files": [("files", CONFIG)], "data": {"hub_id": "x/y"}}, 403, "bad_token"),
        (TOKEN, {"json": {"paths": ["/etc"]}}, 403, "paths_disabled"),
        (TOKEN, {"json": {"paths": []}}, 400, "bad_parameter"),
        (TOKEN, {"json": {"folders": ["/etc"]}}, 400, "bad_parameter"),
        (TOKEN, {"content": b"paths=/etc"}, 415, "unsupported_media_type"),
        (TOKEN, {"files": [("files", ("../config.json", CONFIG[1]))]}, 400, "bad_file_name"),
    ],
)
def test_a_refused_ingest_writes_nothing(
    writable_server: str, token: str | None, kwargs: dict[str, Any], status: int, code: str
) -> None:
    before = model_count(writable_server)
    response = post_ingest(writable_server, token, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert model_count(writable_server) == before


def test_a_read_only_server_refuses_every_ingest(server: str) -> None:
    response = post_ingest(server, TOKEN, json={"paths": ["/tmp"]})
    assert_error(response, 403, "writes_disabled", None)


CARD = b"---\nbase_model: openai-community/gpt2\nlicense: mit\n---\n# A GPT-2 fine-tune\n"
FINE_TUNE = "rest-tests/gpt2-fine-tune"


def test_an_uploaded_model_can_be_read_back_with_its_lineage(writable_server: str) -> None:
    before = model_count(writable_server)
    files = [("files", CONFIG), ("files", ("README.md", CARD))]
    response = post_ingest(writable_server, TOKEN, files=files, data={"hub_id": FINE_TUNE})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ingested"] == [FINE_TUNE] and report["rejected"] == []
    assert report["triples"] > 0
    assert model_count(writable_server) == before + 1

    model = get(writable_server, f"/models/{FINE_TUNE}").json()
    assert model["parameters"]["hiddenSize"] == 768 and model["license"] == "mit"
    assert model["baseModels"] == [
        {"relation": "fine-tune", "model": {"id": GPT2, "iri": HF + GPT2}}
    ]
    derived = get(writable_server, f"/models/{GPT2}").json()["derivedModels"]
    assert [edge["model"]["id"] for edge in derived] == [FINE_TUNE]
    assert ids(get(writable_server, "/models", {"derived_from": GPT2})) == [FINE_TUNE]
    same = get(writable_server, f"/models/{GPT2}/same-tokenizer").json()
    assert FINE_TUNE in [answer["model"]["id"] for answer in same]

    again = post_ingest(writable_server, TOKEN, files=files, data={"hub_id": FINE_TUNE})
    assert again.status_code == 200 and again.json()["unchanged"] == [FINE_TUNE]


def test_files_in_subfolders_keep_their_path(writable_server: str) -> None:
    folder = corpus_folder(MINILM)
    names = ["config.json", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json"]
    files = [("files", (name, (folder / name).read_bytes())) for name in names]
    hub_id = "rest-tests/minilm-copy"
    response = post_ingest(writable_server, TOKEN, files=files, data={"hub_id": hub_id})
    assert response.status_code == 200, response.text
    model = get(writable_server, f"/models/{hub_id}").json()
    assert model["parameters"]["embeddingDimension"] == 384
    premises = [p for e in get(writable_server, f"/models/{hub_id}/explanations").json()
                for p in e["premises"] if "embeddingDimension" in p["triple"]]  # fmt: skip
    assert premises and premises[0]["sourceFile"] == "1_Pooling/config.json"


def test_a_rejected_upload_answers_422_in_the_error_shape(writable_server: str) -> None:
    """An upload is one model: refused, it is an error naming the file, not a report."""
    before = model_count(writable_server)
    files = [("files", ("config.json", b'{"model_type": "gpt2", "n_embd": '))]
    response = post_ingest(writable_server, TOKEN, files=files, data={"hub_id": "rest-tests/bad"})
    assert_error(response, 422, "rejected_model", "files")
    assert "config.json" in response.json()["error"]["message"]
    assert model_count(writable_server) == before


@pytest.fixture(scope="module")
def rooted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A writable server that may ingest server folders under one allowed root."""
    root = tmp_path_factory.mktemp("allowed")
    for base in serve(registry(tmp_path_factory, "rooted", ()), TOKEN, ingest_roots=(str(root),)):
        yield base, root


def test_server_folders_ingest_only_under_the_allowed_root(
    rooted_server: tuple[str, Path],
) -> None:
    base, root = rooted_server
    outside = post_ingest(base, TOKEN, json={"paths": [str(corpus_folder(WHISPER))]})
    assert_error(outside, 403, "path_not_allowed", "paths")
    climbing = post_ingest(base, TOKEN, json={"paths": [f"{root}/../{root.name}-not"]})
    assert_error(climbing, 403, "path_not_allowed", "paths")
    assert model_count(base) == 0

    folder = shutil.copytree(corpus_folder(WHISPER), root / "openai__whisper-base")
    response = post_ingest(base, TOKEN, json={"paths": [str(folder)]})
    assert response.status_code == 200, response.text
    assert response.json()["ingested"] == [WHISPER]
    assert get(base, f"/models/{WHISPER}").json()["parameters"]["samplingRate"] == 16000


def test_a_served_folder_cannot_lend_out_a_file_it_links_to_outside_the_root(
    rooted_server: tuple[str, Path], tmp_path: Path
) -> None:
    """The operator allows a folder; a model card in it that links to another file of the
    server's (here a secret beside the root) is refused, naming the link, and nothing of the
    secret reaches the store. Links within the root (a HF cache's blobs) stay fine."""
    base, root = rooted_server
    secret = tmp_path / "secret.md"
    secret.write_text("---\nlicense: the-password-is-hunter2\n---\n")
    folder = root / "leaky"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert", "hidden_size": 64}')
    (folder / "PROVENANCE.json").write_text('{"hub_id": "rest-tests/leaky"}')
    (folder / "README.md").symlink_to(secret)
    before = model_count(base)

    response = post_ingest(base, TOKEN, json={"paths": [str(folder)]})

    assert response.status_code == 422, response.text
    [rejected] = response.json()["rejected"]
    assert rejected["source"] == "rest-tests/leaky"
    assert f"README.md: links outside the folders allowed here, to {secret}" in rejected["reason"]
    assert model_count(base) == before
    rows = httpx.post(
        f"{base}/sparql",
        data={"query": 'ASK { ?s ?p ?o FILTER(CONTAINS(STR(?o), "hunter2")) }'},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert rows.json()["boolean"] is False
