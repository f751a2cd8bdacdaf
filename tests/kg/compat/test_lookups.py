"""Compatibility stories over the shared corpus: what feeds what, what replaces what, which
models share a tokenizer or an embedding space, what fits in memory, each with its reasons;
the same answers whichever engine holds the store."""

from __future__ import annotations

import json
import math
import shutil
from itertools import pairwise
from pathlib import Path

import pytest

from kg.compat import lookups
from kg.compat.index import CompatIndex
from kg.compat.memory import parse_memory
from kg.compat.size import count_parameters
from kg.compat.sizing import size_models
from kg.errors import InputError
from kg.ingest.pipeline import ingest
from kg.reason.run import reason
from kg.store import open_store
from tests.conftest import CORPUS, ENGINES, corpus_folder, engine_location

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def _minilm_finetune(root: Path) -> Path:
    """A fine-tune of all-MiniLM-L6-v2 as its author would publish it: same pooling, a card."""
    folder = root / "minilm-finetune"
    shutil.copytree(corpus_folder(MINILM), folder)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (folder / "PROVENANCE.json").write_text(json.dumps({"hub_id": "example/minilm-finetune"}))
    (folder / "README.md").write_text(
        f"---\nbase_model: {MINILM}\npipeline_tag: sentence-similarity\n---\n# fine-tune\n"
    )
    return folder


@pytest.fixture(scope="module", params=ENGINES)
def index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> CompatIndex:
    """The corpus (and a fine-tune of all-MiniLM) ingested, sized and reasoned in a store of
    each engine, and the compatibility index built from it."""
    root = tmp_path_factory.mktemp("compat")
    llama = corpus_folder("meta-llama/Llama-2-7b-hf")
    with open_store(engine_location(request, request.param, root)) as store:
        ingest([str(CORPUS), str(_minilm_finetune(root))], store)
        size_models(store)
        reason(store)
        assert llama.is_dir()
        return CompatIndex.build(store)


def test_speech_recognition_output_feeds_text_models(index: CompatIndex) -> None:
    answers = {a.model: a for a in lookups.consumers(index, "openai/whisper-base", limit=0)}

    assert "meta-llama/Llama-2-7b-hf" in answers
    assert "GeneratedText" in answers["meta-llama/Llama-2-7b-hf"].reasons[0]
    assert "openai/whisper-base" not in answers


def test_a_pipeline_breaks_where_types_disagree(index: CompatIndex) -> None:
    ok = lookups.chain(index, ["openai/whisper-base", "meta-llama/Llama-2-7b-hf"])
    assert [step.ok for step in ok] == [True]

    broken = lookups.chain(index, ["meta-llama/Llama-2-7b-hf", "openai/whisper-base"])
    assert [step.ok for step in broken] == [False]
    assert "breaks here" in broken[0].reasons[0]
    assert "Audio" in broken[0].reasons[0]


def test_replacements_perform_the_same_task_with_the_same_types(index: CompatIndex) -> None:
    answers = lookups.replacements(index, "meta-llama/Llama-2-7b-hf", limit=0)
    names = [a.model for a in answers]

    assert "meta-llama/Llama-2-7b-chat-hf" in names
    assert "openai/whisper-base" not in names
    first = answers[0]
    assert any("performs text-generation" in reason for reason in first.reasons)


def test_a_chat_fine_tune_of_the_same_size_outranks_bigger_models(index: CompatIndex) -> None:
    answers = lookups.replacements(index, "meta-llama/Llama-2-7b-hf", limit=0)
    names = [a.model for a in answers]

    assert names[0] == "meta-llama/Llama-2-7b-chat-hf"
    assert names.index("TheBloke/Genz-70b-GPTQ") > names.index("TheBloke/Llama-2-13B-chat-GPTQ")
    assert names.index("codefuse-ai/CodeFuse-CodeLlama-34B") > 5
    assert len({a.score for a in answers[:12]}) > 6  # no longer a dozen ties at one score


def test_every_replacement_score_is_the_sum_of_its_components(index: CompatIndex) -> None:
    for model in ("meta-llama/Llama-2-7b-hf", "openai/whisper-base", MINILM):
        for answer in lookups.replacements(index, model, limit=0):
            assert [c.name for c in answer.components] == ["size", "lineage", "family", "tokenizer"]
            assert answer.score == pytest.approx(sum(c.points for c in answer.components))
            assert all(0 <= c.points <= c.weight and c.why for c in answer.components)


