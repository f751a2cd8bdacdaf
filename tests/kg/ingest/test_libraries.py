"""A user ingests models that transformers did not make, and asks what each is.

Every model of the shared corpus's other libraries (diffusers, SetFit, open_clip, spaCy,
SpeechBrain, PaddleOCR, sentence-transformers CrossEncoders) ingests with its library, what it
does and its key numbers, each asserted against the files themselves. Libraries the corpus has no
model of (timm, segmentation-models-pytorch, GGUF) get real files written here: GGUF ones with
the `gguf` package's own writer.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from gguf import GGUFWriter, LlamaFileType

from kg.errors import ConfigError, FileTooLargeError
from kg.ingest.libraries.gguf import read_gguf_header
from kg.ingest.libraries.known import detect_library, known_libraries, library_by_id
from kg.ingest.register import register
from tests.conftest import corpus_folder
from tests.kg.ingest.conftest import EXTRA_CORPUS, hub_iri, read_json

if TYPE_CHECKING:
    from kg.store import EmbeddedStore
    from tests.kg.ingest.conftest import Registry

TASKS = "https://huggingface.co/tasks/"
MKG = "https://w3id.org/modelkg/ontology#"


def extra(hub_id: str) -> Path:
    return EXTRA_CORPUS / hub_id.replace("/", "__")


def library_of(registry: Registry, hub_id: str) -> list[str]:
    return [v.removeprefix(MKG + "library-") for v in registry.values(hub_id, "mkg:library")]


def tasks_of(registry: Registry, hub_id: str) -> set[str]:
    return {t.removeprefix(TASKS) for t in registry.values(hub_id, "mkg:performsTask")}


def parts_of(registry: Registry, hub_id: str) -> dict[str, str]:
    rows = registry.rows(
        f"""SELECT ?key ?class WHERE {{ <{hub_iri(hub_id)}> mkg:hasPart ?part .
            ?part mkg:configKey ?key ; mkg:componentClass ?class }}"""
    )
    return {row["key"]: row["class"] for row in rows}


# --- the libraries are ontology data ------------------------------------------------------------


def test_libraries_are_named_by_the_hubs_ids() -> None:
    ids = {i for library in known_libraries() for i in library.ids}

    assert {
        "transformers", "diffusers", "timm", "open_clip", "setfit", "sentence-transformers",
        "spacy", "gguf", "peft", "segmentation-models-pytorch", "speechbrain", "paddleocr",
        "flair", "keras", "fastai", "sklearn", "fasttext", "fairseq", "stanza",
        "stable-baselines3", "asteroid", "pyannote-audio", "adapter-transformers",
    } <= ids  # fmt: skip
    assert library_by_id("PaddleOCR") == library_by_id("paddleocr")
    assert library_by_id("scikit-learn") == library_by_id("sklearn")


def test_the_most_specific_marker_names_the_library() -> None:
    setfit = extra("bfeller/test_model_v1")
    files = {f.name: f for f in setfit.iterdir() if f.is_file()}

    library = detect_library(files)

    assert library is not None and library.name == "setfit"
    del files["config_setfit.json"]
    assert detect_library(files).name == "sentence-transformers"  # type: ignore[union-attr]


# --- the corpus's other libraries ------------------------------------------------------------


@pytest.mark.parametrize(
    ("hub_id", "pipeline", "task", "components"),
    [
        ("anton-l/ddpm-butterflies-128", "DDPMPipeline", "unconditional-image-generation",
         {"scheduler": "DDPMScheduler", "unet": "UNet2DModel"}),
        ("stabilityai/stable-diffusion-2-1", "StableDiffusionPipeline", "text-to-image",
         {"text_encoder": "CLIPTextModel", "unet": "UNet2DConditionModel", "vae": "AutoencoderKL"}),
        ("stabilityai/stable-diffusion-xl-base-1.0", "StableDiffusionXLPipeline", "text-to-image",
         {"text_encoder_2": "CLIPTextModelWithProjection"}),
        ("PixArt-alpha/PixArt-XL-2-1024-MS", "PixArtAlphaPipeline", "text-to-image",
         {"transformer": "Transformer2DModel", "text_encoder": "T5EncoderModel"}),
        ("stabilityai/stable-cascade", "StableCascadeDecoderPipeline", "text-to-image",
         {"decoder": "StableCascadeUnet", "vqgan": "PaellaVQModel"}),
        ("damo-vilab/text-to-video-ms-1.7b", "TextToVideoSDPipeline", "text-to-video",
         {"unet": "UNet3DConditionModel"}),
        ("lambdalabs/sd-image-variations-diffusers", "StableDiffusionImageVariationPipeline",
         "image-to-image", {"image_encoder": "CLIPVisionModelWithProjection"}),
    ],
)  # fmt: skip
def test_a_diffusers_pipeline_is_one_model_with_its_components_as_parts(
    extra_registry: Registry, hub_id: str, pipeline: str, task: str, components: dict[str, str]
) -> None:
    index = read_json(extra(hub_id) / "model_index.json")
    assert index["_class_name"] == pipeline

    assert library_of(extra_registry, hub_id) == ["diffusers"]
    assert extra_registry.values(hub_id, "mkg:pipelineClass") == [pipeline]
    assert extra_registry.is_a(hub_id, "mkg:DiffusionPipeline")
    assert task in tasks_of(extra_registry, hub_id)
    parts = parts_of(extra_registry, hub_id)
    assert components.items() <= parts.items()
    named = {k for k, v in index.items() if not k.startswith("_") and isinstance(v, list) and v[0]}
    assert set(parts) == named


def test_a_diffusers_text_encoder_part_has_its_transformers_numbers(
    extra_registry: Registry,
) -> None:
    hub_id = "stabilityai/stable-diffusion-2-1"
    config = read_json(extra(hub_id) / "text_encoder" / "config.json")
    [row] = extra_registry.rows(
        f"""SELECT ?type ?hidden WHERE {{ <{hub_iri(hub_id)}> mkg:hasPart ?p .
            ?p mkg:configKey "text_encoder" ; mkg:modelType ?type ; mkg:hiddenSize ?hidden }}"""
    )

    assert row == {"type": config["model_type"], "hidden": str(config["hidden_size"])}


def test_no_diffusers_component_is_a_model_of_its_own(extra_registry: Registry) -> None:
    names = extra_registry.rows("SELECT ?name WHERE { ?m a mkg:Model ; schema:name ?name }")

    assert not [r for r in names if r["name"] in {"unet", "vae", "text_encoder", "scheduler"}]


@pytest.mark.parametrize(
    ("hub_id", "labels"),
    [
        ("bfeller/test_model_v1", 3),
        ("klapom/intent_classifier", 5),
        ("yoshnee/whatsapp_intent_model", None),
    ],
)
def test_a_setfit_model_is_a_text_classifier_with_the_labels_it_lists(
    extra_registry: Registry, hub_id: str, labels: int | None
) -> None:
    listed = read_json(extra(hub_id) / "config_setfit.json")["labels"]
    assert (len(listed) if listed else None) == labels

    assert library_of(extra_registry, hub_id) == ["setfit"]
    assert extra_registry.is_a(hub_id, "mkg:SentenceTransformer")
    assert "text-classification" in tasks_of(extra_registry, hub_id)
    assert extra_registry.ints(hub_id, "mkg:numLabels") == ([labels] if labels else [])
    if listed:
        names = extra_registry.rows(
            f"""SELECT ?name WHERE {{ <{hub_iri(hub_id)}> mkg:hasLabelSet/mkg:hasLabel ?l .
                ?l mkg:labelName ?name }}"""
        )
        assert sorted(r["name"] for r in names) == sorted(listed)


def test_an_open_clip_model_embeds_images_and_text_into_one_space(
    extra_registry: Registry,
) -> None:
    hub_id = "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k"
    embed_dim = read_json(extra(hub_id) / "open_clip_config.json")["model_cfg"]["embed_dim"]

    assert library_of(extra_registry, hub_id) == ["open-clip"]
    assert extra_registry.ints(hub_id, "mkg:embeddingDimension") == [embed_dim]
    assert extra_registry.is_a(hub_id, "mkg:JointEmbeddingModel")
    assert "zero-shot-image-classification" in tasks_of(extra_registry, hub_id)
    modalities = extra_registry.rows(
        f"""SELECT ?kind WHERE {{ <{hub_iri(hub_id)}> mkg:producesOutput ?o .
            ?o mkg:dimension {embed_dim} ; mkg:embedsModality ?kind }}"""
    )
    assert {r["kind"].removeprefix(MKG) for r in modalities} == {"Image", "Text"}


def test_a_spacy_pipeline_records_its_components_as_tasks(extra_registry: Registry) -> None:
    hub_id = "Vishnunkumar/kgmodel"
    meta = read_json(extra(hub_id) / "meta.json")

    assert library_of(extra_registry, hub_id) == ["spacy"]
    assert extra_registry.values(hub_id, "mkg:pipelineComponent") == sorted(meta["pipeline"])
    assert extra_registry.values(hub_id, "mkg:language") == [meta["lang"]]
    assert "token-classification" in tasks_of(extra_registry, hub_id)
    assert extra_registry.ints(hub_id, "mkg:numLabels") == [len(meta["labels"]["ner"])]


@pytest.mark.parametrize(
    ("hub_id", "library", "architecture"),
    [
        ("speechbrain/tts-fastspeech2-ljspeech", "speechbrain", "FastSpeech2"),
        ("speechbrain/emotion-recognition-wav2vec2-IEMOCAP", "speechbrain", None),
        ("PaddlePaddle/latin_PP-OCRv5_mobile_rec", "paddleocr", "latin_PP-OCRv5_mobile_rec"),
    ],
)
def test_models_whose_config_json_is_not_transformers_ingest_with_their_library(
    extra_registry: Registry, hub_id: str, library: str, architecture: str | None
) -> None:
    assert library_of(extra_registry, hub_id) == [library]
    assert extra_registry.values(hub_id, "mkg:architecture") == (
        [architecture] if architecture else []
    )
    assert not extra_registry.values(hub_id, "mkg:modelType")
    if architecture is None:  # nothing but the card could be read: it says so
        assert any("ingested from the card" in w for w in extra_registry.warnings(hub_id))


def test_a_paddleocr_text_recognizer_reads_text_in_images_without_its_card(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    hub_id = "PaddlePaddle/latin_PP-OCRv5_mobile_rec"
    folder = tmp_path / "ocr"
    shutil.copytree(extra(hub_id), folder, ignore=shutil.ignore_patterns("README.md"))

    done = register([str(folder)], store)

    assert done.ingest.rejected == []
    from tests.kg.ingest.conftest import Registry

    registry = Registry(store)
    [row] = registry.rows("SELECT ?m WHERE { ?m mkg:libraryModelName ?name }")
    assert tasks_of(registry, row["m"]) == {"image-to-text"}


def test_a_cross_encoder_is_recognized_by_what_sentence_transformers_wrote(
    corpus_registry: Registry,
) -> None:
    hub_id = "cross-encoder/ms-marco-MiniLM-L-2-v2"
    assert "sbert_ce_default_activation_function" in read_json(
        corpus_folder(hub_id) / "config.json"
    )

    assert library_of(corpus_registry, hub_id) == ["sentence-transformers"]
    assert corpus_registry.is_a(hub_id, "mkg:CrossEncoder")
    assert corpus_registry.values(hub_id, "mkg:modelType") == ["bert"]


def test_transformers_models_of_the_corpus_have_the_transformers_library(
    corpus_registry: Registry,
) -> None:
    assert library_of(corpus_registry, "openai-community/gpt2") == ["transformers"]
    assert library_of(corpus_registry, "sentence-transformers/all-MiniLM-L6-v2") == [
        "sentence-transformers"
    ]


# --- card-only folders ----------------------------------------------------------------------


CARD_ONLY = sorted(
    f.name for f in EXTRA_CORPUS.iterdir() if f.is_dir() and {p.name for p in f.iterdir()} <= {
        "README.md", "PROVENANCE.json"}
)  # fmt: skip


def test_the_corpus_holds_card_only_folders() -> None:
    assert len(CARD_ONLY) == 19


@pytest.mark.parametrize("folder", CARD_ONLY)
def test_a_card_only_folder_ingests_from_its_card_with_a_warning(
    extra_registry: Registry, folder: str
) -> None:
    provenance = read_json(EXTRA_CORPUS / folder / "PROVENANCE.json")
    hub_id = provenance["hub_id"]

    warnings = extra_registry.warnings(hub_id)
    assert any("only a model card" in w for w in warnings)
    recorded = extra_registry.rows(
        f"""SELECT ?w WHERE {{ ?g mkg:describes <{hub_iri(hub_id)}> ; mkg:warning ?w }}"""
    )
    assert any("only a model card" in r["w"] for r in recorded)
    tag = extra_registry.values(hub_id, "mkg:pipelineTag")
    if tag:
        assert tag[0] in tasks_of(extra_registry, hub_id)


@pytest.mark.parametrize(
    ("hub_id", "library"),
    [
        ("flair/ner-english-fast", "flair"),  # from the tags: the card has no library_name
        ("pyannote/segmentation", "pyannote-audio"),
        ("ThomasSimonini/ppo-LunarLander-v2", "stable-baselines3"),
        ("julien-c/fasttext-language-id", "fasttext"),
        ("espejelomar/fastai-pet-breeds-classification", "fastai"),
        ("stanfordnlp/stanza-en", "stanza"),
        ("facebook/fastspeech2-en-ljspeech", "fairseq"),
        ("keras-io/deeplabv3p-resnet50", "keras"),
        ("AdapterHub/bert-base-uncased-pf-conll2003", "adapter-transformers"),
        ("JorisCos/ConvTasNet_Libri2Mix_sepclean_16k", "asteroid"),
        ("julien-c/wine-quality", "sklearn"),
    ],
)
def test_a_card_only_model_has_the_library_its_card_names(
    extra_registry: Registry, hub_id: str, library: str
) -> None:
    assert library_of(extra_registry, hub_id) == [library]


def test_a_library_modelkg_does_not_know_is_flagged_not_rejected(
    extra_registry: Registry,
) -> None:
    hub_id = "keras-io/image-captioning"  # library_name: generic

    assert extra_registry.values(hub_id, "mkg:libraryName") == ["generic"]
    assert library_of(extra_registry, hub_id) == []
    assert any("`generic` is not one ModelKG knows" in w for w in extra_registry.warnings(hub_id))


def test_a_config_json_of_no_known_library_is_ingested_and_flagged(
    registry: Registry, tmp_path: Path
) -> None:
    folder = tmp_path / "home-made"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"layers": 4, "width": 64}), encoding="utf-8")

    summary = registry.ingest(folder)

    assert summary.rejected == []
    assert summary.ingested == [str(folder)] or len(summary.ingested) == 1
    [(_, warning)] = [w for w in summary.warnings if "not a transformers config" in w[1]]
    assert "config.json" in warning


# --- libraries the corpus has no model of: real files written here ---------------------------


def _write_gguf(
    path: Path,
    *,
    tensors: int = 2,
    file_type: int = LlamaFileType.MOSTLY_Q4_K_M,
    shard: tuple[int, int] | None = None,
) -> int:
    """A small real GGUF file (llama architecture), or one `shard` (index, count) of a split
    model as llama.cpp's gguf-split writes it; returns its parameter count."""
    writer = GGUFWriter(path, "llama")
    if shard is not None:
        writer.add_uint16("split.no", shard[0])
        writer.add_uint16("split.count", shard[1])
    writer.add_context_length(4096)
    writer.add_embedding_length(64)
    writer.add_block_count(2)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_file_type(file_type)
    count = 0
    for index in range(tensors):
        data = np.zeros((16, 64), dtype=np.float32)
        writer.add_tensor(f"blk.{index}.{shard[0] if shard else 0}.attn_q.weight", data)
        count += data.size
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return count


