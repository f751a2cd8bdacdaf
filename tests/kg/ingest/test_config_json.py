"""A user ingests transformers `config.json` files and asks, in one vocabulary, how wide, deep and
long each model is, whatever its framework calls the number.

GPT-2 says `n_embd`, T5 `d_model`, DistilBERT `dim`; the graph says `mkg:hiddenSize` for all three
and keeps, on a `mkg:ParameterSetting`, which key of which file the number came from. Values are
checked against the corpus files themselves, and the key spellings against transformers' own
config classes (their `attribute_map`), not against ModelKG's tables.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from transformers.models.auto import configuration_auto

from kg.store import ModelStore
from tests.conftest import CORPUS, corpus_folder
from tests.kg.ingest.conftest import EXTRA_CORPUS, Registry, hub_id_of, hub_iri, read_json

# transformers does not re-export this name for type checkers; read it as plain data.
CONFIG_MAPPING_NAMES: dict[str, str] = dict(vars(configuration_auto)["CONFIG_MAPPING_NAMES"])

CANONICAL_KEYS = {
    "hidden_size": "mkg:hiddenSize",
    "num_attention_heads": "mkg:numAttentionHeads",
    "num_hidden_layers": "mkg:numHiddenLayers",
    "vocab_size": "mkg:vocabSize",
    "intermediate_size": "mkg:intermediateSize",
    "max_position_embeddings": "mkg:maxPositionEmbeddings",
}
"""transformers' canonical key -> the concept DESIGN.md names for it."""

ALIASED_CONCEPTS = {
    **CANONICAL_KEYS,
    "num_key_value_heads": "mkg:numKeyValueHeads",
    "head_dim": "mkg:headDim",
}


@pytest.fixture
def any_registry(any_store: ModelStore) -> Registry:
    """An empty store of this test's own, of each engine (`store_location`)."""
    return Registry(any_store)  # type: ignore[arg-type]  # any ModelStore reads as well


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _known_configs() -> list[Path]:
    """Corpus folders whose config.json has a model_type the installed transformers knows."""
    found = []
    for folder in sorted(CORPUS.iterdir()):
        path = folder / "config.json"
        if path.is_file() and read_json(path).get("model_type") in CONFIG_MAPPING_NAMES:
            found.append(folder)
    return found


KNOWN_CONFIGS = _known_configs()


def _sentence_transformers_length(folder: Path, key: str) -> int | None:
    """The sequence length sentence-transformers states for the model, which wins over the
    config's position embeddings: it is what the model is used with."""
    st_config = folder / "sentence_bert_config.json"
    if key == "max_position_embeddings" and st_config.is_file():
        stated = read_json(st_config).get("max_seq_length")
        if isinstance(stated, int) and not isinstance(stated, bool):
            return stated
    return None


@pytest.mark.parametrize("part", ["hf", "hf-extra"])
def test_every_folder_of_both_corpora_ingests(
    part: str, corpus_registry: Registry, extra_registry: Registry
) -> None:
    registry = corpus_registry if part == "hf" else extra_registry
    corpus = CORPUS if part == "hf" else EXTRA_CORPUS
    [summary] = registry.summaries
    folders = [f for f in corpus.iterdir() if f.is_dir()]

    assert summary.rejected == []
    assert sorted(summary.ingested) == sorted(hub_id_of(f) for f in folders)
    assert registry.store.count_models() == len(folders)


def test_the_corpus_has_configs_of_many_known_model_types() -> None:
    assert len(KNOWN_CONFIGS) >= 120
    types = {read_json(f / "config.json")["model_type"] for f in KNOWN_CONFIGS}
    assert {"gpt2", "t5", "distilbert", "clip", "bert", "llama"} <= types


def test_gpt2_n_embd_is_its_hidden_size(corpus_registry: Registry) -> None:
    gpt2 = "openai-community/gpt2"
    assert read_json(corpus_folder(gpt2) / "config.json")["n_embd"] == 768

    assert corpus_registry.ints(gpt2, "mkg:hiddenSize") == [768]
    [setting] = corpus_registry.settings(gpt2, "mkg:hiddenSize")
    assert setting == {
        "value": "768",
        "key": "n_embd",
        "file": "config.json",
        "framework": "transformers",
        "effective": "true",
    }


