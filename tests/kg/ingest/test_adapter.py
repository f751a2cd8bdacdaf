"""A user ingests LoRA adapters: folders that often hold no `config.json` at all, only a PEFT
`adapter_config.json` (and maybe a card). Each still becomes a model in the graph, an
`mkg:Adapter`, linked to the base it adapts with `mkg:adapterOf`, and described by its PEFT
settings, all read back against the adapter config in the corpus folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.store import ModelStore
from tests.conftest import CORPUS, corpus_folder
from tests.kg.ingest.conftest import Registry, hub_id_of, hub_iri, read_json

ADAPTERS_WITHOUT_CONFIG = sorted(
    f for f in CORPUS.glob("*/adapter_config.json") if not (f.parent / "config.json").exists()
)
"""adapter_config.json files of corpus folders that carry no config.json."""
HUB_BASED_ADAPTERS = [
    f.parent
    for f in sorted(CORPUS.glob("*/adapter_config.json"))
    if not str(read_json(f)["base_model_name_or_path"]).startswith((".", "/"))
]


@pytest.fixture
def any_registry(any_store: ModelStore) -> Registry:
    """An empty store of this test's own, of each engine (`store_location`)."""
    return Registry(any_store)  # type: ignore[arg-type]  # any ModelStore reads as well


@pytest.mark.parametrize(
    "hub_id",
    [
        "3L0L0/FLAN-T5-Motivation-Model",
        "ABISHEAK-std/TinyLlama-structured-output-finetuned-using-Lora",
        "Devsam2898/Gemma2-Peshwa",
    ],
)
def test_an_adapter_folder_without_config_json_is_an_adapter_of_its_base(
    corpus_registry: Registry, hub_id: str
) -> None:
    folder = corpus_folder(hub_id)
    assert not (folder / "config.json").exists()
    base = read_json(folder / "adapter_config.json")["base_model_name_or_path"]

    assert hub_id in corpus_registry.summaries[0].ingested
    assert corpus_registry.is_a(hub_id, "mkg:Model")
    assert corpus_registry.is_a(hub_id, "mkg:Adapter")
    assert corpus_registry.values(hub_id, "mkg:adapterOf") == [hub_iri(str(base))]
    assert corpus_registry.values(hub_id, "mkg:baseModelRelation") == ["adapter"]


def test_the_corpus_has_adapters_without_config_json() -> None:
    assert len(ADAPTERS_WITHOUT_CONFIG) >= 4


@pytest.mark.parametrize("folder", HUB_BASED_ADAPTERS, ids=lambda f: f.name)
def test_every_adapter_keeps_its_peft_settings(corpus_registry: Registry, folder: Path) -> None:
    hub_id = hub_id_of(folder)
    config = read_json(folder / "adapter_config.json")

    assert corpus_registry.is_a(hub_id, "mkg:Adapter")
    assert hub_iri(str(config["base_model_name_or_path"])) in corpus_registry.values(
        hub_id, "mkg:adapterOf"
    )
    assert corpus_registry.values(hub_id, "mkg:peftType") == [config["peft_type"]]
    assert corpus_registry.ints(hub_id, "mkg:loraRank") == [config["r"]]
    targets = config["target_modules"]
    expected = sorted({targets} if isinstance(targets, str) else set(targets))
    assert corpus_registry.values(hub_id, "mkg:targetModule") == expected


def test_an_adapter_of_a_local_base_is_ingested_with_a_warning_and_no_lineage(
    corpus_registry: Registry,
) -> None:
    colpali = "vidore/colpali"
    base = read_json(corpus_folder(colpali) / "adapter_config.json")["base_model_name_or_path"]
    assert base == "./models/paligemma-3b-mix-448"

    assert colpali in corpus_registry.summaries[0].ingested
    assert corpus_registry.is_a(colpali, "mkg:Adapter")
    assert corpus_registry.values(colpali, "mkg:adapterOf") == []
    lineage = "mkg:adapterOf|mkg:fineTunedFrom|mkg:mergedFrom|mkg:quantizedFrom"
    assert not corpus_registry.store.ask(f"ASK {{ <{hub_iri(colpali)}> {lineage} ?base }}")
    assert any(str(base) in w for w in corpus_registry.warnings(colpali))


def test_an_adapter_in_a_fresh_store_needs_nothing_else(any_registry: Registry) -> None:
    folder = corpus_folder("3L0L0/FLAN-T5-Motivation-Model")

    summary = any_registry.ingest(folder)

    assert summary.ingested == ["3L0L0/FLAN-T5-Motivation-Model"]
    assert summary.rejected == []
    assert any_registry.store.count_models() == 1
    assert any_registry.values("3L0L0/FLAN-T5-Motivation-Model", "mkg:adapterOf") == [
        hub_iri("google/flan-t5-base")
    ]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("r", "8", '"8", a JSON string'),
        ("lora_alpha", [16], "[16], a JSON array"),
        ("target_modules", {"q": 1}, '{"q": 1}, a JSON object'),
        ("base_model_name_or_path", 7, "7, a JSON number"),
        ("task_type", True, "true, a JSON boolean"),
    ],
)
def test_an_adapter_field_of_the_wrong_type_is_refused_naming_it(
    tmp_path: Path, registry: Registry, field: str, value: object, says: str
) -> None:
    folder = tmp_path / "adapter"
    folder.mkdir()
    adapter = {"peft_type": "LORA", "r": 8, "base_model_name_or_path": "openai-community/gpt2"}
    (folder / "adapter_config.json").write_text(json.dumps({**adapter, field: value}))

    summary = registry.ingest(folder)

    [(_, why)] = summary.rejected
    assert f"{folder}/adapter_config.json: field `{field}`: `{field}` is {says}" in why
    assert summary.written == []
