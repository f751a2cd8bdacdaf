"""A user ingests model cards (`README.md`) and follows what they say: where a model comes from,
under which license it is shared, what it was trained on, and how it scored.

Lineage follows the Hub's own rule for `base_model`: the card's `base_model_relation` when stated;
otherwise an adapter config means adapter, a quantization config means quantized, several bases
mean merge, and one base means finetune. Bases are linked by their hub address whether or not
they are ingested. Card fields are compared with what huggingface_hub's own `ModelCard` reads.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from kg.store import ModelStore
from tests.conftest import CORPUS, corpus_folder
from tests.kg.ingest.conftest import Registry, hub_iri, index_rows, read_json

logging.getLogger("huggingface_hub").setLevel(logging.ERROR)

RELATION_PROPERTIES = {
    "finetune": "mkg:fineTunedFrom",
    "adapter": "mkg:adapterOf",
    "quantized": "mkg:quantizedFrom",
    "merge": "mkg:mergedFrom",
}
LINEAGE = "|".join(RELATION_PROPERTIES.values())


@pytest.fixture
def any_registry(any_store: ModelStore) -> Registry:
    """An empty store of this test's own, of each engine (`store_location`)."""
    return Registry(any_store)  # type: ignore[arg-type]  # any ModelStore reads as well


@cache
def load_card(folder: Path) -> ModelCard:
    """The card as huggingface_hub reads it (once: the largest model-index takes ~0.7 s)."""
    card: ModelCard = ModelCard.load(folder / "README.md")
    return card


def card_data(folder: Path) -> dict[str, Any]:
    """The card's metadata as huggingface_hub reads it."""
    if not (folder / "README.md").is_file():
        return {}
    data: dict[str, Any] = load_card(folder).data.to_dict()  # type: ignore[no-untyped-call]
    return data


def eval_results(folder: Path) -> list[EvalResult]:
    """The card's model-index as huggingface_hub's `EvalResult`s."""
    data = load_card(folder).data
    assert isinstance(data, ModelCardData)
    return list(data.eval_results or [])


def hub_relation(folder: Path, bases: list[str]) -> str:
    """The Hub's rule for the relation between a model and its `base_model`s."""
    stated = card_data(folder).get("base_model_relation")
    if stated in RELATION_PROPERTIES:
        return str(stated)
    if (folder / "adapter_config.json").is_file():
        return "adapter"
    config = folder / "config.json"
    if (folder / "quantize_config.json").is_file() or (
        config.is_file() and "quantization_config" in read_json(config)
    ):
        return "quantized"
    return "merge" if len(bases) > 1 else "finetune"


def _bases(row: dict[str, str]) -> list[str]:
    return [b.removeprefix("https://huggingface.co/") for b in row["base_model"].split(",") if b]


LINEAGE_ROWS = [
    pytest.param(row["hub_id"], _bases(row), id=row["hub_id"])
    for row in index_rows()
    if row["base_model"] and row["hub_id"] not in _bases(row)
]


def test_the_corpus_states_bases_in_every_form() -> None:
    bases = [row["base_model"] for row in index_rows() if row["base_model"]]
    assert len(LINEAGE_ROWS) >= 15
    assert any(b.startswith("https://huggingface.co/") for b in bases)
    assert any("," in b for b in bases)


@pytest.mark.parametrize(("hub_id", "bases"), LINEAGE_ROWS)
def test_every_stated_base_is_linked_by_the_hubs_relation(
    corpus_registry: Registry, hub_id: str, bases: list[str]
) -> None:
    relation = hub_relation(corpus_folder(hub_id), bases)
    links = corpus_registry.rows(
        f"""SELECT ?base ?property WHERE {{
            VALUES ?property {{ {" ".join(RELATION_PROPERTIES.values())} }}
            <{hub_iri(hub_id)}> ?property ?base }}"""
    )
    linked = {(row["base"], row["property"].rsplit("#", 1)[-1]) for row in links}
    expected_property = RELATION_PROPERTIES[relation].removeprefix("mkg:")

    for base in bases:
        assert {p for b, p in linked if b == hub_iri(base)} == {expected_property}, base
    assert corpus_registry.values(hub_id, "mkg:baseModelRelation") == [relation]