@pytest.mark.parametrize(
    ("hub_id", "key", "concept"),
    [
        ("openai-community/gpt2", "n_embd", "mkg:hiddenSize"),
        ("openai-community/gpt2", "n_head", "mkg:numAttentionHeads"),
        ("openai-community/gpt2", "n_layer", "mkg:numHiddenLayers"),
        ("openai-community/gpt2", "n_positions", "mkg:maxPositionEmbeddings"),
        ("google-t5/t5-small", "d_model", "mkg:hiddenSize"),
        ("google-t5/t5-small", "d_ff", "mkg:intermediateSize"),
        ("google-t5/t5-small", "num_heads", "mkg:numAttentionHeads"),
        ("google-t5/t5-small", "num_layers", "mkg:numHiddenLayers"),
        ("google/flan-t5-large", "d_model", "mkg:hiddenSize"),
        ("google/flan-t5-large", "d_ff", "mkg:intermediateSize"),
        ("AventIQ-AI/distilbert-base-uncased-sentiment-analysis", "dim", "mkg:hiddenSize"),
        (
            "AventIQ-AI/distilbert-base-uncased-sentiment-analysis",
            "hidden_dim",
            "mkg:intermediateSize",
        ),
        (
            "AventIQ-AI/distilbert-base-uncased-sentiment-analysis",
            "n_heads",
            "mkg:numAttentionHeads",
        ),
        (
            "AventIQ-AI/distilbert-base-uncased-sentiment-analysis",
            "n_layers",
            "mkg:numHiddenLayers",
        ),
        ("distilbert/distilbert-base-uncased-distilled-squad", "dim", "mkg:hiddenSize"),
        (
            "distilbert/distilbert-base-uncased-distilled-squad",
            "hidden_dim",
            "mkg:intermediateSize",
        ),
    ],
)
def test_a_framework_spelling_lands_on_the_one_concept(
    corpus_registry: Registry, hub_id: str, key: str, concept: str
) -> None:
    written = read_json(corpus_folder(hub_id) / "config.json")[key]
    assert _is_int(written)

    assert corpus_registry.ints(hub_id, concept) == [written]
    settings = corpus_registry.settings(hub_id, concept)
    assert {"value": str(written), "key": key, "file": "config.json"}.items() <= settings[0].items()
    assert [s["key"] for s in settings if s["effective"] == "true"] == [key]


WITH_CANONICAL_KEYS = [
    f
    for f in KNOWN_CONFIGS
    if any(_is_int(read_json(f / "config.json").get(k)) for k in CANONICAL_KEYS)
]


@pytest.mark.parametrize("folder", WITH_CANONICAL_KEYS, ids=lambda f: f.name)
def test_every_canonical_key_is_stored_as_written(corpus_registry: Registry, folder: Path) -> None:
    hub_id = hub_id_of(folder)
    config = read_json(folder / "config.json")
    for key, concept in CANONICAL_KEYS.items():
        value = config.get(key)
        if not _is_int(value):
            continue
        from_config = [
            s
            for s in corpus_registry.settings(hub_id, concept)
            if (s["file"], s["key"]) == ("config.json", key)
        ]
        assert [int(s["value"]) for s in from_config] == [value], f"{key} setting"
        overridden = _sentence_transformers_length(folder, key)
        expected = value if overridden is None else overridden
        assert corpus_registry.ints(hub_id, concept) == [expected], key
        assert from_config[0]["effective"] == ("true" if overridden is None else "false"), key


def _attribute_map_spellings() -> list[tuple[Path, str, str]]:
    """(folder, legacy key, canonical key) wherever a corpus config uses a key that its
    transformers config class maps onto a canonical one (GPT-2 `n_embd` -> `hidden_size`)."""
    config_classes = vars(configuration_auto)["CONFIG_MAPPING"]
    found = []
    for folder in KNOWN_CONFIGS:
        config = read_json(folder / "config.json")
        attribute_map: dict[str, str] = config_classes[config["model_type"]].attribute_map
        for canonical, alias in sorted(attribute_map.items()):
            if (
                canonical in ALIASED_CONCEPTS
                and canonical not in config
                and _is_int(config.get(alias))
            ):
                found.append((folder, alias, canonical))
    return found


@pytest.mark.parametrize(
    ("folder", "alias", "canonical"),
    _attribute_map_spellings(),
    ids=lambda v: v.name if isinstance(v, Path) else v,
)
def test_every_attribute_map_spelling_is_stored_as_written(
    corpus_registry: Registry, folder: Path, alias: str, canonical: str
) -> None:
    hub_id = hub_id_of(folder)
    value = read_json(folder / "config.json")[alias]
    concept = ALIASED_CONCEPTS[canonical]

    keys = {s["key"]: int(s["value"]) for s in corpus_registry.settings(hub_id, concept)}
    assert keys.get(alias) == value
    overridden = _sentence_transformers_length(folder, canonical)
    assert corpus_registry.ints(hub_id, concept) == [value if overridden is None else overridden]


