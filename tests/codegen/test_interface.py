"""A tool builder asks what a model can be called with: one function per task code knows, its
arguments typed from the graph's data kinds, its result shaped by the model's own facts (the
embedding's dimension, the label names), its options bounded and defaulted by them; and a model
that cannot become code is refused with the model and the missing fact named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codegen.interface import ModelInterface, describe, describe_many
from kg.errors import CodegenError
from kg.ingest.register import register
from kg.store import ModelStore, open_store
from resolvers.command import main
from tests.codegen.conftest import (
    ASR,
    CLIP,
    DETECTOR,
    EMBEDDER,
    IMAGE_CLASSIFIER,
    LLM,
    REPRESENTATIVE,
    TEXT_CLASSIFIER,
)

STARS = "Literal['1 star', '2 stars', '3 stars', '4 stars', '5 stars']"


@pytest.mark.parametrize(
    ("model", "function", "arguments", "result"),
    [
        (TEXT_CLASSIFIER, "classify", [("text", "str")], STARS),
        (EMBEDDER, "embed", [("text", "str")], "list[float]"),
        (LLM, "generate", [("prompt", "str"), ("max_new_tokens", "int")], "str"),
        (IMAGE_CLASSIFIER, "classify_image", [("image", "PIL.Image.Image")], "Literal["),
        (
            ASR,
            "transcribe",
            [("audio", "numpy.typing.NDArray[numpy.float32]"), ("sampling_rate", "int")],
            "str",
        ),
        (
            CLIP,
            "classify_image_zero_shot",
            [("image", "PIL.Image.Image"), ("candidate_labels", "list[str]")],
            "str",
        ),
    ],
)
def test_each_kind_of_model_gets_a_typed_function(
    registry: ModelStore,
    model: str,
    function: str,
    arguments: list[tuple[str, str]],
    result: str,
) -> None:
    interface = describe(registry, model)

    first = interface.functions[0]
    assert first.name == function
    assert [(a.name, a.python_type) for a in first.arguments] == arguments
    assert first.result.python_type.startswith(result)


def test_an_embedding_has_the_models_dimension(registry: ModelStore) -> None:
    embed = describe(registry, EMBEDDER).functions[0]

    assert (embed.result.kind, embed.result.dimension) == ("Embedding", 384)
    assert embed.runtime == "sentence-transformers"


def test_options_are_bounded_and_defaulted_by_the_models_facts(registry: ModelStore) -> None:
    generate = describe(registry, LLM).functions[0]
    transcribe = describe(registry, ASR).functions[0]

    max_new_tokens = generate.arguments[1]
    assert (max_new_tokens.minimum, max_new_tokens.maximum) == (1, 1024)  # gpt2's n_positions
    assert not max_new_tokens.required and max_new_tokens.default == 64
    sampling_rate = transcribe.arguments[1]
    assert sampling_rate.semantic_name == "samplingRate"
    assert sampling_rate.default == 16000 and not sampling_rate.required


def test_the_description_carries_the_cards_words_and_the_models_needs(
    registry: ModelStore,
) -> None:
    interface = describe(registry, TEXT_CLASSIFIER)

    assert interface.license == "mit"
    assert "sentiment" in interface.summary.lower()
    assert interface.modalities == ("Text",)
    assert interface.max_sequence_length == 512
    assert interface.weights_bytes is not None and interface.weights_bytes > 100_000_000
    assert interface.module == "bert_base_multilingual_uncased_sentiment"


def test_many_models_are_described_in_the_order_asked(registry: ModelStore) -> None:
    described = describe_many(registry, list(reversed(REPRESENTATIVE)))

    assert [i.model_id for i in described] == list(reversed(REPRESENTATIVE))


def test_a_saved_description_reads_back_equal(registry: ModelStore, tmp_path: Path) -> None:
    interface = describe(registry, CLIP)
    saved = tmp_path / "clip.json"
    saved.write_text(interface.model_dump_json())

    assert ModelInterface.model_validate_json(saved.read_text()) == interface


@pytest.mark.parametrize(
    ("model", "complaint"),
    [
        ("no-such/model", "no model `no-such/model` in the graph"),
        (DETECTOR, "no task of its (`object-detection`) has a type mapping for code"),
    ],
)
def test_a_model_that_cannot_become_code_is_named_with_the_missing_fact(
    registry: ModelStore, model: str, complaint: str
) -> None:
    with pytest.raises(CodegenError) as caught:
        describe(registry, model)

    assert complaint in str(caught.value)


def test_a_model_with_no_known_task_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "mystery"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "mystery", "hidden_size": 8}))
    (folder / "PROVENANCE.json").write_text(json.dumps({"hub_id": "someone/mystery"}))
    with open_store(str(tmp_path / "kg")) as store:
        register([str(folder)], store, size=False)

        with pytest.raises(CodegenError, match="`someone/mystery` has no known task"):
            describe(store, "someone/mystery")


def test_describe_prints_json_and_unknown_models_fail(
    registry: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    location = registry.location
    out = tmp_path / "out.json"

    assert main(["codegen", "describe", EMBEDDER, LLM, "--store", location, "-o", str(out)]) == 0
    assert [i["model_id"] for i in json.loads(out.read_text())] == [EMBEDDER, LLM]
    assert main(["codegen", "describe", "no-such/model", "--store", location]) == 1
    assert "no model `no-such/model`" in capsys.readouterr().err