def test_ties_are_broken_by_closeness_in_size_then_name(index: CompatIndex) -> None:
    answers = lookups.replacements(index, "meta-llama/Llama-2-7b-hf", limit=0)
    target = index.by_name["meta-llama/Llama-2-7b-hf"].parameters or 0
    for first, second in pairwise(answers):
        if first.score != second.score or first.case != second.case:
            continue
        a, b = (index.by_name[x.model].parameters for x in (first, second))
        if a and b:
            gaps = abs(math.log(a / target)), abs(math.log(b / target))
            assert gaps[0] < gaps[1] + 1e-9
            if math.isclose(*gaps):
                assert first.model < second.model


@pytest.mark.parametrize(
    ("lookup", "model"),
    [
        (lookups.replacements, "meta-llama/Llama-2-7b-hf"),
        (lookups.consumers, "openai/whisper-base"),
        (lookups.same_tokenizer, "microsoft/phi-2"),
        (lookups.same_embedding_space, MINILM),
    ],
)
def test_no_answer_lists_the_model_itself(index: CompatIndex, lookup, model: str) -> None:  # type: ignore[no-untyped-def]
    assert model not in {a.model for a in lookup(index, model, 0)}


def test_a_classifier_is_replaced_only_by_one_with_its_labels(index: CompatIndex) -> None:
    answers = lookups.replacements(index, "nlptown/bert-base-multilingual-uncased-sentiment")
    assert all("same label set" in " ".join(a.reasons) for a in answers)


def test_an_adapter_found_through_its_config_shares_its_base_tokenizer(index: CompatIndex) -> None:
    answers = {a.model: a for a in lookups.same_tokenizer(index, "microsoft/phi-2", limit=0)}

    adapter = answers["HashirDS/smart-tutor-phi2-model"]
    assert adapter.case == "lineage"
    assert "adapter of microsoft/phi-2" in adapter.reasons[0]


def test_a_fine_tune_shares_its_base_embedding_space(index: CompatIndex) -> None:
    answers = {a.model: a for a in lookups.same_embedding_space(index, MINILM)}

    assert MINILM not in answers  # a model shares its own space; it is not an answer
    assert answers["example/minilm-finetune"].case == "lineage"
    assert answers["example/minilm-finetune"].components[0].name == "stated link"
    assert "fine-tune" in answers["example/minilm-finetune"].reasons[0]


def test_equal_dimension_alone_is_not_the_same_space(index: CompatIndex) -> None:
    shared = {a.model for a in lookups.same_embedding_space(index, MINILM)}
    unrelated = lookups.unrelated_same_dimension(index, MINILM)

    assert "avsolatorio/NoInstruct-small-Embedding-v0" in unrelated  # 384-d, no lineage link
    assert not shared & set(unrelated)


def test_a_7b_model_in_bf16_fits_16gb_but_not_8gb(index: CompatIndex) -> None:
    llama = "meta-llama/Llama-2-7b-hf"
    in_16, _ = lookups.fits(
        index, parse_memory("16GB"), dtype="bf16", task="text-generation", limit=0
    )
    in_8, _ = lookups.fits(
        index, parse_memory("8GB"), dtype="bf16", task="text-generation", limit=0
    )

    answer = next(a for a in in_16 if a.model == llama)
    assert llama not in {a.model for a in in_8}
    assert any("6,738,415,616 params" in line for line in answer.reasons)
    assert any("KV cache" in line for line in answer.reasons)
    assert "fits" in answer.reasons[-1]


def test_fits_uses_the_meta_device_count(index: CompatIndex) -> None:
    config = json.loads((corpus_folder("meta-llama/Llama-2-7b-hf") / "config.json").read_text())
    assert index.by_name["meta-llama/Llama-2-7b-hf"].parameters == count_parameters(config).value


@pytest.mark.parametrize("name", ["meta-llama/Llama-2-7b", "no-such/model"])
def test_an_unknown_model_is_refused_with_the_closest_names(index: CompatIndex, name: str) -> None:
    with pytest.raises(InputError, match="no model") as caught:
        lookups.replacements(index, name)
    if name.startswith("meta-llama"):
        assert "meta-llama/Llama-2-7b-hf" in str(caught.value)


def test_an_unknown_task_names_the_closest_tasks(index: CompatIndex) -> None:
    with pytest.raises(InputError, match="text-generation"):
        lookups.fits(index, parse_memory("16GB"), task="text-generaton")