def test_a_base_given_as_a_hub_url_is_linked_by_its_hub_id(corpus_registry: Registry) -> None:
    assert corpus_registry.values("TheBloke/Genz-70b-GPTQ", "mkg:quantizedFrom") == [
        "https://huggingface.co/budecosystem/genz-70b"
    ]


def test_a_slerp_merge_of_two_bases_is_merged_from_both(corpus_registry: Registry) -> None:
    merged = "YouriLalain/2PRYMMAL-Yi1.5-6B-SLERP"
    assert corpus_registry.values(merged, "mkg:mergedFrom") == [
        hub_iri("01-ai/Yi-1.5-6B"),
        hub_iri("01-ai/Yi-1.5-6B-Chat"),
    ]
    assert corpus_registry.values(merged, "mkg:fineTunedFrom") == []


def test_bases_are_linked_though_not_ingested(corpus_registry: Registry) -> None:
    base = hub_iri("google/pegasus-x-base")
    assert not corpus_registry.store.ask(f"ASK {{ ?graph mkg:describes <{base}> }}")
    assert corpus_registry.store.ask(f"ASK {{ ?model mkg:fineTunedFrom <{base}> }}")


def test_a_card_naming_its_own_model_as_base_records_no_loop(corpus_registry: Registry) -> None:
    own = "Exscientia/IgBert_paired"
    assert card_data(corpus_folder(own))["base_model"] == own

    assert not corpus_registry.store.ask(f"ASK {{ <{hub_iri(own)}> {LINEAGE} <{hub_iri(own)}> }}")
    assert any("names itself" in w for w in corpus_registry.warnings(own))


TINY_CONFIG = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 64}


def write_model(folder: Path, card: str, *, config: dict[str, Any] | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config or TINY_CONFIG), encoding="utf-8")
    (folder / "README.md").write_text(card, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("front_matter", "property_"),
    [
        ("base_model: org/base\nbase_model_relation: adapter", "mkg:adapterOf"),
        ("base_model: org/base\nbase_model_relation: quantized", "mkg:quantizedFrom"),
        ("base_model: org/base\nbase_model_relation: merge", "mkg:mergedFrom"),
        ("base_model: [org/base, org/other]\nbase_model_relation: finetune", "mkg:fineTunedFrom"),
        ("base_model: org/base", "mkg:fineTunedFrom"),
        ("base_model: [org/base, org/other]", "mkg:mergedFrom"),
    ],
    ids=[
        "stated-adapter",
        "stated-quantized",
        "stated-merge",
        "stated-finetune-beats-two-bases",
        "one-base-finetune",
        "two-bases-merge",
    ],
)
def test_a_stated_relation_wins_over_the_inferred_one(
    any_registry: Registry, tmp_path: Path, front_matter: str, property_: str
) -> None:
    folder = write_model(tmp_path / "m", f"---\n{front_matter}\n---\n# A model\n")

    summary = any_registry.ingest(folder, hub_id="me/model")

    assert summary.rejected == []
    assert hub_iri("org/base") in any_registry.values("me/model", property_)
    others = set(RELATION_PROPERTIES.values()) - {property_}
    assert all(any_registry.values("me/model", other) == [] for other in others)


def test_an_unknown_stated_relation_is_inferred_with_a_warning(
    any_registry: Registry, tmp_path: Path
) -> None:
    folder = write_model(
        tmp_path / "m", "---\nbase_model: org/base\nbase_model_relation: distilled\n---\n"
    )

    summary = any_registry.ingest(folder, hub_id="me/model")

    assert any_registry.values("me/model", "mkg:fineTunedFrom") == [hub_iri("org/base")]
    assert any("distilled" in warning for _, warning in summary.warnings)