def test_a_gguf_file_gives_architecture_context_quantization_and_size(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    folder = tmp_path / "tiny-llama-gguf"
    folder.mkdir()
    count = _write_gguf(folder / "tiny-llama.Q4_K_M.gguf")

    done = register([str(folder)], store, hub_id="someone/tiny-llama-GGUF")

    assert done.ingest.rejected == []
    from tests.kg.ingest.conftest import Registry

    registry = Registry(store)
    model = "someone/tiny-llama-GGUF"
    assert library_of(registry, model) == ["gguf"]
    assert registry.values(model, "mkg:ggufArchitecture") == ["llama"]
    assert registry.ints(model, "mkg:maxPositionEmbeddings") == [4096]
    assert registry.ints(model, "mkg:parameterCount") == [count]
    assert registry.values(model, "mkg:quantizationType") == ["Q4_K_M"]
    assert registry.ints(model, "mkg:numKeyValueHeads") == [2]
    assert "text-generation" in tasks_of(registry, model)


def test_a_split_gguf_model_counts_the_parameters_of_all_its_shards(
    registry: Registry, tmp_path: Path
) -> None:
    folder = tmp_path / "split"
    folder.mkdir()
    counts = [
        _write_gguf(folder / f"model-{i + 1:05d}-of-00002.gguf", shard=(i, 2)) for i in range(2)
    ]

    summary = registry.ingest(folder, hub_id="someone/split-GGUF")

    assert summary.rejected == []
    assert registry.ints("someone/split-GGUF", "mkg:parameterCount") == [sum(counts)]
    assert not [w for w in registry.warnings("someone/split-GGUF") if "disagree" in w]


def test_a_gguf_file_named_on_its_own_is_a_model(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "tiny.Q8_0.gguf"
    _write_gguf(path, file_type=LlamaFileType.MOSTLY_Q8_0)

    summary = registry.ingest(path, hub_id="someone/tiny-GGUF")

    assert summary.ingested == ["someone/tiny-GGUF"]
    assert registry.values("someone/tiny-GGUF", "mkg:quantizationType") == ["Q8_0"]


def test_a_truncated_gguf_header_is_an_error_naming_the_file_and_the_batch_goes_on(
    registry: Registry, tmp_path: Path
) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    _write_gguf(good / "model.gguf")
    _write_gguf(bad / "model.gguf")
    whole = (bad / "model.gguf").read_bytes()
    (bad / "model.gguf").write_bytes(whole[:60])

    summary = registry.ingest(tmp_path)

    assert len(summary.ingested) == 1
    [(_, reason)] = summary.rejected
    assert str(bad / "model.gguf") in reason
    assert "truncated GGUF header" in reason
    with pytest.raises(ConfigError) as caught:
        read_gguf_header(bad / "model.gguf")
    assert caught.value.field == "header"


def test_a_huge_gguf_file_is_read_only_as_far_as_its_header(
    registry: Registry, tmp_path: Path
) -> None:
    folder = tmp_path / "huge"
    folder.mkdir()
    path = folder / "model.gguf"
    count = _write_gguf(path)
    with path.open("r+b") as handle:
        handle.truncate(64 * 1024**3)  # 64 GiB, sparse: reading it whole would take minutes

    started = time.monotonic()
    summary = registry.ingest(folder, hub_id="someone/huge-GGUF")

    assert summary.rejected == []
    assert time.monotonic() - started < 30
    assert registry.ints("someone/huge-GGUF", "mkg:parameterCount") == [count]


def test_gguf_metadata_over_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    _write_gguf(path)

    with pytest.raises(FileTooLargeError) as caught:
        read_gguf_header(path, limit=32)

    assert str(path) in str(caught.value)


def test_a_timm_model_is_an_image_classifier_with_its_classes(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    folder = tmp_path / "resnet"
    folder.mkdir()
    config = {  # as timm's push_to_hf_hub writes it
        "architecture": "resnet50",
        "num_classes": 1000,
        "num_features": 2048,
        "global_pool": "avg",
        "pretrained_cfg": {
            "tag": "a1_in1k",
            "custom_load": False,
            "input_size": [3, 224, 224],
            "crop_pct": 0.95,
            "mean": [0.485, 0.456, 0.406],
            "num_classes": 1000,
            "first_conv": "conv1",
            "classifier": "fc",
        },
    }
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")

    done = register([str(folder)], store, hub_id="timm/resnet50.a1_in1k")

    assert done.ingest.rejected == []
    from tests.kg.ingest.conftest import Registry

    registry = Registry(store)
    model = "timm/resnet50.a1_in1k"
    assert library_of(registry, model) == ["timm"]
    assert registry.values(model, "mkg:architecture") == ["resnet50"]
    assert registry.ints(model, "mkg:numLabels") == [1000]
    assert registry.ints(model, "mkg:embeddingDimension") == [2048]
    assert registry.ints(model, "mkg:imageSize") == [224]
    assert registry.values(model, "mkg:pretrainedTag") == ["a1_in1k"]
    assert "image-classification" in tasks_of(registry, model)


def test_a_segmentation_models_pytorch_model_is_an_image_segmenter(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    folder = tmp_path / "unet"
    folder.mkdir()
    config = {  # as smp's save_pretrained writes it: the constructor's arguments
        "_model_class": "Unet",
        "encoder_name": "resnet34",
        "encoder_weights": "imagenet",
        "in_channels": 3,
        "classes": 2,
        "activation": None,
    }
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")

    done = register([str(folder)], store, hub_id="someone/unet-resnet34")

    assert done.ingest.rejected == []
    from tests.kg.ingest.conftest import Registry

    registry = Registry(store)
    model = "someone/unet-resnet34"
    assert library_of(registry, model) == ["segmentation-models-pytorch"]
    assert registry.values(model, "mkg:architecture") == ["Unet"]
    assert registry.values(model, "mkg:encoderName") == ["resnet34"]
    assert registry.ints(model, "mkg:numLabels") == [2]
    assert "image-segmentation" in tasks_of(registry, model)


# --- from an HF cache: a cache entry ingests whatever library made it -------------------------


def test_a_diffusers_pipeline_and_a_gguf_repo_in_the_hf_cache_ingest_by_hub_id(
    registry: Registry, tmp_path: Path
) -> None:
    from tests.kg.ingest.test_hf_cache import cache_revision, commit_of

    cache = tmp_path / "hub"
    pipeline = "anton-l/ddpm-butterflies-128"
    folder = extra(pipeline)
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "PROVENANCE.json"
    }
    cache_revision(cache, pipeline, files, commit_of(pipeline))
    gguf_file = tmp_path / "model.gguf"
    _write_gguf(gguf_file)
    gguf_repo = "someone/tiny-GGUF"
    cache_revision(
        cache, gguf_repo, {"tiny.Q4_K_M.gguf": gguf_file.read_bytes()}, commit_of(gguf_repo)
    )

    summary = registry.ingest(cache)

    assert summary.rejected == []
    assert sorted(summary.ingested) == sorted([pipeline, gguf_repo])
    assert library_of(registry, pipeline) == ["diffusers"]
    assert set(parts_of(registry, pipeline)) == {"scheduler", "unet"}
    assert library_of(registry, gguf_repo) == ["gguf"]


# --- bad input: the same precise error as config.json ---------------------------------------


def _copy(hub_id: str, tmp_path: Path) -> Path:
    folder = tmp_path / hub_id.replace("/", "__")
    shutil.copytree(extra(hub_id), folder)
    return folder


def test_a_malformed_model_index_json_names_file_and_line_and_the_batch_goes_on(
    registry: Registry, tmp_path: Path
) -> None:
    broken = _copy("anton-l/ddpm-butterflies-128", tmp_path)
    _copy("stabilityai/stable-diffusion-2-1", tmp_path)
    (broken / "model_index.json").write_text('{"_class_name": "DDPMPipeline",,}', encoding="utf-8")

    summary = registry.ingest(tmp_path)

    assert summary.ingested == ["stabilityai/stable-diffusion-2-1"]
    [(who, reason)] = summary.rejected
    assert who == "anton-l/ddpm-butterflies-128"
    assert str(broken / "model_index.json") in reason
    assert "line 1, column 32" in reason


def test_a_model_index_component_of_the_wrong_shape_names_the_field(
    registry: Registry, tmp_path: Path
) -> None:
    folder = _copy("anton-l/ddpm-butterflies-128", tmp_path)
    index = read_json(folder / "model_index.json")
    index["unet"] = ["UNet2DModel"]  # the library left out
    (folder / "model_index.json").write_text(json.dumps(index), encoding="utf-8")

    summary = registry.ingest(folder)

    [(_, reason)] = summary.rejected
    assert "field `unet`" in reason
    assert '["library", "ClassName"]' in reason


def test_a_config_setfit_json_of_the_wrong_shape_names_the_field(
    registry: Registry, tmp_path: Path
) -> None:
    folder = _copy("bfeller/test_model_v1", tmp_path)
    (folder / "config_setfit.json").write_text('{"labels": "positive"}', encoding="utf-8")

    summary = registry.ingest(folder)

    [(_, reason)] = summary.rejected
    assert str(folder / "config_setfit.json") in reason
    assert "field `labels`" in reason
    assert "a list of label names" in reason


def test_an_open_clip_config_without_its_dimension_names_the_field(
    registry: Registry, tmp_path: Path
) -> None:
    folder = _copy("laion/CLIP-ViT-bigG-14-laion2B-39B-b160k", tmp_path)
    (folder / "open_clip_config.json").write_text(
        '{"model_cfg": {"embed_dim": "big"}}', encoding="utf-8"
    )

    summary = registry.ingest(folder)

    [(_, reason)] = summary.rejected
    assert "field `model_cfg.embed_dim`" in reason


def test_the_library_filter_finds_a_model_by_the_library_its_files_show(
    extra_registry: Registry,
) -> None:
    """PixArt's card names no library_name; its model_index.json makes it a diffusers
    pipeline, and a search or list filtered to diffusers finds it."""
    from kg.models.filters import ModelFilter, compile_filter

    rows = extra_registry.store.select(
        "SELECT ?id WHERE { ?m a mkg:Model ; schema:name ?name ; mkg:hubId ?id .\n"
        f"{compile_filter(ModelFilter(libraries=('diffusers',)))} }}"
    )
    found = {row["id"].value for row in rows}  # type: ignore[union-attr]
    assert "PixArt-alpha/PixArt-XL-2-1024-MS" in found
    assert "stabilityai/stable-diffusion-2-1" in found
    assert "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k" not in found
