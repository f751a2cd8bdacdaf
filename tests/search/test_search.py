"""Finding models in plain words: real all-MiniLM-L6-v2, real hnswlib index, real store of each
engine (embedded, Oxigraph, Virtuoso), the same hits from each."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from kg.compat.sizing import size_models
from kg.ingest.pipeline import ingest
from kg.models.filters import ModelFilter, Range
from kg.reason.run import reason
from kg.search.embedder import EmbeddingService, available_models
from kg.search.index import VectorIndex
from kg.search.service import SearchService, index_folder
from kg.store import open_store
from kg.store.remote import parse_location
from tests.conftest import ENGINES, CliResult, corpus_folder, engine_location

SPEECH = ("openai/whisper-base", "openai/whisper-large-v3", "othrif/wav2vec2-large-xlsr-arabic")
TEXT_CLASSIFIERS = (
    "AventIQ-AI/distilbert-base-uncased-sentiment-analysis",
    "nlptown/bert-base-multilingual-uncased-sentiment",
    "cross-encoder/ms-marco-MiniLM-L-2-v2",
)
EMBEDDERS = (
    "sentence-transformers/all-MiniLM-L6-v2",
    "intfloat/multilingual-e5-large-instruct",
    "moka-ai/m3e-small",
)
OTHERS = ("openai-community/gpt2", "google-bert/bert-base-uncased", "openai/clip-vit-base-patch32")
MODELS = SPEECH + TEXT_CLASSIFIERS + EMBEDDERS + OTHERS

_EMBEDDINGS = EmbeddingService(available_models(None))
"""One encoder for the module: loading it once is what the service promises too."""


@pytest.fixture(scope="module", params=ENGINES)
def store_path(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The models ingested, reasoned and sized in a store of each engine (a server's vector
    index in this module's own cache folder)."""
    folder = tmp_path_factory.mktemp("search")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
        path = engine_location(request, request.param, folder)
        store = open_store(path)
        ingest([str(corpus_folder(m)) for m in MODELS], store)
        reason(store)
        size_models(store)
        store.close()
        yield path


@pytest.fixture
def service(store_path: str) -> Iterator[SearchService]:
    store = open_store(store_path)
    yield SearchService(store, _EMBEDDINGS)
    store.close()


def index_of(store_path: str) -> Path:
    """Where the index of the store at `store_path` lives: a server's is keyed by its URL as
    the store shows it, the password masked."""
    return index_folder(parse_location(store_path).display if "://" in store_path else store_path)


def names(hits: list[object]) -> list[str]:
    return [getattr(hit, "name") for hit in hits]  # noqa: B009


def test_speech_recognition_finds_whisper_and_wav2vec2_before_text_classifiers(
    service: SearchService,
) -> None:
    service.sync()
    ranked = names(service.search("speech recognition", limit=len(MODELS)))
    worst_speech = max(ranked.index(m) for m in SPEECH)
    best_classifier = min(ranked.index(m) for m in TEXT_CLASSIFIERS)
    assert worst_speech < best_classifier, ranked


def test_each_hit_says_which_text_was_embedded(service: SearchService) -> None:
    service.sync()
    hit = service.search("speech recognition", limit=1)[0]
    assert hit.text.startswith(hit.name)
    assert "Automatic Speech Recognition" in hit.text
    stored = service.store.select(f"SELECT ?t WHERE {{ <{hit.iri}> mkg:searchText ?t }}")
    assert [row["t"].value for row in stored] == [hit.text]  # kept in the graph, inspectable


@pytest.mark.parametrize(
    ("spec", "admitted"),
    [
        (ModelFilter(tasks=("text-classification",)), set(TEXT_CLASSIFIERS)),
        (ModelFilter(modalities=("audio",)), set(SPEECH)),
        (ModelFilter(tasks=("feature-extraction",), ranges={"parameterCount": Range(lte=2e8)}),
         {"sentence-transformers/all-MiniLM-L6-v2", "moka-ai/m3e-small"}),
    ],
)  # fmt: skip
def test_filters_exclude_what_they_should(
    service: SearchService, spec: ModelFilter, admitted: set[str]
) -> None:
    service.sync()
    found = set(names(service.search("speech recognition", spec=spec, limit=50)))
    assert found
    assert found <= admitted


def test_a_threshold_drops_weak_matches(service: SearchService) -> None:
    service.sync()
    everything = service.search("speech recognition", limit=50)
    strong = service.search("speech recognition", limit=50, threshold=0.5)
    assert strong == [hit for hit in everything if hit.score >= 0.5]
    assert 0 < len(strong) < len(everything)


def test_a_vector_query_finds_what_its_text_finds(service: SearchService) -> None:
    service.sync()
    vector = _EMBEDDINGS.encode(["speech recognition"])[0][0].tolist()
    assert names(service.search(vector=vector, limit=5)) == names(
        service.search("speech recognition", limit=5)
    )


def test_rebuilding_the_deleted_index_gives_the_same_answers(service: SearchService) -> None:
    service.sync()
    before = service.search("small multilingual sentence embedding model", limit=5)
    shutil.rmtree(service.folder)
    service.rebuild()
    after = service.search("small multilingual sentence embedding model", limit=5)
    assert names(after) == names(before)
    assert [h.score for h in after] == pytest.approx([h.score for h in before], abs=1e-5)


def test_a_corrupt_index_is_rebuilt_with_a_warning_never_served(
    service: SearchService, store_path: str
) -> None:
    store = service.store
    first = SearchService(store, _EMBEDDINGS)
    first.sync()
    expected = names(first.search("speech recognition", limit=3))
    vectors = index_of(store_path) / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:-64] + b"\0" * 64)  # flipped bytes, same size
    second = SearchService(store, _EMBEDDINGS)
    assert second.stale() or second.warnings
    second.sync()
    assert any("rebuilding" in w for w in second.warnings)
    assert names(second.search("speech recognition", limit=3)) == expected