def test_all_minilm_card_fields_land_in_the_graph(corpus_registry: Registry) -> None:
    minilm = "sentence-transformers/all-MiniLM-L6-v2"
    card = card_data(corpus_folder(minilm))

    assert corpus_registry.values(minilm, "mkg:license") == [card["license"]] == ["apache-2.0"]
    assert corpus_registry.values(minilm, "mkg:pipelineTag") == [card["pipeline_tag"]]
    assert corpus_registry.values(minilm, "mkg:libraryName") == [card["library_name"]]
    assert corpus_registry.values(minilm, "mkg:tag") == sorted(card["tags"])
    assert corpus_registry.values(minilm, "mkg:language") == ["en"]
    trained_on = corpus_registry.values(minilm, "mkg:trainedOn")
    assert trained_on == sorted(f"https://huggingface.co/datasets/{d}" for d in card["datasets"])
    assert len(trained_on) == 21


def test_a_corpus_card_without_front_matter_ingests(corpus_registry: Registry) -> None:
    model = "AventIQ-AI/distilbert-base-uncased-sentiment-analysis"
    card = (corpus_folder(model) / "README.md").read_text(encoding="utf-8")
    assert not card.startswith("---")

    assert model in corpus_registry.summaries[0].ingested
    assert corpus_registry.values(model, "mkg:license") == []
    assert corpus_registry.values(model, "mkg:tag") == []
    assert not any("README" in w for w in corpus_registry.warnings(model))


def test_a_plain_markdown_card_gives_its_first_paragraph_as_description(
    registry: Registry, tmp_path: Path
) -> None:
    folder = write_model(
        tmp_path / "m",
        "# Tiny BERT\n\nA tiny BERT trained on my [notes](https://example.org).\n\n## Use\n",
    )

    summary = registry.ingest(folder, hub_id="me/tiny")

    assert summary.rejected == []
    assert summary.warnings == []
    assert registry.values("me/tiny", "mkg:description") == ["A tiny BERT trained on my notes."]


def _cards_with_results() -> list[Path]:
    found = []
    for readme in sorted(CORPUS.glob("*/README.md")):
        if eval_results(readme.parent):
            found.append(readme.parent)
    return found


CARDS_WITH_RESULTS = _cards_with_results()