@pytest.mark.parametrize(
    "hub_id", ["openai/clip-vit-base-patch32", "openai/clip-vit-large-patch14"]
)
def test_clip_has_a_text_part_and_a_vision_part_each_with_its_own_width(
    corpus_registry: Registry, hub_id: str
) -> None:
    config = read_json(corpus_folder(hub_id) / "config.json")
    parts = {
        row["key"]: row
        for row in corpus_registry.rows(
            f"""SELECT ?part ?key ?type WHERE {{
                <{hub_iri(hub_id)}> mkg:hasPart ?part .
                ?part a mkg:ModelComponent ; mkg:configKey ?key .
                OPTIONAL {{ ?part mkg:modelType ?type }} }}"""
        )
    }
    assert {"text_config", "vision_config"} <= parts.keys()
    for key in ("text_config", "vision_config"):
        written = config[key]
        assert isinstance(written, dict)
        part = parts[key]["part"]
        assert parts[key]["type"] == written["model_type"]
        for canonical in (
            "hidden_size",
            "intermediate_size",
            "num_attention_heads",
            "num_hidden_layers",
        ):
            assert corpus_registry.ints(part, CANONICAL_KEYS[canonical]) == [written[canonical]], (
                f"{key}.{canonical}"
            )
    text_width = corpus_registry.ints(parts["text_config"]["part"], "mkg:hiddenSize")
    vision_width = corpus_registry.ints(parts["vision_config"]["part"], "mkg:hiddenSize")
    assert text_width != vision_width


def _classifiers() -> list[Path]:
    found = []
    for folder in sorted(CORPUS.iterdir()):
        path = folder / "config.json"
        if not path.is_file():
            continue
        config = read_json(path)
        architectures = config.get("architectures") or []
        assert isinstance(architectures, list)
        if any("Classification" in a for a in architectures) and isinstance(
            config.get("id2label"), dict
        ):
            found.append(folder)
    return found


@pytest.mark.parametrize("folder", _classifiers(), ids=lambda f: f.name)
def test_a_classifier_has_its_labels_by_index(corpus_registry: Registry, folder: Path) -> None:
    hub_id = hub_id_of(folder)
    id2label = read_json(folder / "config.json")["id2label"]
    assert isinstance(id2label, dict)
    written = {int(index): name for index, name in id2label.items()}

    assert corpus_registry.ints(hub_id, "mkg:numLabels") == [len(written)]
    stored = corpus_registry.rows(
        f"""SELECT ?index ?name WHERE {{
            <{hub_iri(hub_id)}> mkg:hasLabelSet ?set . ?set a mkg:LabelSet ; mkg:hasLabel ?label .
            ?label mkg:labelIndex ?index ; mkg:labelName ?name }}"""
    )
    assert {int(r["index"]): r["name"] for r in stored} == written
    assert len(stored) == len(written)


def test_named_entity_labels_keep_their_names(corpus_registry: Registry) -> None:
    names = corpus_registry.rows(
        f"""SELECT ?name WHERE {{
            <{hub_iri("dslim/bert-base-NER")}> mkg:hasLabelSet/mkg:hasLabel ?label .
            ?label mkg:labelIndex 3 ; mkg:labelName ?name }}"""
    )
    assert names == [{"name": "B-PER"}]


GPTQ_MODELS = sorted(
    f.name
    for f in CORPUS.glob("TheBloke__*-GPTQ")
    if (f / "quantize_config.json").is_file()
    or "quantization_config" in read_json(f / "config.json")
)


@pytest.mark.parametrize("folder_name", GPTQ_MODELS)
def test_a_gptq_model_is_quantized_with_its_bits(
    corpus_registry: Registry, folder_name: str
) -> None:
    folder = CORPUS / folder_name
    hub_id = hub_id_of(folder)
    stated = read_json(folder / "config.json").get("quantization_config") or read_json(
        folder / "quantize_config.json"
    )
    assert isinstance(stated, dict)

    assert corpus_registry.is_a(hub_id, "mkg:QuantizedModel")
    rows = corpus_registry.rows(
        f"""SELECT ?bits ?method WHERE {{ <{hub_iri(hub_id)}> mkg:hasQuantization ?q .
            ?q a mkg:Quantization ; mkg:bits ?bits ; mkg:quantizationMethod ?method }}"""
    )
    assert rows == [{"bits": str(stated["bits"]), "method": "gptq"}]


