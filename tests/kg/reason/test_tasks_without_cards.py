"""What a model does, read from its files alone, agrees with the Hub.

The story: a platform engineer points ModelKG at an HF cache whose model cards were never
downloaded. Every folder of both shared corpora is copied without its `README.md`, ingested and
reasoned over; the primary task of each model whose card has a `pipeline_tag` must be that tag,
except where the files cannot tell it (listed here, each with why: a change either way shows).
Then each task rule is shown on a real config of the corpus (some edited where the corpus has no
example), with the rule that concluded the task.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.ingest.pipeline import ingest
from kg.reason.explain import explain, primary_task
from kg.reason.run import reason
from kg.store import ModelStore, open_store
from tests.conftest import CORPUS, corpus_folder

CORPORA = (CORPUS, CORPUS.parent / "hf-extra")
TASKS = "https://huggingface.co/tasks/"

CARD_ONLY = {
    "KoichiYasuoka/roberta-base-english-upos": "token-classification",
    "Rajaram1996/Hubert_emotion": "audio-classification",
    "SamMorgan/yolo_v4_tflite": "object-detection",
    "ethanyt/guwen-ner": "token-classification",
    "keras-io/image-captioning": "image-to-text",
    "navteca/tapas-large-finetuned-wtq": "table-question-answering",
    "nguyenvulebinh/vi-mrc-base": "question-answering",
    "ozcangundes/mt5-small-turkish-squad": "question-answering",
}
"""Folders holding nothing but their card: without it there is no model to read."""

CARD_CONTRADICTS_FILES = {
    # card's tag -> what the files say, and the primary task they give
    "mistralai/Devstral-Small-2507": ("text2text-generation", "text-generation"),
    "richard3153/leyoai-cyber-embedding": ("text-generation", "sentence-similarity"),
}
"""Cards whose pipeline_tag their own files contradict (MistralForCausalLM generates text from
a prompt; a sentence-transformers BertModel embeds text): no reading of the files agrees."""


def _tags() -> dict[str, tuple[Path, str]]:
    found = {}
    for corpus in CORPORA:
        with (corpus / "INDEX.tsv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                folder = corpus / row["hub_id"].replace("/", "__")
                found[row["hub_id"]] = (folder, row["pipeline_tag"].strip().strip("\"'").strip())
    return found


def _copy_without_card(folder: Path, target: Path) -> Path:
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("README.md"))
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


@pytest.fixture(scope="module")
def cardless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelStore]:
    """Both corpora ingested without their cards, and reasoned over."""
    work = tmp_path_factory.mktemp("cardless")
    roots = []
    for corpus in CORPORA:
        for folder in sorted(p for p in corpus.iterdir() if p.is_dir()):
            _copy_without_card(folder, work / corpus.name / folder.name)
        roots.append(str(work / corpus.name))
    with open_store(str(work / "store")) as store:
        ingest(roots, store)
        reason(store)
        yield store


def _primary(store: ModelStore) -> dict[str, str]:
    rows = store.select("SELECT ?n ?t WHERE { ?m schema:name ?n ; mkg:primaryTask ?t }")
    return {row["n"].value: row["t"].value.removeprefix(TASKS) for row in rows}  # type: ignore[union-attr]


def _tasks(store: ModelStore, hub_id: str) -> set[str]:
    rows = store.select(
        f"SELECT ?t WHERE {{ <https://huggingface.co/{hub_id}> mkg:performsTask ?t }}"
    )
    return {row["t"].value.removeprefix(TASKS) for row in rows}  # type: ignore[union-attr]


def test_the_primary_task_agrees_with_the_card_where_the_files_can_tell(
    cardless: ModelStore,
) -> None:
    primary = _primary(cardless)
    tagged = {hub_id: tag for hub_id, (_, tag) in _tags().items() if tag}
    misses = {
        hub_id: (tag, primary.get(hub_id))
        for hub_id, tag in tagged.items()
        if primary.get(hub_id) != tag
    }

    assert misses == {
        **{hub_id: (tag, None) for hub_id, tag in CARD_ONLY.items()},
        **CARD_CONTRADICTS_FILES,
    }
    tellable = set(tagged) - set(CARD_ONLY) - set(CARD_CONTRADICTS_FILES)
    agreed = sum(primary.get(hub_id) == tagged[hub_id] for hub_id in tellable)
    assert agreed == len(tellable)  # every model whose files can tell
    for hub_id in CARD_ONLY:
        assert {p.name for p in _tags()[hub_id][0].iterdir()} == {"README.md", "PROVENANCE.json"}


def test_the_card_tag_is_among_the_tasks_wherever_it_is_the_primary_one(
    cardless: ModelStore,
) -> None:
    primary = _primary(cardless)
    for hub_id, (_, tag) in _tags().items():
        if tag and primary.get(hub_id) == tag:
            assert tag in _tasks(cardless, hub_id), hub_id


RULES = [
    # (model, task, the rule that concludes it from the files)
    ("Helsinki-NLP/opus-mt-en-mg", "translation", "task-from-model-family"),
    ("facebook/nllb-200-1.3B", "translation", "task-from-model-family"),
    ("Anitha1406/English_To_Colloquial_Telugu_Translation_model", "translation",
     "task-from-model-family"),
    ("CognmaL/GEC-Vietnamese", "translation", "task-from-model-family"),
    ("mmcquade11/autonlp-reuters-summarization", "summarization", "task-from-model-family"),
    ("2002Mayankrana/pegasusx-AMI-text-summarizer", "summarization", "task-from-model-family"),
    ("google-t5/t5-small", "translation", "task-from-task-params"),
    ("google-t5/t5-small", "summarization", "task-from-task-params"),
    ("facebook/bart-large-cnn", "summarization", "task-from-task-params"),
    ("naver-clova-ix/donut-base-finetuned-cord-v2", "image-to-text",
     "task-from-architecture-class"),
    ("JalajBaghwala/Image-to-caption-genrator", "image-to-text", "task-from-architecture-class"),
    ("Salesforce/blip-image-captioning-base", "image-to-text", "task-from-architecture-class"),
    ("microsoft/Florence-2-large-ft", "image-to-text", "task-from-architecture-class"),
    ("microsoft/speecht5_vc", "audio-to-audio", "task-from-architecture-class"),
    ("Qwen/Qwen-VL-Chat-Int4", "text-generation", "task-from-auto-map"),
    ("openbmb/MiniCPM-V-2", "text-generation", "task-from-auto-map"),
    ("briaai/RMBG-1.4", "image-segmentation", "task-from-model-type-name"),
    ("Wiola-OSCOWL-ai/Wiola360M", "text-generation", "task-from-class-suffix"),
    ("david188888/Audio-Emotion", "audio-classification", "task-from-class-suffix"),
    ("cross-encoder/ms-marco-MiniLM-L-2-v2", "text-ranking", "task-text-ranking"),
]  # fmt: skip


def _rules_for(store: ModelStore, hub_id: str, task: str) -> set[str]:
    return {
        item.rule
        for item in explain(store, hub_id)
        if item.fact.predicate.value.endswith("#performsTask")
        and item.fact.object.value == TASKS + task
    }


@pytest.mark.parametrize(("hub_id", "task", "rule"), RULES)
def test_each_rule_reads_a_real_config(
    cardless: ModelStore, hub_id: str, task: str, rule: str
) -> None:
    assert rule in _rules_for(cardless, hub_id, task)


@pytest.mark.parametrize(
    ("hub_id", "primary"),
    [
        ("google-t5/t5-small", "translation"),
        ("facebook/bart-large-cnn", "summarization"),
        ("cross-encoder/ms-marco-MiniLM-L-2-v2", "text-ranking"),
        ("Salesforce/blip-image-captioning-large", "image-to-text"),
        ("google/medgemma-27b-it", "image-text-to-text"),
        ("sentence-transformers/all-MiniLM-L6-v2", "sentence-similarity"),
        ("bfeller/test_model_v1", "text-classification"),
        ("openai/whisper-base", "automatic-speech-recognition"),
    ],
)
def test_the_primary_task_is_the_most_specific_and_says_why(
    cardless: ModelStore, hub_id: str, primary: str
) -> None:
    chosen = primary_task(cardless, hub_id)

    assert chosen is not None and chosen.task.id == primary
    assert chosen.source == "files" and f"`{primary}`" in chosen.reason
    assert "primary-task" in {item.rule for item in explain(cardless, hub_id)}


def test_a_bart_encoder_is_not_a_summarizer_for_its_task_params(cardless: ModelStore) -> None:
    # facebook/bart-large lists summarization in task_specific_params, but BartModel has no
    # generation head: the rule needs the head to do the job
    assert "summarization" not in _tasks(cardless, "facebook/bart-large")


def test_clap_audio_and_text_encoders_are_no_audio_language_model(cardless: ModelStore) -> None:
    # audio_config beside a RoBERTa text encoder: no causal language model to write text
    assert "audio-text-to-text" not in _tasks(cardless, "laion/clap-htsat-fused")


def _edited(tmp_path: Path, hub_id: str, name: str, edit: dict[str, object]) -> Path:
    folder = _copy_without_card(corpus_folder(hub_id), tmp_path / name)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    for key, value in edit.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def test_entailment_labels_make_a_zero_shot_classifier(tmp_path: Path) -> None:
    # no NLI model in the corpus: a real sentiment classifier relabelled as an NLI head
    labels = {"0": "ENTAILMENT", "1": "NEUTRAL", "2": "CONTRADICTION"}
    folder = _edited(
        tmp_path,
        "ngclara07/distilbert_sentiment",
        "org__nli",
        {"id2label": labels, "label2id": {v: int(k) for k, v in labels.items()}},
    )
    with open_store(str(tmp_path / "store")) as store:
        ingest([str(folder)], store, hub_id="org/nli")
        reason(store)

        assert _rules_for(store, "org/nli", "zero-shot-classification") == {"task-from-labels"}
        assert "text-classification" in _tasks(store, "org/nli")
        chosen = primary_task(store, "org/nli")
        assert chosen is not None and chosen.task.id == "zero-shot-classification"


def test_two_labels_of_three_are_not_enough(tmp_path: Path) -> None:
    labels = {"0": "entailment", "1": "contradiction"}
    folder = _edited(tmp_path, "ngclara07/distilbert_sentiment", "org__two", {"id2label": labels})
    with open_store(str(tmp_path / "store")) as store:
        ingest([str(folder)], store, hub_id="org/two")
        reason(store)

        assert "zero-shot-classification" not in _tasks(store, "org/two")


@pytest.mark.parametrize(
    ("key", "encoder", "task"),
    [
        ("vision_config", None, "image-text-to-text"),
        ("audio_config", {"model_type": "whisper", "d_model": 1280}, "audio-text-to-text"),
    ],
)
def test_a_custom_model_is_judged_by_its_sub_configs(
    tmp_path: Path, key: str, encoder: dict[str, object] | None, task: str
) -> None:
    # medgemma's real config (gemma3_text language model, siglip vision encoder), given a class
    # transformers does not know, as a trust_remote_code model would have
    source = json.loads((corpus_folder("google/medgemma-27b-it") / "config.json").read_text())
    edit: dict[str, object] = {"architectures": ["CustomModelForConditionalGeneration"]}
    if encoder is not None:
        edit |= {"vision_config": None, key: encoder}
    folder = _edited(tmp_path, "google/medgemma-27b-it", "org__custom", edit)
    assert "text_config" in source
    with open_store(str(tmp_path / "store")) as store:
        ingest([str(folder)], store, hub_id="org/custom")
        reason(store)

        assert _rules_for(store, "org/custom", task) == {"task-from-sub-configs"}
        chosen = primary_task(store, "org/custom")
        assert chosen is not None and chosen.task.id == task


def test_the_card_decides_the_primary_task_when_it_has_a_tag(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "store")) as store:
        ingest([str(corpus_folder("mistralai/Devstral-Small-2507"))], store)
        reason(store)
        chosen = primary_task(store, "mistralai/Devstral-Small-2507")

    assert chosen is not None and chosen.task.id == "text2text-generation"
    assert chosen.source == "card"
    assert chosen.reason == "the card's pipeline_tag is `text2text-generation`"