def test_re_ingesting_a_changed_card_changes_the_vector(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(corpus_folder("openai/whisper-base"), folder)
    store = open_store(str(tmp_path / "store"))
    ingest([str(folder)], store)
    service = SearchService(store, _EMBEDDINGS)
    service.sync()
    iri = next(iter(service.index().labels))
    before = service.index().vectors[service.index().labels[iri]].copy()
    card = folder / "README.md"
    card.write_text(
        card.read_text(encoding="utf-8").replace(
            "Whisper is a pre-trained model", "Whisper is a cooking-recipe recommender"
        ),
        encoding="utf-8",
    )
    ingest([str(folder)], store)
    synced = service.sync()
    assert synced.embedded == 1
    after = service.index().vectors[service.index().labels[iri]]
    assert not np.allclose(before, after)
    assert "cooking-recipe" in service.search("recipes", limit=1)[0].text
    store.close()


def test_models_that_leave_the_store_leave_the_index(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    ingest([str(corpus_folder(m)) for m in ("openai/whisper-base", "openai-community/gpt2")], store)
    service = SearchService(store, _EMBEDDINGS)
    service.sync()
    graphs = store.select(
        "SELECT ?g WHERE { ?g a mkg:SourceRecord ; mkg:describes ?m . ?m schema:name "
        '"openai-community/gpt2" }'
    )
    store.remove_graphs([row["g"] for row in graphs])  # type: ignore[misc]
    assert service.sync().removed == 1
    assert names(service.search("text generation", limit=5)) == ["openai/whisper-base"]
    store.close()


def test_the_index_survives_a_restart(service: SearchService, store_path: str) -> None:
    service.sync()
    reloaded = VectorIndex.load(index_of(store_path))
    assert len(reloaded) == len(MODELS)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("",), "the query is empty"),
        (("x" * 1001,), "at most 1,000"),
        (("speech", "--threshold", "1.5"), "outside -1 to 1"),
        (("speech", "--task", "speech-recogniton"), "did you mean"),
        (("speech", "--max-params", "lots"), "not a parameter count"),
        (("speech", "--model", "nobody/none"), "no embedding model"),
        (("speech", "--metric", "hamming"), "unknown metric"),
    ],
)
def test_bad_search_input_gets_a_clear_error(
    cli: Callable[..., CliResult], store_path: str, args: tuple[str, ...], says: str
) -> None:
    result = cli("search", *args, "--store", store_path)
    assert result.code in (1, 2)
    assert says in result.err


def test_the_cli_searches_with_filters_and_prints_json(
    cli: Callable[..., CliResult], store_path: str
) -> None:
    result = cli(
        "search", "small multilingual sentence embedding model", "--task", "feature-extraction",
        "--max-params", "200M", "--limit", "10", "--threshold", "0.3", "--format", "json",
        "--store", store_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    hits = json.loads(result.out)
    assert {h["name"] for h in hits} <= {"sentence-transformers/all-MiniLM-L6-v2",
                                          "moka-ai/m3e-small"}  # fmt: skip
    assert hits and all(h["score"] >= 0.3 for h in hits)


def test_the_cli_filters_by_primary_task(cli: Callable[..., CliResult], store_path: str) -> None:
    def names(*primary: str) -> set[str]:
        flags = [part for task in primary for part in ("--primary-task", task)]
        result = cli("search", "speech recognition", *flags, "--limit", "20", "--format",
                     "json", "--store", store_path)  # fmt: skip
        assert result.code == 0, result.err
        return {hit["name"] for hit in json.loads(result.out)}

    speech = names("automatic-speech-recognition")
    assert speech and speech <= set(SPEECH)
    assert not names("text-generation") & set(SPEECH)


def test_other_metrics_rebuild_the_index(cli: Callable[..., CliResult], store_path: str) -> None:
    for metric in ("l2", "ip", "cosine"):
        result = cli("search", "speech recognition", "--metric", metric, "--format", "json",
                     "--limit", "3", "--store", store_path)  # fmt: skip
        assert result.code == 0, result.err
        assert json.loads(result.out)[0]["name"] in SPEECH
        assert VectorIndex.load(index_of(store_path)).meta.parameters.metric == metric


def test_ingest_keeps_an_existing_index_in_step(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    store = str(tmp_path / "store")
    assert cli("ingest", corpus_folder("openai-community/gpt2"), "--store", store).code == 0
    assert cli("search", "--rebuild-index", "--store", store).code == 0
    result = cli("ingest", corpus_folder("openai/whisper-base"), "--store", store)
    assert "search index: 1 embedded" in result.err
    found = cli("search", "speech recognition", "--format", "json", "--limit", "1",
                "--store", store)  # fmt: skip
    assert json.loads(found.out)[0]["name"] == "openai/whisper-base"


@pytest.mark.parametrize("reload", [False, True], ids=["in-memory", "saved-and-loaded"])
def test_a_removed_model_is_never_found_again(tmp_path: Path, reload: bool) -> None:
    rng = np.random.default_rng(3)
    vectors = {f"urn:m{i}": rng.normal(size=8).astype(np.float32) for i in range(6)}
    index = VectorIndex.create(tmp_path / "index", model="m", dimensions=8)
    index.upsert({iri: ("digest", vector) for iri, vector in vectors.items()})
    index.remove(["urn:m2"])
    if reload:
        index.save()
        index = VectorIndex.load(tmp_path / "index")

    found = [iri for iri, _ in index.search(vectors["urn:m2"], limit=10, exact=True)]

    assert sorted(found) == sorted(set(vectors) - {"urn:m2"})
