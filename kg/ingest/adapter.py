"""Read a PEFT `adapter_config.json`: the adapter's kind, rank, targets and its base model.

Most adapter repositories carry no `config.json`, only this file and a card; they still ingest
as `mkg:Adapter` models linked to their base with `mkg:adapterOf`.

Each field ModelKG reads must have the type peft's own config classes give it (`LoraConfig`:
`r: int`, `lora_alpha: int`, `target_modules: Optional[Union[list[str], str]]`,
`base_model_name_or_path: Optional[str]`, ...); a value of another type is an error naming the
file and the field, not a fact silently dropped.

>>> import json, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "adapter_config.json"
>>> _ = path.write_text(json.dumps({"peft_type": "LORA", "r": "eight"}))
>>> check_adapter_fields(json.loads(path.read_text()), str(path))
Traceback (most recent call last):
...
kg.errors.ConfigError: .../adapter_config.json: field `r`: `r` is "eight", a JSON string \
(expected a whole number, the adapter's rank, e.g. 8; ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kg.errors import ConfigError
from kg.ingest.draft import ModelDraft
from kg.ingest.json_file import json_kind, read_json_object, shown
from kg.ingest.limits import check_list_length
from kg.ingest.model_card import hub_id_from_reference
from ontology.namespaces import MKG, RDF

__all__ = ["ADAPTER_FIELDS", "check_adapter_fields", "read_adapter_config"]


@dataclass(frozen=True)
class FieldType:
    """What one adapter_config.json field must hold (peft's `PeftConfig`/`LoraConfig` types)."""

    kinds: tuple[str, ...]
    """JSON kinds accepted besides null: `string`, `integer`, `number`, `strings` (a list)"""
    expected: str


ADAPTER_FIELDS = MappingProxyType(
    {
        "peft_type": FieldType(("string",), 'the adapter method, e.g. "LORA"'),
        "task_type": FieldType(("string",), 'the task, e.g. "CAUSAL_LM"'),
        "r": FieldType(("integer",), "a whole number, the adapter's rank, e.g. 8"),
        "lora_alpha": FieldType(("number",), "a number, the LoRA scaling, e.g. 16"),
        "target_modules": FieldType(
            ("string", "strings"),
            'a module name or a list of them, e.g. ["q_proj", "v_proj"]',
        ),
        "base_model_name_or_path": FieldType(
            ("string",), 'the base model\'s hub id, e.g. "meta-llama/Llama-2-7b-hf"'
        ),
    }
)
"""The fields ModelKG reads, with the types peft's config dataclasses declare for them."""


def _is_kind(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def check_adapter_fields(config: dict[str, Any], path: str) -> None:
    """Refuse a field of `ADAPTER_FIELDS` holding a value of another type, and a list of
    target modules over its cap (`kg.ingest.limits`)."""
    targets = config.get("target_modules")
    if isinstance(targets, list):
        check_list_length("adapter_config.json", "target_modules", len(targets), path=path)
    for name, field_type in ADAPTER_FIELDS.items():
        value = config.get(name)
        if value is None or any(_is_kind(value, kind) for kind in field_type.kinds):
            continue
        raise ConfigError(
            f"`{name}` is {shown(value)}, a JSON {json_kind(value)}",
            path=path,
            field=name,
            expected=field_type.expected,
            hint="peft would not load this adapter either; fix the value or remove the field",
        )


def read_adapter_config(draft: ModelDraft, path: Path) -> None:
    """Add the adapter's description to `draft`; its base goes to `draft.facts` for lineage."""
    config = read_json_object(path)
    check_adapter_fields(config, str(path))
    model = draft.model.iri
    draft.add(model, RDF.type, MKG.Adapter)
    draft.facts["adapter"] = True
    peft_type = config.get("peft_type")
    if isinstance(peft_type, str):
        draft.add_value(model, MKG.peftType, peft_type)
    task_type = config.get("task_type")
    if isinstance(task_type, str):
        draft.add_value(model, MKG.taskTypeHint, task_type)
    rank = config.get("r")
    if isinstance(rank, int) and not isinstance(rank, bool):
        draft.add_value(model, MKG.loraRank, rank)
    alpha = config.get("lora_alpha")
    if isinstance(alpha, int | float) and not isinstance(alpha, bool):
        draft.add_value(model, MKG.loraAlpha, alpha)
    targets = config.get("target_modules")
    if isinstance(targets, str):
        targets = [targets]
    if isinstance(targets, list):
        for target in sorted(set(targets)):
            draft.add_value(model, MKG.targetModule, target)
    base = config.get("base_model_name_or_path")
    if isinstance(base, str) and base:
        hub_id = hub_id_from_reference(base)
        if hub_id is None:
            draft.warn(
                f"adapter_config.json: base_model_name_or_path `{base}` is a local path, not a "
                "hub id; no lineage recorded"
            )
        else:
            draft.facts["adapter_base"] = hub_id
