"""What the corpus's well-known models can do, as the rules infer it from their metadata, on
every store engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyoxigraph import QuerySolutions

from kg.ingest.pipeline import ingest
from kg.reason.run import reason
from kg.store import ModelStore, open_store
from tests.conftest import CORPUS, ENGINES, engine_location

TASKS = "https://huggingface.co/tasks/"


@pytest.fixture(scope="module", params=ENGINES)
def corpus_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModelStore]:
    """The corpus ingested and reasoned, in a store of each engine."""
    folder = tmp_path_factory.mktemp("reasoned")
    with open_store(engine_location(request, request.param, folder)) as store:
        ingest([str(CORPUS)], store)
        reason(store)
        yield store


def _values(store: ModelStore, sparql: str) -> set[str]:
    result = store.query(sparql)
    assert isinstance(result, QuerySolutions)
    return {row[0].value for row in result if row[0] is not None}


def tasks_of(store: ModelStore, hub_id: str) -> set[str]:
    found = _values(
        store, f"SELECT ?t WHERE {{ <https://huggingface.co/{hub_id}> mkg:performsTask ?t }}"
    )
    return {t.removeprefix(TASKS) for t in found}


@pytest.mark.parametrize(
    "hub_id",
    [
        "openai-community/gpt2",
        "meta-llama/Llama-2-7b-hf",
        "meta-llama/Llama-2-7b-chat-hf",
        "mistralai/Mistral-7B-Instruct-v0.2",
    ],
)
def test_decoder_language_models_generate_text(corpus_store: ModelStore, hub_id: str) -> None:
    assert "text-generation" in tasks_of(corpus_store, hub_id)


def test_a_sequence_classifier_classifies_text_into_its_own_labels(
    corpus_store: ModelStore,
) -> None:
    hub_id = "nlptown/bert-base-multilingual-uncased-sentiment"
    assert "text-classification" in tasks_of(corpus_store, hub_id)
    labels = _values(
        corpus_store,
        f"""SELECT ?name WHERE {{ <https://huggingface.co/{hub_id}> mkg:producesOutput ?out .
            ?out mkg:dataKind mkg:LabelSet ; mkg:labelSet/mkg:hasLabel/mkg:labelName ?name }}""",
    )
    assert labels == {"1 star", "2 stars", "3 stars", "4 stars", "5 stars"}


def test_all_minilm_embeds_text_into_384_dimensions(corpus_store: ModelStore) -> None:
    hub_id = "sentence-transformers/all-MiniLM-L6-v2"
    assert {"feature-extraction", "sentence-similarity"} <= tasks_of(corpus_store, hub_id)
    dims = _values(
        corpus_store,
        f"""SELECT ?d WHERE {{ <https://huggingface.co/{hub_id}> mkg:producesOutput ?out .
            ?out mkg:dataKind mkg:Embedding ; mkg:dimension ?d }}""",
    )
    assert dims == {"384"}
    inputs = _values(
        corpus_store,
        f"""SELECT ?k WHERE {{ <https://huggingface.co/{hub_id}> mkg:acceptsInput ?in .
            ?in mkg:dataKind ?k }}""",
    )
    assert "https://w3id.org/modelkg/ontology#Text" in inputs


@pytest.mark.parametrize("hub_id", ["openai/whisper-base", "openai/whisper-large-v3"])
def test_whisper_turns_audio_into_text(corpus_store: ModelStore, hub_id: str) -> None:
    assert "automatic-speech-recognition" in tasks_of(corpus_store, hub_id)
    kinds = _values(
        corpus_store,
        f"""SELECT ?k WHERE {{ <https://huggingface.co/{hub_id}> mkg:acceptsInput ?in .
            ?in mkg:dataKind ?k }}""",
    )
    assert "https://w3id.org/modelkg/ontology#Audio" in kinds


def test_clip_takes_images_and_text(corpus_store: ModelStore) -> None:
    kinds = _values(
        corpus_store,
        """SELECT ?k WHERE { <https://huggingface.co/openai/clip-vit-base-patch32>
            mkg:acceptsInput ?in . ?in mkg:dataKind ?k }""",
    )
    assert {
        "https://w3id.org/modelkg/ontology#Image",
        "https://w3id.org/modelkg/ontology#Text",
    } <= kinds


def test_reasoning_the_corpus_twice_is_a_no_op(corpus_store: ModelStore, tmp_path: Path) -> None:
    summary = reason(corpus_store)
    assert summary.derived == 0
    assert summary.unchanged > 100


@pytest.mark.parametrize(
    "hub_id", ["openai/clip-vit-base-patch32", "openai/clip-vit-large-patch14"]
)
def test_clip_embeds_images_and_text_into_one_space(corpus_store: ModelStore, hub_id: str) -> None:
    iri = f"<https://huggingface.co/{hub_id}>"
    assert _values(corpus_store, f"SELECT ?c WHERE {{ {iri} a ?c }}") >= {
        "https://w3id.org/modelkg/ontology#JointEmbeddingModel"
    }
    modalities = _values(
        corpus_store,
        f"""SELECT ?mod WHERE {{ {iri} mkg:producesOutput ?out .
            ?out mkg:dataKind mkg:Embedding ; mkg:embedsModality ?mod }}""",
    )
    assert modalities == {
        "https://w3id.org/modelkg/ontology#Image",
        "https://w3id.org/modelkg/ontology#Text",
    }


def test_a_config_without_architecture_is_read_as_the_bare_encoder(tmp_path: Path) -> None:
    """The least trusted source: only the model type, so the type's encoder task."""
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert", "hidden_size": 64}')
    store = open_store(str(tmp_path / "store"))
    ingest([str(folder)], store)
    reason(store)

    tasks = _values(store, "SELECT ?t WHERE { ?m a mkg:Model ; mkg:performsTask ?t }")
    assert tasks == {TASKS + "feature-extraction"}
