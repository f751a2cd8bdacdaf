"""Read a transformers `config.json`: model type, architectures, normalized parameters, parts,
labels and quantization.

Keys are mapped to concepts by `ontology.parameters` (canonical keys, the model type's own
attribute_map, hand mappings, generic aliases), never by if-chains here. Nested configs
(`text_config`, `vision_config`, `encoder`/`decoder`, ...) become `mkg:hasPart` components with
their own parameters.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from kg.errors import ConfigError
from kg.ingest.draft import Candidate, ModelDraft, Subject
from kg.ingest.json_file import json_kind, shown
from kg.ingest.limits import check_list_length
from ontology.namespaces import MKG, RDF

__all__ = ["read_config", "read_part_config", "write_label_set"]

_DEFAULT_LABEL = re.compile(r"^LABEL_\d+$")
_MAX_PART_DEPTH = 3
_SKIP_KEYS = frozenset({"id2label", "label2id", "quantization_config", "auto_map", "architectures"})
_PART_KEYS = frozenset({"text_config", "vision_config", "audio_config"})
"""Keys that hold a part's settings in every model type that has them (`sub_configs` in
transformers); a model type's own `sub_configs` come from the catalog."""


def _file_path(draft: ModelDraft, file: str) -> str:
    if draft.source.kind == "config-file":
        return str(draft.source.location)
    return str(draft.source.location / file)


def read_config(draft: ModelDraft, config: dict[str, Any], file: str = "config.json") -> None:
    """Add what `config` says about the model to `draft`."""
    path = _file_path(draft, file)
    catalog = draft.mapping.catalog
    model = draft.model.iri
    model_type = config.get("model_type")
    if model_type is not None and not isinstance(model_type, str):
        raise ConfigError(
            f"`model_type` is {json.dumps(model_type)[:40]}",
            path=path,
            field="model_type",
            expected='a string such as "bert"',
        )
    architectures = config.get("architectures")
    if architectures is None:
        architectures = []
    if isinstance(architectures, list):
        check_list_length("config.json", "architectures", len(architectures), path=path)
    if not isinstance(architectures, list) or not all(isinstance(a, str) for a in architectures):
        raise ConfigError(
            f"`architectures` is {shown(architectures)}",
            path=path,
            field="architectures",
            expected='a list of class names, e.g. ["BertModel"]',
        )
    auto_map = config.get("auto_map")
    custom_code = isinstance(auto_map, dict) and bool(auto_map)
    if (
        not model_type
        and not architectures
        and not custom_code
        and not _transformers_keys(draft, config)
    ):
        # not a transformers config (a library's own config.json): the model's library reader
        # reads it, and a model of no known library is flagged, not rejected
        draft.warn(
            f"{file}: not a transformers config (no `model_type`, no `architectures`); "
            "read only as far as its library is known"
        )
        draft.facts["foreign_config"] = True
        return
    if not model_type:
        inferred = next(
            (t for a in architectures if (t := catalog.model_type_of_architecture(a))), None
        )
        if inferred is not None:
            draft.warn(f"{file}: no `model_type`; inferred `{inferred}` from the architecture")
            model_type = inferred
        elif not custom_code:
            raise ConfigError(
                "no `model_type`, and none can be inferred (no known architecture, no auto_map)",
                path=path,
                field="model_type",
                expected='a transformers model type, e.g. "model_type": "bert"',
                hint="add `model_type`, or list a transformers class in `architectures`",
            )
    if model_type:
        draft.add_value(model, MKG.modelType, model_type)
    entry = catalog.resolve_model_type(model_type) if model_type else None
    if entry is not None:
        draft.add(model, MKG.hasModelType, _named(entry.iri))
    else:
        # the SHACL warning reports the unknown type; add what only the catalog can tell
        draft.add(model, RDF.type, MKG.UnrecognizedModel)
        known_as = catalog.model_type_of_architecture(model_type) if model_type else None
        if known_as:
            draft.warn(
                f"{file}: model_type `{model_type}` is the name of a `{known_as}` architecture "
                "class, not a model type"
            )
        elif not model_type:
            draft.warn(f"{file}: no `model_type`; a custom-code model (auto_map) read as it is")
    if custom_code:
        draft.add_value(model, MKG.customCode, True)
    for architecture in architectures:
        draft.add_value(model, MKG.architecture, architecture)
        arch = catalog.architectures.get(architecture)
        if arch is not None:
            draft.add(model, MKG.hasArchitecture, _named(arch.iri))
    draft.facts["architectures"] = tuple(architectures)
    draft.model = Subject(draft.model.iri, draft.model.key, model_type or None)
    _read_parameters(draft, draft.model, config, file, prefix="", depth=0)
    _read_labels(draft, config, file, architectures)
    quantization = config.get("quantization_config")
    if quantization is not None:
        _read_quantization(draft, quantization, file, "quantization_config")