def test_the_corpus_has_gptq_models() -> None:
    assert len(GPTQ_MODELS) >= 3


@pytest.mark.parametrize(
    ("hub_id", "spellings"),
    [
        (
            "tiiuae/falcon-40b",
            {
                "hidden_size": "mkg:hiddenSize",
                "n_head": "mkg:numAttentionHeads",
                "n_head_kv": "mkg:numKeyValueHeads",
                "n_layer": "mkg:numHiddenLayers",
                "vocab_size": "mkg:vocabSize",
            },
        ),
        (
            "microsoft/phi-2",
            {
                "n_embd": "mkg:hiddenSize",
                "n_head": "mkg:numAttentionHeads",
                "n_layer": "mkg:numHiddenLayers",
                "n_positions": "mkg:maxPositionEmbeddings",
                "vocab_size": "mkg:vocabSize",
            },
        ),
    ],
)
def test_an_unknown_model_type_is_ingested_with_what_can_be_read(
    corpus_registry: Registry, hub_id: str, spellings: dict[str, str]
) -> None:
    config = read_json(corpus_folder(hub_id) / "config.json")
    model_type = config["model_type"]
    assert model_type not in CONFIG_MAPPING_NAMES

    assert hub_id in corpus_registry.summaries[0].ingested
    assert corpus_registry.is_a(hub_id, "mkg:Model")
    assert corpus_registry.is_a(hub_id, "mkg:UnrecognizedModel")
    assert corpus_registry.values(hub_id, "mkg:modelType") == [model_type]
    for key, concept in spellings.items():
        assert corpus_registry.ints(hub_id, concept) == [config[key]], key
    assert any(
        f'"{model_type}"' in w or f"`{model_type}`" in w for w in corpus_registry.warnings(hub_id)
    )


def test_a_known_model_type_is_not_unrecognized(corpus_registry: Registry) -> None:
    assert not corpus_registry.is_a("openai-community/gpt2", "mkg:UnrecognizedModel")
    assert corpus_registry.values("openai-community/gpt2", "mkg:modelType") == ["gpt2"]
    assert corpus_registry.values("openai-community/gpt2", "mkg:architecture") == [
        "GPT2LMHeadModel"
    ]


TINY_BERT = {
    "architectures": ["BertForMaskedLM"],
    "hidden_size": 256,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "intermediate_size": 1024,
    "vocab_size": 30522,
}


def test_a_config_without_model_type_gets_it_from_its_architecture(
    any_registry: Registry, tmp_path: Path
) -> None:
    config = tmp_path / "tiny-bert" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps(TINY_BERT), encoding="utf-8")

    summary = any_registry.ingest(config)

    assert summary.rejected == []
    assert len(summary.ingested) == 1
    digest = hashlib.sha256(config.read_bytes()).hexdigest()
    model = f"https://w3id.org/modelkg/id/model/{digest}"
    assert any_registry.values(model, "mkg:modelType") == ["bert"]
    assert any_registry.store.ask(f"ASK {{ <{model}> mkg:hasModelType ?t }}")
    assert not any_registry.store.ask(f"ASK {{ <{model}> a mkg:UnrecognizedModel }}")
    assert any_registry.ints(model, "mkg:hiddenSize") == [256]
    assert any("inferred `bert`" in w for _, w in summary.warnings)


def test_a_lone_config_named_with_a_hub_id_is_that_hub_model(
    any_registry: Registry, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "bert", **TINY_BERT}), encoding="utf-8")

    summary = any_registry.ingest(config, hub_id="someone/tiny-bert")

    assert summary.ingested == ["someone/tiny-bert"]
    assert any_registry.ints("someone/tiny-bert", "mkg:numHiddenLayers") == [2]
    kinds = any_registry.rows(
        f"""SELECT ?kind WHERE {{
            ?graph mkg:describes <{hub_iri("someone/tiny-bert")}> ; mkg:sourceKind ?kind }}"""
    )
    assert kinds == [{"kind": "config-file"}]


def test_a_config_with_no_model_type_and_no_known_architecture_is_rejected_by_name(
    registry: Registry, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"architectures": ["MyHomeMadeNet"], "hidden_size": 8}), encoding="utf-8"
    )

    summary = registry.ingest(config)

    assert summary.ingested == []
    [(_, reason)] = summary.rejected
    assert str(config) in reason
    assert "model_type" in reason
    assert registry.store.count_models() == 0