def _as_number(value: object) -> object:
    """A metric value as a comparable number (NaN as its XSD spelling, since NaN != NaN)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return "NaN" if math.isnan(number) else number


@pytest.mark.parametrize("folder", CARDS_WITH_RESULTS, ids=lambda f: f.name)
def test_model_index_results_become_evaluation_results(
    corpus_registry: Registry, folder: Path
) -> None:
    hub_id = json.loads((folder / "PROVENANCE.json").read_text(encoding="utf-8"))["hub_id"]
    results = eval_results(folder)
    assert results
    expected = Counter(
        (r.task_type, r.dataset_type, r.dataset_name, r.metric_type, _as_number(r.metric_value))
        for r in results
    )

    stored = corpus_registry.rows(
        f"""SELECT ?e ?task ?dtype ?dname ?metric ?value WHERE {{
            <{hub_iri(hub_id)}> mkg:hasEvaluation ?e . ?e a mkg:EvaluationResult ;
            mkg:taskType ?task ; mkg:datasetType ?dtype ; mkg:datasetName ?dname ;
            mkg:metricType ?metric ; mkg:metricValue ?value }}"""
    )

    assert (
        Counter(
            (r["task"], r["dtype"], r["dname"], r["metric"], _as_number(r["value"])) for r in stored
        )
        == expected
    )


def test_the_corpus_has_cards_with_model_index_results() -> None:
    assert len(CARDS_WITH_RESULTS) >= 10


@pytest.mark.parametrize(
    "hub_id", ["2002Mayankrana/pegasusx-AMI-text-summarizer", "GowthamNats/phi-1_5-finetuned"]
)
def test_a_model_index_with_no_results_yet_is_not_reported_as_unreadable(
    corpus_registry: Registry, hub_id: str
) -> None:
    """The Trainer writes `model-index: [{name: ..., results: []}]` before any evaluation: there
    is nothing to read, and nothing wrong with the card."""
    assert card_data(corpus_folder(hub_id))["model-index"][0]["results"] == []

    assert corpus_registry.values(hub_id, "mkg:hasEvaluation") == []
    assert not any("could not be read" in w for w in corpus_registry.warnings(hub_id))


@pytest.mark.parametrize(
    ("card", "use", "limits"),
    [
        (
            "# M\n\n## Intended uses & limitations\n\nSort [reviews](http://x) by mood.\n\n"
            "## Training\n\nOn reviews.\n",
            "Sort reviews by mood.",
            "Sort reviews by mood.",  # one section about both: both read it
        ),
        (
            "# M\n\n## Uses\n\n### Direct Use\n\nTag parts of speech.\n\n"
            "## Bias, Risks, and Limitations\n\n- English only.\n- News text.\n",
            "Tag parts of speech.",
            "English only. News text.",
        ),
        ("# M\n\n## Uses\n\n[More Information Needed]\n", None, None),
    ],
)
def test_the_cards_intended_use_and_limitations_are_kept(
    registry: Registry, tmp_path: Path, card: str, use: str | None, limits: str | None
) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: mit\n---\n" + card)
    (folder / "PROVENANCE.json").write_text(json.dumps({"hub_id": "someone/m"}))
    registry.ingest(folder)

    found = {
        row["p"].value.rsplit("#", 1)[-1]: row["o"].value
        for row in registry.store.select(
            "SELECT ?p ?o WHERE { <https://huggingface.co/someone/m> ?p ?o "
            "VALUES ?p { mkg:intendedUse mkg:limitations } }"
        )
    }
    assert found.get("intendedUse") == use
    assert found.get("limitations") == limits


def test_front_matter_never_closed_is_a_warning_naming_its_line_beside_a_config(
    tmp_path: Path, registry: Registry
) -> None:
    """The Hub reads no metadata from such a card either; the user must learn that the license
    and tags they wrote went nowhere, but the config still describes the model."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 64}))
    (folder / "README.md").write_text("\n---\nlicense: mit\ntags: [nlp]\n# A model\nIt sorts.\n")

    summary = registry.ingest(folder)

    assert summary.ok, summary.rejected
    [warning] = [w for _, w in summary.warnings if "front matter" in w]
    assert "README.md: the front matter opened on line 2 is never closed" in warning
    assert "add the closing `---` line" in warning
    [model] = summary.ingested
    assert registry.rows(f"SELECT ?l WHERE {{ ?m mkg:license ?l ; schema:name '{model}' }}") == []


def test_front_matter_never_closed_on_a_card_only_model_is_refused(
    tmp_path: Path, registry: Registry
) -> None:
    folder = tmp_path / "card-only"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: mit\npipeline_tag: fill-mask\n# A model\n")

    summary = registry.ingest(folder)

    [(_, why)] = summary.rejected
    assert f"{folder}/README.md: field `front matter`" in why
    assert "opened on line 1 is never closed" in why


def test_a_card_saved_with_a_byte_order_mark_is_read_as_without_one(
    tmp_path: Path, registry: Registry
) -> None:
    folder = tmp_path / "card-only"
    folder.mkdir()
    card = "---\nlicense: mit\npipeline_tag: fill-mask\nlibrary_name: transformers\n---\n# M\n"
    (folder / "README.md").write_bytes(b"\xef\xbb\xbf" + card.encode())

    summary = registry.ingest(folder)

    assert summary.ok, summary.rejected
    assert registry.rows("SELECT ?l WHERE { ?m mkg:license ?l }") == [{"l": "mit"}]
