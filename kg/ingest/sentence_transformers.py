"""Read the sentence-transformers files: module pipeline, pooling, Dense layers, normalization.

The embedding dimension is what the pipeline outputs: the pooling output (one block of
`word_embedding_dimension` per active pooling mode, as sentence-transformers concatenates them),
replaced by the last Dense layer's `out_features` when there is one. It is not `hidden_size`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kg.errors import ConfigError
from kg.ingest.draft import Candidate, ModelDraft
from kg.ingest.json_file import read_json_object, read_json_value
from kg.ingest.limits import check_list_length
from ontology.namespaces import MKG, RDF

__all__ = ["pooled_dimension", "read_sentence_transformers"]


def pooled_dimension(
    pooling: dict[str, Any], legacy_modes: dict[str, str]
) -> tuple[int, tuple[str, ...]] | None:
    """The pooled vector's length and the active modes of a `1_Pooling/config.json`.

    >>> modes = {"pooling_mode_mean_tokens": "mean", "pooling_mode_max_tokens": "max"}
    >>> pooled_dimension({"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True}, modes)
    (384, ('mean',))
    >>> pooled_dimension({"embedding_dimension": 256, "pooling_mode": ["mean", "max"]}, modes)
    (512, ('mean', 'max'))
    """
    width = pooling.get("embedding_dimension", pooling.get("word_embedding_dimension"))
    if not isinstance(width, int) or isinstance(width, bool):
        return None
    mode = pooling.get("pooling_mode")
    if isinstance(mode, str):
        modes: tuple[str, ...] = (mode,)
    elif isinstance(mode, list) and all(isinstance(m, str) for m in mode):
        modes = tuple(mode)
    else:
        modes = tuple(name for key, name in legacy_modes.items() if pooling.get(key) is True)
        if not modes:
            modes = ("mean",)
    return width * len(modes), modes


def read_sentence_transformers(draft: ModelDraft, files: dict[str, Path]) -> None:
    """Add the sentence-transformers view of the model, if the folder has one."""
    modules_path = files.get("modules.json")
    if modules_path is None:
        return
    modules = read_json_value(modules_path)
    if isinstance(modules, list):
        check_list_length("modules.json", "modules", len(modules), path=str(modules_path))
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise ConfigError(
            "modules.json is not a list of modules",
            path=str(modules_path),
            expected='[{"idx": 0, "type": "sentence_transformers.models.Transformer", '
            '"path": ""}, ...]',
        )
    model = draft.model.iri
    draft.add(model, RDF.type, MKG.SentenceTransformer)
    dimension: tuple[int, str, str] | None = None
    dense_unknown = False  # a Dense layer whose config is missing hides the output width
    for module in sorted(
        modules, key=lambda m: m.get("idx", 0) if isinstance(m.get("idx"), int) else 0
    ):
        kind = module.get("type")
        if not isinstance(kind, str):
            continue
        short = kind.rsplit(".", 1)[-1]
        draft.add_value(model, MKG.stModule, f"{module.get('idx', '?')}:{kind}")
        sub = str(module.get("path") or "").strip("/")
        config_name = f"{sub}/config.json"
        if short == "Normalize":
            draft.add_value(model, MKG.normalizesEmbeddings, True)
        elif short == "Pooling" and config_name in files and not dense_unknown:
            pooling = read_json_object(files[config_name])
            pooled = pooled_dimension(pooling, draft.mapping.pooling_modes)
            if pooled is None:
                raise ConfigError(
                    "no whole-number `word_embedding_dimension`",
                    path=str(files[config_name]),
                    field="word_embedding_dimension",
                    expected="the width of the token embeddings, e.g. 384",
                )
            width, modes = pooled
            for mode in modes:
                draft.add_value(model, MKG.poolingMode, mode)
            key = (
                "word_embedding_dimension"
                if "word_embedding_dimension" in pooling
                else "embedding_dimension"
            )
            dimension = (width, config_name, key)
        elif short == "Dense":
            if config_name not in files:
                draft.warn(
                    f"modules.json lists a Dense module but {config_name} is missing: the "
                    "embedding dimension is unknown"
                )
                dimension = None
                dense_unknown = True
                continue
            dense = read_json_object(files[config_name])
            out = dense.get("out_features")
            if isinstance(out, int) and not isinstance(out, bool):
                dimension = (out, config_name, "out_features")
    if dimension is not None:
        width, file, key = dimension
        draft.offer(
            draft.model,
            draft.mapping.concepts["embedding_dimension"],
            Candidate(width, key, file, "sentence-transformers", 10),
        )
    bert_config = files.get("sentence_bert_config.json")
    if bert_config is not None:
        _offer_mapped(draft, "sentence_bert_config.json", read_json_object(bert_config))
    st_config = files.get("config_sentence_transformers.json")
    if st_config is not None:
        settings = read_json_object(st_config)
        similarity = settings.get("similarity_fn_name")
        if isinstance(similarity, str):
            draft.add_value(model, MKG.similarityFunction, similarity)


def _offer_mapped(draft: ModelDraft, file: str, data: dict[str, Any]) -> None:
    """Offer every key of `data` that `parameters.ttl` maps for `file`."""
    for key, raw in data.items():
        for resolution in draft.mapping.resolve(file, key, draft.model.model_type):
            value = draft.coerce(resolution.concept, raw, key=key, file=file, strict=True)
            if value is not None:
                draft.offer(
                    draft.model,
                    resolution.concept,
                    Candidate(value, key, file, resolution.framework, resolution.priority),
                )


offer_mapped = _offer_mapped