def _transformers_keys(draft: ModelDraft, config: dict[str, Any]) -> bool:
    """Whether `config` holds keys transformers itself defines (`hidden_size`, ...): then it is
    a transformers config missing its `model_type`, an error, not another library's file."""
    return any(
        resolution.priority >= 2
        for key in config
        for resolution in draft.mapping.resolve("config.json", key, None)
    )


def read_part_config(draft: ModelDraft, part: Subject, config: dict[str, Any], file: str) -> None:
    """Read a component's own config (a diffusers `text_encoder/config.json`) onto `part`:
    its model type when it names one, and its parameters, mapped as a `config.json`'s are."""
    model_type = config.get("model_type")
    _name_part(draft, part, model_type if isinstance(model_type, str) else None, config)
    typed = Subject(part.iri, part.key, model_type if isinstance(model_type, str) else None)
    _read_parameters(draft, typed, config, file, prefix="", depth=1)


def _named(iri: str) -> Any:
    from pyoxigraph import NamedNode

    return NamedNode(iri)


def _read_parameters(
    draft: ModelDraft, subject: Subject, config: dict[str, Any], file: str, prefix: str, depth: int
) -> None:
    mapping = draft.mapping
    entry = mapping.catalog.resolve_model_type(subject.model_type) if subject.model_type else None
    sub_configs = entry.sub_configs if entry is not None else {}
    for key, raw in config.items():
        if key in _SKIP_KEYS:
            continue
        if (
            raw is not None
            and not isinstance(raw, dict)
            and (key in sub_configs or key in _PART_KEYS)
        ):
            part_type = sub_configs.get(key)
            raise ConfigError(
                f"`{prefix}{key}` is {shown(raw)}, a JSON {json_kind(raw)}",
                path=_file_path(draft, file),
                field=prefix + key,
                expected="an object with the settings of the model's "
                + (f"`{part_type}` part" if part_type else "part")
                + " (or null), as transformers' config classes require",
                hint=f'write `"{key}": {{...}}` with the part\'s own settings, or remove the key',
            )
        if (
            isinstance(raw, dict)
            and depth < _MAX_PART_DEPTH
            and _is_part(draft, key, raw, sub_configs)
        ):
            _read_part(draft, subject, key, raw, sub_configs.get(key), file, prefix, depth)
            continue
        # mappings are by file name: a component's `text_encoder/config.json` is a config.json
        for resolution in mapping.resolve(file.rsplit("/", 1)[-1], key, subject.model_type):
            value = draft.coerce(
                resolution.concept,
                raw,
                key=prefix + key,
                file=file,
                strict=resolution.priority >= 2,
            )
            if value is not None:
                draft.offer(
                    subject,
                    resolution.concept,
                    Candidate(value, prefix + key, file, resolution.framework, resolution.priority),
                )


def _is_part(
    draft: ModelDraft, key: str, raw: dict[str, Any], sub_configs: dict[str, str | None]
) -> bool:
    if key in sub_configs or isinstance(raw.get("model_type"), str):
        return True
    if not (key.endswith("_config") or key in ("encoder", "decoder")):
        return False
    part_type = raw.get("model_type") if isinstance(raw.get("model_type"), str) else None
    return any(draft.mapping.resolve("config.json", k, part_type) for k in raw)


def _name_part(
    draft: ModelDraft, part: Subject, model_type: str | None, config: dict[str, Any]
) -> None:
    """A part's model type (with the catalog's entry for it) and architectures."""
    if model_type:
        draft.add_value(part.iri, MKG.modelType, model_type)
        entry = draft.mapping.catalog.resolve_model_type(model_type)
        if entry is not None:
            draft.add(part.iri, MKG.hasModelType, _named(entry.iri))
    architectures = config.get("architectures")
    if isinstance(architectures, list):
        for architecture in architectures:
            if isinstance(architecture, str):
                draft.add_value(part.iri, MKG.architecture, architecture)


def _read_part(
    draft: ModelDraft,
    parent: Subject,
    key: str,
    raw: dict[str, Any],
    catalog_type: str | None,
    file: str,
    prefix: str,
    depth: int,
) -> None:
    part_type = raw.get("model_type") if isinstance(raw.get("model_type"), str) else catalog_type
    counted = draft.facts.get("parts")
    parts = (counted if isinstance(counted, int) else 0) + 1
    draft.facts["parts"] = parts
    check_list_length("config.json", "parts", parts, path=_file_path(draft, file))
    segments = (*parent.key, "part", key)
    part = Subject(draft.node(*segments), segments, part_type)
    draft.add(parent.iri, MKG.hasPart, part.iri)
    draft.add(part.iri, RDF.type, MKG.ModelComponent)
    draft.add_value(part.iri, MKG.configKey, prefix + key)
    _name_part(draft, part, part_type, raw)
    _read_parameters(draft, part, raw, file, prefix=f"{prefix}{key}.", depth=depth + 1)


def _read_labels(
    draft: ModelDraft, config: dict[str, Any], file: str, architectures: list[str]
) -> None:
    id2label = config.get("id2label")
    if id2label is None:
        return
    path = _file_path(draft, file)
    if not isinstance(id2label, dict):
        raise ConfigError(
            f"`id2label` is {shown(id2label)}",
            path=path,
            field="id2label",
            expected='an object of label ids to names, e.g. {"0": "NEGATIVE", "1": "POSITIVE"}',
        )
    check_list_length("config.json", "id2label", len(id2label), path=path)
    labels: dict[int, str] = {}
    for raw_id, name in id2label.items():
        try:
            index = int(raw_id)
        except ValueError:
            raise ConfigError(
                f"label id {raw_id!r} is not a whole number",
                path=path,
                field=f"id2label.{raw_id}",
                expected='label ids "0", "1", ...',
            ) from None
        if not isinstance(name, str | int | float) or isinstance(name, bool):
            raise ConfigError(
                f"label {raw_id} is {json.dumps(name)[:40]}",
                path=path,
                field=f"id2label.{raw_id}",
                expected="a label name (a string)",
            )
        labels[index] = str(name)
    catalog = draft.mapping.catalog
    is_classifier = any(
        "CLASSIFICATION" in mapping
        for a in architectures
        if (arch := catalog.architectures.get(a)) is not None
        for mapping in arch.auto_mappings
    ) or any("Classification" in a for a in architectures)
    default_names = all(_DEFAULT_LABEL.match(name) for name in labels.values())
    explicit = config.get("num_labels")
    if default_names and not is_classifier and explicit is None:
        return  # transformers writes LABEL_0/LABEL_1 into every config: not a label set
    if explicit is None:
        concept = draft.mapping.concepts["num_labels"]
        draft.offer(
            draft.model, concept, Candidate(len(labels), "id2label", file, "transformers", 3)
        )
    write_label_set(draft, labels, file)


def write_label_set(draft: ModelDraft, labels: dict[int, str], file: str) -> None:
    """The model's label set: one `mkg:Label` per index, and a digest of the whole set; a set
    over its cap (`kg.ingest.limits`) is refused naming `file` before a triple is built."""
    check_list_length("label set", "labels", len(labels), path=_file_path(draft, file))
    label_set = draft.node("labels")
    draft.add(draft.model.iri, MKG.hasLabelSet, label_set)
    draft.add(label_set, RDF.type, MKG.LabelSet)
    canonical = json.dumps(sorted(labels.items()), ensure_ascii=False)
    draft.add_value(label_set, MKG.labelSetDigest, hashlib.sha256(canonical.encode()).hexdigest())
    for index, name in sorted(labels.items()):
        label = draft.node("labels", str(index))
        draft.add(label_set, MKG.hasLabel, label)  # a mkg:Label by the property's range
        draft.add_value(label, MKG.labelIndex, index)
        draft.add_value(label, MKG.labelName, name)


def _read_quantization(draft: ModelDraft, raw: object, file: str, field: str) -> None:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"`{field}` is {json.dumps(raw)[:60]}",
            path=_file_path(draft, file),
            field=field,
            expected='an object such as {"quant_method": "gptq", "bits": 4}',
        )
    node = draft.node("quantization")
    draft.add(draft.model.iri, RDF.type, MKG.QuantizedModel)
    draft.add(draft.model.iri, MKG.hasQuantization, node)
    draft.add(node, RDF.type, MKG.Quantization)
    method = raw.get("quant_method")
    if method is None and file == "quantize_config.json":
        method = "gptq"
    if isinstance(method, str):
        draft.add_value(node, MKG.quantizationMethod, method)
    bits = raw.get("bits")
    if bits is None and raw.get("load_in_4bit"):
        bits = 4
    if bits is None and raw.get("load_in_8bit"):
        bits = 8
    if isinstance(bits, int) and not isinstance(bits, bool):
        draft.add_value(node, MKG.bits, bits)
    draft.facts["quantized"] = True


read_quantization = _read_quantization
